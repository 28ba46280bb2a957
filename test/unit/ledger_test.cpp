// The ledger: admission bookkeeping, budgets, the full table, and a randomized
// check of every decision against a naive reference model of DESIGN.md.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "block.hpp"
#include "core/ledger.hpp"

using namespace pgpool_stats::core;

namespace {

// A ledger on ordinary heap memory.
class TestLedger {
public:
    TestLedger(int32_t max_apps, int32_t capacity)
        : memory_(Ledger::bytes_needed(max_apps)),
          ledger_(Ledger::create(memory_.get(), max_apps, capacity, 1)) {}
    Ledger* operator->() { return ledger_; }
    Ledger& operator*() { return *ledger_; }

private:
    Block memory_;
    Ledger* ledger_;
};

Budget make_budget(int32_t max, int32_t reserved, BudgetMode mode = BudgetMode::kEnforce) {
    Budget b = unlimited_budget();
    b.max_connections = max;
    b.reserved_connections = reserved;
    b.mode = mode;
    return b;
}

AdmissionRequest plain() {
    return AdmissionRequest{false, true, false, false};
}

int32_t add(TestLedger& l, const char* name) {
    bool full = false;
    return l->find_or_add(name, 1, &full);
}

}  // namespace

TEST(Ledger, AdmitsUpToTheBudgetThenRejectsAndCounts) {
    TestLedger l(8, 100);
    int32_t api = add(l, "api");
    Budget b = make_budget(3, 0);
    l->set_budget(api, &b);
    for (int k = 0; k < 3; ++k)
        EXPECT_EQ(l->try_admit(api, plain(), 10).outcome, Outcome::kAdmitted);
    AdmissionResult r = l->try_admit(api, plain(), 20);
    EXPECT_EQ(r.outcome, Outcome::kRejected);
    EXPECT_EQ(r.verdict, Verdict::kRejectBudgetFull);
    EXPECT_EQ(r.facts.used, 3);
    EXPECT_EQ(r.facts.max_connections, 3);
    const ApplicationEntry& e = l->entry(api);
    EXPECT_EQ(e.connections, 3);
    EXPECT_EQ(e.admitted, 3);
    EXPECT_EQ(e.rejected, 1);
    EXPECT_EQ(e.last_rejected_at, 20);
    EXPECT_EQ(e.peak_connections, 3);
    l->release(api, 1000);
    EXPECT_EQ(l->try_admit(api, plain(), 30).outcome, Outcome::kAdmitted);
    EXPECT_TRUE(l->consistent());
}

TEST(Ledger, ReservationsAreDefendedAgainstUnbudgetedApplications) {
    TestLedger l(8, 10);
    int32_t critical = add(l, "critical");
    int32_t noisy = add(l, "noisy");
    Budget b = make_budget(kNoCap, 4);
    l->set_budget(critical, &b);
    int admitted = 0;
    while (l->try_admit(noisy, plain(), 1).outcome == Outcome::kAdmitted) ++admitted;
    EXPECT_EQ(admitted, 6);  // capacity 10 minus 4 reserved
    for (int k = 0; k < 4; ++k)
        EXPECT_EQ(l->try_admit(critical, plain(), 1).verdict, Verdict::kAdmitReserved);
    EXPECT_EQ(l->try_admit(critical, plain(), 1).verdict, Verdict::kRejectNoFreeSlot);
    EXPECT_EQ(l->capacity_figures().free_unreserved, 0);
    EXPECT_TRUE(l->consistent());
}

TEST(Ledger, MonitorBudgetsAdmitAndCountWouldReject) {
    TestLedger l(8, 100);
    int32_t api = add(l, "api");
    Budget b = make_budget(2, 0, BudgetMode::kMonitor);
    l->set_budget(api, &b);
    for (int k = 0; k < 5; ++k)
        EXPECT_EQ(l->try_admit(api, plain(), 1).outcome, Outcome::kAdmitted);
    EXPECT_EQ(l->entry(api).connections, 5);
    EXPECT_EQ(l->entry(api).would_reject, 3);
    EXPECT_EQ(l->entry(api).rejected, 0);
}

TEST(Ledger, MonitorReservationsDoNotRejectOthersButAreCounted) {
    TestLedger l(8, 4);
    int32_t watched = add(l, "watched");
    int32_t other = add(l, "other");
    Budget b = make_budget(kNoCap, 3, BudgetMode::kMonitor);
    l->set_budget(watched, &b);
    for (int k = 0; k < 4; ++k)
        EXPECT_EQ(l->try_admit(other, plain(), 1).outcome, Outcome::kAdmitted);
    EXPECT_EQ(l->entry(other).would_reject, 3);
    EXPECT_EQ(l->entry(other).rejected, 0);
}

TEST(Ledger, ExemptSessionsAreCountedNeverRejected) {
    TestLedger l(8, 100);
    int32_t api = add(l, "api");
    Budget b = make_budget(1, 0);
    l->set_budget(api, &b);
    EXPECT_EQ(l->try_admit(api, plain(), 1).outcome, Outcome::kAdmitted);
    AdmissionRequest su{true, true, false, false};
    EXPECT_EQ(l->try_admit(api, su, 1).outcome, Outcome::kAdmitted);
    EXPECT_EQ(l->entry(api).connections, 2);
    EXPECT_EQ(l->entry(api).would_reject, 0);
    EXPECT_EQ(l->counted_total(), 2);
}

