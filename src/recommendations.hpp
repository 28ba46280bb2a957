// recommend() for one application, shared by pgpool_stats.recommend(),
// pool_config() and report().
#pragma once

#include "core/recommender.hpp"
#include "observed.hpp"

namespace pgpool_stats {

// The recommendation for the application at live row k; instances 0 means
// "as observed". Sets *ticks to the window's ticks.
core::Recommendation recommend_row(const Observed& o, int32 k, int32 instances, double target,
                                   int32* ticks);

}  // namespace pgpool_stats
