#include "recommender.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace pgpool_stats::core {

const char* finding_name(int bit) noexcept {
    static const char* const names[kFindings] = {
        "insufficient_data", "over_provisioned",    "churning",     "starved",
        "near_budget",       "idle_in_transaction", "overcommitted"};
    return bit >= 0 && bit < kFindings ? names[bit] : "unknown";
}

double percentile(const int32_t* sorted, int32_t n, double q) noexcept {
    if (n <= 0) return 0;
    int64_t rank = static_cast<int64_t>(std::ceil(q * n));  // nearest rank, 1-based
    rank = std::clamp<int64_t>(rank, 1, n);
    return sorted[rank - 1];
}

IdleEpisodes idle_in_transaction_episodes(const IdleSpan* spans, int32_t n, int64_t tick_us,
                                          int64_t min_episode_us) noexcept {
    IdleEpisodes e{};
    int32_t k = 0;
    while (k < n) {
        const int64_t start = spans[k].start;
        int64_t end = spans[k].end;
        for (++k; k < n && spans[k].start <= end + tick_us / 2; ++k)
            end = std::max(end, spans[k].end);
        if (end - start >= min_episode_us) {
            ++e.count;
            e.longest_us = std::max(e.longest_us, end - start);
        }
    }
    return e;
}

Recommendation recommend(DemandInput& in) noexcept {
    Recommendation r{};
    const int32_t n = std::max(0, in.ticks);
    std::sort(in.active, in.active + n);
    int64_t sum = 0;
    for (int32_t k = 0; k < n; ++k) sum += in.active[k];
    r.mean_active = n ? static_cast<double>(sum) / n : 0;
    r.p95_active = percentile(in.active, n, 0.95);
    r.p99_active = percentile(in.active, n, 0.99);
    r.peak_active = std::max(in.peak_active, n ? in.active[n - 1] : 0);
    r.peak_connections = std::max(in.peak_connections, r.peak_active);
    r.idle_in_transaction_share =
        in.connection_ticks > 0
            ? static_cast<double>(in.idle_in_transaction_ticks) / in.connection_ticks
            : 0;
    r.connects_per_second = in.connects_per_second;
    r.instances = std::max(1, in.instances);
    const double target = std::clamp(in.target_utilization, 0.05, 1.0);

    // The server budget: the 99th percentile of concurrently active sessions
    // at the target utilization, never below the peak really used at once,
    // at least one per instance; bounded by what the server can give it.
    int64_t need = static_cast<int64_t>(std::ceil(r.p99_active / target));
    int64_t max_connections = std::max<int64_t>({need, r.peak_active, r.instances, 1});
    // A starved application's demand is censored by its cap: it is never
    // seen above it. The logins refused or waiting at once show at least how
    // much more it asked for.
    r.rejected = in.rejected;
    if (in.rejected > 0 || in.peak_admission_waiting > 0) {
        r.censored_by = static_cast<int32_t>(std::min<int64_t>(
            std::max<int64_t>(in.peak_rejected_per_tick, in.peak_admission_waiting), 1 << 20));
        max_connections = std::max<int64_t>(max_connections, r.peak_connections + r.censored_by);
    }
    const int64_t available = std::max<int64_t>(1, int64_t{in.capacity} - in.others_reserved);
    r.max_connections = static_cast<int32_t>(std::min(max_connections, available));
    // Reserved: only for an application whose budget has a reservation
    // already (whether it must never be refused is its owner's decision, not
    // something the server can infer), sized to what it needs 95 % of the
    // time, so a flood elsewhere never takes its usual load away.
    r.has_reservation = in.has_budget && in.budget.reserved_connections > 0;
    r.reserved_connections =
        r.has_reservation ? std::min(r.max_connections,
                                     std::max(1, static_cast<int32_t>(std::ceil(r.p95_active))))
                          : 0;

    // Per instance: the instances together never exceed the budget.
    const int32_t per_instance = std::max(1, r.max_connections / r.instances);
    const int32_t steady = static_cast<int32_t>(std::ceil(r.p95_active / r.instances / target));
    r.pool_size = std::clamp(steady, 1, per_instance);
    r.max_overflow = per_instance - r.pool_size;
    r.pool_timeout_seconds = kPoolTimeoutSeconds;
    r.idle_episodes = in.idle_episodes;
    r.idle_in_transaction_timeout_seconds =
        r.idle_episodes.count > 0 ? kIdleInTransactionTimeoutSeconds : -1;

    r.ticks = n;
    r.observed_seconds = in.observed_seconds;
    if (n < kMinTicks || in.observed_seconds < kMinObservedSeconds)
        r.findings |= kFindingInsufficientData;
    if (r.peak_connections >= 2 * std::max(1, r.peak_active) + 2)
        r.findings |= kFindingOverProvisioned;
    if (in.connects_per_second >= kChurnConnectsPerSecond && in.avg_session_seconds >= 0 &&
        in.avg_session_seconds < kChurnSessionSeconds)
        r.findings |= kFindingChurning;
    if (in.rejected > 0 || in.peak_admission_waiting > 0) r.findings |= kFindingStarved;
    if (in.has_budget && in.budget.capped() && in.budget.max_connections > 0 &&
        r.peak_connections >= kNearBudgetShare * in.budget.max_connections)
        r.findings |= kFindingNearBudget;
    if (r.idle_episodes.count > 0) r.findings |= kFindingIdleInTransaction;
    // Caps beyond capacity, or reservations that no longer fit (a smaller
    // max_connections, a restore into a smaller server): guarantees broken.
    const int64_t reserved_total =
        in.others_reserved + (in.has_budget ? in.budget.reserved_connections : 0);
    if (in.budget_total > in.capacity || reserved_total > in.capacity)
        r.findings |= kFindingOvercommitted;
    return r;
}

