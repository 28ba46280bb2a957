#include "census.hpp"

#include <algorithm>
#include <cstring>

namespace pgpool_stats::core {

void take_census(SessionObservation* obs, int32_t n, Census* per_entry, int32_t entries) noexcept {
    std::memset(per_entry, 0, sizeof(Census) * static_cast<size_t>(entries));
    std::sort(obs, obs + n, [](const SessionObservation& a, const SessionObservation& b) {
        return a.entry != b.entry ? a.entry < b.entry : a.client_key < b.client_key;
    });
    for (int32_t k = 0; k < n; ++k) {
        const SessionObservation& o = obs[k];
        if (o.entry < 0 || o.entry >= entries) continue;
        Census& c = per_entry[o.entry];
        ++c.connections;
        switch (o.state) {
            case SessionState::kActive:
                ++c.active;
                if (o.lock_waiting) ++c.waiting;
                break;
            case SessionState::kIdle:
                ++c.idle;
                break;
            case SessionState::kIdleInTransaction:
                ++c.idle_in_transaction;
                break;
            case SessionState::kUnknown:
                break;
        }
        if (k == 0 || obs[k - 1].entry != o.entry || obs[k - 1].client_key != o.client_key)
            ++c.instances;
    }
}

uint64_t client_key_of(const void* bytes, int32_t length) noexcept {
    uint64_t h = 1469598103934665603ULL;
    const unsigned char* p = static_cast<const unsigned char*>(bytes);
    for (int32_t k = 0; k < length; ++k) {
        h ^= p[k];
        h *= 1099511628211ULL;
    }
    return h;
}

}  // namespace pgpool_stats::core
