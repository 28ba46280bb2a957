// pool_config's formats on a known recommendation: every number lands in the
// setting that carries it, names are quoted for each syntax, output is cut
// safely. Real clients parse these formats in test/clients/pool_config.py.
#include <gtest/gtest.h>

#include <string>

#include "core/pool_config.hpp"

using namespace pgpool_stats::core;

namespace {

Recommendation known() {
    Recommendation r{};
    r.instances = 2;
    r.max_connections = 9;
    r.reserved_connections = 4;
    r.pool_size = 3;
    r.max_overflow = 1;
    r.pool_timeout_seconds = 30;
    r.idle_in_transaction_timeout_seconds = 60;
    r.findings = kFindingOverProvisioned | kFindingIdleInTransaction;
    return r;
}

std::string config(PoolClient client, const Recommendation& r, const char* app = "shop",
                   const char* database = "appdb") {
    PoolConfigInput in{app, database, &r};
    const size_t need = write_pool_config(client, in, nullptr, 0);
    std::string out(need + 1, '\0');
    EXPECT_EQ(write_pool_config(client, in, out.data(), out.size()), need);
    out.resize(need);
    return out;
}

bool has(const std::string& text, const std::string& piece) {
    return text.find(piece) != std::string::npos;
}

}  // namespace

TEST(PoolConfig, ParsesEveryClientNameAndNothingElse) {
    PoolClient c;
    for (const char* name :
         {"json", "sqlalchemy", "hikaricp", "asyncpg", "psycopg_pool", "pgbouncer"})
        EXPECT_TRUE(parse_pool_client(name, &c)) << name;
    for (const char* name : {"", "JSON", "SQLAlchemy", "psycopg", "hikari", "json "})
        EXPECT_FALSE(parse_pool_client(name, &c)) << name;
    ASSERT_TRUE(parse_pool_client("psycopg_pool", &c));
    EXPECT_EQ(c, PoolClient::kPsycopgPool);
}

TEST(PoolConfig, JsonCarriesEveryNumberAndTheFindings) {
    EXPECT_EQ(config(PoolClient::kJson, known()),
              "{\"application_name\": \"shop\", \"instances\": 2, \"pool_size\": 3, "
              "\"max_overflow\": 1, \"pool_timeout_seconds\": 30, "
              "\"idle_in_transaction_timeout_seconds\": 60, \"max_connections\": 9, "
              "\"reserved_connections\": 4, \"findings\": [\"over_provisioned\", "
              "\"idle_in_transaction\"]}\n");
    Recommendation r = known();
    r.idle_in_transaction_timeout_seconds = -1;
    r.findings = 0;
    const std::string j = config(PoolClient::kJson, r);
    EXPECT_TRUE(has(j, "\"idle_in_transaction_timeout_seconds\": null")) << j;
    EXPECT_TRUE(has(j, "\"findings\": []")) << j;
}

TEST(PoolConfig, SqlAlchemyKeywordArguments) {
    const std::string s = config(PoolClient::kSqlAlchemy, known());
    EXPECT_TRUE(has(s, "# pgpool_stats: create_engine()")) << s;
    EXPECT_TRUE(has(s, "2 instance(s) x 4 = at most 8 of its budget of 9")) << s;
    EXPECT_TRUE(has(s, "\npool_size=3,\nmax_overflow=1,\npool_timeout=30,\n")) << s;
    EXPECT_TRUE(has(s,
                    "connect_args={\"application_name\": \"shop\", \"options\": \"-c "
                    "idle_in_transaction_session_timeout=60000\"},\n"))
        << s;
}

TEST(PoolConfig, HikariProperties) {
    const std::string s = config(PoolClient::kHikariCP, known());
    EXPECT_TRUE(has(s, "\nmaximumPoolSize=4\nminimumIdle=3\nconnectionTimeout=30000\n")) << s;
    EXPECT_TRUE(has(s, "\ndataSource.ApplicationName=shop\n")) << s;
    EXPECT_TRUE(has(s, "\ndataSource.options=-c idle_in_transaction_session_timeout=60000\n")) << s;
    EXPECT_TRUE(has(config(PoolClient::kHikariCP, known(), " a\\b"),
                    "dataSource.ApplicationName=\\ a\\\\b\n"));
}

TEST(PoolConfig, AsyncpgAndPsycopgPoolArguments) {
    const std::string a = config(PoolClient::kAsyncpg, known());
    EXPECT_TRUE(has(a, "pool.acquire(timeout=30)")) << a;
    EXPECT_TRUE(has(a,
                    "\nmin_size=3,\nmax_size=4,\nserver_settings={\"application_name\": "
                    "\"shop\", \"idle_in_transaction_session_timeout\": \"60000\"},\n"))
        << a;
    const std::string p = config(PoolClient::kPsycopgPool, known());
    EXPECT_TRUE(has(p,
                    "\nmin_size=3,\nmax_size=4,\ntimeout=30,\nkwargs={\"application_name\": "
                    "\"shop\", \"options\": \"-c idle_in_transaction_session_timeout=60000\"},\n"))
        << p;
}

TEST(PoolConfig, PgBouncerSnippet) {
    const std::string s = config(PoolClient::kPgBouncer, known());
    EXPECT_TRUE(has(s,
                    "\n[databases]\nappdb = dbname=appdb application_name=shop pool_size=3 "
                    "reserve_pool=1 max_db_connections=4\n[pgbouncer]\n"
                    "query_wait_timeout = 30\nidle_transaction_timeout = 60\n"))
        << s;
    const std::string q = config(PoolClient::kPgBouncer, known(), "it's a shop", "my db");
    EXPECT_TRUE(has(q, "\"my db\" = dbname='my db' application_name='it''s a shop' ")) << q;
}

TEST(PoolConfig, NoIdleTimeoutMeansNoSuchSetting) {
    Recommendation r = known();
    r.idle_in_transaction_timeout_seconds = -1;
    for (PoolClient c : {PoolClient::kSqlAlchemy, PoolClient::kHikariCP, PoolClient::kAsyncpg,
                         PoolClient::kPsycopgPool, PoolClient::kPgBouncer}) {
        const std::string s = config(c, r);
        EXPECT_FALSE(has(s, "idle_in_transaction_session_timeout")) << s;
        EXPECT_FALSE(has(s, "idle_transaction_timeout")) << s;
    }
}

TEST(PoolConfig, NamesAreQuotedForPythonAndJson) {
    const std::string s = config(PoolClient::kJson, known(), "a\"b\\c");
    EXPECT_TRUE(has(s, "\"application_name\": \"a\\\"b\\\\c\"")) << s;
}

TEST(PoolConfig, CutsSafelyAndReportsTheLengthNeeded) {
    const Recommendation r = known();
    PoolConfigInput in{"shop", "appdb", &r};
    const size_t need = write_pool_config(PoolClient::kSqlAlchemy, in, nullptr, 0);
    char small[16];
    EXPECT_EQ(write_pool_config(PoolClient::kSqlAlchemy, in, small, sizeof small), need);
    EXPECT_EQ(std::string(small).size(), sizeof small - 1);
}
