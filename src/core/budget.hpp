// A connection budget of one application, as plain data.
//
// This header is part of the pure core: no PostgreSQL header may be included
// here. The shell converts rows of pgpool_stats.budget into Budget values.
#pragma once

#include <cstdint>
#include <type_traits>

namespace pgpool_stats::core {

// NAMEDATALEN: PostgreSQL keeps application_name and role names in 63 bytes
// plus a terminator, so every name in shared memory fits in this many bytes.
inline constexpr int kNameBytes = 64;

// allowed_roles is a name[] in SQL; shared memory needs a bound. The table's
// CHECK constraint refuses longer lists, so nothing is ever cut silently.
inline constexpr int kMaxAllowedRoles = 16;

// No cap: max_connections IS NULL in the table.
inline constexpr int32_t kNoCap = -1;

enum class BudgetMode : uint8_t {
    kEnforce = 0,  // rejections are real
    kMonitor = 1,  // everything is admitted, would-be rejections are counted
};

// The mode as SQL spells it.
inline const char* mode_name(BudgetMode mode) noexcept {
    return mode == BudgetMode::kMonitor ? "monitor" : "enforce";
}

struct Budget {
    int32_t max_connections;       // kNoCap or >= 0
    int32_t reserved_connections;  // >= 0, <= max_connections when capped
    BudgetMode mode;
    int64_t admission_timeout_ms;            // 0 = reject at once
    int64_t idle_in_transaction_timeout_ms;  // -1 = never (used by the reaper)
    int64_t idle_session_timeout_ms;         // -1 = never (used by the reaper)
    int32_t allowed_role_count;              // -1 = any role may connect
    char allowed_roles[kMaxAllowedRoles][kNameBytes];

    bool capped() const noexcept { return max_connections != kNoCap; }
    bool roles_restricted() const noexcept { return allowed_role_count >= 0; }
};

static_assert(std::is_standard_layout_v<Budget> && std::is_trivially_copyable_v<Budget>,
              "Budget lives in shared memory");

// A budget with no cap, no reservation, any role: what an application without a
// row in pgpool_stats.budget is measured against.
Budget unlimited_budget() noexcept;

}  // namespace pgpool_stats::core
