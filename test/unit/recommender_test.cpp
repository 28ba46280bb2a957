// The recommender on synthetic histories with known answers, and its edges:
// no data, one sample, an idle application, a spiky one, more instances than
// connections, budgets that already overcommit the server.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/recommender.hpp"

using namespace pgpool_stats::core;

namespace {

struct Case {
    std::vector<int32_t> active;
    DemandInput in{};
    Case(std::vector<int32_t> a, int32_t instances = 1) : active(std::move(a)) {
        in.ticks = static_cast<int32_t>(active.size());
        in.active = active.data();
        in.instances = instances;
        in.target_utilization = 0.7;
        in.avg_session_seconds = -1;
        in.capacity = 97;
        in.budget = unlimited_budget();
        in.observed_seconds = 3600;
        for (int32_t v : active) in.connection_ticks += std::max(v, 1);
    }
    Recommendation run() { return recommend(in); }
};

std::vector<int32_t> repeat(int32_t value, int32_t n) {
    return std::vector<int32_t>(n, value);
}

}  // namespace

TEST(Recommender, PercentilesAreNearestRank) {
    std::vector<int32_t> v(100);
    for (int k = 0; k < 100; ++k) v[k] = k + 1;  // 1..100
    EXPECT_EQ(percentile(v.data(), 100, 0.95), 95);
    EXPECT_EQ(percentile(v.data(), 100, 0.99), 99);
    EXPECT_EQ(percentile(v.data(), 1, 0.99), 1);
    EXPECT_EQ(percentile(v.data(), 0, 0.99), 0);
}

TEST(Recommender, SteadyLoadGetsItsNeedAtTheTargetUtilization) {
    // 100 ticks: 4 active 95 times, 6 four times, 7 once; 2 instances.
    std::vector<int32_t> a = repeat(4, 95);
    for (int k = 0; k < 4; ++k) a.push_back(6);
    a.push_back(7);
    Case c(a, 2);
    c.in.peak_connections = 8;
    Recommendation r = c.run();
    EXPECT_DOUBLE_EQ(r.p95_active, 4);  // rank 95 of 100 is still a 4
    EXPECT_DOUBLE_EQ(r.p99_active, 6);
    EXPECT_EQ(r.peak_active, 7);
    EXPECT_EQ(r.max_connections, 9);       // ceil(6 / 0.7)
    EXPECT_EQ(r.reserved_connections, 0);  // no reservation in its budget: none invented
    EXPECT_EQ(r.pool_size, 3);             // ceil(4 / 2 / 0.7)
    EXPECT_EQ(r.max_overflow, 1);          // 9 / 2 = 4 per instance
    EXPECT_LE((r.pool_size + r.max_overflow) * 2, r.max_connections);
    EXPECT_EQ(r.findings, 0u);
}

TEST(Recommender, NoDataIsInsufficientAndStillSane) {
    Case c({});
    Recommendation r = c.run();
    EXPECT_EQ(r.findings & kFindingInsufficientData, kFindingInsufficientData);
    EXPECT_EQ(r.max_connections, 1);
    EXPECT_EQ(r.pool_size, 1);
    EXPECT_EQ(r.max_overflow, 0);
    EXPECT_EQ(r.reserved_connections, 0);
}

TEST(Recommender, OneSampleIsInsufficient) {
    Case c({3});
    Recommendation r = c.run();
    EXPECT_TRUE(r.findings & kFindingInsufficientData);
    EXPECT_EQ(r.max_connections, 5);  // ceil(3 / 0.7)
}

TEST(Recommender, AnIdleApplicationHoldingAPoolIsOverProvisioned) {
    Case c(repeat(0, 120));
    c.in.peak_connections = 12;
    c.in.connection_ticks = 12 * 120;
    Recommendation r = c.run();
    EXPECT_TRUE(r.findings & kFindingOverProvisioned);
    EXPECT_EQ(r.max_connections, 1);
    EXPECT_EQ(r.pool_size, 1);
}

TEST(Recommender, ASpikyApplicationIsSizedForItsPeakNotItsMean) {
    std::vector<int32_t> a = repeat(1, 190);
    for (int k = 0; k < 10; ++k) a.push_back(20);  // 5 % of the time at 20
    Case c(a);
    c.in.peak_connections = 20;
    Recommendation r = c.run();
    EXPECT_LT(r.mean_active, 2.0);
    EXPECT_DOUBLE_EQ(r.p99_active, 20);
    EXPECT_EQ(r.max_connections, 29);  // ceil(20 / 0.7)
    EXPECT_EQ(r.reserved_connections, 0);
    EXPECT_FALSE(r.findings & kFindingOverProvisioned);
}

