// Recommended limits for one application, from what the server observed.
//
// Pure core: no PostgreSQL header, no allocation. The method, its formulas
// and the reasoning behind them are in docs/recommendations.md; every number
// here has a sentence there.
#pragma once

#include <cstddef>
#include <cstdint>

#include "budget.hpp"

namespace pgpool_stats::core {

// Fixed finding codes, in the order they are reported.
enum Finding : uint32_t {
    kFindingInsufficientData = 1u << 0,
    kFindingOverProvisioned = 1u << 1,
    kFindingChurning = 1u << 2,
    kFindingStarved = 1u << 3,
    kFindingNearBudget = 1u << 4,
    kFindingIdleInTransaction = 1u << 5,
    kFindingOvercommitted = 1u << 6,
};
inline constexpr int kFindings = 7;
const char* finding_name(int bit) noexcept;  // "insufficient_data", ... for bit 0..6

// A stretch of time in which the application had at least one session idle
// in a transaction at every sample: one fine sample (one tick long), or a
// minute row whose minimum was at least one (the whole minute). Times in
// microseconds.
struct IdleSpan {
    int64_t start;
    int64_t end;
};

// Episodes of idle in transaction: maximal chains of spans[0..n) (in time
// order) that follow each other within half a tick, lasting at least
// min_episode_us. Real code leaves a transaction open between two of its
// statements for milliseconds; a leak or a forgotten BEGIN keeps it open for
// seconds, across consecutive samples.
struct IdleEpisodes {
    int32_t count;
    int64_t longest_us;
};
IdleEpisodes idle_in_transaction_episodes(const IdleSpan* spans, int32_t n, int64_t tick_us,
                                          int64_t min_episode_us) noexcept;

struct DemandInput {
    // Active sessions at each sampler tick of the window, ticks without a
    // row included as zeros. Sorted in place by recommend().
    int32_t* active;
    int32_t ticks;
    int64_t connection_ticks;           // sum of connections over the ticks
    int64_t idle_in_transaction_ticks;  // sum of idle-in-transaction sessions over the ticks
    int32_t peak_active;
    int32_t peak_connections;
    int64_t rejected;                // refusals in the window
    int64_t peak_rejected_per_tick;  // most refusals within one tick
    int32_t peak_admission_waiting;  // most logins waiting at once in the window
    // What the window really covered for this application: since the later
    // of (now - window), the oldest history row and its last reset (or its
    // first login).
    double observed_seconds;
    IdleEpisodes idle_episodes;
    double connects_per_second;
    double avg_session_seconds;  // < 0: no session has ended yet
    int32_t instances;           // given, or observed; values < 1 count as 1
    double target_utilization;   // (0, 1]
    bool has_budget;
    Budget budget;
    int32_t capacity;
    int64_t others_reserved;  // reservations of every other application
    int64_t budget_total;     // caps of every budget, this one included
};

struct Recommendation {
    double mean_active;
    double p95_active;
    double p99_active;
    int32_t peak_active;
    int32_t peak_connections;
    double idle_in_transaction_share;
    double connects_per_second;
    int32_t instances;
    int32_t max_connections;
    int32_t reserved_connections;
    int32_t pool_size;     // per instance
    int32_t max_overflow;  // per instance
    int32_t pool_timeout_seconds;
    int32_t idle_in_transaction_timeout_seconds;  // < 0: none recommended
    uint32_t findings;
    // The evidence the rationale quotes.
    int32_t ticks;
    double observed_seconds;
    IdleEpisodes idle_episodes;
    int64_t rejected;
    int32_t censored_by;   // refused or waiting logins at once, added to the budget (starved)
    bool has_reservation;  // the budget has one: the recommendation sizes it
};

// Thresholds of the findings (docs/recommendations.md).
inline constexpr int32_t kMinTicks = 60;
inline constexpr double kMinObservedSeconds = 60;
inline constexpr int64_t kIdleEpisodeMicros = 2 * 1000 * 1000;
inline constexpr double kChurnConnectsPerSecond = 1.0;
inline constexpr double kChurnSessionSeconds = 1.0;
inline constexpr double kNearBudgetShare = 0.9;
inline constexpr int32_t kIdleInTransactionTimeoutSeconds = 60;
inline constexpr int32_t kPoolTimeoutSeconds = 30;

Recommendation recommend(DemandInput& in) noexcept;

// Nearest-rank percentile of sorted values[0..n), q in (0, 1]; 0 when n == 0.
double percentile(const int32_t* sorted, int32_t n, double q) noexcept;

// One plain sentence per number, into out (cut, always terminated).
void write_rationale(const Recommendation& r, double target_utilization, char* out,
                     size_t out_size) noexcept;

}  // namespace pgpool_stats::core
