// The Prometheus writer: format, escaping, bounded cardinality.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/prometheus.hpp"

using namespace pgpool_stats::core;

namespace {

ApplicationEntry app(const char* name, int32_t connections, int64_t admitted) {
    ApplicationEntry e{};
    copy_name(e.name, name);
    e.in_use = true;
    e.connections = connections;
    e.admitted = admitted;
    return e;
}

std::string render(const std::vector<ApplicationEntry>& entries,
                   const std::vector<Census>& census) {
    MetricsInput in{
        entries.data(), census.data(), static_cast<int32_t>(entries.size()), {}, 100, 3};
    size_t len = render_metrics(in, nullptr, 0);
    std::string out(len + 1, '\0');
    EXPECT_EQ(render_metrics(in, out.data(), out.size()), len);
    out.resize(len);
    return out;
}

}  // namespace

TEST(Prometheus, EscapesLabelValues) {
    char out[64];
    escape_label_value("a\\b\"c\nd", out, sizeof out);
    EXPECT_STREQ(out, "a\\\\b\\\"c\\nd");
    escape_label_value("abcdef", out, 4);  // cut, still terminated
    EXPECT_STREQ(out, "abc");
}

TEST(Prometheus, EverySampleFollowsItsHelpAndType) {
    Budget b = unlimited_budget();
    b.max_connections = 10;
    std::vector<ApplicationEntry> entries = {app("api", 4, 9)};
    entries[0].has_budget = true;
    entries[0].budget = b;
    std::vector<Census> census(1);
    census[0].active = 2;
    std::string text = render(entries, census);
    EXPECT_NE(text.find("# TYPE pgpool_stats_connections gauge\n"
                        "pgpool_stats_connections{application=\"api\"} 4\n"),
              std::string::npos);
    EXPECT_NE(text.find("pgpool_stats_active{application=\"api\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("# TYPE pgpool_stats_admitted_total counter\n"), std::string::npos);
    EXPECT_NE(
        text.find(
            "pgpool_stats_budget_utilization_ratio{application=\"api\"} 0.40000000000000002\n"),
        std::string::npos);
    EXPECT_NE(text.find("pgpool_stats_max_connections 100\n"), std::string::npos);
    // Structure: each sample's family was announced just before its samples.
    std::istringstream lines(text);
    std::string line, family;
    while (std::getline(lines, line)) {
        if (line.rfind("# TYPE ", 0) == 0) {
            family = line.substr(7, line.find(' ', 7) - 7);
        } else if (line[0] != '#') {
            EXPECT_EQ(line.rfind(family, 0), 0u) << line;
        }
    }
}

TEST(Prometheus, CardinalityIsBoundedByTopApplicationsPlusOther) {
    std::vector<ApplicationEntry> entries;
    for (int k = 0; k < kTopApplications + 30; ++k)
        entries.push_back(app(("app" + std::to_string(k)).c_str(), k, 1));
    entries.push_back(app(kOtherName, 5, 2));  // the ledger's own "(other)"
    std::vector<Census> census(entries.size());
    std::string text = render(entries, census);
    size_t series = 0, pos = 0;
    while ((pos = text.find("pgpool_stats_connections{", pos)) != std::string::npos)
        ++series, ++pos;
    EXPECT_EQ(series, static_cast<size_t>(kTopApplications + 1));
    // The 30 smallest (0..29 connections) and the ledger's "(other)" (5) are summed.
    EXPECT_NE(text.find("pgpool_stats_connections{application=\"(other)\"} " +
                        std::to_string(29 * 30 / 2 + 5) + "\n"),
              std::string::npos);
    EXPECT_NE(text.find("pgpool_stats_connections{application=\"app79\"} 79\n"), std::string::npos);
    EXPECT_EQ(text.find("application=\"app0\""), std::string::npos);
}

TEST(Prometheus, ASmallBufferGetsACutTerminatedTextAndTheFullLength) {
    std::vector<ApplicationEntry> entries = {app("api", 1, 1)};
    std::vector<Census> census(1);
    MetricsInput in{entries.data(), census.data(), 1, {}, 100, 3};
    char small[16];
    size_t len = render_metrics(in, small, sizeof small);
    EXPECT_GT(len, sizeof small);
    EXPECT_EQ(std::strlen(small), sizeof small - 1);
}
