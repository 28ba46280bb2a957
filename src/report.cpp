// pgpool_stats.report(): the visual report (core/report.cpp renders it) fed
// from the history of the window, the ledger, the reaped log and recommend()'s
// results.

#include <algorithm>

#include "core/report.hpp"
#include "gucs.hpp"
#include "recommendations.hpp"
#include "shared_memory.hpp"
#include "sql_boundary.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

using namespace pgpool_stats;

namespace {

// The applications with a chart of their own, and those in the summary
// table: the page stays readable and quick to render.
constexpr int32 kReportCharted = 30;
constexpr int32 kReportListed = 1000;

// The history's gauge behind each series the report draws.
constexpr int kGaugeOf[core::kReportSeries] = {core::kConnections, core::kActive,
                                               core::kIdleInTransaction};

core::ReportPoint sample_point(const core::HistorySample& x, int64 tick) {
    core::ReportPoint p{};
    p.start_us = x.sample_time;
    p.end_us = x.sample_time + tick;
    for (int s = 0; s < core::kReportSeries; ++s) {
        const int32 v = x.gauge[kGaugeOf[s]];
        p.gauge[s] = {v, static_cast<double>(v), v};
    }
    p.rejected = x.rejected;
    p.would_reject = x.would_reject;
    return p;
}

// A roll-up summarizes [start, end) by min / mean / max: every tier of that
// shape (minutes, hours) becomes a point the same way.
template <typename Rollup>
core::ReportPoint rollup_point(const Rollup& r, int64 start, int64 end) {
    core::ReportPoint p{};
    p.start_us = start;
    p.end_us = end;
    for (int s = 0; s < core::kReportSeries; ++s)
        p.gauge[s] = {r.min[kGaugeOf[s]], r.mean(kGaugeOf[s]), r.max[kGaugeOf[s]]};
    p.rejected = r.rejected;
    p.would_reject = r.would_reject;
    return p;
}

// Each application's history rows within [from, now) as report points, in
// one pass over the copy: points[k] / n_points[k] for live row k. Hours are
// taken up to where minutes begin and minutes up to where fine samples
// begin, a row that straddles that instant cut there, so no time is drawn
// twice.
void gather_points(const Observed& o, core::ReportPoint** points, int32* n_points) {
    const int32 rows = o.live.ledger.n;
    const int64 tick = static_cast<int64>(guc_sample_interval_ms) * 1000;
    const TimestampTz fine_from = std::min(o.history.samples_from, o.now);
    const TimestampTz minutes_from = std::min(o.history.minutes_from, fine_from);
    for (int pass = 0; pass < 2; ++pass) {
        for (int32 k = 0; k < rows; ++k) {
            if (pass == 1)
                points[k] = static_cast<core::ReportPoint*>(
                    palloc(sizeof(core::ReportPoint) * (n_points[k] + 1)));
            n_points[k] = 0;
        }
        for (int32 r = 0; r < o.history.n_hours; ++r) {
            const core::HistoryHour& h = o.history.hours[r];
            if (h.hour + USECS_PER_HOUR <= o.from || h.hour >= minutes_from) continue;
            const int32 k = o.names.row_of(h.entry, h.incarnation);
            if (k < 0) continue;
            if (pass == 1)
                points[k][n_points[k]] =
                    rollup_point(h, h.hour, std::min(h.hour + USECS_PER_HOUR, minutes_from));
            ++n_points[k];
        }
        for (int32 r = 0; r < o.history.n_minutes; ++r) {
            const core::HistoryMinute& m = o.history.minutes[r];
            if (m.minute + USECS_PER_MINUTE <= o.from || m.minute < minutes_from ||
                m.minute >= fine_from)
                continue;
            const int32 k = o.names.row_of(m.entry, m.incarnation);
            if (k < 0) continue;
            if (pass == 1)
                points[k][n_points[k]] =
                    rollup_point(m, m.minute, std::min(m.minute + USECS_PER_MINUTE, fine_from));
            ++n_points[k];
        }
        for (int32 s = 0; s < o.history.n_samples; ++s) {
            const core::HistorySample& x = o.history.samples[s];
            if (x.sample_time + tick <= o.from || x.sample_time < o.history.samples_from) continue;
            const int32 k = o.names.row_of(x.entry, x.incarnation);
            if (k < 0) continue;
            if (pass == 1) points[k][n_points[k]] = sample_point(x, tick);
            ++n_points[k];
        }
    }
}

// The reaped log's entries within [from, now), handed to the applications
// they name (apps[0..n)).
void gather_reaps(const Observed& o, core::ReportApplication* apps, int32 n) {
    core::ReapedRecord* records =
        static_cast<core::ReapedRecord*>(palloc(sizeof(core::ReapedRecord) * reaped_log->size()));
    history_lock_shared();
    const int32 n_records = reaped_log->copy(records, reaped_log->size());
    history_unlock();

    // The applications by name, to find each record's in log time.
    int32* by_name = static_cast<int32*>(palloc(sizeof(int32) * (n + 1)));
    for (int32 k = 0; k < n; ++k) by_name[k] = k;
    std::sort(by_name, by_name + n,
              [&](int32 x, int32 y) { return strcmp(apps[x].name, apps[y].name) < 0; });
    const auto find = [&](const char* name) -> int32 {
        const int32* at = std::lower_bound(by_name, by_name + n, name, [&](int32 k, const char* v) {
            return strcmp(apps[k].name, v) < 0;
        });
        return at < by_name + n && strcmp(apps[*at].name, name) == 0 ? *at : -1;
    };
    int32* owner = static_cast<int32*>(palloc(sizeof(int32) * (n_records + 1)));
    int32* count = static_cast<int32*>(palloc0(sizeof(int32) * (n + 1)));
    for (int32 r = 0; r < n_records; ++r) {
        const bool inside = records[r].reaped_at >= o.from && records[r].reaped_at <= o.now;
        owner[r] = inside ? find(records[r].application_name) : -1;
        if (owner[r] >= 0) ++count[owner[r]];
    }
    core::ReportReap** lists =
        static_cast<core::ReportReap**>(palloc0(sizeof(core::ReportReap*) * (n + 1)));
    for (int32 k = 0; k < n; ++k)
        if (count[k] > 0)
            lists[k] = static_cast<core::ReportReap*>(palloc(sizeof(core::ReportReap) * count[k]));
    for (int32 r = 0; r < n_records; ++r) {
        const int32 k = owner[r];
        if (k < 0) continue;
        lists[k][apps[k].n_reaps++] = {records[r].reaped_at,
                                       records[r].action == core::ReapAction::kWouldTerminate};
        apps[k].reaps = lists[k];
    }
}

}  // namespace

PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_report_1_0) {
    if (PG_ARGISNULL(0))
        ereport(ERROR,
                (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("window must not be NULL")));
    const int64 window_us = interval_micros(PG_GETARG_INTERVAL_P(0));
    if (window_us <= 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("window must be positive"),
                        errhint("Use the span of history to draw, e.g. '1 hour'.")));
    const Observed o = observe(window_us);
    const int32 rows = o.live.ledger.n;
    core::ReportPoint** points =
        static_cast<core::ReportPoint**>(palloc0(sizeof(core::ReportPoint*) * (rows + 1)));
    int32* n_points = static_cast<int32*>(palloc0(sizeof(int32) * (rows + 1)));
    gather_points(o, points, n_points);

    constexpr double kTarget = 0.7;  // recommend()'s default
    core::ReportApplication* apps = static_cast<core::ReportApplication*>(
        palloc0(sizeof(core::ReportApplication) * (rows + 1)));
    core::ReportInput in{};
    int32 n = 0;
    for (int32 k = 0; k < rows; ++k) {
        if (is_other_row(o, k)) {
            in.other_points = points[k];
            in.n_other_points = n_points[k];
            continue;
        }
        const core::ApplicationEntry& e = o.live.ledger.entries[k];
        int32 ticks = 0;
        core::ReportApplication& a = apps[n++];
        a.recommendation = recommend_row(o, k, 0, kTarget, &ticks);
        a.name = e.name;
        a.has_budget = e.has_budget;
        a.max_connections = e.has_budget ? e.budget.max_connections : core::kNoCap;
        a.reserved_connections = e.has_budget ? e.budget.reserved_connections : 0;
        a.mode = e.budget.mode;
        a.connections_now = e.connections;
        a.rejected = e.rejected;
        a.would_reject = e.would_reject;
        a.reaped = e.reaped;
        a.connects_per_second = a.recommendation.connects_per_second;
        a.avg_session_seconds = e.sessions_ended ? static_cast<double>(e.session_micros_total) /
                                                       e.sessions_ended / USECS_PER_SEC
                                                 : -1;
        a.points = points[k];
        a.n_points = n_points[k];
    }
    // Budgeted applications first, then by their peak in the window.
    std::sort(apps, apps + n,
              [](const core::ReportApplication& x, const core::ReportApplication& y) {
                  if (x.has_budget != y.has_budget) return x.has_budget;
                  if (x.recommendation.peak_connections != y.recommendation.peak_connections)
                      return x.recommendation.peak_connections > y.recommendation.peak_connections;
                  return strcmp(x.name, y.name) < 0;
              });
    gather_reaps(o, apps, n);

    // Labels in the session's time zone, at its offset now.
    int tz = 0;
    struct pg_tm tm;
    fsec_t fsec;
    const char* zone = nullptr;
    if (timestamp2tm(o.now, &tz, &tm, &fsec, &zone, nullptr) != 0) tz = 0;
    in.asked_us = window_us;
    in.from_us = o.from;
    in.to_us = o.now;
    in.utc_offset_us = -static_cast<int64>(tz) * USECS_PER_SEC;
    in.zone = zone ? pstrdup(zone) : "UTC";
    in.capacity = o.live.ledger.capacity.capacity;
    in.connections = o.live.ledger.capacity.connections;
    in.reserved_total = static_cast<int32>(o.live.ledger.capacity.reserved_total);
    in.budget_total = static_cast<int32>(o.live.ledger.capacity.budget_total);
    in.target_utilization = kTarget;
    in.applications = apps;
    in.n_applications = n;
    in.charted = std::min(n, kReportCharted);
    in.listed = std::min(n, kReportListed);

    const size_t length = core::render_report(in, nullptr, 0);
    text* result = static_cast<text*>(palloc(VARHDRSZ + length + 1));
    core::render_report(in, VARDATA(result), length + 1);
    SET_VARSIZE(result, VARHDRSZ + length);
    PG_RETURN_TEXT_P(result);
}
