// SQL functions behind the views pgpool_stats.applications, capacity,
// history, history_minutes and history_hours, and pgpool_stats.reset() and metrics(). Each view
// copies what it shows under the lock held SHARED, releases it, and only then builds tuples.

#include <algorithm>

#include <type_traits>

#include "core/prometheus.hpp"
#include "compat.hpp"
#include "shared_memory.hpp"
#include "observed.hpp"
#include "sql_boundary.hpp"

extern "C" {
#include "funcapi.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

using namespace pgpool_stats;

PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_applications_1_0) {
    constexpr int kColumns = 22;
    ReturnSetInfo* rsinfo = begin_rows(fcinfo, kColumns);

    LiveApplications live = live_applications();
    Row row(rsinfo);
    for (int32 k = 0; k < live.ledger.n; ++k) {
        const core::ApplicationEntry& e = live.ledger.entries[k];
        const core::Census& now = live.census[k];
        const bool capped = e.has_budget && e.budget.capped();
        const bool has_utilization = capped && e.budget.max_connections > 0;
        row.add(CStringGetTextDatum(e.name))
            .add(Int32GetDatum(e.connections))
            .add(Int32GetDatum(now.active))
            .add(Int32GetDatum(now.idle))
            .add(Int32GetDatum(now.idle_in_transaction))
            .add(Int32GetDatum(now.waiting))
            .add(Int32GetDatum(e.admission_waiting))
            .add(Int32GetDatum(now.instances))
            .add_or_null(!capped, Int32GetDatum(e.budget.max_connections))
            .add_or_null(!e.has_budget, Int32GetDatum(e.budget.reserved_connections))
            .add_or_null(!e.has_budget, CStringGetTextDatum(core::mode_name(e.budget.mode)))
            .add_or_null(!has_utilization,
                         Float8GetDatum(has_utilization ? static_cast<double>(e.connections) /
                                                              e.budget.max_connections
                                                        : 0.0))
            .add(Int32GetDatum(e.peak_connections))
            .add(Int32GetDatum(std::max(e.peak_active, now.active)))
            .add(Int64GetDatum(e.admitted))
            .add(Int64GetDatum(e.rejected))
            .add(Int64GetDatum(e.would_reject))
            .add(Int64GetDatum(e.reaped))
            .add(Float8GetDatum(core::connects_per_second(e, live.ledger.copied_at)))
            .add_or_null(
                e.sessions_ended == 0,
                Float8GetDatum(e.sessions_ended == 0 ? 0.0
                                                     : static_cast<double>(e.session_micros_total) /
                                                           e.sessions_ended / 1e6))
            .add_or_null(e.last_rejected_at == 0, TimestampTzGetDatum(e.last_rejected_at))
            .add_or_null(e.stats_reset_at == 0, TimestampTzGetDatum(e.stats_reset_at));
        row.emit();
    }
    return (Datum)0;
}

// pgpool_stats.reset(application_name DEFAULT NULL): zero counters, peaks and
// history of one application, or of all.
PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_reset_1_0) {
    TimestampTz now = GetCurrentTimestamp();
    if (PG_ARGISNULL(0)) {
        ledger_lock_exclusive();
        ledger->reset_counters(-1, now);
        ledger_unlock();
        history_lock_exclusive();
        history->erase(-1);
        history_unlock();
        PG_RETURN_VOID();
    }
    char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
    ledger_lock_exclusive();
    int32 i = ledger->find(name);
    if (i < 0 && strcmp(name, core::kOtherName) == 0) i = core::kOtherEntry;
    if (i >= 0) ledger->reset_counters(i, now);
    ledger_unlock();
    if (i >= 0) {
        history_lock_exclusive();
        history->erase(i);
        history_unlock();
    }
    if (i < 0)
        ereport(NOTICE,
                (errmsg("pgpool_stats: no application \"%s\" is tracked; nothing to reset", name)));
    PG_RETURN_VOID();
}

