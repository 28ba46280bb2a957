// The visual report: one self-contained HTML page (inline CSS and SVG, no
// script, nothing fetched) with, per application, its connections and active
// sessions over the window, its budget and reservation drawn on the chart,
// and its findings and recommendation beside it.
//
// Pure core: the shell gathers plain data (history rows as time spans, the
// ledger, recommend()'s results), this renders it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "recommender.hpp"

namespace pgpool_stats::core {

// One history row of an application: the gauges held over [start, end)
// (a fine sample covers one sample_interval, a minute roll-up its minute).
struct ReportPoint {
    int64_t start_us, end_us;  // on the shell's clock; only differences matter
    int32_t connections, active;
};

struct ReportApplication {
    const char* name;
    bool has_budget;
    int32_t max_connections;  // kNoCap: no cap
    int32_t reserved_connections;
    BudgetMode mode;  // when has_budget
    int32_t connections_now;
    int64_t rejected;
    const ReportPoint* points;  // in any order
    int32_t n_points;
    Recommendation recommendation;
    const char* rationale;
};

struct ReportInput {
    int64_t from_us, to_us;  // the window drawn, on the points' clock
    const char* from_label;  // those two instants as text for the axis
    const char* to_label;
    const char* generated_label;  // when the report was made
    int32_t capacity, connections, reserved_total, budget_total;
    const ReportApplication* applications;  // drawn in the order given
    int32_t n_applications;
};

inline constexpr int kReportColumns = 600;  // the chart's buckets (pixels)

// Per bucket of the window, the most connections and active sessions of any
// row overlapping it; buckets no row covers are 0 (the history writes rows
// only for applications with something to say).
void bucket_points(const ReportPoint* points, int32_t n, int64_t from_us, int64_t to_us,
                   int32_t* connections, int32_t* active, int columns) noexcept;

// Writes the page like snprintf: returns its full length, writes at most
// out_size bytes, terminated when out_size > 0.
size_t render_report(const ReportInput& in, char* out, size_t out_size);

}  // namespace pgpool_stats::core
