// The reaper's decision, and the bounded log of what it did.
//
// Pure core. The shell observes a session twice: once to choose it, and again
// immediately before acting; it acts only if the second observation is the
// same idle episode (same state, same state-change time), so a session that
// has just become busy is never touched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "budget.hpp"
#include "census.hpp"

namespace pgpool_stats::core {

enum class ReapReason : uint8_t { kNone = 0, kIdleInTransaction = 1, kIdleSession = 2 };
enum class ReapAction : uint8_t { kTerminated = 0, kWouldTerminate = 1 };

const char* reap_reason_name(ReapReason r) noexcept;  // "idle_in_transaction" | "idle_session"
const char* reap_action_name(ReapAction a) noexcept;  // "terminated" | "would_terminate"

struct IdleEpisode {
    SessionState state;
    int64_t state_since;  // when the session entered that state (caller's unit)
};

// Why a session in `episode` at `now` is due, under the budget's timeouts
// (in ms; < 0 = never), or kNone. `micros_per_ms` converts the caller's unit.
ReapReason reap_due(const IdleEpisode& episode, int64_t now, int64_t idle_in_transaction_timeout_ms,
                    int64_t idle_session_timeout_ms, int64_t units_per_ms) noexcept;

// The re-check: the session is still in the episode it was chosen in.
inline bool same_episode(const IdleEpisode& chosen, const IdleEpisode& now) noexcept {
    return chosen.state == now.state && chosen.state_since == now.state_since;
}

inline constexpr int kQueryBytes = 256;
inline constexpr int kAddressBytes = 48;

struct ReapedRecord {
    int64_t reaped_at;
    int32_t pid;
    ReapReason reason;
    ReapAction action;
    int64_t idle_for;  // caller's unit
    int64_t xact_age;  // caller's unit; < 0 = no transaction
    char application_name[kNameBytes];
    char usename[kNameBytes];
    char datname[kNameBytes];
    char client_addr[kAddressBytes];  // empty: Unix socket
    char query[kQueryBytes];
};

static_assert(std::is_trivially_copyable_v<ReapedRecord>, "ReapedRecord lives in shared memory");

// A ring of the last `size` records, newest kept, in caller memory.
class ReapedLog {
public:
    static size_t bytes_needed(int32_t size) noexcept;
    static ReapedLog* create(void* memory, int32_t size) noexcept;
    void add(const ReapedRecord& r) noexcept;
    int32_t copy(ReapedRecord* out, int32_t max) const noexcept;  // oldest first
    int32_t size() const noexcept { return size_; }

private:
    ReapedRecord* records() noexcept;
    const ReapedRecord* records() const noexcept;
    int32_t size_;
    int64_t head_;
};

static_assert(std::is_standard_layout_v<ReapedLog>, "ReapedLog lives in shared memory");

}  // namespace pgpool_stats::core