namespace {

// The capacity row: 1.0's eleven columns, and 1.1's two more (waiting logins
// and reservations beyond capacity) when the SQL declares them.
constexpr int kColumns1_0 = 11;
constexpr int kColumns1_1 = 13;
Datum capacity_row(FunctionCallInfo fcinfo, int columns) {
    ReturnSetInfo* rsinfo = begin_rows(fcinfo, columns);

    ledger_lock_shared();
    core::CapacityFigures f = ledger->capacity_figures();
    ledger_unlock();

    Row row(rsinfo);
    row.add(Int32GetDatum(MaxConnections))
        .add(Int32GetDatum(compat::superuser_reserved_connections()))
        .add(Int32GetDatum(f.capacity))
        .add(Int32GetDatum(f.connections))
        .add(Int64GetDatum(f.reserved_total))
        .add(Int64GetDatum(f.reserved_unused))
        .add(Int64GetDatum(f.free_unreserved))
        .add(Int64GetDatum(f.budget_total))
        .add(Int64GetDatum(f.overcommit()))
        .add(Int32GetDatum(f.applications_tracked))
        .add(Int32GetDatum(f.applications_max));
    if (columns == kColumns1_1)
        row.add(Int32GetDatum(f.admission_waiting)).add(Int64GetDatum(f.reserved_over_capacity()));
    row.emit();
    return (Datum)0;
}

}  // namespace

// Serves pgpool_stats 1.0's SQL until ALTER EXTENSION ... UPDATE.
PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_capacity_1_0) {
    return capacity_row(fcinfo, kColumns1_0);
}

PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_capacity_1_1) {
    return capacity_row(fcinfo, kColumns1_1);
}

namespace {

// 1.1 adds would_reject to the history views; 1.0's SQL is served without it
// until ALTER EXTENSION ... UPDATE.
enum class HistoryColumns { k1_0, k1_1 };

Datum history_rows(FunctionCallInfo fcinfo, HistoryColumns columns) {
    const bool would_reject = columns == HistoryColumns::k1_1;
    ReturnSetInfo* rsinfo = begin_rows(fcinfo, would_reject ? 11 : 10);

    HistoryCopy h = copy_history();
    uncount_refusals_in_samples(&h);
    LedgerCopy copy = copy_ledger();
    HistoryNames names = history_names(copy);

    Row row(rsinfo);
    // One row of any tier: when, whose, its gauges (maxima for roll-ups).
    auto emit = [&](TimestampTz at, const char* name, const int32* gauges, int64 rejected,
                    int64 would, const char* resolution) {
        row.add(TimestampTzGetDatum(at)).add(CStringGetTextDatum(name));
        for (int g = 0; g < core::kGauges; ++g) row.add(Int32GetDatum(gauges[g]));
        row.add(Int64GetDatum(rejected)).add(CStringGetTextDatum(resolution));
        if (would_reject) row.add(Int64GetDatum(would));  // 1.1's last column
        row.emit();
    };
    for (int32 k = 0; k < h.n_hours; ++k) {
        const core::HistoryHour& r = h.hours[k];
        const char* name = names.name_of(r.entry, r.incarnation);
        if (name == nullptr || r.hour + USECS_PER_HOUR > h.minutes_from) continue;
        emit(r.hour, name, r.max, r.rejected, r.would_reject, "hour");
    }
    for (int32 k = 0; k < h.n_minutes; ++k) {
        const core::HistoryMinute& r = h.minutes[k];
        const char* name = names.name_of(r.entry, r.incarnation);
        // The minute the fine samples begin in is shown too: its first part
        // is covered by nothing else (its refusals are only those before
        // the first sample).
        if (name == nullptr || r.minute < h.minutes_from || r.minute >= h.samples_from) continue;
        emit(r.minute, name, r.max, r.rejected, r.would_reject, "minute");
    }
    for (int32 k = 0; k < h.n_samples; ++k) {
        const core::HistorySample& x = h.samples[k];
        const char* name = names.name_of(x.entry, x.incarnation);
        if (name == nullptr || x.sample_time < h.samples_from) continue;
        emit(x.sample_time, name, x.gauge, x.rejected, x.would_reject, "sample");
    }
    return (Datum)0;
}

// The rows of one roll-up tier (minutes or hours): when, whose, ticks, then
// per gauge min / mean / [p95 for hours] / max, refusals [and would-be ones].
template <typename Rollup>
Datum rollup_rows(FunctionCallInfo fcinfo, HistoryColumns columns, const Rollup* rows, int32 n,
                  const HistoryNames& names) {
    constexpr bool hours = std::is_same_v<Rollup, core::HistoryHour>;
    const bool would_reject = columns == HistoryColumns::k1_1;
    ReturnSetInfo* rsinfo = begin_rows(
        fcinfo, (hours ? 4 : 3) + (hours ? 4 : 3) * core::kGauges + 1 + (would_reject ? 1 : 0));
    Row row(rsinfo);
    for (int32 k = 0; k < n; ++k) {
        const Rollup& r = rows[k];
        const char* name = names.name_of(r.entry, r.incarnation);
        if (name == nullptr) continue;
        if constexpr (hours)
            row.add(TimestampTzGetDatum(r.hour));
        else
            row.add(TimestampTzGetDatum(r.minute));
        row.add(CStringGetTextDatum(name)).add(Int32GetDatum(r.samples));
        if constexpr (hours) row.add(Int32GetDatum(r.minutes));
        for (int g = 0; g < core::kGauges; ++g) {
            row.add(Int32GetDatum(r.min[g])).add(Float8GetDatum(r.mean(g)));
            if constexpr (hours) row.add(Int32GetDatum(r.p95[g]));
            row.add(Int32GetDatum(r.max[g]));
        }
        row.add(Int64GetDatum(r.rejected));
        if (would_reject) row.add(Int64GetDatum(r.would_reject));
        row.emit();
    }
    return (Datum)0;
}

Datum history_minute_rows(FunctionCallInfo fcinfo, HistoryColumns columns) {
    HistoryCopy h = copy_history();
    LedgerCopy copy = copy_ledger();
    HistoryNames names = history_names(copy);
    return rollup_rows(fcinfo, columns, h.minutes, h.n_minutes, names);
}

}  // namespace

