// The admission rule on its own: each of the three rules and their edges.
#include <gtest/gtest.h>

#include "core/admission.hpp"
#include "core/budget.hpp"

using namespace pgpool_stats::core;

namespace {

AdmissionFacts facts(int32_t max, int32_t reserved, int32_t used, int32_t total,
                     int64_t others_unused, int32_t capacity) {
    return AdmissionFacts{max, reserved, used, total, 0, others_unused, capacity};
}

}  // namespace

TEST(AdmissionRule, CapRejectsAtTheBudgetEvenWithFreeCapacity) {
    EXPECT_EQ(decide_admission(facts(5, 0, 5, 5, 0, 100)), Verdict::kRejectBudgetFull);
    EXPECT_EQ(decide_admission(facts(5, 0, 4, 4, 0, 100)), Verdict::kAdmitUnreserved);
}

TEST(AdmissionRule, ZeroCapBlocksTheApplication) {
    EXPECT_EQ(decide_admission(facts(0, 0, 0, 0, 0, 100)), Verdict::kRejectBudgetFull);
}

TEST(AdmissionRule, ReservedSlotsAdmitEvenWhenTheServerIsFull) {
    // The server is full of others, but A has used 2 of its 3 reserved slots.
    EXPECT_EQ(decide_admission(facts(10, 3, 2, 99, 0, 100)), Verdict::kAdmitReserved);
    EXPECT_EQ(decide_admission(facts(10, 3, 2, 100, 0, 100)), Verdict::kAdmitReserved);
}

TEST(AdmissionRule, CapWinsOverReservation) {
    // reserved <= max is a table constraint, but the rule must still be safe.
    EXPECT_EQ(decide_admission(facts(2, 3, 2, 2, 0, 100)), Verdict::kRejectBudgetFull);
}

TEST(AdmissionRule, OthersUnusedReservationsAreNotFree) {
    // 95 in use, 5 reserved for others and unused: the 100th slot is theirs.
    EXPECT_EQ(decide_admission(facts(kNoCap, 0, 10, 95, 5, 100)), Verdict::kRejectNoFreeSlot);
    EXPECT_EQ(decide_admission(facts(kNoCap, 0, 10, 94, 5, 100)), Verdict::kAdmitUnreserved);
}

TEST(AdmissionRule, BeyondReservationAnApplicationCompetesLikeAnyOther) {
    EXPECT_EQ(decide_admission(facts(kNoCap, 3, 3, 100, 0, 100)), Verdict::kRejectNoFreeSlot);
    EXPECT_EQ(decide_admission(facts(kNoCap, 3, 3, 99, 0, 100)), Verdict::kAdmitUnreserved);
}

TEST(AdmissionRule, HugeReservationSumsDoNotOverflow) {
    EXPECT_EQ(decide_admission(facts(kNoCap, 0, 0, 10, int64_t{1} << 40, 100)),
              Verdict::kRejectNoFreeSlot);
}

TEST(AdmissionRule, VerdictNamesAreStable) {
    EXPECT_STREQ(verdict_name(Verdict::kRejectBudgetFull), "budget_full");
    EXPECT_STREQ(verdict_name(Verdict::kRejectNoFreeSlot), "no_unreserved_slot");
    EXPECT_STREQ(verdict_name(Verdict::kAdmitReserved), "admit_reserved");
    EXPECT_STREQ(verdict_name(Verdict::kAdmitUnreserved), "admit_unreserved");
}

TEST(AdmissionRule, UnlimitedBudgetHasNoCapNoReservationAnyRole) {
    Budget b = unlimited_budget();
    EXPECT_FALSE(b.capped());
    EXPECT_FALSE(b.roles_restricted());
    EXPECT_EQ(b.reserved_connections, 0);
    EXPECT_EQ(b.idle_in_transaction_timeout_ms, -1);
}

TEST(AdmissionRule, WaitingLoginsTakeUnreservedSlots) {
    // 90 counted, 5 waiting, 5 reserved unused by others, capacity 100: no
    // unreserved slot is left, for an admission or for one more waiter.
    AdmissionFacts f = facts(kNoCap, 0, 0, 90, 5, 100);
    f.waiting_others = 5;
    EXPECT_EQ(decide_admission(f), Verdict::kRejectNoFreeSlot);
    EXPECT_FALSE(may_wait_for_slot(f));
    f.waiting_others = 4;
    EXPECT_EQ(decide_admission(f), Verdict::kAdmitUnreserved);
    EXPECT_TRUE(may_wait_for_slot(f));
    // A reserved slot is the application's own whatever others wait.
    AdmissionFacts own = facts(kNoCap, 3, 0, 90, 10, 100);
    own.waiting_others = 1000;
    EXPECT_EQ(decide_admission(own), Verdict::kAdmitReserved);
}
