#include "admission.hpp"

#include "budget.hpp"

namespace pgpool_stats::core {

Budget unlimited_budget() noexcept {
    Budget b{};
    b.max_connections = kNoCap;
    b.reserved_connections = 0;
    b.mode = BudgetMode::kEnforce;
    b.admission_timeout_ms = 0;
    b.idle_in_transaction_timeout_ms = -1;
    b.idle_session_timeout_ms = -1;
    b.allowed_role_count = -1;
    return b;
}

Verdict decide_admission(const AdmissionFacts& f) noexcept {
    if (f.max_connections != kNoCap && f.used >= f.max_connections)
        return Verdict::kRejectBudgetFull;
    if (f.used < f.reserved_connections) return Verdict::kAdmitReserved;
    // 64-bit sum: the reservations of many applications may exceed int32 in
    // a misconfigured table, and an overflow here would admit everyone.
    if (may_wait_for_slot(f)) return Verdict::kAdmitUnreserved;
    return Verdict::kRejectNoFreeSlot;
}

bool may_wait_for_slot(const AdmissionFacts& f) noexcept {
    return static_cast<int64_t>(f.counted_total) + f.waiting_others + f.others_reserved_unused <
           f.capacity;
}

const char* verdict_name(Verdict v) noexcept {
    switch (v) {
        case Verdict::kAdmitReserved:
            return "admit_reserved";
        case Verdict::kAdmitUnreserved:
            return "admit_unreserved";
        case Verdict::kRejectBudgetFull:
            return "budget_full";
        case Verdict::kRejectNoFreeSlot:
            return "no_unreserved_slot";
    }
    return "unknown";
}

}  // namespace pgpool_stats::core