// pgpool_stats.history: fine samples for the recent past, preceded by minute
// rows for what is older than the oldest fine sample, and hour rows for what
// is older than the minute rows (HistoryCopy says where each tier takes
// over). In a minute or hour row each gauge is its maximum within the minute
// or hour and rejected its total; pgpool_stats.history_minutes and
// history_hours have min / mean / max.
PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_history_1_0) {
    return history_rows(fcinfo, HistoryColumns::k1_0);
}

PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_history_1_1) {
    return history_rows(fcinfo, HistoryColumns::k1_1);
}

// pgpool_stats.history_minutes: every minute roll-up with min / mean / max.
PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_history_minutes_1_0) {
    return history_minute_rows(fcinfo, HistoryColumns::k1_0);
}

PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_history_minutes_1_1) {
    return history_minute_rows(fcinfo, HistoryColumns::k1_1);
}

// pgpool_stats.history_hours: every hour roll-up with min / mean / p95 of the
// minute maxima / max.
PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_history_hours_1_1) {
    HistoryCopy h = copy_history();
    LedgerCopy copy = copy_ledger();
    HistoryNames names = history_names(copy);
    return rollup_rows(fcinfo, HistoryColumns::k1_1, h.hours, h.n_hours, names);
}

// pgpool_stats.metrics(): Prometheus text exposition (see core/prometheus.hpp).
PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_metrics_1_0) {
    LiveApplications live = live_applications();
    core::MetricsInput in{};
    in.entries = live.ledger.entries;
    in.census = live.census;
    in.n = live.ledger.n;
    in.capacity = live.ledger.capacity;
    in.max_connections = MaxConnections;
    in.superuser_reserved_connections = compat::superuser_reserved_connections();
    in.now = live.ledger.copied_at;

    // Two passes, like snprintf: the C++ text lives only inside the core's
    // frames; this one holds palloc'd memory only.
    size_t length = core::render_metrics(in, nullptr, 0);
    text* result = static_cast<text*>(palloc(VARHDRSZ + length + 1));
    core::render_metrics(in, VARDATA(result), length + 1);
    SET_VARSIZE(result, VARHDRSZ + length);
    PG_RETURN_TEXT_P(result);
}
