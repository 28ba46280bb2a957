// The census: from one observation per counted session to the figures per
// application that pgpool_stats.applications and the history show.
//
// Pure core: no PostgreSQL header. The shell fills the observations from
// backend state in shared memory; the census only counts.
#pragma once

#include <cstdint>

namespace pgpool_stats::core {

enum class SessionState : uint8_t {
    kActive,             // running a statement (pg_stat_activity: active, fastpath)
    kIdle,               // waiting for the client outside a transaction
    kIdleInTransaction,  // waiting for the client inside a transaction (also aborted)
    kUnknown,            // track_activities off, or the backend is between states
};

struct SessionObservation {
    int32_t entry;  // ledger entry the session is charged to
    SessionState state;
    bool lock_waiting;    // blocked on a heavyweight lock
    uint64_t client_key;  // client address without port; all Unix sockets are one
};

struct Census {
    int32_t connections;  // sessions observed
    int32_t active;
    int32_t idle;
    int32_t idle_in_transaction;
    int32_t waiting;    // active and blocked on a heavyweight lock: a subset of active
    int32_t instances;  // distinct client addresses
};

// Counts observations[0..n) into per_entry[0..entries), which it zeroes
// first. Sorts the observations in place (by entry, then client) to count
// distinct clients without allocating.
void take_census(SessionObservation* observations, int32_t n, Census* per_entry,
                 int32_t entries) noexcept;

// A stable 64-bit key of a client address's bytes (FNV-1a).
uint64_t client_key_of(const void* address_bytes, int32_t length) noexcept;

}  // namespace pgpool_stats::core