TEST(Ledger, EnforceOffTurnsRejectionsIntoWouldReject) {
    TestLedger l(8, 100);
    int32_t api = add(l, "api");
    Budget b = make_budget(0, 0);
    l->set_budget(api, &b);
    AdmissionRequest off{false, false, false, false};
    EXPECT_EQ(l->try_admit(api, off, 1).outcome, Outcome::kAdmitted);
    EXPECT_EQ(l->entry(api).would_reject, 1);
}

TEST(Ledger, WaitingIsCountedOnceAndClearedByTheFinalAnswer) {
    TestLedger l(8, 100);
    int32_t api = add(l, "api");
    Budget b = make_budget(1, 0);
    l->set_budget(api, &b);
    ASSERT_EQ(l->try_admit(api, plain(), 1).outcome, Outcome::kAdmitted);
    AdmissionRequest wait{false, true, true, false};
    EXPECT_EQ(l->try_admit(api, wait, 1).outcome, Outcome::kWait);
    wait.already_waiting = true;
    EXPECT_EQ(l->try_admit(api, wait, 1).outcome, Outcome::kWait);
    EXPECT_EQ(l->entry(api).admission_waiting, 1);
    l->release(api, 5);
    EXPECT_EQ(l->try_admit(api, wait, 1).outcome, Outcome::kAdmitted);
    EXPECT_EQ(l->entry(api).admission_waiting, 0);
    // A wait that times out ends in a rejection that clears the waiter.
    EXPECT_EQ(l->try_admit(api, AdmissionRequest{false, true, true, false}, 1).outcome,
              Outcome::kWait);
    EXPECT_EQ(l->try_admit(api, AdmissionRequest{false, true, false, true}, 1).outcome,
              Outcome::kRejected);
    EXPECT_EQ(l->entry(api).admission_waiting, 0);
    EXPECT_EQ(l->entry(api).rejected, 1);
}

TEST(Ledger, WaitersNeverTakeAReservedSlot) {
    // Capacity 12: "checkout" reserves 10 of it; "api" has a budget of 2 and
    // lets logins wait.
    TestLedger l(8, 12);
    int32_t checkout = add(l, "checkout");
    int32_t api = add(l, "api");
    Budget reserved = make_budget(10, 10);
    l->set_budget(checkout, &reserved);
    Budget waits = make_budget(1, 0);
    waits.admission_timeout_ms = 5000;
    l->set_budget(api, &waits);
    ASSERT_EQ(l->try_admit(api, plain(), 1).outcome, Outcome::kAdmitted);
    // One slot is left outside the reservation: one login may wait in it...
    const AdmissionRequest wait{false, true, true, false};
    EXPECT_EQ(l->try_admit(api, wait, 1).outcome, Outcome::kWait);
    // ...and the next is refused at once, saying it could not wait.
    AdmissionResult r = l->try_admit(api, wait, 1);
    EXPECT_EQ(r.outcome, Outcome::kRejected);
    EXPECT_TRUE(r.wait_refused);
    EXPECT_EQ(r.facts.waiting_others, 1);
    EXPECT_EQ(l->entry(api).admission_waiting, 1);
    // The reservation is whole: all 10 of checkout get in.
    for (int k = 0; k < 10; ++k)
        ASSERT_EQ(l->try_admit(checkout, plain(), 1).outcome, Outcome::kAdmitted) << k;
    // An unbudgeted application finds no slot: the waiter holds the last one.
    int32_t other = add(l, "other");
    EXPECT_EQ(l->try_admit(other, plain(), 1).verdict, Verdict::kRejectNoFreeSlot);
    EXPECT_EQ(l->capacity_figures().admission_waiting, 1);
    EXPECT_TRUE(l->consistent());
}

TEST(Ledger, ReleaseNeverGoesNegative) {
    TestLedger l(8, 100);
    int32_t api = add(l, "api");
    l->release(api, 1);
    EXPECT_EQ(l->entry(api).connections, 0);
    EXPECT_EQ(l->counted_total(), 0);
    EXPECT_TRUE(l->consistent());
}

TEST(Ledger, FullTableSendsNewApplicationsToOther) {
    TestLedger l(2, 100);
    EXPECT_GT(add(l, "a"), 0);
    EXPECT_GT(add(l, "b"), 0);
    bool full = false;
    EXPECT_EQ(l->find_or_add("c", 1, &full), kOtherEntry);
    EXPECT_TRUE(full);
    EXPECT_EQ(l->try_admit(kOtherEntry, plain(), 1).outcome, Outcome::kAdmitted);
    std::vector<ApplicationEntry> out(3);
    int32_t n = l->copy_entries(out.data(), nullptr, 3);
    EXPECT_EQ(n, 3);
    EXPECT_STREQ(out[0].name, "(other)");
    EXPECT_EQ(out[0].connections, 1);
    EXPECT_EQ(l->capacity_figures().applications_tracked, 2);
    EXPECT_TRUE(l->consistent());
}

TEST(Ledger, MovedSessionsCountAgainstTheNewBudget) {
    // Reserved slots of "b" are accounted as they fill from moved sessions.
    TestLedger l(2, 100);
    int32_t a = add(l, "a");
    ASSERT_EQ(l->try_admit(kOtherEntry, plain(), 1).outcome, Outcome::kAdmitted);
    ASSERT_EQ(l->try_admit(kOtherEntry, plain(), 1).outcome, Outcome::kAdmitted);
    Budget b = make_budget(2, 1);
    l->set_budget(a, &b);
    EXPECT_EQ(l->capacity_figures().reserved_unused, 1);
    l->move_session(kOtherEntry, a);
    l->move_session(kOtherEntry, a);
    EXPECT_EQ(l->entry(a).connections, 2);
    EXPECT_EQ(l->entry(kOtherEntry).connections, 0);
    EXPECT_EQ(l->capacity_figures().reserved_unused, 0);
    EXPECT_EQ(l->try_admit(a, plain(), 1).verdict, Verdict::kRejectBudgetFull);
    l->move_session(kOtherEntry, a);  // nothing left to move
    EXPECT_EQ(l->entry(a).connections, 2);
    EXPECT_TRUE(l->consistent());
}

