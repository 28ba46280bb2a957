// The observed layer (observed.hpp): each copy is taken under the lock that
// protects it, held SHARED only for the memcpy, and used after releasing it.

#include "observed.hpp"

#include <algorithm>

#include "gucs.hpp"
#include "shared_memory.hpp"
#include "shell.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
}

namespace pgpool_stats {

LedgerCopy copy_ledger() {
    // Memory for the entries in use (not for max_applications of them, up to
    // 80 MB), allocated without the lock held; again if more arrived meanwhile.
    LedgerCopy copy;
    for (int32 room = 0;;) {
        ledger_lock_shared();
        const int32 in_use = ledger->max_applications() - ledger->free_entries() + 1;
        if (room >= in_use) {
            copy.n = ledger->copy_entries(copy.entries, copy.numbers, room);
            copy.capacity = ledger->capacity_figures();
            ledger_unlock();
            break;
        }
        ledger_unlock();
        room = in_use + 16;
        copy.entries =
            static_cast<core::ApplicationEntry*>(palloc(sizeof(core::ApplicationEntry) * room));
        copy.numbers = static_cast<int32*>(palloc(sizeof(int32) * room));
    }
    copy.copied_at = GetCurrentTimestamp();
    return copy;
}

LiveApplications live_applications() {
    const CensusRows census = census_now();

    LiveApplications live;
    live.ledger = copy_ledger();
    live.census = static_cast<core::Census*>(palloc(sizeof(core::Census) * Max(live.ledger.n, 1)));
    for (int32 k = 0; k < live.ledger.n; ++k)
        live.census[k] = core::census_of(census.rows, census.n, live.ledger.numbers[k]);
    return live;
}

HistoryNames history_names(const LedgerCopy& copy) {
    HistoryNames names;
    names.entries = copy.entries;
    names.n_entries = ledger->max_applications() + 1;
    names.row_of_entry = static_cast<int32*>(palloc(sizeof(int32) * names.n_entries));
    for (int32 e = 0; e < names.n_entries; ++e) names.row_of_entry[e] = -1;
    for (int32 k = 0; k < copy.n; ++k) names.row_of_entry[copy.numbers[k]] = k;
    return names;
}

namespace {

HistoryCopy allocate_history_copy() {
    HistoryCopy c{};
    c.samples = static_cast<core::HistorySample*>(
        palloc_extended(sizeof(core::HistorySample) * history->sample_capacity(), MCXT_ALLOC_HUGE));
    c.minutes = static_cast<core::HistoryMinute*>(
        palloc_extended(sizeof(core::HistoryMinute) * history->minute_capacity(), MCXT_ALLOC_HUGE));
    c.hours = static_cast<core::HistoryHour*>(
        palloc_extended(sizeof(core::HistoryHour) * history->hour_capacity(), MCXT_ALLOC_HUGE));
    return c;
}

void fill_history_copy(HistoryCopy* c) {
    c->n_samples = history->copy_samples(c->samples, history->sample_capacity());
    c->n_minutes = history->copy_minutes(c->minutes, history->minute_capacity());
    c->n_hours = history->copy_hours(c->hours, history->hour_capacity());
    c->samples_from = c->n_samples > 0 ? c->samples[0].sample_time : PG_INT64_MAX;
    c->minutes_from = c->n_minutes > 0 ? c->minutes[0].minute : c->samples_from;
    for (int32 r = c->n_hours - 1; r >= 0; --r)
        if (c->hours[r].hour < c->minutes_from) {
            c->minutes_from = std::max(c->minutes_from, c->hours[r].hour + USECS_PER_HOUR);
            break;
        }
    // Each tier starts where the one before ends, never before it.
    c->samples_from = std::max(c->samples_from, c->minutes_from);
}

}  // namespace

HistoryCopy copy_history() {
    HistoryCopy c = allocate_history_copy();
    history_lock_shared();
    fill_history_copy(&c);
    history_unlock();
    return c;
}

HistoryCopy copy_history_unlocked() {
    HistoryCopy c = allocate_history_copy();
    fill_history_copy(&c);
    return c;
}

void uncount_refusals_in_samples(HistoryCopy* c) {
    if (c->n_samples == 0 || c->n_minutes == 0) return;
    const int32 entries = guc_max_applications + 1;
    int32* scratch = static_cast<int32*>(palloc(sizeof(int32) * entries));
    core::uncount_refusals_in_samples(c->minutes, c->n_minutes, c->samples, c->n_samples,
                                      c->samples_from, USECS_PER_MINUTE, scratch, entries);
    pfree(scratch);
}

Observed observe(int64 window_us) {
    Observed o;
    o.history = copy_history();
    uncount_refusals_in_samples(&o.history);
    o.live = live_applications();
    o.names = history_names(o.live.ledger);
    o.now = GetCurrentTimestamp();
    history_lock_shared();
    const TimestampTz oldest = history->oldest(o.now);
    history_unlock();
    o.from = std::max(oldest, o.now - window_us);
    return o;
}

bool is_other_row(const Observed& o, int32 k) {
    return o.live.ledger.numbers[k] == core::kOtherEntry;
}

}  // namespace pgpool_stats
