// The lines of waiting logins: first come, first served per application,
// leaving from anywhere, and the ledger's rule that one behind others waits.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "block.hpp"
#include "core/ledger.hpp"
#include "core/wait_queue.hpp"

using namespace pgpool_stats::core;

namespace {

class TestQueue {
public:
    TestQueue(int32_t waiters, int32_t entries)
        : memory_(WaitQueue::bytes_needed(waiters, entries)),
          queue_(WaitQueue::create(memory_.get(), waiters, entries)) {}
    WaitQueue* operator->() { return queue_; }

private:
    Block memory_;
    WaitQueue* queue_;
};

void erase_value(std::vector<int32_t>& v, int32_t x) {
    v.erase(std::remove(v.begin(), v.end(), x), v.end());
}

std::vector<int32_t> heads(TestQueue& q) {
    std::vector<int32_t> t(16);
    t.resize(static_cast<size_t>(q->first_in_lines(t.data(), 16)));
    std::sort(t.begin(), t.end());
    return t;
}

}  // namespace

TEST(WaitQueue, ALineIsServedInArrivalOrder) {
    TestQueue q(8, 4);
    for (int32_t w : {3, 1, 5}) q->enqueue(w, 2, 100 + w);
    EXPECT_FALSE(q->behind_others(3, 2));
    EXPECT_TRUE(q->behind_others(1, 2));
    EXPECT_TRUE(q->behind_others(7, 2));   // a newcomer is behind everyone
    EXPECT_FALSE(q->behind_others(7, 1));  // another application's line is empty
    q->enqueue(3, 2, 103);                 // already in line: keeps its place
    EXPECT_EQ(q->length(2), 3);
    q->remove(3);
    EXPECT_FALSE(q->behind_others(1, 2));
    EXPECT_TRUE(q->behind_others(5, 2));
    EXPECT_EQ(heads(q), std::vector<int32_t>{101});
}

TEST(WaitQueue, TheSamplerFindsTheEntriesWithALine) {
    TestQueue q(8, 6);
    std::vector<int32_t> lines(6);
    EXPECT_EQ(q->waiting_entries(lines.data(), 6), 0);
    q->enqueue(0, 4, 0);
    q->enqueue(1, 2, 1);
    q->enqueue(2, 4, 2);
    lines.resize(static_cast<size_t>(q->waiting_entries(lines.data(), 6)));
    std::sort(lines.begin(), lines.end());
    EXPECT_EQ(lines, (std::vector<int32_t>{2, 4}));
    q->remove(1);
    lines.resize(6);
    ASSERT_EQ(q->waiting_entries(lines.data(), 6), 1);
    EXPECT_EQ(lines[0], 4);
}

TEST(WaitQueue, LeavingFromTheMiddleOrTheEndNeverBlocksTheOthers) {
    TestQueue q(8, 4);
    for (int32_t w = 0; w < 5; ++w) q->enqueue(w, 1, w);
    q->remove(2);  // timed out in the middle
    q->remove(4);  // gone at the tail
    q->remove(6);  // never waited: nothing happens
    std::vector<int32_t> order;
    while (q->length(1) > 0) {
        for (int32_t w = 0; w < 8; ++w) {
            if (q->line_of(w) == 1 && !q->behind_others(w, 1)) {
                order.push_back(w);
                q->remove(w);
                break;
            }
        }
    }
    EXPECT_EQ(order, (std::vector<int32_t>{0, 1, 3}));
    EXPECT_TRUE(heads(q).empty());
}

TEST(WaitQueue, EveryLineHasItsFirstWoken) {
    TestQueue q(8, 4);
    q->enqueue(0, 1, 10);
    q->enqueue(1, 3, 11);
    q->enqueue(2, 1, 12);
    q->enqueue(3, 0, 13);
    EXPECT_EQ(heads(q), (std::vector<int32_t>{10, 11, 13}));
    q->enqueue(0, 3, 10);  // moves to another line, at its tail
    EXPECT_EQ(heads(q), (std::vector<int32_t>{11, 12, 13}));
    q->remove(1);
    q->remove(3);
    EXPECT_EQ(heads(q), (std::vector<int32_t>{10, 12}));
}

