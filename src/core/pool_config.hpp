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
    const char* application_name;  // the budget's name
    const char* database;          // the database the settings are for (pgbouncer)
    const Recommendation* recommendation;
    // The budget as it is now, quoted beside the recommended one.
    bool has_budget;
    int32_t budget_max_connections;  // kNoCap: no cap
};

// Why a name cannot be written for a client. The text must be safe to paste:
// a name a format cannot spell is refused, never written approximately.
enum class UncarriedReason {
    kNone,
    // application_name, every client: a byte outside printable ASCII
    // (0x20-0x7e). PostgreSQL logs such a session in with '?' in its place,
    // so the budget would not count it; a control byte could also start a
    // new line, hence a new setting, in the text.
    kNotPrintableAscii,
    // database, pgbouncer: a byte outside [0-9A-Za-z_.-]. PgBouncer 1.18
    // reads a [databases] entry name only of those (and '*', its fallback
    // entry) and has no quoting for it: anything else is a syntax error.
    kNotPgBouncerEntryName,
    // database "pgbouncer", pgbouncer: the name of PgBouncer's admin console,
    // which it refuses as an entry.
    kPgBouncerReservedName,
    // application_name "", pgbouncer: PgBouncer 1.18's connection strings
    // have no empty value ('' is a syntax error; a bare empty value takes
    // the next setting as its value).
    kEmptyPgBouncerValue,
};

enum class PoolConfigName { kApplicationName, kDatabase };

struct UncarriedName {
    UncarriedReason reason = UncarriedReason::kNone;         // kNone: every name can be written
    PoolConfigName name = PoolConfigName::kApplicationName;  // which name
    size_t offset = 0;  // the byte refused (kNotPrintableAscii, kNotPgBouncerEntryName)
    unsigned char byte = 0;
};

// The first name of `in` that `client`'s format cannot carry, if any.
UncarriedName uncarried_name(PoolClient client, const PoolConfigInput& in) noexcept;

// Writes the settings into out like snprintf: returns the length the whole
// text needs (excluding the terminator), writes at most out_size bytes,
// always terminated when out_size > 0. Writes nothing (returns 0) when
// uncarried_name() refuses a name.
size_t write_pool_config(PoolClient client, const PoolConfigInput& in, char* out,
                         size_t out_size) noexcept;

}  // namespace pgpool_stats::core
