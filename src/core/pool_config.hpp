// A recommendation as ready-to-paste settings for the pools that consume it.
//
// Pure core: no PostgreSQL header, no allocation. Which setting of each
// client carries which number, and why, is in docs/recommendations.md
// ("pool_config").
#pragma once

#include <cstddef>

#include "recommender.hpp"

namespace pgpool_stats::core {

enum class PoolClient {
    kJson,
    kSqlAlchemy,
    kHikariCP,
    kAsyncpg,
    kPsycopgPool,
    kPgBouncer,
};

// "json", "sqlalchemy", "hikaricp", "asyncpg", "psycopg_pool", "pgbouncer";
// false for anything else (case matters, as for every name in SQL).
bool parse_pool_client(const char* name, PoolClient* out) noexcept;

// The accepted names, comma-separated, for error hints.
const char* pool_client_names() noexcept;

struct PoolConfigInput {
    const char* application_name;  // printable ASCII, as PostgreSQL keeps it
    const char* database;          // the database the settings are for (pgbouncer)
    const Recommendation* recommendation;
};

// Writes the settings into out like snprintf: returns the length the whole
// text needs (excluding the terminator), writes at most capacity bytes,
// always terminated when capacity > 0.
size_t write_pool_config(PoolClient client, const PoolConfigInput& in, char* out,
                         size_t capacity) noexcept;

}  // namespace pgpool_stats::core
