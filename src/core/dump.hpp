// The dump: counters, peaks and history as bytes, written by the
// postmaster at a clean shutdown and read back at the next start.
//
// Pure core. Format: a header (magic, format version, the server's major
// version, row sizes, row counts), the rows, and a 64-bit FNV-1a checksum of
// everything before it. A file that fails any check is refused whole: never
// trusted in part.
#pragma once

#include <cstddef>
#include <cstdint>

#include "history.hpp"
#include "ledger.hpp"

namespace pgpool_stats::core {

struct DumpInput {
    const ApplicationEntry* entries;  // as copied from the ledger, "(other)" included when used
    int32_t n_entries;
    const HistorySample* samples;  // oldest first
    int32_t n_samples;
    const HistoryMinute* minutes;  // oldest first
    int32_t n_minutes;
    const HistoryHour* hours;  // oldest first
    int32_t n_hours;
};

// Writes the dump into out[0..out_size) and returns its full length
// (ask with out_size 0 first, like snprintf).
size_t encode_dump(const DumpInput& in, uint32_t server_major, char* out, size_t out_size) noexcept;

// Restores a dump into a freshly created ledger and history. Counters,
// peaks and timestamps come back; connections, waiters and budgets do not
// (sessions are gone, the worker reloads the budgets). History rows follow
// their applications to their new entry numbers. Returns nullptr on success,
// or why the dump was refused (then nothing was changed).
const char* restore_dump(const char* data, size_t length, uint32_t server_major, Ledger& ledger,
                         History& history, int64_t now) noexcept;

}  // namespace pgpool_stats::core
