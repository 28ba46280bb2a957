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
                        "pgpool_stats_connections{application_name=\"api\"} 4\n"),
              std::string::npos);
    EXPECT_NE(text.find("pgpool_stats_active{application_name=\"api\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("# TYPE pgpool_stats_admitted_total counter\n"), std::string::npos);
    EXPECT_NE(
        text.find(
            "pgpool_stats_budget_utilization_ratio{application_name=\"api\",mode=\"enforce\"} "
            "0.40000000000000002\n"),
        std::string::npos);
    EXPECT_NE(text.find("pgpool_stats_capacity_max_connections 100\n"), std::string::npos);
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
    EXPECT_NE(text.find("pgpool_stats_connections{application_name=\"(other)\"} " +
                        std::to_string(29 * 30 / 2 + 5) + "\n"),
              std::string::npos);
    EXPECT_NE(text.find("pgpool_stats_connections{application_name=\"app79\"} 79\n"),
              std::string::npos);
    EXPECT_EQ(text.find("application_name=\"app0\""), std::string::npos);
}

// Which applications fall outside the top 50 changes from one scrape to the
// next; were their counters summed into "(other)", its counters would go
// back (read by Prometheus as a reset, so increase() counts everything
// again) and jump forward, and the alerts on them would fire for nothing.
// "(other)"'s counters are the ledger's overflow row's alone: monotone.
TEST(Prometheus, OtherCountersStayMonotoneWhenTheTopApplicationsChange) {
    auto counter_of_other = [](const std::string& text, const char* family) {
        const std::string key =
            std::string("pgpool_stats_") + family + "{application_name=\"(other)\"} ";
        const size_t at = text.find(key);
        EXPECT_NE(at, std::string::npos) << family;
        return at == std::string::npos ? -1 : std::stoll(text.substr(at + key.size()));
    };
    std::vector<ApplicationEntry> entries;
    for (int k = 0; k < kTopApplications; ++k)
        entries.push_back(app(("app" + std::to_string(k)).c_str(), 10 + k, 1));
    entries.push_back(app("busy", 1, 1000));  // 51st by connections: outside the top 50
    ApplicationEntry overflow = app(kOtherName, 2, 40);
    overflow.rejected = 5;
    entries.push_back(overflow);
    std::vector<Census> census(entries.size());

    const std::string before = render(entries, census);
    EXPECT_EQ(before.find("application_name=\"busy\""), std::string::npos);
    entries[kTopApplications].connections = 100;  // busy moves into the top 50
    const std::string after = render(entries, census);
    EXPECT_NE(after.find("pgpool_stats_admitted_total{application_name=\"busy\"} 1000\n"),
              std::string::npos);

    for (const std::string* text : {&before, &after}) {
        EXPECT_EQ(counter_of_other(*text, "admitted_total"), 40);
        EXPECT_EQ(counter_of_other(*text, "rejected_total"), 5);
        EXPECT_EQ(counter_of_other(*text, "reaped_total"), 0);
    }
    // Its gauges still sum whoever is outside the top 50 now.
    EXPECT_EQ(counter_of_other(before, "connections"), 1 + 2);
    EXPECT_EQ(counter_of_other(after, "connections"), 10 + 2);
}

// The counter alerts are about applications with a budget (refusals,
// would-be refusals, reaps), and a refused application often has few
// connections: those rank first, so that they keep their series (and
// their counters stay visible) however many busier applications connect.
TEST(Prometheus, BudgetsAndCounterEventsRankBeforeConnections) {
    std::vector<ApplicationEntry> entries;
    for (int k = 0; k < kTopApplications + 10; ++k)
        entries.push_back(app(("busy" + std::to_string(k)).c_str(), 100 + k, 1));
    ApplicationEntry capped = app("capped", 0, 0);
    capped.has_budget = true;
    capped.budget.max_connections = 0;
    capped.rejected = 12;
    entries.push_back(capped);
    ApplicationEntry reaped = app("reaped", 1, 5);  // its budget was dropped since
    reaped.reaped = 2;
    entries.push_back(reaped);
    std::vector<Census> census(entries.size());
    const std::string text = render(entries, census);
    EXPECT_NE(text.find("pgpool_stats_rejected_total{application_name=\"capped\"} 12\n"),
              std::string::npos);
    EXPECT_NE(text.find("pgpool_stats_reaped_total{application_name=\"reaped\"} 2\n"),
              std::string::npos);
    // The rest of the top by connections; the least busy go to "(other)".
    EXPECT_NE(text.find("application_name=\"busy59\""), std::string::npos);
    EXPECT_EQ(text.find("application_name=\"busy11\""), std::string::npos);
    EXPECT_NE(text.find("application_name=\"busy12\""), std::string::npos);
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

// The vocabulary of docs/metrics.md: `_total` ends exactly the counters, every
// family is pgpool_stats_*, budgets carry their mode, the server's figures are
// pgpool_stats_capacity_*.
TEST(Prometheus, TotalEndsExactlyTheCounters) {
    Budget b = unlimited_budget();
    b.max_connections = 4;
    std::vector<ApplicationEntry> entries = {app("api", 1, 1)};
    entries[0].has_budget = true;
    entries[0].budget = b;
    std::vector<Census> census(1);
    std::string text = render(entries, census);
    std::istringstream lines(text);
    std::string line;
    int counters = 0, families = 0;
    while (std::getline(lines, line)) {
        if (line.rfind("# TYPE ", 0) != 0) continue;
        std::istringstream words(line.substr(7));
        std::string name, type;
        words >> name >> type;
        ++families;
        EXPECT_EQ(name.rfind("pgpool_stats_", 0), 0u) << name;
        const bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
        EXPECT_EQ(total, type == "counter") << line;
        counters += type == "counter";
    }
    EXPECT_EQ(counters, 4);  // admitted, rejected, would_reject, reaped
    EXPECT_EQ(families, 14 + 3 + 12);
}

TEST(Prometheus, BudgetsCarryTheirModeAndTheServerItsCapacity) {
    Budget capped = unlimited_budget();
    capped.max_connections = 10;
    capped.reserved_connections = 2;
    capped.mode = BudgetMode::kMonitor;
    Budget reservation_only = unlimited_budget();
    reservation_only.reserved_connections = 3;
    std::vector<ApplicationEntry> entries = {app("api", 5, 9), app("batch", 1, 1),
                                             app("adhoc", 0, 1)};
    entries[0].has_budget = true;
    entries[0].budget = capped;
    entries[0].peak_active = 2;
    entries[1].has_budget = true;
    entries[1].budget = reservation_only;
    std::vector<Census> census(3);
    census[0].active = 3;  // more than the sampler's peak: the peak is at least that
    MetricsInput in{entries.data(), census.data(), 3, {}, 100, 3};
    in.capacity.capacity = 97;
    in.capacity.reserved_total = 120;
    in.capacity.budget_total = 110;
    size_t len = render_metrics(in, nullptr, 0);
    std::string text(len + 1, '\0');
    render_metrics(in, text.data(), text.size());
    text.resize(len);
    EXPECT_NE(text.find("pgpool_stats_budget_max_connections{application_name=\"api\","
                        "mode=\"monitor\"} 10\n"),
              std::string::npos);
    EXPECT_NE(text.find("pgpool_stats_budget_reserved_connections{application_name=\"batch\","
                        "mode=\"enforce\"} 3\n"),
              std::string::npos);
    // No cap: no cap series and no utilization, but the reservation.
    EXPECT_EQ(text.find("pgpool_stats_budget_max_connections{application_name=\"batch\""),
              std::string::npos);
    EXPECT_EQ(text.find("pgpool_stats_budget_utilization_ratio{application_name=\"batch\""),
              std::string::npos);
    // No budget at all: no budget series.
    EXPECT_EQ(text.find("pgpool_stats_budget_reserved_connections{application_name=\"adhoc\""),
              std::string::npos);
    EXPECT_NE(text.find("pgpool_stats_peak_active{application_name=\"api\"} 3\n"),
              std::string::npos);
    EXPECT_NE(text.find("pgpool_stats_capacity_slots 97\n"), std::string::npos);
    EXPECT_NE(text.find("pgpool_stats_capacity_superuser_reserved_connections 3\n"),
              std::string::npos);
    EXPECT_NE(text.find("pgpool_stats_capacity_overcommit 13\n"), std::string::npos);
    EXPECT_NE(text.find("pgpool_stats_capacity_reserved_over_capacity 23\n"), std::string::npos);
    // The 1.0 names are gone.
    EXPECT_EQ(text.find("application=\""), std::string::npos);
    EXPECT_EQ(text.find("\npgpool_stats_capacity "), std::string::npos);
    EXPECT_EQ(text.find("\npgpool_stats_max_connections "), std::string::npos);
}