TEST(Ledger, AClientNamedOtherIsTheOverflowRow) {
    TestLedger l(4, 100);
    bool full = true;
    EXPECT_EQ(l->find_or_add("(other)", 1, &full), kOtherEntry);
    EXPECT_FALSE(full);
    EXPECT_EQ(l->capacity_figures().applications_tracked, 0);
    // No budget can be given to it, and a budget row of that name (from a
    // 1.0 table) displaces no idle application from a full table.
    Budget b = make_budget(0, 0);
    EXPECT_TRUE(l->apply_budget_change("(other)", &b, 1));
    EXPECT_FALSE(l->entry(kOtherEntry).has_budget);
    for (const char* name : {"a", "b", "c", "d"}) add(l, name);
    NamedBudget row{};
    copy_name(row.application_name, "(other)");
    row.budget = b;
    EXPECT_EQ(l->replace_budgets(&row, 1, 2), 0);
    EXPECT_EQ(l->capacity_figures().applications_tracked, 4);
    EXPECT_TRUE(l->consistent());
}

TEST(Ledger, OtherIsHiddenUntilUsed) {
    TestLedger l(4, 100);
    add(l, "a");
    std::vector<ApplicationEntry> out(5);
    EXPECT_EQ(l->copy_entries(out.data(), nullptr, 5), 1);
}

TEST(Ledger, EvictionForgetsOnlyIdleUnbudgetedEntries) {
    TestLedger l(4, 100);
    int32_t idle = add(l, "idle");
    int32_t busy = add(l, "busy");
    int32_t budgeted = add(l, "budgeted");
    Budget b = make_budget(5, 1);
    l->set_budget(budgeted, &b);
    ASSERT_EQ(l->try_admit(busy, plain(), 1).outcome, Outcome::kAdmitted);
    EXPECT_EQ(l->evict_idle(100), 1);
    EXPECT_EQ(l->find("idle"), -1);
    EXPECT_EQ(l->find("busy"), busy);
    EXPECT_EQ(l->find("budgeted"), budgeted);
    EXPECT_NE(idle, -1);
    EXPECT_TRUE(l->consistent());
}

TEST(Ledger, NamesAreCutAt63Bytes) {
    TestLedger l(4, 100);
    std::string long_name(100, 'x');
    int32_t i = add(l, long_name.c_str());
    EXPECT_EQ(std::strlen(l->entry(i).name), 63u);
    EXPECT_EQ(l->find(std::string(63, 'x').c_str()), i);
}

TEST(Ledger, ReplaceBudgetsClearsWhatIsGoneAndReportsWhatDoesNotFit) {
    TestLedger l(2, 100);
    int32_t a = add(l, "a");
    Budget b = make_budget(3, 2);
    l->set_budget(a, &b);
    NamedBudget next[3]{};
    copy_name(next[0].application_name, "b");
    next[0].budget = make_budget(4, 1);
    copy_name(next[1].application_name, "c");
    next[1].budget = make_budget(4, 1);
    copy_name(next[2].application_name, "d");
    next[2].budget = make_budget(4, 1);
    // "a" lost its budget and is idle, so it makes room; "d" still does not fit.
    EXPECT_EQ(l->replace_budgets(next, 3, 5), 1);
    EXPECT_EQ(l->find("a"), -1);
    EXPECT_EQ(l->find("d"), -1);
    EXPECT_TRUE(l->entry(l->find("b")).has_budget);
    EXPECT_EQ(l->capacity_figures().reserved_total, 2);  // "b" and "c"
    EXPECT_TRUE(l->consistent());
}

TEST(Ledger, BudgetsDisplaceIdleEntriesButNeverBusyOnes) {
    TestLedger l(2, 100);
    int32_t busy = add(l, "busy");
    add(l, "idle");
    ASSERT_EQ(l->try_admit(busy, plain(), 1).outcome, Outcome::kAdmitted);
    EXPECT_EQ(l->room_for_budgets(), 1);
    Budget b = make_budget(3, 1);
    EXPECT_TRUE(l->apply_budget_change("new", &b, 2));
    EXPECT_EQ(l->find("idle"), -1);
    EXPECT_FALSE(l->apply_budget_change("another", &b, 2));
    EXPECT_EQ(l->find("busy"), busy);
    std::vector<ApplicationEntry> out(3);
    EXPECT_EQ(l->copy_entries(out.data(), nullptr, 3),
              2);  // a refused budget does not show "(other)"
    EXPECT_TRUE(l->consistent());
}

