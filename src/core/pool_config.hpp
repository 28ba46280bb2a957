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
    const char* database;          // the database the settings are for (pgbouncer's dbname=)
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
    // application_name, pgbouncer: a byte outside [0-9A-Za-z_.-]. The
    // snippet names its [databases] entry after the application, and
    // PgBouncer 1.18 reads an entry name only of those (and '*', its
    // fallback entry) with no quoting: anything else is a syntax error.
    kNotPgBouncerEntryName,
    // application_name "pgbouncer", pgbouncer: the name of PgBouncer's admin
    // console, which it refuses as an entry.
    kPgBouncerReservedName,
    // application_name "", pgbouncer: an entry needs a name, and PgBouncer
    // 1.18's connection strings have no empty value ('' is a syntax error; a
    // bare empty value takes the next setting as its value). The database
    // too (PostgreSQL has no database "", refused all the same).
    kEmptyPgBouncerValue,
    // database, pgbouncer: a control byte (0x00-0x1f, 0x7f) in dbname=.
    // PgBouncer reads its file line by line, so a newline would end the
    // entry and start a new setting; the others it reads inside quotes, but
    // terminals and editors hide or rewrite them (a carriage return becomes
    // a line end), so the pasted text would not be what was written.
    kControlCharacterInPgBouncerValue,
};

enum class PoolConfigName { kApplicationName, kDatabase };

struct UncarriedName {
    UncarriedReason reason = UncarriedReason::kNone;         // kNone: every name can be written
    PoolConfigName name = PoolConfigName::kApplicationName;  // which name
    size_t offset = 0;  // the byte refused (kNotPrintableAscii, kNotPgBouncerEntryName,
                        // kControlCharacterInPgBouncerValue)
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
