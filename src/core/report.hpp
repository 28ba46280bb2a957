// The visual report: one self-contained HTML page (inline CSS and SVG, no
// script, nothing fetched) with, in this order: a summary table of every
// application, a server-wide chart of connections against capacity stacked
// by application, one section per application (its chart with axes, bands,
// budget lines and marks of refusals and reaps; its figures; its
// recommendation as figures), and notes that explain once what every
// section shares.
//
// Pure core: the shell gathers plain data (history rows as intervals with
// min / mean / max, the ledger's counters, the reaped log, recommend()'s
// results), this renders it. Times are microseconds since PostgreSQL's epoch
// (2000-01-01 00:00 UTC); labels are in local time, UTC + utc_offset_us.
#pragma once

#include <cstddef>
#include <cstdint>

#include "recommender.hpp"

namespace pgpool_stats::core {

// The series a chart draws from history rows.
enum ReportSeries : int { kSeriesConnections = 0, kSeriesActive, kSeriesIdleInTransaction };
inline constexpr int kReportSeries = 3;

// One gauge over a row's interval. A fine sample is one reading
// (min == mean == max); a roll-up (a minute, an hour) summarizes its ticks.
struct ReportGauge {
    int32_t min;
    double mean;
    int32_t max;
};

// One history row of an application: what it held over [start, end). The
// interval's length says what the row is (one sample_interval, a minute, an
// hour): rows are drawn from it, never from their tier.
struct ReportPoint {
    int64_t start_us, end_us;
    ReportGauge gauge[kReportSeries];
    int64_t rejected;      // logins refused in the interval
    int64_t would_reject;  // logins let through in the interval that enforce would refuse
};

// One entry of the reaped log: a session terminated (or, in monitor mode,
// one that would have been).
struct ReportReap {
    int64_t at_us;
    bool would;  // would_terminate
};

struct ReportApplication {
    const char* name;
    bool has_budget;
    int32_t max_connections;  // kNoCap: no cap
    int32_t reserved_connections;
    BudgetMode mode;  // when has_budget
    int32_t connections_now;
    // Counters since the application's last reset (as pgpool_stats.applications).
    int64_t rejected;
    int64_t would_reject;
    int64_t reaped;
    double connects_per_second;  // logins per second over about the last minute
    double avg_session_seconds;  // < 0: no session has ended yet
    const ReportPoint* points;   // in any order, none overlapping another
    int32_t n_points;
    const ReportReap* reaps;  // in any order; may lie outside the window
    int32_t n_reaps;
    Recommendation recommendation;
};

struct ReportInput {
    int64_t asked_us;        // the window asked for
    int64_t from_us, to_us;  // the window covered: history may hold less than asked
    int64_t utc_offset_us;   // local time = UTC + this
    const char* zone;        // the time zone's abbreviation, e.g. "UTC"
    int32_t capacity, connections, reserved_total, budget_total;
    double target_utilization;
    // Every application, in the order listed; the first `charted` also get
    // a section with a chart, the first `listed` a row of the summary table.
    const ReportApplication* applications;
    int32_t n_applications;
    int32_t charted;
    int32_t listed;
    // The ledger's "(other)" row (sessions counted while the table was
    // full): part of the server-wide chart only.
    const ReportPoint* other_points;
    int32_t n_other_points;
};

inline constexpr int kReportColumns = 600;      // a chart's buckets (pixels)
inline constexpr int kReportStacked = 6;        // applications stacked by name; then "the rest"
inline constexpr int kReportTimeTicks = 6;      // at most, across a chart (a phone too)
inline constexpr int kReportValueTicks = 6;     // at most, up a chart
inline constexpr double kReportCoverage = 0.9;  // a column less covered by rows has a zero in it

// A column of a chart: one series over the column's time.
struct ReportColumn {
    double min;   // the lowest any row held; 0 when part of the column has no row
    double mean;  // time-weighted; time without a row counts as 0
    double max;   // the highest any row held
};

// Per column of [from, to), the band of `series` drawn from the rows that
// overlap it, each for the part of its interval inside the column: a minute
// row seen through ten columns gives each its min..max and mean, a column
// holding ten samples their lowest, mean and highest.
void band_columns(const ReportPoint* points, int32_t n, int series, int64_t from_us, int64_t to_us,
                  ReportColumn* out, int columns);

// The time axis: the nice step (1, 2, 5, 10, 15, 30 s; 1, 2, 5, 10, 15, 30
// min; 1, 2, 3, 6, 12 h; 1, 2, 7 days, then multiples of a week) that puts
// at most max_ticks steps across span_us.
int64_t time_step(int64_t span_us, int max_ticks) noexcept;
// The value axis: the step (1, 2, 5 times a power of ten) that puts at most
// max_ticks steps below the top, and the axis' top (a multiple of the step
// with room above `top`).
int32_t value_step(int32_t top, int max_ticks) noexcept;
int32_t value_axis_top(int32_t top, int max_ticks) noexcept;

// A calendar instant of local time (microseconds since 2000-01-01 00:00,
// local).
struct CivilTime {
    int year, month, day, hour, minute, second;
};
CivilTime civil_time(int64_t local_us) noexcept;

// Texts, written like snprintf (full length returned, at most out_size bytes
// written, terminated when out_size > 0).
// "2 min 30 s", "1 h 5 min", "3 d 2 h", "45 s", "under 1 s": the two largest units.
size_t duration_text(int64_t us, char* out, size_t out_size);
// "asked 10 min, history covers the last 2 min 30 s" (or "... covers all of
// it", or "... history holds nothing yet").
size_t covered_sentence(int64_t asked_us, int64_t from_us, int64_t to_us, char* out,
                        size_t out_size);
// A tick's label at time t: HH:MM:SS for steps under a minute, HH:MM under a
// day, and the date ("Dec 2") at local midnight and for steps of days.
size_t time_label(int64_t t_us, int64_t utc_offset_us, int64_t step_us, char* out, size_t out_size);

// What the summary table shows of an application beyond its counters.
struct ReportSummary {
    int32_t peak_connections;  // in the window, from its rows
    int32_t peak_active;
    double mean_connections;  // time-weighted over the window
    int64_t refused;          // refusals in the window, from its rows
    int32_t reaps;            // reaped log entries in the window: terminated
    int32_t would_reaps;      // ... and would_terminate
};
ReportSummary summarize(const ReportApplication& a, int64_t from_us, int64_t to_us) noexcept;

// Writes the page like snprintf: returns its full length, writes at most
// out_size bytes, terminated when out_size > 0.
size_t render_report(const ReportInput& in, char* out, size_t out_size);

}  // namespace pgpool_stats::core
