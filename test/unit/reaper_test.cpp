// The reaper's decision and re-check, and its log.
#include <gtest/gtest.h>

#include <vector>

#include "block.hpp"
#include "core/reaper.hpp"

using namespace pgpool_stats::core;

TEST(Reaper, IdleInTransactionPastTheTimeoutIsDue) {
    IdleEpisode e{SessionState::kIdleInTransaction, 1000};
    EXPECT_EQ(reap_due(e, 1000 + 30000, 30000, -1, 1), ReapReason::kNone);  // exactly at: not yet
    EXPECT_EQ(reap_due(e, 1000 + 30001, 30000, -1, 1), ReapReason::kIdleInTransaction);
    EXPECT_EQ(reap_due(e, 1000 + 30001, -1, 10, 1), ReapReason::kNone);  // only idle timeout set
}

TEST(Reaper, IdleSessionsUseTheirOwnTimeout) {
    IdleEpisode e{SessionState::kIdle, 0 + 1};
    EXPECT_EQ(reap_due(e, 1 + 5001, 1000000, 5000, 1), ReapReason::kIdleSession);
    EXPECT_EQ(reap_due(e, 1 + 5001, 1, -1, 1), ReapReason::kNone);
}

TEST(Reaper, BusyOrUnknownSessionsAreNeverDue) {
    EXPECT_EQ(reap_due({SessionState::kActive, 1}, 1 << 30, 1, 1, 1), ReapReason::kNone);
    EXPECT_EQ(reap_due({SessionState::kUnknown, 1}, 1 << 30, 1, 1, 1), ReapReason::kNone);
    EXPECT_EQ(reap_due({SessionState::kIdleInTransaction, 0}, 1 << 30, 1, 1, 1), ReapReason::kNone);
}

TEST(Reaper, UnitsConvertMilliseconds) {
    IdleEpisode e{SessionState::kIdleInTransaction, 0 + 1};
    EXPECT_EQ(reap_due(e, 1 + 2000 * 1000, 2000, -1, 1000), ReapReason::kNone);
    EXPECT_EQ(reap_due(e, 1 + 2000 * 1000 + 1, 2000, -1, 1000), ReapReason::kIdleInTransaction);
}

TEST(Reaper, TheReCheckRefusesANewEpisode) {
    IdleEpisode chosen{SessionState::kIdleInTransaction, 100};
    EXPECT_TRUE(same_episode(chosen, {SessionState::kIdleInTransaction, 100}));
    // It ran a statement and is idle in transaction again: a new episode.
    EXPECT_FALSE(same_episode(chosen, {SessionState::kIdleInTransaction, 250}));
    EXPECT_FALSE(same_episode(chosen, {SessionState::kActive, 100}));
}

TEST(Reaper, TheLogKeepsTheNewest) {
    Block memory(ReapedLog::bytes_needed(3));
    ReapedLog* log = ReapedLog::create(memory.get(), 3);
    for (int k = 1; k <= 5; ++k) {
        ReapedRecord r{};
        r.pid = k;
        log->add(r);
    }
    std::vector<ReapedRecord> out(5);
    ASSERT_EQ(log->copy(out.data(), 5), 3);
    EXPECT_EQ(out[0].pid, 3);
    EXPECT_EQ(out[2].pid, 5);
    EXPECT_STREQ(reap_reason_name(ReapReason::kIdleInTransaction), "idle_in_transaction");
    EXPECT_STREQ(reap_action_name(ReapAction::kWouldTerminate), "would_terminate");
}
