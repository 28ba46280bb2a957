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
    // Shuffled input: rows come out by entry all the same.
    std::swap(obs[0], obs[5]);
    std::vector<EntryCensus> rows(obs.size());
    ASSERT_EQ(take_census(obs.data(), static_cast<int32_t>(obs.size()), rows.data()), 2);
    EXPECT_EQ(rows[0].entry, 1);
    EXPECT_EQ(rows[1].entry, 2);
    Census c[3] = {census_of(rows.data(), 2, 0), census_of(rows.data(), 2, 1),
                   census_of(rows.data(), 2, 2)};
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
    EntryCensus row{};
    ASSERT_EQ(take_census(obs.data(), 1, &row), 1);
    EXPECT_EQ(row.entry, 0);
    EXPECT_EQ(row.census.connections, 1);
    EXPECT_EQ(row.census.waiting, 0);
}

TEST(Census, RowsOnlyForEntriesWithSessionsAndZeroedFirst) {
    // The cost follows the sessions: an entry number as large as the ledger
    // allows is one row, and a negative one (no entry) is none.
    std::vector<SessionObservation> obs = {{65536, SessionState::kActive, false, 1},
                                           {-1, SessionState::kActive, false, 1}};
    std::vector<EntryCensus> rows(2, EntryCensus{7, Census{9, 9, 9, 9, 9, 9}});
    ASSERT_EQ(take_census(obs.data(), 2, rows.data()), 1);
    EXPECT_EQ(rows[0].entry, 65536);
    EXPECT_EQ(rows[0].census.connections, 1);
    EXPECT_EQ(rows[0].census.idle, 0);
    EXPECT_EQ(census_of(rows.data(), 1, 65536).active, 1);
    EXPECT_EQ(census_of(rows.data(), 1, 5).connections, 0);
    EXPECT_EQ(census_of(rows.data(), 0, 65536).connections, 0);
}

TEST(Census, ClientKeysDependOnTheBytes) {
    unsigned char a[4] = {127, 0, 0, 1}, b[4] = {127, 0, 0, 2};
    EXPECT_NE(client_key_of(a, 4), client_key_of(b, 4));
    EXPECT_EQ(client_key_of(a, 4), client_key_of(a, 4));
}
