#include "reaper.hpp"

#include <algorithm>
#include <cstring>

namespace pgpool_stats::core {

const char* reap_reason_name(ReapReason r) noexcept {
    switch (r) {
        case ReapReason::kIdleInTransaction:
            return "idle_in_transaction";
        case ReapReason::kIdleSession:
            return "idle_session";
        case ReapReason::kNone:
            break;
    }
    return "none";
}

const char* reap_action_name(ReapAction a) noexcept {
    return a == ReapAction::kTerminated ? "terminated" : "would_terminate";
}

ReapReason reap_due(const IdleEpisode& e, int64_t now, int64_t idle_in_transaction_timeout_ms,
                    int64_t idle_session_timeout_ms, int64_t units_per_ms) noexcept {
    if (e.state_since <= 0) return ReapReason::kNone;  // unknown: never guess
    const int64_t idle = now - e.state_since;
    if (e.state == SessionState::kIdleInTransaction && idle_in_transaction_timeout_ms >= 0 &&
        idle > idle_in_transaction_timeout_ms * units_per_ms)
        return ReapReason::kIdleInTransaction;
    if (e.state == SessionState::kIdle && idle_session_timeout_ms >= 0 &&
        idle > idle_session_timeout_ms * units_per_ms)
        return ReapReason::kIdleSession;
    return ReapReason::kNone;
}

size_t ReapedLog::bytes_needed(int32_t size) noexcept {
    return ((sizeof(ReapedLog) + 7) & ~size_t{7}) +
           sizeof(ReapedRecord) * static_cast<size_t>(size);
}

ReapedRecord* ReapedLog::records() noexcept {
    return reinterpret_cast<ReapedRecord*>(reinterpret_cast<char*>(this) +
                                           ((sizeof(ReapedLog) + 7) & ~size_t{7}));
}
const ReapedRecord* ReapedLog::records() const noexcept {
    return const_cast<ReapedLog*>(this)->records();
}

ReapedLog* ReapedLog::create(void* memory, int32_t size) noexcept {
    std::memset(memory, 0, bytes_needed(size));
    ReapedLog* log = static_cast<ReapedLog*>(memory);
    log->size_ = size;
    return log;
}

void ReapedLog::add(const ReapedRecord& r) noexcept {
    records()[head_++ % size_] = r;
}

int32_t ReapedLog::copy(ReapedRecord* out, int32_t max) const noexcept {
    int64_t count = std::min<int64_t>(head_, size_);
    int32_t n = 0;
    for (int64_t k = head_ - count; k < head_ && n < max; ++k) out[n++] = records()[k % size_];
    return n;
}

}  // namespace pgpool_stats::core
