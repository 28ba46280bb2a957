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

// The census of one application entry.
struct EntryCensus {
    int32_t entry;
    Census census;
};

// Counts observations[0..n) by entry into out[], one row per entry with a
// session (at most n rows), in ascending entry order; returns the rows
// written. Its cost follows the sessions, never the size of the ledger. Sorts
// the observations in place (by entry, then client) to count distinct clients
// without allocating.
int32_t take_census(SessionObservation* observations, int32_t n, EntryCensus* out) noexcept;

// The census of `entry` in rows[0..n) (as take_census wrote them), or zeros.
Census census_of(const EntryCensus* rows, int32_t n, int32_t entry) noexcept;

// A stable 64-bit key of a client address's bytes (FNV-1a).
uint64_t client_key_of(const void* address_bytes, int32_t length) noexcept;

}  // namespace pgpool_stats::core