namespace {

// Appends to out[*written..out_size); false once it no longer fits.
bool append(char* out, size_t out_size, int* written, const char* format, ...) noexcept
    __attribute__((format(printf, 4, 5)));
bool append(char* out, size_t out_size, int* written, const char* format, ...) noexcept {
    if (*written < 0 || static_cast<size_t>(*written) >= out_size) return false;
    va_list args;
    va_start(args, format);
    const int more = std::vsnprintf(out + *written, out_size - *written, format, args);
    va_end(args);
    if (more < 0 || static_cast<size_t>(*written + more) >= out_size) return false;
    *written += more;
    return true;
}

}  // namespace

void write_rationale(const Recommendation& r, double target_utilization, char* out,
                     size_t out_size) noexcept {
    if (out_size == 0) return;
    out[0] = '\0';
    const double target = std::clamp(target_utilization, 0.05, 1.0);
    const int32_t per_instance = r.pool_size + r.max_overflow;
    int w = 0;
    if (r.findings & kFindingInsufficientData &&
        !append(out, out_size, &w,
                "Insufficient data: %.0f s and %d samples observed (since the later of the "
                "window's start, the oldest history row and the application's last reset or first "
                "login); at least %.0f s and %d samples are needed before these numbers mean "
                "anything, so keep your own settings until then. ",
                r.observed_seconds, r.ticks, kMinObservedSeconds, kMinTicks))
        return;
    if (!append(out, out_size, &w,
                "max_connections %d: the 99th percentile of concurrently active sessions (%.1f) at "
                "%.0f%% target utilization, never below the peak of %d used at once nor one per "
                "instance. ",
                r.max_connections, r.p99_active, target * 100, r.peak_active))
        return;
    if (r.censored_by > 0 &&
        !append(out, out_size, &w,
                "Its demand is censored by its budget: %lld logins refused in the window, up to %d "
                "refused or waiting at once, so the budget grows by %d over the peak of %d "
                "connections. ",
                static_cast<long long>(r.rejected), r.censored_by, r.censored_by,
                r.peak_connections))
        return;
    if (r.has_reservation) {
        if (!append(out, out_size, &w,
                    "reserved_connections %d: its budget has a reservation, sized to what it "
                    "needed 95%% of the time (%.1f active). ",
                    r.reserved_connections, r.p95_active))
            return;
    } else if (!append(out, out_size, &w,
                       "reserved_connections 0: its budget has no reservation, and whether an "
                       "application must never be refused is its owner's decision. ")) {
        return;
    }
    if (!append(out, out_size, &w,
                "pool_size %d and max_overflow %d per instance: %d instance(s) share the budget, "
                "%d each at most, of which the steady %d covers the 95th percentile at the target "
                "utilization. pool_timeout %d s: a request waits at most that long for a pooled "
                "connection. ",
                r.pool_size, r.max_overflow, r.instances, per_instance, r.pool_size,
                r.pool_timeout_seconds))
        return;
    if (r.instances > r.max_connections &&
        !append(out, out_size, &w,
                "The %d instances do not fit: the server can give this application only %d "
                "connections; run fewer instances or put a pooler such as PgBouncer in front. ",
                r.instances, r.max_connections))
        return;
    if (r.idle_in_transaction_timeout_seconds >= 0)
        append(out, out_size, &w,
               "idle_in_transaction_timeout %d s: %d episode(s) of a session idle in a "
               "transaction for %.0f s or more across consecutive samples, the longest %.1f s.",
               r.idle_in_transaction_timeout_seconds, r.idle_episodes.count,
               kIdleEpisodeMicros / 1e6, r.idle_episodes.longest_us / 1e6);
    else
        append(out, out_size, &w,
               "idle_in_transaction_timeout: none needed (no session idle in a transaction for "
               "%.0f s or more; %.0f%% of its connection time idle in a transaction in short "
               "moments).",
               kIdleEpisodeMicros / 1e6, r.idle_in_transaction_share * 100);
}

}  // namespace pgpool_stats::core
