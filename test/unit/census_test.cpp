// The census: states, lock waits as a subset of active, distinct clients.
#include <gtest/gtest.h>

#include <vector>

#include "core/census.hpp"

using namespace pgpool_stats::core;

TEST(Census, CountsStatesPerEntry) {
    std::vector<SessionObservation> obs = {
        {1, SessionState::kActive, false, 10},
        {1, SessionState::kActive, true, 10},
        {1, SessionState::kIdle, false, 11},
        {1, SessionState::kIdleInTransaction, false, 12},
        {2, SessionState::kIdleInTransaction, false, 10},
        {2, SessionState::kUnknown, false, 10},
    };
    std::vector<Census> c(3);
    take_census(obs.data(), static_cast<int32_t>(obs.size()), c.data(), 3);
    EXPECT_EQ(c[1].connections, 4);
    EXPECT_EQ(c[1].active, 2);
    EXPECT_EQ(c[1].waiting, 1);
    EXPECT_EQ(c[1].idle, 1);
    EXPECT_EQ(c[1].idle_in_transaction, 1);
    EXPECT_EQ(c[1].instances, 3);
    EXPECT_EQ(c[2].connections, 2);
    EXPECT_EQ(c[2].idle_in_transaction, 1);
    EXPECT_EQ(c[2].instances, 1);
    EXPECT_EQ(c[0].connections, 0);
}

TEST(Census, WaitingCountsOnlyActiveSessions) {
    // A lock wait reported for an idle session (a stale flag) is not "waiting".
    std::vector<SessionObservation> obs = {{0, SessionState::kIdle, true, 1}};
    Census c{};
    take_census(obs.data(), 1, &c, 1);
    EXPECT_EQ(c.waiting, 0);
}

TEST(Census, IgnoresEntriesOutOfRangeAndZeroesEverything) {
    std::vector<SessionObservation> obs = {{5, SessionState::kActive, false, 1},
                                           {-1, SessionState::kActive, false, 1}};
    std::vector<Census> c(2, Census{9, 9, 9, 9, 9, 9});
    take_census(obs.data(), 2, c.data(), 2);
    EXPECT_EQ(c[0].connections, 0);
    EXPECT_EQ(c[1].active, 0);
}

TEST(Census, ClientKeysDependOnTheBytes) {
    unsigned char a[4] = {127, 0, 0, 1}, b[4] = {127, 0, 0, 2};
    EXPECT_NE(client_key_of(a, 4), client_key_of(b, 4));
    EXPECT_EQ(client_key_of(a, 4), client_key_of(a, 4));
}