TEST(Ledger, SamplesRaisePeakActiveAndLoginsKeepTheirRate) {
    constexpr int64_t kSecond = 1000000;
    TestLedger l(4, 100);
    int32_t api = add(l, "api");
    for (int k = 0; k < 60; ++k) {
        ASSERT_EQ(l->try_admit(api, plain(), kSecond).outcome, Outcome::kAdmitted);
        l->release(api, 1);
    }
    l->record_sample(api, 3);
    EXPECT_EQ(l->entry(api).peak_active, 3);
    // 60 logins in the last minute: one a second, with nobody sampling it.
    const double after_burst = connects_per_second(l->entry(api), kSecond);
    EXPECT_NEAR(after_burst, 1.0, 1e-9);
    EXPECT_NEAR(connects_per_second(l->entry(api), 61 * kSecond), std::exp(-1.0), 1e-9);
    l->record_sample(api, 1);
    EXPECT_EQ(l->entry(api).peak_active, 3);
    EXPECT_LT(connects_per_second(l->entry(api), 301 * kSecond), after_burst * 0.01);
    // A steady rate holds the figure at that rate: 2 logins a second for ten minutes.
    int32_t steady = add(l, "steady");
    for (int64_t t = 0; t < 1200; ++t) {
        ASSERT_EQ(l->try_admit(steady, plain(), t * kSecond / 2).outcome, Outcome::kAdmitted);
        l->release(steady, 1);
    }
    EXPECT_NEAR(connects_per_second(l->entry(steady), 600 * kSecond), 2.0, 0.05);
    l->reset_counters(api, 9);
    EXPECT_EQ(l->entry(api).peak_active, 0);
    EXPECT_EQ(l->entry(api).admitted, 0);
    EXPECT_EQ(l->entry(api).stats_reset_at, 9);
}

TEST(Ledger, SamplesReportRefusalsSinceThePreviousSample) {
    TestLedger l(4, 100);
    int32_t api = add(l, "api");
    Budget b = make_budget(0, 0);
    l->set_budget(api, &b);
    for (int k = 0; k < 3; ++k) l->try_admit(api, plain(), 1);
    EXPECT_EQ(l->record_sample(api, 0).rejected, 3);
    EXPECT_EQ(l->record_sample(api, 0).rejected, 0);
    l->try_admit(api, plain(), 1);
    EXPECT_EQ(l->record_sample(api, 0).rejected, 1);
}

TEST(Ledger, WouldBeRefusalsReachTheSamplerLikeRefusals) {
    TestLedger l(8, 100);
    Budget watched = make_budget(1, 0, BudgetMode::kMonitor);
    int32_t m = add(l, "watched");
    l->set_budget(m, &watched);
    std::vector<int32_t> out(Ledger::kRefusalLogSize);
    EXPECT_EQ(l->try_admit(m, plain(), 1).outcome, Outcome::kAdmitted);
    for (int k = 0; k < 3; ++k)  // let through, but over the budget
        EXPECT_EQ(l->try_admit(m, plain(), 1).outcome, Outcome::kAdmitted);
    // Logged once, so a sampler finds it even after its sessions are gone.
    ASSERT_EQ(l->take_refused_entries(out.data(), Ledger::kRefusalLogSize), 1);
    EXPECT_EQ(out[0], m);
    const Ledger::RefusalsSinceSample since = l->record_sample(m, 0);
    EXPECT_EQ(since.rejected, 0);
    EXPECT_EQ(since.would_reject, 3);
    EXPECT_EQ(l->record_sample(m, 0).would_reject, 0);
}

TEST(Ledger, TheSamplerFindsRefusedEntriesOnceWithoutAScan) {
    TestLedger l(8, 100);
    Budget none = make_budget(0, 0);
    int32_t a = add(l, "a"), b = add(l, "b"), quiet = add(l, "quiet");
    l->set_budget(a, &none);
    l->set_budget(b, &none);
    std::vector<int32_t> out(Ledger::kRefusalLogSize);
    EXPECT_EQ(l->take_refused_entries(out.data(), Ledger::kRefusalLogSize), 0);
    for (int k = 0; k < 5; ++k) l->try_admit(a, plain(), 1);
    l->try_admit(b, plain(), 1);
    EXPECT_EQ(l->try_admit(quiet, plain(), 1).outcome, Outcome::kAdmitted);
    ASSERT_EQ(l->take_refused_entries(out.data(), Ledger::kRefusalLogSize), 2);
    EXPECT_EQ(out[0], a);  // once, though refused five times
    EXPECT_EQ(out[1], b);
    EXPECT_EQ(l->record_sample(a, 0).rejected, 5);
    EXPECT_EQ(l->record_sample(b, 0).rejected, 1);
    // Refused again after the sampler's visit: logged again.
    l->try_admit(a, plain(), 2);
    ASSERT_EQ(l->take_refused_entries(out.data(), Ledger::kRefusalLogSize), 1);
    EXPECT_EQ(out[0], a);
    EXPECT_EQ(l->record_sample(a, 0).rejected, 1);
    // More refused entries than the caller can take: visit everything (-1),
    // and the log is read past only when the caller says the visit is done.
    l->try_admit(a, plain(), 3);
    l->try_admit(b, plain(), 3);
    EXPECT_EQ(l->take_refused_entries(out.data(), 1), -1);
    EXPECT_EQ(l->take_refused_entries(out.data(), 1), -1);  // not read past yet
    l->skip_refused_entries();
    EXPECT_EQ(l->take_refused_entries(out.data(), 1), 0);
}

