// pgpool_stats.report(): the visual report (core/report.cpp renders it) fed
// from the history of the window, the ledger and recommend()'s results.

#include <algorithm>

#include "core/report.hpp"
#include "gucs.hpp"
#include "recommendations.hpp"
#include "sql_boundary.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

using namespace pgpool_stats;

namespace {

// The most applications drawn: the page stays readable and quick to render.
constexpr int32 kReportApplications = 30;

// Each application's history rows within [from, to) as report points, in
// one pass over the copy: points[k] / n_points[k] for live row k.
void gather_points(const Observed& o, core::ReportPoint** points, int32* n_points) {
    const int32 rows = o.live.ledger.n;
    const int64 tick = static_cast<int64>(guc_sample_interval_ms) * 1000;
    const TimestampTz fine_from =
        o.history.n_samples > 0 ? o.history.samples[0].sample_time : o.now;
    for (int pass = 0; pass < 2; ++pass) {
        for (int32 k = 0; k < rows; ++k) {
            if (pass == 1)
                points[k] = static_cast<core::ReportPoint*>(
                    palloc(sizeof(core::ReportPoint) * (n_points[k] + 1)));
            n_points[k] = 0;
        }
        for (int32 r = 0; r < o.history.n_minutes; ++r) {
            const core::HistoryMinute& m = o.history.minutes[r];
            if (m.minute + USECS_PER_MINUTE <= o.from || m.minute >= fine_from) continue;
            const int32 k = o.names.row_of(m.entry, m.incarnation);
            if (k < 0) continue;
            if (pass == 1)
                points[k][n_points[k]] = {m.minute, m.minute + USECS_PER_MINUTE,
                                          m.max[core::kConnections], m.max[core::kActive]};
            ++n_points[k];
        }
        for (int32 s = 0; s < o.history.n_samples; ++s) {
            const core::HistorySample& x = o.history.samples[s];
            if (x.sample_time + tick <= o.from) continue;
            const int32 k = o.names.row_of(x.entry, x.incarnation);
            if (k < 0) continue;
            if (pass == 1)
                points[k][n_points[k]] = {x.sample_time, x.sample_time + tick,
                                          x.gauge[core::kConnections], x.gauge[core::kActive]};
            ++n_points[k];
        }
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

    core::ReportApplication* apps = static_cast<core::ReportApplication*>(
        palloc0(sizeof(core::ReportApplication) * (rows + 1)));
    int32 n = 0;
    for (int32 k = 0; k < rows; ++k) {
        if (is_other_row(o, k)) continue;
        const core::ApplicationEntry& e = o.live.ledger.entries[k];
        int32 ticks = 0;
        core::ReportApplication& a = apps[n++];
        a.recommendation = recommend_row(o, k, 0, 0.7, &ticks);
        char* rationale = static_cast<char*>(palloc(2048));
        core::write_rationale(a.recommendation, 0.7, rationale, 2048);
        a.name = e.name;
        a.has_budget = e.has_budget;
        a.max_connections = e.has_budget ? e.budget.max_connections : core::kNoCap;
        a.reserved_connections = e.has_budget ? e.budget.reserved_connections : 0;
        a.mode = e.budget.mode;
        a.connections_now = e.connections;
        a.rejected = e.rejected;
        a.points = points[k];
        a.n_points = n_points[k];
        a.rationale = rationale;
    }
    // Budgeted applications first, then by their peak in the window.
    std::sort(apps, apps + n,
              [](const core::ReportApplication& x, const core::ReportApplication& y) {
                  if (x.has_budget != y.has_budget) return x.has_budget;
                  if (x.recommendation.peak_connections != y.recommendation.peak_connections)
                      return x.recommendation.peak_connections > y.recommendation.peak_connections;
                  return strcmp(x.name, y.name) < 0;
              });

    core::ReportInput in{};
    in.from_us = o.from;
    in.to_us = o.now;
    // Labels to the second: microseconds only clutter the axis.
    in.from_label = pstrdup(timestamptz_to_str(o.from - o.from % USECS_PER_SEC));
    in.to_label = pstrdup(timestamptz_to_str(o.now - o.now % USECS_PER_SEC));
    in.generated_label = in.to_label;
    in.capacity = o.live.ledger.capacity.capacity;
    in.connections = o.live.ledger.capacity.connections;
    in.reserved_total = static_cast<int32>(o.live.ledger.capacity.reserved_total);
    in.budget_total = static_cast<int32>(o.live.ledger.capacity.budget_total);
    in.applications = apps;
    in.n_applications = std::min(n, kReportApplications);

    const size_t length = core::render_report(in, nullptr, 0);
    text* result = static_cast<text*>(palloc(VARHDRSZ + length + 1));
    core::render_report(in, VARDATA(result), length + 1);
    SET_VARSIZE(result, VARHDRSZ + length);
    PG_RETURN_TEXT_P(result);
}
