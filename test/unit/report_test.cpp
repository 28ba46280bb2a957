// The report's core: history rows bucketed onto the chart's columns, and the
// page: self-contained, one chart per application with its budget drawn,
// names escaped, findings and recommendation beside it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/report.hpp"

using namespace pgpool_stats::core;

namespace {

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

ReportInput input(const std::vector<ReportApplication>& apps) {
    ReportInput in{};
    in.from_us = 0;
    in.to_us = 600'000'000;  // ten minutes
    in.from_label = "10:00";
    in.to_label = "10:10";
    in.generated_label = "10:10:01";
    in.capacity = 97;
    in.applications = apps.data();
    in.n_applications = static_cast<int32_t>(apps.size());
    return in;
}

}  // namespace

TEST(Report, BucketsTakeTheMostOfEveryOverlappingRow) {
    std::vector<int32_t> c(10), a(10);
    const ReportPoint points[] = {
        {0, 60'000'000, 4, 1},             // first minute: column 0
        {30'000'000, 31'000'000, 9, 3},    // a fine sample inside it: the maximum wins
        {300'000'000, 420'000'000, 2, 2},  // minutes 5 and 6: columns 5 and 6 (and the edge, 7)
        {-60'000'000, -1, 50, 50},         // before the window: ignored
    };
    bucket_points(points, 4, 0, 600'000'000, c.data(), a.data(), 10);
    EXPECT_EQ(c, (std::vector<int32_t>{9, 4, 0, 0, 0, 2, 2, 2, 0, 0}));
    EXPECT_EQ(a, (std::vector<int32_t>{3, 1, 0, 0, 0, 2, 2, 2, 0, 0}));
}

TEST(Report, EmptyWindowIsAllZeros) {
    std::vector<int32_t> c(4, 7), a(4, 7);
    const ReportPoint p{0, 10, 5, 5};
    bucket_points(&p, 1, 100, 100, c.data(), a.data(), 4);
    EXPECT_EQ(c, (std::vector<int32_t>(4, 0)));
}

TEST(Report, OneChartPerApplicationWithItsBudgetAndFindings) {
    const ReportPoint points[] = {{0, 600'000'000, 12, 2}};
    Recommendation r{};
    r.max_connections = 3;
    r.reserved_connections = 2;
    r.pool_size = 3;
    r.instances = 1;
    r.peak_connections = 12;
    r.peak_active = 2;
    r.findings = kFindingOverProvisioned;
    std::vector<ReportApplication> apps = {
        {"checkout", true, 20, 5, BudgetMode::kEnforce, 12, 4, points, 1, r,
         "max_connections 3: ..."},
        {"<script>alert('x')</script>", false, kNoCap, 0, BudgetMode::kEnforce, 0, 0, nullptr, 0,
         Recommendation{}, "a & b"},
    };
    const std::string html = render(input(apps));
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_EQ(count(html, "<svg"), 2u);
    EXPECT_EQ(count(html, "<script"), 0u) << "names are escaped, and the page has no script";
    EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), std::string::npos);
    EXPECT_NE(html.find("a &amp; b"), std::string::npos);
    EXPECT_NE(html.find(">budget 20</text>"), std::string::npos);
    EXPECT_NE(html.find(">reserved 5</text>"), std::string::npos);
    EXPECT_NE(html.find("<span class='finding'>over_provisioned</span>"), std::string::npos);
    EXPECT_NE(html.find("no findings"), std::string::npos);
    EXPECT_EQ(count(html, "http"), 0u) << "self-contained: nothing to fetch";
    // Both series drawn whole: two points (a step) per column, and the
    // attribute closed (a cut list once left the lines out of the page).
    const size_t at = html.find("<polyline");
    ASSERT_NE(at, std::string::npos);
    const size_t points_at = html.find("points='", at) + 8;
    const std::string drawn = html.substr(points_at, html.find('\'', points_at) - points_at);
    EXPECT_EQ(count(drawn, ","), 2u * kReportColumns);
    EXPECT_EQ(count(html, "<polyline"), 4u);
    EXPECT_EQ(count(html, "'/><polyline"), 2u);  // connections, then active, in each chart
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