TEST(Recommender, MoreInstancesThanConnectionsGetOneEach) {
    Case c(repeat(1, 100), 8);
    Recommendation r = c.run();
    EXPECT_EQ(r.max_connections, 8);  // one per instance
    EXPECT_EQ(r.pool_size, 1);
    EXPECT_EQ(r.max_overflow, 0);
}

TEST(Recommender, NeverMoreThanTheServerCanGive) {
    Case c(repeat(80, 100));
    c.in.others_reserved = 60;  // capacity 97: 37 left for this application
    Recommendation r = c.run();
    EXPECT_EQ(r.max_connections, 37);
    EXPECT_LE(r.reserved_connections, r.max_connections);
}

TEST(Recommender, InstancesBeyondTheServerAreToldTheyDoNotFit) {
    Case c(repeat(1, 100), 50);
    c.in.capacity = 20;
    Recommendation r = c.run();
    EXPECT_EQ(r.max_connections, 20);  // all the server can give
    EXPECT_EQ(r.pool_size, 1);
    EXPECT_EQ(r.max_overflow, 0);
    char text[2048];
    write_rationale(r, 0.7, text, sizeof text);
    EXPECT_NE(std::string(text).find("The 50 instances do not fit"), std::string::npos) << text;
    Case fits(repeat(1, 100), 8);
    write_rationale(fits.run(), 0.7, text, sizeof text);
    EXPECT_EQ(std::string(text).find("do not fit"), std::string::npos) << text;
}

TEST(Recommender, FindingsFollowTheirRules) {
    Case c(repeat(2, 100));
    c.in.connects_per_second = 5;
    c.in.avg_session_seconds = 0.05;
    c.in.rejected = 3;
    c.in.has_budget = true;
    c.in.budget.max_connections = 10;
    c.in.peak_connections = 9;
    c.in.idle_in_transaction_ticks = c.in.connection_ticks / 4;
    c.in.idle_episodes = IdleEpisodes{1, 3000000};
    c.in.budget_total = 120;  // capacity 97
    Recommendation r = c.run();
    EXPECT_TRUE(r.findings & kFindingChurning);
    EXPECT_TRUE(r.findings & kFindingStarved);
    EXPECT_TRUE(r.findings & kFindingNearBudget);
    EXPECT_TRUE(r.findings & kFindingIdleInTransaction);
    EXPECT_TRUE(r.findings & kFindingOvercommitted);
    EXPECT_FALSE(r.findings & kFindingInsufficientData);
    EXPECT_EQ(r.idle_in_transaction_timeout_seconds, kIdleInTransactionTimeoutSeconds);
    EXPECT_STREQ(finding_name(2), "churning");
    EXPECT_STREQ(finding_name(6), "overcommitted");
}

TEST(Recommender, ReservationsBeyondCapacityAreOvercommitted) {
    // A restore into a smaller server: caps without limit, reservations of
    // 60 and 40 against a capacity of 97.
    Case c(repeat(2, 100));
    c.in.has_budget = true;
    c.in.budget.reserved_connections = 40;
    c.in.others_reserved = 60;
    c.in.budget_total = 0;
    EXPECT_TRUE(c.run().findings & kFindingOvercommitted);
    c.in.others_reserved = 57;
    EXPECT_FALSE(c.run().findings & kFindingOvercommitted);
}

TEST(Recommender, WaitingLoginsAloneMeanStarved) {
    Case c(repeat(1, 100));
    c.in.peak_admission_waiting = 2;
    EXPECT_TRUE(c.run().findings & kFindingStarved);
}

TEST(Recommender, RationaleExplainsEveryNumber) {
    Case c(repeat(4, 100), 2);
    Recommendation r = c.run();
    char text[2048];
    write_rationale(r, 0.7, text, sizeof text);
    std::string s(text);
    for (const char* word : {"max_connections 6", "reserved_connections 0", "pool_size 3",
                             "max_overflow 0", "pool_timeout 30 s", "idle_in_transaction_timeout"})
        EXPECT_NE(s.find(word), std::string::npos) << word << " in: " << s;
    char tiny[8];
    write_rationale(r, 0.7, tiny, sizeof tiny);
    EXPECT_EQ(std::strlen(tiny), 7u);
}

