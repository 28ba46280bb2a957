// The admission rule of DESIGN.md, as a pure function of a few numbers.
//
// For a new counted session of application A:
//   1. A has a cap and used(A) >= max(A)                       -> reject (budget full)
//   2. used(A) < reserved(A)                                    -> admit (reserved slot)
//   3. counted_total + waiting logins of the others + unused reservations of
//      the others < capacity -> admit, otherwise reject (no unreserved slot)
//
// A login waiting under admission_timeout already holds a process slot that
// no reservation may need: it may wait only while rule 3's sum leaves it an
// unreserved slot (may_wait_for_slot), and it counts in the others' rule 3.
//
// The ledger evaluates this under its lock, with the sums it maintains
// incrementally, so the decision is O(1) and exact.
#pragma once

#include <cstdint>

namespace pgpool_stats::core {

enum class Verdict : uint8_t {
    kAdmitReserved,     // rule 2
    kAdmitUnreserved,   // rule 3, a free slot nobody reserved
    kRejectBudgetFull,  // rule 1
    kRejectNoFreeSlot,  // rule 3, every free slot is reserved for others
};

inline bool admitted(Verdict v) noexcept {
    return v == Verdict::kAdmitReserved || v == Verdict::kAdmitUnreserved;
}

struct AdmissionFacts {
    int32_t max_connections;         // kNoCap when A has no cap
    int32_t reserved_connections;    // 0 without a budget
    int32_t used;                    // sessions of A now counted
    int32_t counted_total;           // all counted sessions of every application
    int32_t waiting_others;          // logins waiting for admission, this one excluded
    int64_t others_reserved_unused;  // sum over B != A of max(0, reserved(B) - used(B))
    int32_t capacity;                // max_connections - superuser_reserved_connections
};

Verdict decide_admission(const AdmissionFacts& facts) noexcept;

// Whether a login that is not admitted may wait: its process slot must be one
// nobody reserved, so that every unused reservation stays reachable however
// many logins wait.
bool may_wait_for_slot(const AdmissionFacts& facts) noexcept;

// Stable lower-case words for SQL, logs and docs.
const char* verdict_name(Verdict v) noexcept;

}  // namespace pgpool_stats::core
