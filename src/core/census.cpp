#include "census.hpp"

#include <algorithm>
#include <cstring>

namespace pgpool_stats::core {

int32_t take_census(SessionObservation* obs, int32_t n, EntryCensus* out) noexcept {
    std::sort(obs, obs + n, [](const SessionObservation& a, const SessionObservation& b) {
        return a.entry != b.entry ? a.entry < b.entry : a.client_key < b.client_key;
    });
    int32_t rows = 0;
    for (int32_t k = 0; k < n; ++k) {
        const SessionObservation& o = obs[k];
        if (o.entry < 0) continue;
        if (rows == 0 || out[rows - 1].entry != o.entry) {
            std::memset(&out[rows], 0, sizeof out[rows]);
            out[rows++].entry = o.entry;
        }
        Census& c = out[rows - 1].census;
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
    return rows;
}

Census census_of(const EntryCensus* rows, int32_t n, int32_t entry) noexcept {
    const EntryCensus* end = rows + n;
    const EntryCensus* it = std::lower_bound(
        rows, end, entry, [](const EntryCensus& r, int32_t e) { return r.entry < e; });
    return it != end && it->entry == entry ? it->census : Census{};
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