TEST(WaitQueue, RandomJoinsAndLeavesKeepEveryLineInOrder) {
    std::mt19937 rng(7);
    TestQueue q(32, 4);
    std::vector<std::vector<int32_t>> model(4);
    for (int step = 0; step < 20000; ++step) {
        const int32_t w = static_cast<int32_t>(rng() % 32);
        const int32_t e = static_cast<int32_t>(rng() % 4);
        const int32_t current = q->line_of(w);
        if (rng() % 2 == 0) {
            q->enqueue(w, e, w);
            if (current != e) {
                if (current >= 0) erase_value(model[current], w);
                model[e].push_back(w);
            }
        } else {
            q->remove(w);
            if (current >= 0) erase_value(model[current], w);
        }
        for (int32_t line = 0; line < 4; ++line) {
            ASSERT_EQ(q->length(line), static_cast<int32_t>(model[line].size()));
            if (!model[line].empty()) {
                ASSERT_FALSE(q->behind_others(model[line].front(), line));
            }
        }
    }
}

TEST(WaitQueue, ALoginBehindOthersWaitsInsteadOfTakingTheSlot) {
    Block memory(Ledger::bytes_needed(4));
    Ledger* l = Ledger::create(memory.get(), 4, 100, 1);
    bool full = false;
    const int32_t app = l->find_or_add("app", 1, &full);
    Budget b = unlimited_budget();
    b.max_connections = 2;
    l->set_budget(app, &b);
    AdmissionRequest behind{false, true, true, false};
    behind.behind_others = true;
    EXPECT_EQ(l->try_admit(app, behind, 1).outcome, Outcome::kWait);
    EXPECT_EQ(l->entry(app).admission_waiting, 1);
    // First in line now: admitted.
    AdmissionRequest first{false, true, true, true};
    EXPECT_EQ(l->try_admit(app, first, 2).outcome, Outcome::kAdmitted);
    EXPECT_EQ(l->entry(app).admission_waiting, 0);
    // At its deadline (may no longer wait) a login is decided by the rule
    // alone: never refused while a slot is free.
    AdmissionRequest last{false, true, false, false};
    last.behind_others = true;
    EXPECT_EQ(l->try_admit(app, last, 3).outcome, Outcome::kAdmitted);
    EXPECT_TRUE(l->consistent());
}

// Found in review: a waiter of A was counted twice, in the waiters' total and
// in A's unused reservation, so a login of B was refused with a slot free.
TEST(WaitQueue, AWaiterFillingItsOwnReservationIsCountedOnce) {
    Block memory(Ledger::bytes_needed(4));
    Ledger* l = Ledger::create(memory.get(), 4, 10, 1);
    bool full = false;
    const int32_t a = l->find_or_add("a", 1, &full);
    const int32_t o = l->find_or_add("o", 1, &full);
    const int32_t b = l->find_or_add("b", 1, &full);
    Budget budget = unlimited_budget();
    budget.max_connections = 2;
    budget.reserved_connections = 2;
    l->set_budget(a, &budget);
    const AdmissionRequest now_only{false, true, false, false};
    for (int k = 0; k < 6; ++k) ASSERT_EQ(l->try_admit(o, now_only, 1).outcome, Outcome::kAdmitted);
    for (int k = 0; k < 2; ++k) ASSERT_EQ(l->try_admit(a, now_only, 1).outcome, Outcome::kAdmitted);
    // H waits: a's budget is full.
    ASSERT_EQ(l->try_admit(a, AdmissionRequest{false, true, true, false}, 2).outcome,
              Outcome::kWait);
    l->release(a, 1);
    // L could take a's reserved slot but waits behind H.
    AdmissionRequest behind{false, true, true, false};
    behind.behind_others = true;
    ASSERT_EQ(l->try_admit(a, behind, 3).outcome, Outcome::kWait);
    // 7 sessions and 2 waiters hold 9 process slots, and the waiters fill a's
    // reservation: the 10th slot is free for b.
    EXPECT_EQ(l->try_admit(b, now_only, 4).outcome, Outcome::kAdmitted);
    EXPECT_TRUE(l->consistent());
}
