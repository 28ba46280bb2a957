#include "pool_config.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "text.hpp"

namespace pgpool_stats::core {

namespace {

// The pool_config() formats' text, with the quoting each client reads.
class ConfigText : public Text {
public:
    using Text::Text;

    // A double-quoted string literal valid in both JSON and Python. Only
    // printable ASCII reaches here (uncarried_name() refuses the rest).
    void quoted(const char* s) {
        put('"');
        for (; *s; ++s) {
            if (*s == '"' || *s == '\\') put('\\');
            put(*s);
        }
        put('"');
    }
    // A value of a PgBouncer 1.18 connection string: bare when it can be,
    // else single-quoted with quotes doubled (its only escape; a backslash
    // is literal). Never empty: PgBouncer has no spelling for that.
    void connstr_value(const char* s) {
        const bool bare = std::strpbrk(s, " '\\\"") == nullptr;
        if (bare) return add(s);
        put('\'');
        for (; *s; ++s) {
            if (*s == '\'') put('\'');
            put(*s);
        }
        put('\'');
    }
    // A value of a Java .properties line, escaped as java.util.Properties
    // writes one: a leading space would be skipped, a backslash starts an
    // escape; '=', ':', '#' and '!' are escaped too so that no properties
    // reader can take them for a separator or a comment.
    void properties_value(const char* s) {
        for (const char* c = s; *c; ++c) {
            if ((c == s && *c == ' ') || std::strchr("\\=:#!", *c) != nullptr) put('\\');
            put(*c);
        }
    }
};

bool is_printable_ascii(char c) {
    return c >= 0x20 && c <= 0x7e;
}

// A byte below 0x20 or DEL; a byte of a multibyte character is not one.
bool is_control(char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

// What PgBouncer 1.18's ini parser reads as a key, without '*' (an entry
// named "*" would become PgBouncer's fallback entry for every database).
bool is_pgbouncer_entry_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '.' || c == '-';
}

bool has_idle_timeout(const Recommendation& r) {
    return r.idle_in_transaction_timeout_seconds >= 0;
}

// The first line of every format but JSON: what this is for, and the
// arithmetic that keeps all instances within the budget.
void headline(ConfigText& t, const char* comment, const char* what, const PoolConfigInput& in) {
    const Recommendation& r = *in.recommendation;
    t.addf("%s pgpool_stats: %s for application ", comment, what);
    t.quoted(in.application_name);
    t.addf(
        ", per instance: %d instance(s) x %d = at most %d of the recommended budget of %d "
        "connections",
        r.instances, r.pool_size + r.max_overflow, r.instances * (r.pool_size + r.max_overflow),
        r.max_connections);
    if (!in.has_budget)
        t.add(" (no budget now)\n");
    else if (in.budget_max_connections == kNoCap)
        t.add(" (its budget now has no cap)\n");
    else
        t.addf(" (its budget now: %d)\n", in.budget_max_connections);
    if (r.findings & kFindingInsufficientData)
        t.addf(
            "%s insufficient data: %.0f s and %d samples observed, at least %.0f s and %d "
            "needed; these numbers are floors, not a recommendation: keep your own settings\n",
            comment, r.observed_seconds, r.ticks, kMinObservedSeconds, kMinTicks);
}

void json(ConfigText& t, const PoolConfigInput& in) {
    const Recommendation& r = *in.recommendation;
    t.add("{\"application_name\": ");
    t.quoted(in.application_name);
    t.addf(
        ", \"instances\": %d, \"pool_size\": %d, \"max_overflow\": %d, "
        "\"pool_timeout_seconds\": %d, \"idle_in_transaction_timeout_seconds\": ",
        r.instances, r.pool_size, r.max_overflow, r.pool_timeout_seconds);
    if (has_idle_timeout(r))
        t.addf("%d", r.idle_in_transaction_timeout_seconds);
    else
        t.add("null");
    t.addf(", \"max_connections\": %d, \"reserved_connections\": %d", r.max_connections,
           r.reserved_connections);
    // The budget as it is now, and the most each instance may hold under it
    // (at least 1: a pool is never smaller). Followers cap their pools with it.
    if (in.has_budget && in.budget_max_connections != kNoCap)
        t.addf(", \"budget_max_connections\": %d, \"instance_share\": %d",
               in.budget_max_connections,
               std::max(1, in.budget_max_connections / std::max(1, r.instances)));
    else
        t.add(", \"budget_max_connections\": null, \"instance_share\": null");
    t.addf(
        ", \"insufficient_data\": %s, \"observed_seconds\": %.0f, \"samples\": %d, "
        "\"findings\": [",
        r.findings & kFindingInsufficientData ? "true" : "false", r.observed_seconds, r.ticks);
    bool first = true;
    for (int bit = 0; bit < kFindings; ++bit) {
        if (!(r.findings & (1u << bit))) continue;
        if (!first) t.add(", ");
        t.quoted(finding_name(bit));
        first = false;
    }
    t.add("]}\n");
}

// Session settings for libpq-based drivers: the application_name the budget
// counts, and PostgreSQL's own idle-in-transaction timeout when recommended.
void libpq_settings(ConfigText& t, const PoolConfigInput& in) {
    const Recommendation& r = *in.recommendation;
    t.add("{\"application_name\": ");
    t.quoted(in.application_name);
    if (has_idle_timeout(r))
        t.addf(", \"options\": \"-c idle_in_transaction_session_timeout=%d\"",
               r.idle_in_transaction_timeout_seconds * 1000);
    t.add("}");
}

void sqlalchemy(ConfigText& t, const PoolConfigInput& in) {
    const Recommendation& r = *in.recommendation;
    headline(t, "#", "create_engine() keyword arguments (QueuePool, psycopg2)", in);
    t.addf("pool_size=%d,\nmax_overflow=%d,\npool_timeout=%d,\nconnect_args=", r.pool_size,
           r.max_overflow, r.pool_timeout_seconds);
    libpq_settings(t, in);
    t.add(",\n");
}

void hikaricp(ConfigText& t, const PoolConfigInput& in) {
    const Recommendation& r = *in.recommendation;
    headline(t, "#", "HikariCP properties (PostgreSQL JDBC driver)", in);
    t.addf("maximumPoolSize=%d\nminimumIdle=%d\nconnectionTimeout=%d\n",
           r.pool_size + r.max_overflow, r.pool_size, r.pool_timeout_seconds * 1000);
    t.add("dataSource.ApplicationName=");
    t.properties_value(in.application_name);
    t.put('\n');
    // pgjdbc sends ApplicationName at login only when it may assume 9.0 or
    // later; by default it logs in unnamed and SETs it (late naming).
    t.add("dataSource.assumeMinServerVersion=9.0\n");
    if (has_idle_timeout(r))
        t.addf("dataSource.options=-c idle_in_transaction_session_timeout=%d\n",
               r.idle_in_transaction_timeout_seconds * 1000);
}

void asyncpg(ConfigText& t, const PoolConfigInput& in) {
    const Recommendation& r = *in.recommendation;
    headline(t, "#", "asyncpg.create_pool() keyword arguments", in);
    t.addf("# asyncpg has no pool-wide wait limit: acquire with pool.acquire(timeout=%d)\n",
           r.pool_timeout_seconds);
    t.addf("min_size=%d,\nmax_size=%d,\nserver_settings={\"application_name\": ", r.pool_size,
           r.pool_size + r.max_overflow);
    t.quoted(in.application_name);
    if (has_idle_timeout(r))
        t.addf(", \"idle_in_transaction_session_timeout\": \"%d\"",
               r.idle_in_transaction_timeout_seconds * 1000);
    t.add("},\n");
}

void psycopg_pool(ConfigText& t, const PoolConfigInput& in) {
    const Recommendation& r = *in.recommendation;
    headline(t, "#", "psycopg_pool.ConnectionPool() keyword arguments", in);
    t.addf("min_size=%d,\nmax_size=%d,\ntimeout=%d,\nkwargs=", r.pool_size,
           r.pool_size + r.max_overflow, r.pool_timeout_seconds);
    libpq_settings(t, in);
    t.add(",\n");
}

// One [databases] entry per application, named after it, so that the
// snippets of several applications add up instead of overwriting each other.
// PgBouncer reads the rest only in [pgbouncer], once for all its entries: a
// commented suggestion, for the reader to merge (never set twice, or
// silently, by pasting two snippets).
void pgbouncer(ConfigText& t, const PoolConfigInput& in) {
    const Recommendation& r = *in.recommendation;
    // An entry name as PgBouncer reads it (uncarried_name()): written bare.
    const char* app = in.application_name;
    headline(t, ";", "PgBouncer settings (the instances are PgBouncers)", in);
    t.addf(
        "; its clients connect to database %s on PgBouncer; add host= and port= of this server "
        "to the entry\n[databases]\n%s = dbname=",
        app, app);
    t.connstr_value(in.database);
    t.add(" application_name=");
    t.connstr_value(app);
    t.addf(" pool_size=%d reserve_pool=%d max_db_connections=%d\n", r.pool_size, r.max_overflow,
           r.pool_size + r.max_overflow);
    t.add(
        "; server-wide settings suggested for this application, commented out: PgBouncer has one\n"
        "; value of each for all its entries, so merge them by hand with the other applications'\n"
        "; into your own [pgbouncer] section, taking the largest value of each\n"
        "; [pgbouncer]\n");
    t.addf("; query_wait_timeout = %d\n", r.pool_timeout_seconds);
    if (has_idle_timeout(r))
        t.addf("; idle_transaction_timeout = %d\n", r.idle_in_transaction_timeout_seconds);
}

// Every client: its SQL name and the writer of its format.
struct ClientFormat {
    const char* name;
    PoolClient client;
    void (*write)(ConfigText&, const PoolConfigInput&);
};
constexpr ClientFormat kClients[] = {
    {"json", PoolClient::kJson, json},
    {"sqlalchemy", PoolClient::kSqlAlchemy, sqlalchemy},
    {"hikaricp", PoolClient::kHikariCP, hikaricp},
    {"asyncpg", PoolClient::kAsyncpg, asyncpg},
    {"psycopg_pool", PoolClient::kPsycopgPool, psycopg_pool},
    {"pgbouncer", PoolClient::kPgBouncer, pgbouncer},
};

}  // namespace

bool parse_pool_client(const char* name, PoolClient* out) noexcept {
    for (const ClientFormat& c : kClients) {
        if (std::strcmp(name, c.name) == 0) {
            *out = c.client;
            return true;
        }
    }
    return false;
}

const char* pool_client_names() noexcept {
    return "json, sqlalchemy, hikaricp, asyncpg, psycopg_pool, pgbouncer";
}

UncarriedName uncarried_name(PoolClient client, const PoolConfigInput& in) noexcept {
    const char* app = in.application_name;
    for (const char* c = app; *c; ++c)
        if (!is_printable_ascii(*c))
            return {UncarriedReason::kNotPrintableAscii, PoolConfigName::kApplicationName,
                    static_cast<size_t>(c - app), static_cast<unsigned char>(*c)};
    if (client != PoolClient::kPgBouncer) return {};  // the others write nothing else
    // The application names the entry.
    if (*app == '\0')
        return {UncarriedReason::kEmptyPgBouncerValue, PoolConfigName::kApplicationName, 0, 0};
    for (const char* c = app; *c; ++c)
        if (!is_pgbouncer_entry_char(*c))
            return {UncarriedReason::kNotPgBouncerEntryName, PoolConfigName::kApplicationName,
                    static_cast<size_t>(c - app), static_cast<unsigned char>(*c)};
    if (std::strcmp(app, "pgbouncer") == 0)
        return {UncarriedReason::kPgBouncerReservedName, PoolConfigName::kApplicationName, 0, 0};
    // The database is only dbname='s value.
    const char* db = in.database;
    if (*db == '\0')
        return {UncarriedReason::kEmptyPgBouncerValue, PoolConfigName::kDatabase, 0, 0};
    for (const char* c = db; *c; ++c)
        if (is_control(*c))
            return {UncarriedReason::kControlCharacterInPgBouncerValue, PoolConfigName::kDatabase,
                    static_cast<size_t>(c - db), static_cast<unsigned char>(*c)};
    return {};
}

size_t write_pool_config(PoolClient client, const PoolConfigInput& in, char* out,
                         size_t out_size) noexcept {
    ConfigText t(out, out_size);
    if (uncarried_name(client, in).reason != UncarriedReason::kNone) return 0;
    for (const ClientFormat& c : kClients)
        if (c.client == client) c.write(t, in);
    return t.length();
}

}  // namespace pgpool_stats::core
