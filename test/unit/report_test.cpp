// The report's core: rows drawn over the interval they cover (a roll-up as a
// band of min..max with its mean, never its maximum painted across it), the
// axes' nice steps, the sentence that says how much history the window
// really had, the summary table's rows, the server-wide stack, and the page:
// self-contained, names escaped, marks of refusals and reaps where they
// happened.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/report.hpp"

using namespace pgpool_stats::core;

namespace {

constexpr int64_t kS = 1'000'000;
constexpr int64_t kMin = 60 * kS;
constexpr int64_t kH = 60 * kMin;
constexpr int64_t kD = 24 * kH;

std::string render(const ReportInput& in) {
    const size_t need = render_report(in, nullptr, 0);
    std::string out(need + 1, '\0');
    EXPECT_EQ(render_report(in, out.data(), out.size()), need);
    out.resize(need);
    return out;
}

size_t count(const std::string& text, const std::string& piece) {
    size_t n = 0;
    for (size_t at = text.find(piece); at != std::string::npos; at = text.find(piece, at + 1)) ++n;
    return n;
}

// The part of the page from `from` to the next `to` after it.
std::string between(const std::string& text, const std::string& from, const std::string& to) {
    const size_t at = text.find(from);
    if (at == std::string::npos) return "";
    const size_t end = text.find(to, at + from.size());
    return text.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

ReportPoint sample(int64_t at, int32_t connections, int32_t active, int32_t idle_in_transaction,
                   int64_t rejected = 0, int64_t tick = kS) {
    ReportPoint p{};
    p.start_us = at;
    p.end_us = at + tick;
    p.gauge[kSeriesConnections] = {connections, static_cast<double>(connections), connections};
    p.gauge[kSeriesActive] = {active, static_cast<double>(active), active};
    p.gauge[kSeriesIdleInTransaction] = {
        idle_in_transaction, static_cast<double>(idle_in_transaction), idle_in_transaction};
    p.rejected = rejected;
    return p;
}

ReportPoint rollup(int64_t start, int64_t length, ReportGauge connections,
                   ReportGauge active = {0, 0, 0}, int64_t rejected = 0) {
    ReportPoint p{};
    p.start_us = start;
    p.end_us = start + length;
    p.gauge[kSeriesConnections] = connections;
    p.gauge[kSeriesActive] = active;
    p.rejected = rejected;
    return p;
}

ReportApplication application(const char* name, const std::vector<ReportPoint>& points) {
    ReportApplication a{};
    a.name = name;
    a.max_connections = kNoCap;
    a.points = points.data();
    a.n_points = static_cast<int32_t>(points.size());
    a.avg_session_seconds = -1;
    a.recommendation.instances = 1;
    a.recommendation.idle_in_transaction_timeout_seconds = -1;
    return a;
}

ReportInput input(const std::vector<ReportApplication>& apps, int64_t from = 0,
                  int64_t to = 10 * kMin) {
    ReportInput in{};
    in.asked_us = to - from;
    in.from_us = from;
    in.to_us = to;
    in.zone = "UTC";
    in.capacity = 97;
    in.target_utilization = 0.7;
    in.applications = apps.data();
    in.n_applications = static_cast<int32_t>(apps.size());
    in.charted = in.n_applications;
    in.listed = in.n_applications;
    return in;
}

std::string text_of(size_t (*f)(int64_t, char*, size_t), int64_t v) {
    char out[128];
    f(v, out, sizeof out);
    return out;
}

std::string covered(int64_t asked, int64_t from, int64_t to) {
    char out[160];
    covered_sentence(asked, from, to, out, sizeof out);
    return out;
}

std::string tick_label(int64_t t, int64_t offset, int64_t step) {
    char out[32];
    time_label(t, offset, step, out, sizeof out);
    return out;
}

}  // namespace

// ---- rows drawn over their interval ----------------------------------------

TEST(ReportBands, MinuteRowIsABandWithItsMeanNotItsMaximumAcrossTheMinute) {
    // A psql session seen in one 200 ms sample of a minute: the minute row
    // says min 0, mean 1/300, max 1.
    const std::vector<ReportPoint> points = {rollup(0, kMin, {0, 1.0 / 300, 1})};
    std::vector<ReportColumn> c(10);
    band_columns(points.data(), 1, kSeriesConnections, 0, 10 * kMin, c.data(), 10);
    EXPECT_DOUBLE_EQ(c[0].min, 0);
    EXPECT_DOUBLE_EQ(c[0].max, 1);
    EXPECT_NEAR(c[0].mean, 1.0 / 300, 1e-12);
    for (int k = 1; k < 10; ++k) EXPECT_EQ(c[k].max, 0) << "column " << k;
}

TEST(ReportBands, RollupSeenThroughManyColumnsGivesEachItsBand) {
    // One minute over a two-minute window of 8 columns: the first four
    // columns each carry the minute's min..max and mean.
    const std::vector<ReportPoint> points = {rollup(0, kMin, {2, 3.5, 7})};
    std::vector<ReportColumn> c(8);
    band_columns(points.data(), 1, kSeriesConnections, 0, 2 * kMin, c.data(), 8);
    for (int k = 0; k < 4; ++k) {
        EXPECT_DOUBLE_EQ(c[k].min, 2);
        EXPECT_DOUBLE_EQ(c[k].mean, 3.5);
        EXPECT_DOUBLE_EQ(c[k].max, 7);
    }
    for (int k = 4; k < 8; ++k) EXPECT_DOUBLE_EQ(c[k].max, 0);
}

TEST(ReportBands, AnyIntervalLengthIsDrawnTheSameWay) {
    // An hourly row (the same shape as a minute's) over a day of 24 columns.
    const std::vector<ReportPoint> points = {rollup(3 * kH, kH, {1, 4, 9}),
                                             rollup(4 * kH, kH, {0, 0.5, 2})};
    std::vector<ReportColumn> c(24);
    band_columns(points.data(), 2, kSeriesConnections, 0, kD, c.data(), 24);
    EXPECT_DOUBLE_EQ(c[3].min, 1);
    EXPECT_DOUBLE_EQ(c[3].mean, 4);
    EXPECT_DOUBLE_EQ(c[3].max, 9);
    EXPECT_DOUBLE_EQ(c[4].max, 2);
    EXPECT_DOUBLE_EQ(c[5].max, 0);
}

TEST(ReportBands, SeveralSamplesInAColumnGiveTheirRange) {
    // Six 1 s samples in one 6 s column: 1, 3, 2, 2, 5, 1.
    std::vector<ReportPoint> points;
    const int32_t values[] = {1, 3, 2, 2, 5, 1};
    for (int k = 0; k < 6; ++k) points.push_back(sample(k * kS, values[k], 0, 0));
    std::vector<ReportColumn> c(2);
    band_columns(points.data(), 6, kSeriesConnections, 0, 12 * kS, c.data(), 2);
    EXPECT_DOUBLE_EQ(c[0].min, 1);
    EXPECT_DOUBLE_EQ(c[0].max, 5);
    EXPECT_DOUBLE_EQ(c[0].mean, 14.0 / 6);
    EXPECT_DOUBLE_EQ(c[1].max, 0);
}

TEST(ReportBands, TimeWithoutARowIsZeroButADriftBetweenTicksIsNot) {
    // Column 0: samples at 0 s and 2 s, none at 1 s: the application had
    // nothing then, so the column's lowest is 0. Column 1: ticks drifted by
    // 3 ms, a sliver without a row: still its samples' lowest.
    const std::vector<ReportPoint> points = {
        sample(0, 4, 0, 0), sample(2 * kS, 4, 0, 0), sample(3 * kS, 4, 0, 0),
        sample(4 * kS + 3000, 4, 0, 0), sample(5 * kS + 6000, 4, 0, 0)};
    std::vector<ReportColumn> c(2);
    band_columns(points.data(), 5, kSeriesConnections, 0, 6 * kS, c.data(), 2);
    EXPECT_DOUBLE_EQ(c[0].min, 0);
    EXPECT_NEAR(c[0].mean, 8.0 / 3, 1e-9);
    EXPECT_DOUBLE_EQ(c[1].min, 4);
}

TEST(ReportBands, RowsOutsideTheWindowAndOtherSeries) {
    const std::vector<ReportPoint> points = {sample(-10 * kS, 50, 50, 50), sample(0, 6, 2, 1)};
    std::vector<ReportColumn> c(1);
    band_columns(points.data(), 2, kSeriesIdleInTransaction, 0, kS, c.data(), 1);
    EXPECT_DOUBLE_EQ(c[0].max, 1);
    band_columns(points.data(), 2, kSeriesActive, 0, kS, c.data(), 1);
    EXPECT_DOUBLE_EQ(c[0].max, 2);
    band_columns(points.data(), 2, kSeriesActive, kS, kS, c.data(), 1);  // empty window
    EXPECT_DOUBLE_EQ(c[0].max, 0);
}

// ---- axes -------------------------------------------------------------------

TEST(ReportAxes, TimeStepsAreNiceAndFitTheTicks) {
    EXPECT_EQ(time_step(150 * kS, 8), 30 * kS);  // 2 min 30 s
    EXPECT_EQ(time_step(8 * kS, 8), kS);
    EXPECT_EQ(time_step(10 * kMin, 8), 2 * kMin);
    EXPECT_EQ(time_step(1 * kH, 8), 10 * kMin);
    EXPECT_EQ(time_step(2 * kH, 8), 15 * kMin);
    EXPECT_EQ(time_step(6 * kH, 8), kH);
    EXPECT_EQ(time_step(24 * kH, 8), 3 * kH);  // 8 steps: fits
    EXPECT_EQ(time_step(25 * kH, 8), 6 * kH);
    EXPECT_EQ(time_step(3 * kD, 8), 12 * kH);
    EXPECT_EQ(time_step(10 * kD, 8), 2 * kD);
    EXPECT_EQ(time_step(30 * kD, 8), 7 * kD);
    EXPECT_EQ(time_step(120 * kD, 8), 28 * kD);  // weeks, doubled
    EXPECT_EQ(time_step(100, 8), kS);            // never under a second
}

TEST(ReportAxes, EveryStepIsFromTheNiceList) {
    const std::vector<int64_t> nice = {kS,        2 * kS,    5 * kS,   10 * kS,  15 * kS,
                                       30 * kS,   kMin,      2 * kMin, 5 * kMin, 10 * kMin,
                                       15 * kMin, 30 * kMin, kH,       2 * kH,   3 * kH,
                                       6 * kH,    12 * kH,   kD,       2 * kD,   7 * kD};
    for (int64_t span = kS; span < 20 * kD; span = span * 11 / 10 + 1) {
        const int64_t step = time_step(span, 8);
        EXPECT_NE(std::find(nice.begin(), nice.end(), step), nice.end()) << span;
        EXPECT_LE(span, step * 8) << span;
        // ... and the next smaller one would not fit.
        const auto at = std::find(nice.begin(), nice.end(), step);
        if (at != nice.begin()) {
            EXPECT_GT(span, *(at - 1) * 8) << span;
        }
    }
}

TEST(ReportAxes, ValueStepsAndTheAxisTop) {
    EXPECT_EQ(value_step(3, 6), 1);
    EXPECT_EQ(value_step(6, 6), 1);
    EXPECT_EQ(value_step(7, 6), 2);
    EXPECT_EQ(value_step(13, 6), 5);
    EXPECT_EQ(value_step(106, 6), 20);
    EXPECT_EQ(value_step(4000, 6), 1000);
    // The top leaves room above the highest line.
    EXPECT_EQ(value_axis_top(3, 6), 4);
    EXPECT_EQ(value_axis_top(12, 6), 15);
    EXPECT_EQ(value_axis_top(97, 6), 120);
    EXPECT_EQ(value_axis_top(0, 6), 2);
    for (int32_t top = 1; top < 5000; top += 7) {
        const int32_t axis = value_axis_top(top, 6);
        EXPECT_GT(axis, top);
        EXPECT_EQ(axis % value_step(axis, 6), 0);
        EXPECT_LE(axis / value_step(axis, 6), 6);
    }
}

TEST(ReportAxes, CivilTimeFromPostgresEpoch) {
    const auto is = [](int64_t us, int y, int mo, int d, int h, int mi, int s) {
        const CivilTime c = civil_time(us);
        EXPECT_EQ(c.year, y);
        EXPECT_EQ(c.month, mo);
        EXPECT_EQ(c.day, d);
        EXPECT_EQ(c.hour, h);
        EXPECT_EQ(c.minute, mi);
        EXPECT_EQ(c.second, s);
    };
    is(0, 2000, 1, 1, 0, 0, 0);
    is(59 * kD, 2000, 2, 29, 0, 0, 0);
    is(60 * kD + kH + kMin + kS, 2000, 3, 1, 1, 1, 1);
    is(-kS, 1999, 12, 31, 23, 59, 59);
    // 2026-12-01 11:13:03: 9831 days after 2000-01-01.
    is(9831 * kD + 11 * kH + 13 * kMin + 3 * kS, 2026, 12, 1, 11, 13, 3);
    is(36524 * kD, 2099, 12, 31, 0, 0, 0);
}

TEST(ReportAxes, TickLabelsFollowTheStepInLocalTime) {
    const int64_t t = 9831 * kD + 11 * kH + 13 * kMin + 30 * kS;  // 2026-12-01 11:13:30 UTC
    EXPECT_EQ(tick_label(t, 0, 30 * kS), "11:13:30");
    EXPECT_EQ(tick_label(t, 0, 5 * kMin), "11:13");
    EXPECT_EQ(tick_label(t, kH, 5 * kMin), "12:13");  // UTC+01:00
    EXPECT_EQ(tick_label(t, 0, kD), "Dec 1");
    EXPECT_EQ(tick_label(9832 * kD, 0, 6 * kH), "Dec 2");  // midnight: the date
    EXPECT_EQ(tick_label(9832 * kD - kH, kH, 6 * kH), "Dec 2");
}

// ---- the covered window -------------------------------------------------------

TEST(ReportCovered, SaysWhatWasAskedAndWhatHistoryHad) {
    EXPECT_EQ(covered(10 * kMin, 0, 150 * kS), "asked 10 min, history covers the last 2 min 30 s");
    EXPECT_EQ(covered(kH, 0, kH), "asked 1 h, history covers all of it");
    EXPECT_EQ(covered(kH, 0, kH - kS / 2), "asked 1 h, history covers all of it");
    EXPECT_EQ(covered(6 * kH, 0, 65 * kMin), "asked 6 h, history covers the last 1 h 5 min");
    EXPECT_EQ(covered(7 * kD, 0, 2 * kD + 3 * kH + 4 * kMin),
              "asked 7 d, history covers the last 2 d 3 h");
    EXPECT_EQ(covered(kMin, 0, 0), "asked 1 min, history holds nothing yet");
    EXPECT_EQ(covered(kMin, 0, kS), "asked 1 min, history covers the last 1 s");
}

TEST(ReportCovered, Durations) {
    EXPECT_EQ(text_of(duration_text, 45 * kS), "45 s");
    EXPECT_EQ(text_of(duration_text, 45 * kS + 400'000), "45 s");
    EXPECT_EQ(text_of(duration_text, 90 * kS), "1 min 30 s");
    EXPECT_EQ(text_of(duration_text, 2 * kH), "2 h");
    EXPECT_EQ(text_of(duration_text, kD + 30 * kMin), "1 d");  // the two largest units only
    EXPECT_EQ(text_of(duration_text, 200 * 365 * kD), "73000 d");
    EXPECT_EQ(text_of(duration_text, 100'000), "under 1 s");
}

// ---- summary rows -------------------------------------------------------------

TEST(ReportSummaryRows, PeaksRefusalsAndReapsInTheWindow) {
    const std::vector<ReportPoint> points = {
        rollup(-2 * kMin, kMin, {9, 9, 9}, {9, 9, 9}, 100),  // before the window: not counted
        rollup(0, kMin, {1, 2.5, 6}, {0, 1, 3}, 7),
        sample(kMin + 5 * kS, 4, 4, 0, 2),
    };
    const ReportReap reaps[] = {{-kS, false}, {10 * kS, false}, {20 * kS, true}, {30 * kS, false}};
    ReportApplication a = application("checkout", points);
    a.reaps = reaps;
    a.n_reaps = 4;
    const ReportSummary s = summarize(a, 0, 2 * kMin);
    EXPECT_EQ(s.peak_connections, 6);
    EXPECT_EQ(s.peak_active, 4);
    EXPECT_EQ(s.refused, 9);
    EXPECT_EQ(s.reaps, 2);
    EXPECT_EQ(s.would_reaps, 1);
    EXPECT_NEAR(s.mean_connections, (2.5 * 60 + 4 * 1) / 120, 1e-9);
}

TEST(ReportSummaryRows, TheTableShowsEveryCounterOfEveryApplication) {
    const std::vector<ReportPoint> p1 = {rollup(0, kMin, {1, 2, 5}, {0, 1, 3})};
    const std::vector<ReportPoint> p2 = {sample(kMin, 3, 1, 0)};
    std::vector<ReportApplication> apps = {application("audit", p1), application("etl", p2)};
    apps[0].has_budget = true;
    apps[0].max_connections = 2;
    apps[0].mode = BudgetMode::kMonitor;
    apps[0].would_reject = 1;  // a monitor budget: nothing refused, one would be
    apps[0].connects_per_second = 12.5;
    apps[0].avg_session_seconds = 0.04;
    apps[0].recommendation.max_connections = 5;
    apps[0].recommendation.reserved_connections = 2;
    apps[0].recommendation.findings = kFindingChurning;
    apps[1].reaped = 3;
    apps[1].connections_now = 2;
    ReportInput in = input(apps);
    in.listed = 1;  // only the first: the caption says how many more
    in.charted = 0;
    const std::string html = render(in);
    const std::string audit = between(html, "<tr data-app='audit'>", "</tr>");
    ASSERT_FALSE(audit.empty());
    EXPECT_NE(audit.find("<td class='budget'>2 <span class='mode monitor'>monitor</span></td>"),
              std::string::npos)
        << audit;
    EXPECT_NE(audit.find("<td class='n refused'>0</td>"), std::string::npos);
    EXPECT_NE(audit.find("<td class='n would warn'>1</td>"), std::string::npos);
    EXPECT_NE(audit.find("<td class='n peak'>5</td>"), std::string::npos);
    EXPECT_NE(audit.find("<td class='n active'>3</td>"), std::string::npos);
    EXPECT_NE(audit.find("<td class='n rate'>12</td>"), std::string::npos) << audit;
    EXPECT_NE(audit.find("<td class='n session'>40 ms</td>"), std::string::npos);
    EXPECT_NE(audit.find(">churning<"), std::string::npos);
    EXPECT_NE(audit.find("<td class='n recommended'>5 (2 reserved)</td>"), std::string::npos);
    EXPECT_EQ(html.find("data-app='etl'"), std::string::npos);
    EXPECT_NE(html.find("1 more applications are not listed"), std::string::npos);
    EXPECT_EQ(count(html, "<svg class='chart'"), 1u) << "the server chart only";
    // The summary table comes first, before any chart.
    EXPECT_LT(html.find("<table class='summary'>"), html.find("<svg"));
}

// ---- the server-wide chart ----------------------------------------------------

TEST(ReportServer, StacksTheLargestByNameAndTheRest) {
    std::vector<std::vector<ReportPoint>> rows;
    std::vector<ReportApplication> apps;
    char names[9][16];
    for (int k = 0; k < 9; ++k) rows.push_back({rollup(0, 10 * kMin, {k + 1, k + 1.0, k + 1})});
    for (int k = 0; k < 9; ++k) {
        std::snprintf(names[k], sizeof names[k], "app%d", k + 1);
        apps.push_back(application(names[k], rows[k]));
    }
    const std::vector<ReportPoint> other = {sample(0, 4, 0, 0, 0, 10 * kMin)};
    ReportInput in = input(apps);
    in.other_points = other.data();
    in.n_other_points = 1;
    in.charted = 0;
    const std::string html = render(in);
    const std::string server = between(html, "<section class='card server'>", "</section>");
    ASSERT_FALSE(server.empty());
    // The six largest by their mean, largest at the bottom, then the rest.
    std::vector<std::string> order;
    const std::string attribute = "data-series='";
    for (size_t at = server.find(attribute); at != std::string::npos;
         at = server.find(attribute, at + 1)) {
        const size_t start = at + attribute.size();
        order.push_back(server.substr(start, server.find('\'', start) - start));
    }
    EXPECT_EQ(order, (std::vector<std::string>{"app9", "app8", "app7", "app6", "app5", "app4",
                                               "the rest"}));
    // The highest total: 1 + ... + 9 plus (other)'s 4 = 49, against 97.
    EXPECT_NE(server.find("Highest total in the window <b>49</b> of a capacity of <b>97</b>"),
              std::string::npos);
    EXPECT_NE(server.find(">capacity 97</text>"), std::string::npos);
    // The stack's top is the total: app9 from the bottom (y 190) to 9
    // connections on an axis of 120.
    EXPECT_NE(server.find("data-series='app9' d='M46,176.5"), std::string::npos) << server;
}

TEST(ReportServer, HighestTotalSumsOneTickAcrossApplications) {
    // Two applications' samples at the same tick sum (exact); at different
    // ticks they do not.
    const std::vector<ReportPoint> a = {sample(0, 5, 0, 0), sample(2 * kS, 1, 0, 0)};
    const std::vector<ReportPoint> b = {sample(0, 3, 0, 0), sample(3 * kS, 6, 0, 0)};
    std::vector<ReportApplication> apps = {application("a", a), application("b", b)};
    ReportInput in = input(apps, 0, 10 * kS);
    const std::string html = render(in);
    EXPECT_NE(html.find("Highest total in the window <b>8</b>"), std::string::npos);
}

// ---- the page ---------------------------------------------------------------

TEST(Report, OneChartPerApplicationWithAxesLevelsAndMarks) {
    std::vector<ReportPoint> points = {
        rollup(0, kMin, {0, 0.5, 12}, {0, 0.2, 2}),  // a band
        sample(5 * kMin, 12, 2, 0, 3),               // refused: 3
        sample(6 * kMin, 21, 2, 0),                  // over the budget of 20
    };
    points[2].would_reject = 1;  // monitor mode let it through
    const ReportReap reaps[] = {{7 * kMin, false}, {8 * kMin, true}};
    Recommendation r{};
    r.max_connections = 3;
    r.reserved_connections = 2;
    r.pool_size = 3;
    r.instances = 1;
    r.peak_connections = 12;
    r.peak_active = 2;
    r.findings = kFindingOverProvisioned;
    r.idle_in_transaction_timeout_seconds = -1;
    std::vector<ReportApplication> apps = {application("checkout", points),
                                           application("<script>alert('x')</script>", {})};
    apps[0].has_budget = true;
    apps[0].max_connections = 20;
    apps[0].reserved_connections = 5;
    apps[0].mode = BudgetMode::kMonitor;
    apps[0].would_reject = 1;
    apps[0].reaps = reaps;
    apps[0].n_reaps = 2;
    apps[0].recommendation = r;
    apps[1].rejected = 0;
    const std::string html = render(input(apps));
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_EQ(count(html, "<svg class='chart'"), 3u) << "the server's, and one per application";
    EXPECT_EQ(count(html, "<script"), 0u) << "names are escaped, and the page has no script";
    EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), std::string::npos);
    EXPECT_EQ(count(html, "http"), 0u) << "self-contained: nothing to fetch";

    const std::string chart = between(html, "<section class='card app' id='app-1'>", "</svg>");
    ASSERT_FALSE(chart.empty());
    EXPECT_NE(chart.find(">budget 20</text>"), std::string::npos);
    EXPECT_NE(chart.find(">reserved 5</text>"), std::string::npos);
    // Axis 0..25 in steps of 5: gridlines and labels.
    for (const char* v :
         {">0</text>", ">5</text>", ">10</text>", ">15</text>", ">20</text>", ">25</text>"})
        EXPECT_NE(chart.find(v), std::string::npos) << v;
    // Ten minutes: a tick every 2 minutes, labelled in local time.
    for (const char* t : {">00:02<", ">00:04<", ">00:06<", ">00:08<", ">00:10<"})
        EXPECT_NE(chart.find(t), std::string::npos) << t;
    EXPECT_EQ(count(chart, "class='time'"), 6u);  // 00:00 too
    // The band of the first minute: its top at 12 (y = 190 - 12 * 180 / 25).
    EXPECT_NE(chart.find("class='band' fill='#1565c0' fill-opacity='0.18' d='M46,103.6H106V190"),
              std::string::npos)
        << chart;
    // The refusal over its sample (5 min of 10 = x 346), the would-be
    // refusal over the sample that counted it (x 406), the reaps at 7 and 8
    // minutes (x 466, 526), one filled, one hollow.
    EXPECT_NE(chart.find("<rect class='mark-refused' x='345.0' y='195' width='3.0'"),
              std::string::npos)
        << chart;
    EXPECT_NE(chart.find("<title>3 logins refused, 2000-01-01 00:05:00 to 00:05:01</title>"),
              std::string::npos);
    EXPECT_NE(chart.find("<rect class='mark-would' x='405.0'"), std::string::npos);
    EXPECT_NE(chart.find("<path class='mark-reap' d='M466.0,196l5,5l-5,5l-5,-5z' fill='#4a148c'"),
              std::string::npos);
    EXPECT_NE(chart.find("<path class='mark-reap' d='M526.0,196l5,5l-5,5l-5,-5z' fill='#fff'"),
              std::string::npos);
    // Lines widest first: connections under active, the budget over both.
    const size_t connections = chart.find("class='mean' stroke='#1565c0'");
    const size_t active = chart.find("class='mean' stroke='#ef6c00'");
    const size_t budget = chart.find("class='level'");
    EXPECT_LT(connections, active);
    EXPECT_LT(active, budget);
    EXPECT_EQ(chart.find("stroke='#8e24aa'"), std::string::npos)
        << "no idle in transaction: no line";

    // The recommendation as figures; the rule's sentence once, in the notes.
    EXPECT_NE(html.find("<span class='finding'>over_provisioned</span>"), std::string::npos);
    EXPECT_NE(html.find("no findings"), std::string::npos);
    EXPECT_EQ(count(html, "the 99th percentile of concurrently active sessions"), 1u);
    EXPECT_EQ(count(html, "href='#note-max'"), 2u);
}

TEST(Report, RulesAreExplainedOnceForAnyNumberOfApplications) {
    std::vector<ReportApplication> apps;
    for (int k = 0; k < 5; ++k) apps.push_back(application("same", {}));
    const std::string html = render(input(apps));
    EXPECT_EQ(count(html, "<section class='card app'"), 5u);
    for (const char* sentence :
         {"pool_timeout: a request waits at most", "whether an application must never be refused",
          "in short moments"})
        EXPECT_EQ(count(html, sentence), 1u) << sentence;
}

TEST(Report, HeaderSaysTheWindowCovered) {
    std::vector<ReportApplication> apps;
    ReportInput in = input(apps, 0, 150 * kS);
    in.asked_us = 10 * kMin;
    in.utc_offset_us = kH;
    in.zone = "CET";
    const std::string html = render(in);
    EXPECT_NE(html.find("<b>2000-01-01 01:00:00</b> to <b>2000-01-01 01:02:30</b> (CET, "
                        "UTC+01:00): <span class='covered'>asked 10 min, history covers the "
                        "last 2 min 30 s</span>"),
              std::string::npos)
        << html.substr(0, 3000);
}

TEST(Report, NoApplicationsSaysSo) {
    const std::string html = render(input({}));
    EXPECT_NE(html.find("No application has been seen yet."), std::string::npos);
}

TEST(Report, CutsSafely) {
    const std::string full = render(input({}));
    char small[32];
    EXPECT_EQ(render_report(input({}), small, sizeof small), full.size());
    EXPECT_EQ(std::string(small), full.substr(0, sizeof small - 1));
}