TEST(Recommender, TooShortAWindowIsInsufficientEvenWithManySamples) {
    // 500 samples at 10 ms sampling: five seconds since the reset.
    Case c(repeat(2, 500));
    c.in.observed_seconds = 5;
    Recommendation r = c.run();
    EXPECT_TRUE(r.findings & kFindingInsufficientData);
    char text[2048];
    write_rationale(r, 0.7, text, sizeof text);
    EXPECT_EQ(std::string(text).find("Insufficient data: 5 s and 500 samples observed"), 0u)
        << text;
    c.in.observed_seconds = kMinObservedSeconds;
    EXPECT_FALSE(c.run().findings & kFindingInsufficientData);
}

TEST(Recommender, ReservationsOnlyForBudgetsThatHaveOne) {
    Case c(repeat(4, 100));
    c.in.has_budget = true;
    c.in.budget.max_connections = 10;
    EXPECT_EQ(c.run().reserved_connections, 0);  // a budget without reservation
    c.in.budget.reserved_connections = 2;
    Recommendation r = c.run();
    EXPECT_EQ(r.reserved_connections, 4);  // sized from the data: ceil(p95)
    char text[2048];
    write_rationale(r, 0.7, text, sizeof text);
    EXPECT_NE(std::string(text).find("its budget has a reservation"), std::string::npos) << text;
    Case idle(repeat(0, 100));
    idle.in.has_budget = true;
    idle.in.budget.reserved_connections = 3;
    EXPECT_EQ(idle.run().reserved_connections, 1);  // kept, at least one
}

TEST(Recommender, AStarvedApplicationGrowsByWhatItsRefusalsShow) {
    // Held at its cap of 2 all the time, up to 3 logins refused at once.
    Case c(repeat(2, 100));
    c.in.has_budget = true;
    c.in.budget.max_connections = 2;
    c.in.peak_connections = 2;
    c.in.rejected = 40;
    c.in.peak_rejected_per_tick = 3;
    Recommendation r = c.run();
    EXPECT_TRUE(r.findings & kFindingStarved);
    EXPECT_EQ(r.max_connections, 5);  // 2 held + 3 refused at once, above ceil(2 / 0.7) = 3
    char text[2048];
    write_rationale(r, 0.7, text, sizeof text);
    EXPECT_NE(std::string(text).find("censored by its budget: 40 logins refused"),
              std::string::npos)
        << text;
}

TEST(Recommender, IdleInTransactionNeedsEpisodesOfSeconds) {
    constexpr int64_t kTick = 100000;  // 100 ms
    // psycopg2's implicit BEGIN before close: caught in single samples.
    std::vector<IdleSpan> blips;
    for (int k = 0; k < 200; k += 10) blips.push_back({k * kTick, (k + 1) * kTick});
    IdleEpisodes e = idle_in_transaction_episodes(blips.data(), static_cast<int32_t>(blips.size()),
                                                  kTick, kIdleEpisodeMicros);
    EXPECT_EQ(e.count, 0);
    // A transaction left open for 3 s: 30 consecutive samples, then another
    // of 1.5 s, then a minute row idle all minute long.
    std::vector<IdleSpan> leak;
    for (int k = 0; k < 30; ++k) leak.push_back({k * kTick, (k + 1) * kTick});
    for (int k = 100; k < 115; ++k) leak.push_back({k * kTick, (k + 1) * kTick});
    leak.push_back({600 * kTick, 1200 * kTick});
    e = idle_in_transaction_episodes(leak.data(), static_cast<int32_t>(leak.size()), kTick,
                                     kIdleEpisodeMicros);
    EXPECT_EQ(e.count, 2);
    EXPECT_EQ(e.longest_us, 60 * 1000000LL);
    Case c(repeat(1, 100));
    c.in.idle_in_transaction_ticks = c.in.connection_ticks / 2;  // a high share of blips alone
    EXPECT_FALSE(c.run().findings & kFindingIdleInTransaction);
    c.in.idle_episodes = e;
    Recommendation r = c.run();
    EXPECT_TRUE(r.findings & kFindingIdleInTransaction);
    char text[2048];
    write_rationale(r, 0.7, text, sizeof text);
    EXPECT_NE(std::string(text).find("2 episode(s)"), std::string::npos) << text;
    EXPECT_NE(std::string(text).find("the longest 60.0 s"), std::string::npos) << text;
}