TEST(Ledger, TheRefusalLogOverrunsOnlyPastItsSizeAndWrapsRound) {
    const int32_t n = Ledger::kRefusalLogSize + 1;
    TestLedger l(n, 100);
    Budget none = make_budget(0, 0);
    std::vector<int32_t> entries;
    for (int32_t k = 0; k < n; ++k) {
        entries.push_back(add(l, ("r" + std::to_string(k)).c_str()));
        l->set_budget(entries.back(), &none);
    }
    std::vector<int32_t> out(Ledger::kRefusalLogSize);
    // Exactly the log's size: all of them, in order.
    for (int32_t k = 0; k < Ledger::kRefusalLogSize; ++k) l->try_admit(entries[k], plain(), 1);
    ASSERT_EQ(l->take_refused_entries(out.data(), Ledger::kRefusalLogSize),
              Ledger::kRefusalLogSize);
    EXPECT_EQ(out.front(), entries.front());
    EXPECT_EQ(out.back(), entries[Ledger::kRefusalLogSize - 1]);
    for (int32_t k = 0; k < Ledger::kRefusalLogSize; ++k) l->record_sample(entries[k], 0);
    // Round the ring: the next ones are read from where the head wrapped.
    l->try_admit(entries[n - 1], plain(), 2);
    l->try_admit(entries[0], plain(), 2);
    ASSERT_EQ(l->take_refused_entries(out.data(), Ledger::kRefusalLogSize), 2);
    EXPECT_EQ(out[0], entries[n - 1]);
    EXPECT_EQ(out[1], entries[0]);
    l->record_sample(entries[n - 1], 0);
    l->record_sample(entries[0], 0);
    // One more than the log holds: an overrun.
    for (int32_t k = 0; k < n; ++k) l->try_admit(entries[k], plain(), 3);
    EXPECT_EQ(l->take_refused_entries(out.data(), Ledger::kRefusalLogSize), -1);
    l->skip_refused_entries();
    // The visit of every entry the caller then makes finds each refusal once.
    int64_t refused = 0;
    for (int32_t k = 0; k < n; ++k) refused += l->record_sample(entries[k], 0).rejected;
    EXPECT_EQ(refused, n);
    EXPECT_EQ(l->take_refused_entries(out.data(), Ledger::kRefusalLogSize), 0);
}

TEST(Ledger, ARefusalAfterResetOrEvictionIsLoggedAgain) {
    TestLedger l(2, 100);
    Budget none = make_budget(0, 0);
    int32_t a = add(l, "a");
    l->set_budget(a, &none);
    std::vector<int32_t> out(Ledger::kRefusalLogSize);
    l->try_admit(a, plain(), 1);
    l->reset_counters(a, 2);  // pending refusal wiped with the counters
    l->try_admit(a, plain(), 3);
    ASSERT_EQ(l->take_refused_entries(out.data(), Ledger::kRefusalLogSize), 2);
    EXPECT_EQ(l->record_sample(a, 0).rejected, 1);  // the refusal after the reset
    // Refused, then evicted and its entry reused by another application
    // that is refused too, before the sampler looked: the entry number is
    // logged twice (the sampler removes duplicates) and the sample counts
    // the newcomer's refusal.
    l->try_admit(a, plain(), 4);
    l->set_budget(a, nullptr);
    ASSERT_EQ(l->evict_idle(100), 1);
    int32_t c = add(l, "c");
    ASSERT_EQ(c, a);
    l->set_budget(c, &none);
    l->try_admit(c, plain(), 200);
    ASSERT_EQ(l->take_refused_entries(out.data(), Ledger::kRefusalLogSize), 2);
    EXPECT_EQ(out[0], a);
    EXPECT_EQ(out[1], c);
    EXPECT_EQ(l->record_sample(c, 0).rejected, 1);
    EXPECT_TRUE(l->consistent());
}

TEST(Ledger, ReloadComparesAndChangesOnlyTheRowsThatDiffer) {
    TestLedger l(8, 100);
    NamedBudget table[3];
    for (int k = 0; k < 3; ++k) {
        copy_name(table[k].application_name, ("app" + std::to_string(k)).c_str());
        table[k].budget = make_budget(5 + k, 0);
        ASSERT_TRUE(l->apply_budget_change(table[k].application_name, &table[k].budget, 1));
    }
    const NamedBudget* rows[3] = {&table[0], &table[1], &table[2]};
    const NamedBudget* changes[3];
    EXPECT_EQ(l->differing_budgets(rows, 0, 3, changes), 0);
    table[1].budget.max_connections = 9;
    copy_name(table[2].application_name, "app3");  // app2 renamed to app3
    ASSERT_EQ(l->differing_budgets(rows, 0, 3, changes), 2);
    EXPECT_STREQ(changes[0]->application_name, "app1");
    EXPECT_STREQ(changes[1]->application_name, "app3");
    auto in_table = [&](const char* name) {
        for (const NamedBudget& row : table)
            if (std::strcmp(row.application_name, name) == 0) return true;
        return false;
    };
    char dropped[8][kNameBytes];
    ASSERT_EQ(l->vanished_budgets(0, 9, in_table, dropped), 1);
    EXPECT_STREQ(dropped[0], "app2");
    // Applying them makes the ledger equal to the table.
    for (int k = 0; k < 2; ++k)
        ASSERT_TRUE(l->apply_budget_change(changes[k]->application_name, &changes[k]->budget, 2));
    ASSERT_TRUE(l->apply_budget_change("app2", nullptr, 2));
    EXPECT_EQ(l->differing_budgets(rows, 0, 3, changes), 0);
    EXPECT_EQ(l->vanished_budgets(0, 9, in_table, dropped), 0);
    EXPECT_EQ(l->capacity_figures().budget_total, 5 + 9 + 7);
    EXPECT_TRUE(l->consistent());
    // Allowed roles are part of the comparison.
    table[0].budget.allowed_role_count = 1;
    copy_name(table[0].budget.allowed_roles[0], "alice");
    EXPECT_EQ(l->differing_budgets(rows, 0, 1, changes), 1);
}

