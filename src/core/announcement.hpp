// Budget announcements: the payload of NOTIFY pgpool_stats_budget, sent for
// every changed budget row (contract: DESIGN.md, "Notifications and
// followers"; format: docs/sql-reference.md, "Announcements").
//
// Pure core: no PostgreSQL header, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ledger.hpp"

namespace pgpool_stats::core {

// The channel followers LISTEN on.
inline constexpr const char* kAnnouncementChannel = "pgpool_stats_budget";

// NOTIFY refuses a payload of 8000 bytes or more (NOTIFY_PAYLOAD_MAX_LENGTH).
inline constexpr size_t kAnnouncementMaxBytes = 7999;

enum class AnnouncementAction { kSet, kDrop };

struct Announcement {
    AnnouncementAction action;
    // Position among the announcements of its transaction, from 1. It makes
    // every payload of a transaction distinct: PostgreSQL delivers identical
    // payloads on one channel only once per transaction, which would lose a
    // change back to an earlier value (set 5, set 6, set 5).
    int64_t sequence;
    // The row (set), or only its application_name (drop).
    const NamedBudget* row;
    const char* comment;  // nullptr: NULL
};

// Writes the JSON payload into out like snprintf: returns the length of the
// whole text (excluding the terminator), writes at most out_size bytes,
// always terminated when out_size > 0. The text is at most
// kAnnouncementMaxBytes long: when the row's comment would make it longer,
// the comment is left out and "truncated" is true (a follower that needs it
// reads the row).
size_t write_announcement(const Announcement& a, char* out, size_t out_size) noexcept;

}  // namespace pgpool_stats::core
