// The observed layer: copies of the ledger, the sessions' census and the
// history, taken under their locks and used after releasing them, from which
// the views, recommend(), pool_config() and report() are computed.
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

#include "core/census.hpp"
#include "core/history.hpp"
#include "core/ledger.hpp"

namespace pgpool_stats {

// A copy of the ledger's entries in use, taken under the ledger lock.
struct LedgerCopy {
    core::ApplicationEntry* entries;  // the entries in use
    int32* numbers;                   // numbers[k]: entry number of entries[k]
    int32 n;
    core::CapacityFigures capacity;
    TimestampTz copied_at;  // login rates are read as of then (core::connects_per_second)
};

// The applications as they are now: ledger entries, their entry numbers and
// the census of their sessions, row by row. States are observed first, then
// the ledger copied: a session that arrives in between is in connections but
// not yet in a state column, never the reverse.
struct LiveApplications {
    LedgerCopy ledger;
    core::Census* census;  // census[k] belongs to ledger.entries[k]
};

// Names of the applications the history rows refer to: entry number ->
// (incarnation, name) of the entries alive now. A row whose incarnation
// differs belongs to an application forgotten since, and is not shown. Its
// pointers are to palloc'd memory only, so a copy is as good as the original.
struct HistoryNames {
    const core::ApplicationEntry* entries;  // the LedgerCopy's entries
    int32* row_of_entry;                    // indexed by entry number: row in entries, or -1
    int32 n_entries;                        // max_applications + 1

    // The row in the ledger copy of the application a history row belongs
    // to, or -1.
    int32 row_of(int32 entry, uint32 incarnation) const {
        if (entry < 0 || entry >= n_entries || row_of_entry[entry] < 0) return -1;
        const int32 row = row_of_entry[entry];
        return entries[row].incarnation == incarnation ? row : -1;
    }
    const char* name_of(int32 entry, uint32 incarnation) const {
        const int32 row = row_of(entry, incarnation);
        return row < 0 ? nullptr : entries[row].name;
    }
};

struct HistoryCopy {
    core::HistorySample* samples;
    int32 n_samples;
    core::HistoryMinute* minutes;
    int32 n_minutes;
    core::HistoryHour* hours;
    int32 n_hours;
    // Where each tier takes over from the one before, so that no time is
    // counted twice: hour rows end at minutes_from, minute rows cover
    // [minutes_from, samples_from), fine samples from samples_from on
    // (PG_INT64_MAX when there are none); minutes_from <= samples_from. minutes_from is the end of
    // the newest hour row that began before the oldest minute row (its minutes may be gone from the
    // minute ring), or the oldest minute row when no hour overlaps it.
    TimestampTz minutes_from;
    TimestampTz samples_from;
};

// Copies of what the views show, each taken under its lock and used after
// releasing it.
LedgerCopy copy_ledger();
LiveApplications live_applications();
HistoryNames history_names(const LedgerCopy& ledger);
HistoryCopy copy_history();
// For a reader that shows the minute row the fine samples begin in beside
// them: that row keeps only the refusals before the first sample, so none
// is counted twice (core::uncount_refusals_in_samples).
void uncount_refusals_in_samples(HistoryCopy* history);
// The same without the history lock, for the postmaster at exit, when no
// other process is left (the postmaster cannot take LWLocks).
HistoryCopy copy_history_unlocked();

// What every recommendation (and the report) of one call is computed from,
// copied once. Every member points to palloc'd memory, never into the struct:
// safe to copy.
struct Observed {
    HistoryCopy history;
    LiveApplications live;
    HistoryNames names;
    TimestampTz now;
    TimestampTz from;  // the window's start, never before the oldest history row
};
Observed observe(int64 window_us);
bool is_other_row(const Observed& o, int32 k);  // the ledger's own "(other)" row

}  // namespace pgpool_stats