TEST(Ledger, EvictionVisitsASliceAtATime) {
    TestLedger l(8, 100);
    for (int k = 0; k < 8; ++k) add(l, ("idle" + std::to_string(k)).c_str());
    EXPECT_EQ(l->evict_idle(100, 3), 3);
    EXPECT_EQ(l->evict_idle(100, 3), 3);
    EXPECT_EQ(l->evict_idle(100, 3), 2);  // wraps round to the start
    EXPECT_EQ(l->free_entries(), 8);
    EXPECT_TRUE(l->consistent());
}

TEST(Ledger, EveryNewApplicationGetsANewIncarnation) {
    TestLedger l(2, 100);
    int32_t a = add(l, "a");
    uint32_t first = l->entry(a).incarnation;
    l->evict_idle(100);
    int32_t b = add(l, "b");
    EXPECT_EQ(a, b);  // the same entry, reused
    EXPECT_NE(l->entry(b).incarnation, first);
}

TEST(Ledger, HashIndexSurvivesHeavyAddAndRemove) {
    TestLedger l(64, 1000);
    std::mt19937 rng(7);
    std::set<std::string> live;
    for (int step = 0; step < 20000; ++step) {
        std::string name = "app" + std::to_string(rng() % 200);
        if (rng() % 3 == 0) {
            l->evict_idle(2);  // everything idle is older than 2
            live.clear();
        } else {
            bool full = false;
            int32_t i = l->find_or_add(name.c_str(), 1, &full);
            if (!full) {
                live.insert(name);
                EXPECT_STREQ(l->entry(i).name, name.c_str());
            } else {
                EXPECT_EQ(live.size(), 64u);
            }
        }
        if (step % 97 == 0) {
            for (const std::string& n : live) ASSERT_GE(l->find(n.c_str()), 1) << n;
            ASSERT_TRUE(l->consistent());
        }
    }
}

// ---------------------------------------------------------------------------
// Randomized model check: the ledger against DESIGN.md's rule computed naively
// from scratch at every step, over many random interleavings of logins, exits
// and budget changes.

namespace {

struct ModelApp {
    bool budgeted = false;
    int32_t max = kNoCap;
    int32_t reserved = 0;
    bool monitor = false;
    int32_t used = 0;
    int32_t waiting = 0;
    int64_t rejected = 0;
    int64_t would_reject = 0;
};

class Model {
public:
    explicit Model(int32_t capacity) : capacity_(capacity) {}

    // DESIGN.md, literally: waiters count against the unreserved capacity.
    static bool rule(int32_t max, int32_t reserved, int32_t used, int64_t taken,
                     int64_t others_unused, int32_t capacity) {
        if (max != kNoCap && used >= max) return false;
        if (used < reserved) return true;
        return taken + others_unused < capacity;
    }

    Outcome admit(const std::string& a, bool exempt, bool enforce, bool may_wait,
                  bool already_waiting) {
        ModelApp& app = apps_[a];
        int64_t total = 0, waiting = 0, others_all = 0, others_enforced = 0;
        for (auto& [name, b] : apps_) {
            total += b.used;
            waiting += b.waiting;
            if (name == a || !b.budgeted) continue;
            // B's waiters hold their process slots, counted once: in the
            // waiters' total, and no longer in B's unused reservation.
            int64_t unused = std::max(0, b.reserved - b.used - b.waiting);
            others_all += unused;
            if (!b.monitor) others_enforced += unused;
        }
        const int64_t taken = total + waiting - (already_waiting ? 1 : 0);
        int32_t max = app.budgeted ? app.max : kNoCap;
        int32_t reserved = app.budgeted ? app.reserved : 0;
        bool if_all = rule(max, reserved, app.used, taken, others_all, capacity_);
        bool real = app.monitor || rule(max, reserved, app.used, taken, others_enforced, capacity_);
        if (real || exempt || !enforce) {
            if (!if_all && !exempt) ++app.would_reject;
            if (already_waiting) --app.waiting;
            ++app.used;
            return Outcome::kAdmitted;
        }
        // A waiter's process slot must be one nobody reserved.
        if (may_wait && taken + others_enforced < capacity_) {
            if (!already_waiting) ++app.waiting;
            return Outcome::kWait;
        }
        if (already_waiting) --app.waiting;
        ++app.rejected;
        return Outcome::kRejected;
    }

    std::map<std::string, ModelApp> apps_;
    int32_t capacity_;
};

}  // namespace

