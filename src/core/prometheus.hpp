// Prometheus text exposition (version 0.0.4) of the applications and the
// server's capacity, in the vocabulary of docs/metrics.md, which the queries
// file for prometheus-postgres-exporter serves too.
//
// Pure core: the shell gathers plain data, this renders it. Label cardinality
// is bounded: kTopApplications applications get their own series (those with
// a budget or counter events first, then by connections); application_name=
// "(other)" sums the rest's gauges and carries the counters of the ledger's
// own "(other)" row.
#pragma once

#include <cstddef>
#include <cstdint>

#include "census.hpp"
#include "ledger.hpp"

namespace pgpool_stats::core {

inline constexpr int32_t kTopApplications = 50;

struct MetricsInput {
    const ApplicationEntry* entries;  // as copied from the ledger
    const Census* census;             // census[k] belongs to entries[k]
    int32_t n;
    CapacityFigures capacity;
    int32_t max_connections;
    int32_t superuser_reserved_connections;
    int64_t now;  // for the login rates (see connects_per_second())
};

// Writes the exposition into out[0..out_size) (cut if too small, always
// NUL-terminated when out_size > 0) and returns its full length, so a caller
// can ask with out_size 0 first, like snprintf.
size_t render_metrics(const MetricsInput& in, char* out, size_t out_size);

// A label value with \, " and newline escaped as the exposition format says.
void escape_label_value(const char* value, char* out, size_t out_size) noexcept;

}  // namespace pgpool_stats::core