TEST(LedgerModelCheck, EveryDecisionMatchesTheReferenceRule) {
    const std::vector<std::string> names = {"api", "worker", "batch", "report", "", "admin"};
    for (uint32_t seed = 1; seed <= 300; ++seed) {
        std::mt19937 rng(seed);
        const int32_t capacity = 3 + static_cast<int32_t>(rng() % 25);
        TestLedger l(16, capacity);
        Model m(capacity);
        std::vector<std::string> sessions;  // one element per charged session
        std::vector<std::string> waiters;   // one element per waiting login

        for (int step = 0; step < 400; ++step) {
            const std::string& name = names[rng() % names.size()];
            switch (rng() % 10) {
                case 0: {  // budget change
                    ModelApp& app = m.apps_[name];
                    bool full = false;
                    int32_t i = l->find_or_add(name.c_str(), 1, &full);
                    ASSERT_FALSE(full);
                    if (rng() % 4 == 0) {
                        app.budgeted = false;
                        l->set_budget(i, nullptr);
                    } else {
                        app.budgeted = true;
                        app.max = (rng() % 5 == 0) ? kNoCap : static_cast<int32_t>(rng() % 8);
                        app.reserved = static_cast<int32_t>(rng() % 4);
                        if (app.max != kNoCap) app.reserved = std::min(app.reserved, app.max);
                        app.monitor = rng() % 4 == 0;
                        Budget b =
                            make_budget(app.max, app.reserved,
                                        app.monitor ? BudgetMode::kMonitor : BudgetMode::kEnforce);
                        l->set_budget(i, &b);
                    }
                    if (!app.budgeted) app.monitor = false;
                    break;
                }
                case 1:
                case 2:
                case 3: {  // a session ends
                    if (sessions.empty()) break;
                    size_t k = rng() % sessions.size();
                    std::string victim = sessions[k];
                    sessions.erase(sessions.begin() + static_cast<long>(k));
                    --m.apps_[victim].used;
                    l->release(l->find(victim.c_str()), 1);
                    break;
                }
                case 4: {  // a waiting login tries again, times out or leaves
                    if (waiters.empty()) break;
                    size_t k = rng() % waiters.size();
                    std::string waiter = waiters[k];
                    waiters.erase(waiters.begin() + static_cast<long>(k));
                    int32_t i = l->find(waiter.c_str());
                    if (rng() % 4 == 0) {
                        --m.apps_[waiter].waiting;
                        l->abandon_wait(i);
                        break;
                    }
                    bool may_wait = rng() % 3 != 0;
                    Outcome expected = m.admit(waiter, false, true, may_wait, true);
                    Outcome got =
                        l->try_admit(i, AdmissionRequest{false, true, may_wait, true}, 1).outcome;
                    ASSERT_EQ(got, expected) << "seed " << seed << " step " << step;
                    if (got == Outcome::kAdmitted) sessions.push_back(waiter);
                    if (got == Outcome::kWait) waiters.push_back(waiter);
                    break;
                }
                default: {  // a login
                    bool exempt = rng() % 10 == 0;
                    bool enforce = rng() % 10 != 0;
                    bool may_wait = rng() % 3 == 0;
                    bool full = false;
                    int32_t i = l->find_or_add(name.c_str(), 1, &full);
                    ASSERT_FALSE(full);
                    Outcome expected = m.admit(name, exempt, enforce, may_wait, false);
                    AdmissionRequest req{exempt, enforce, may_wait, false};
                    Outcome got = l->try_admit(i, req, 1).outcome;
                    ASSERT_EQ(got, expected)
                        << "seed " << seed << " step " << step << " app '" << name << "'";
                    if (got == Outcome::kAdmitted) sessions.push_back(name);
                    if (got == Outcome::kWait) waiters.push_back(name);
                }
            }
            ASSERT_TRUE(l->consistent()) << "seed " << seed << " step " << step;
            // Never over a real budget, except by exempt or enforce-off logins,
            // which the model tracks too.
            for (auto& [n, app] : m.apps_) {
                int32_t i = l->find(n.c_str());
                if (i < 0) continue;
                ASSERT_EQ(l->entry(i).connections, app.used);
                ASSERT_EQ(l->entry(i).admission_waiting, app.waiting);
                ASSERT_EQ(l->entry(i).rejected, app.rejected);
                ASSERT_EQ(l->entry(i).would_reject, app.would_reject);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The shell's protocol: a login finds (or adds) its entry under the lock,
// releases it for the role check, and is admitted in a second critical
// section. Whatever happens in between must never charge it to another
// application (issue 13).

TEST(LedgerProtocol, AnEntryEvictedAndReusedInBetweenIsNeverCharged) {
    TestLedger l(2, 100);
    const EntryRef x = l->ref(add(l, "x"));
    // Between the two critical sections: the worker evicts idle entries and
    // another login adds "z", which gets x's entry number back.
    l->evict_idle(100);
    const int32_t z = add(l, "z");
    ASSERT_EQ(z, x.entry);
    const AdmissionResult r = l->try_admit(x, plain(), 3);
    EXPECT_EQ(r.outcome, Outcome::kStale) << "x's login was charged to z";
    EXPECT_EQ(l->entry(z).connections, 0);
    EXPECT_EQ(l->entry(z).rejected, 0);
    EXPECT_FALSE(l->record_refusal(x, true, 3));
    EXPECT_EQ(l->entry(z).rejected, 0);
    EXPECT_TRUE(l->consistent());
}

TEST(LedgerProtocol, AnEntryGivenToABudgetInBetweenIsNeverCharged) {
    TestLedger l(1, 100);
    const EntryRef x = l->ref(add(l, "x"));  // the last free entry, idle until admitted
    // A budget commit for y finds the table full and displaces x's idle entry.
    Budget b = make_budget(5, 3);
    ASSERT_TRUE(l->apply_budget_change("y", &b, 2));
    ASSERT_EQ(l->find("y"), x.entry);
    const AdmissionResult r = l->try_admit(x, plain(), 3);
    EXPECT_EQ(r.outcome, Outcome::kStale) << "x's login took y's reserved slot";
    EXPECT_EQ(l->entry(x.entry).connections, 0);
    // Found again, x is counted in "(other)": the table is full.
    bool full = false;
    EXPECT_EQ(l->find_or_add("x", 3, &full), kOtherEntry);
    EXPECT_TRUE(full);
}

// The protocol, randomized: logins take their entry in one step and are
// admitted in a later one, with evictions, budget commits (which displace
// idle entries from a full table), other logins and exits interleaved. Every
// session is charged to its own application's entry (or "(other)"), which is
// never given away while the session lives.
TEST(LedgerProtocol, InterleavedLoginsAreChargedToTheirOwnApplication) {
    const std::vector<std::string> names = {"a", "b", "c", "d", "e", "f"};
    for (uint32_t seed = 1; seed <= 300; ++seed) {
        std::mt19937 rng(seed);
        TestLedger l(3, 40);
        struct Pending {
            std::string name;
            EntryRef ref;
        };
        struct Session {
            std::string name;
            int32_t entry;
        };
        std::vector<Pending> pending;
        std::vector<Session> sessions;
        int64_t now = 1;
        auto resolve = [&](const std::string& name) {
            bool full = false;
            return l->ref(l->find_or_add(name.c_str(), now, &full));
        };
        for (int step = 0; step < 300; ++step, ++now) {
            const std::string& name = names[rng() % names.size()];
            switch (rng() % 6) {
                case 0:  // a login finds its entry
                    pending.push_back({name, resolve(name)});
                    break;
                case 1: {  // a found login is decided
                    if (pending.empty()) break;
                    size_t k = rng() % pending.size();
                    Pending p = pending[k];
                    const AdmissionResult r = l->try_admit(p.ref, plain(), now);
                    if (r.outcome == Outcome::kStale) {
                        pending[k].ref = resolve(p.name);  // as the shell does
                        break;
                    }
                    pending.erase(pending.begin() + static_cast<long>(k));
                    if (r.outcome != Outcome::kAdmitted) break;
                    const std::string charged = l->entry(p.ref.entry).name;
                    ASSERT_TRUE(charged == p.name || p.ref.entry == kOtherEntry)
                        << "seed " << seed << " step " << step << ": a login of '" << p.name
                        << "' was charged to '" << charged << "'";
                    sessions.push_back({p.name, p.ref.entry});
                    break;
                }
                case 2: {  // a session ends
                    if (sessions.empty()) break;
                    size_t k = rng() % sessions.size();
                    l->release(sessions[k].entry, 1);
                    sessions.erase(sessions.begin() + static_cast<long>(k));
                    break;
                }
                case 3:  // the worker forgets idle entries
                    l->evict_idle(now + 1);
                    break;
                default: {  // a budget commit
                    if (rng() % 3 == 0) {
                        l->apply_budget_change(name.c_str(), nullptr, now);
                    } else {
                        Budget b = make_budget(static_cast<int32_t>(rng() % 4),
                                               static_cast<int32_t>(rng() % 2));
                        b.reserved_connections =
                            std::min(b.reserved_connections, b.max_connections);
                        l->apply_budget_change(name.c_str(), &b, now);
                    }
                }
            }
            ASSERT_TRUE(l->consistent()) << "seed " << seed << " step " << step;
            // A charged session's entry is never given away while it lives.
            for (const Session& s : sessions)
                ASSERT_TRUE(s.entry == kOtherEntry || l->entry(s.entry).name == s.name)
                    << "seed " << seed << " step " << step;
        }
    }
}

// Late naming: a session logged in unnamed and then named itself.
TEST(Ledger, ARechargedSessionIsDecidedAsALoginOfItsNewName) {
    TestLedger l(4, 100);
    const int32_t unnamed = add(l, "");
    const int32_t app = add(l, "javaapp");
    Budget b = make_budget(1, 0);
    l->set_budget(app, &b);
    ASSERT_EQ(l->try_admit(unnamed, plain(), 1).outcome, Outcome::kAdmitted);
    ASSERT_EQ(l->try_admit(unnamed, plain(), 1).outcome, Outcome::kAdmitted);

    // The first fits the budget of 1: it moves, and '' no longer counts it.
    AdmissionResult r = l->recharge(unnamed, l->ref(app), plain(), 2);
    EXPECT_EQ(r.outcome, Outcome::kAdmitted);
    EXPECT_EQ(l->entry(app).connections, 1);
    EXPECT_EQ(l->entry(app).admitted, 1);
    EXPECT_EQ(l->entry(unnamed).connections, 1);
    EXPECT_EQ(l->entry(unnamed).admitted, 1);
    EXPECT_EQ(l->counted_total(), 2);

    // The second does not: refused, and counted nowhere.
    r = l->recharge(unnamed, l->ref(app), plain(), 3);
    EXPECT_EQ(r.outcome, Outcome::kRejected);
    EXPECT_EQ(r.verdict, Verdict::kRejectBudgetFull);
    EXPECT_EQ(l->entry(app).rejected, 1);
    EXPECT_EQ(l->entry(unnamed).connections, 0);
    EXPECT_EQ(l->counted_total(), 1);
    EXPECT_TRUE(l->consistent());

    // A stale reference changes nothing.
    EntryRef stale = l->ref(app);
    stale.incarnation += 1;
    ASSERT_EQ(l->try_admit(unnamed, plain(), 4).outcome, Outcome::kAdmitted);
    EXPECT_EQ(l->recharge(unnamed, stale, plain(), 4).outcome, Outcome::kStale);
    EXPECT_EQ(l->entry(unnamed).connections, 1);
    EXPECT_EQ(l->counted_total(), 2);
    EXPECT_TRUE(l->consistent());
}
