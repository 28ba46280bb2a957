// pool_config's formats on a known recommendation: every number lands in the
// setting that carries it, names are quoted for each syntax or refused when a
// syntax cannot carry them, output is cut safely. Real clients parse these
// formats in test/clients/pool_config_formats.py (TAP 014, 023); the real
// PgBouncer loads its snippet in TAP 014 and 023.
#include <gtest/gtest.h>

#include <cstring>

#include <string>
#include <vector>

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
    r.observed_seconds = 3600;
    r.ticks = 36000;
    return r;
}

std::string config(PoolClient client, const Recommendation& r, const char* app = "shop",
                   const char* database = "appdb") {
    PoolConfigInput in{app, database, &r, false, kNoCap};
    const size_t need = write_pool_config(client, in, nullptr, 0);
    std::string out(need + 1, '\0');
    EXPECT_EQ(write_pool_config(client, in, out.data(), out.size()), need);
    out.resize(need);
    return out;
}

bool has(const std::string& text, const std::string& piece) {
    return text.find(piece) != std::string::npos;
}

constexpr PoolClient kEveryClient[] = {PoolClient::kJson,        PoolClient::kSqlAlchemy,
                                       PoolClient::kHikariCP,    PoolClient::kAsyncpg,
                                       PoolClient::kPsycopgPool, PoolClient::kPgBouncer};

UncarriedName uncarried(PoolClient client, const char* app, const char* database = "appdb") {
    const Recommendation r = known();
    return uncarried_name(client, PoolConfigInput{app, database, &r, false, kNoCap});
}

// A refused name is not written at all: nothing, not even a part.
void expect_nothing_written(PoolClient client, const char* app, const char* database) {
    const Recommendation r = known();
    const PoolConfigInput in{app, database, &r, false, kNoCap};
    char out[4096];
    std::memset(out, 'x', sizeof out);
    EXPECT_EQ(write_pool_config(client, in, out, sizeof out), 0u) << app << " / " << database;
    EXPECT_EQ(out[0], '\0') << out;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    size_t from = 0;
    for (size_t nl; (nl = text.find('\n', from)) != std::string::npos; from = nl + 1)
        out.push_back(text.substr(from, nl - from));
    if (from < text.size()) out.push_back(text.substr(from));
    return out;
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
              "\"reserved_connections\": 4, \"budget_max_connections\": null, "
              "\"instance_share\": null, \"insufficient_data\": false, \"observed_seconds\": "
              "3600, \"samples\": 36000, \"findings\": [\"over_provisioned\", "
              "\"idle_in_transaction\"]}\n");
    Recommendation r = known();
    r.idle_in_transaction_timeout_seconds = -1;
    r.findings = 0;
    const std::string j = config(PoolClient::kJson, r);
    EXPECT_TRUE(has(j, "\"idle_in_transaction_timeout_seconds\": null")) << j;
    EXPECT_TRUE(has(j, "\"findings\": []")) << j;
}

// The budget now and each instance's share of it: what followers cap their
// pools with (clients/README.md).
TEST(PoolConfig, JsonCarriesTheBudgetAndTheInstanceShare) {
    const Recommendation r = known();  // 2 instances
    auto json_with = [&r](bool has_budget, int32_t max) {
        const PoolConfigInput in{"shop", "appdb", &r, has_budget, max};
        std::string out(write_pool_config(PoolClient::kJson, in, nullptr, 0) + 1, '\0');
        out.resize(write_pool_config(PoolClient::kJson, in, out.data(), out.size()));
        return out;
    };
    EXPECT_TRUE(has(json_with(true, 9), "\"budget_max_connections\": 9, \"instance_share\": 4"));
    EXPECT_TRUE(has(json_with(true, 20), "\"budget_max_connections\": 20, \"instance_share\": 10"));
    // Fewer slots than instances, or none: each instance still gets one (the
    // server refuses what does not fit).
    EXPECT_TRUE(has(json_with(true, 1), "\"budget_max_connections\": 1, \"instance_share\": 1"));
    EXPECT_TRUE(has(json_with(true, 0), "\"budget_max_connections\": 0, \"instance_share\": 1"));
    // A budget without a cap, and no budget, limit nothing.
    for (const std::string& j : {json_with(true, kNoCap), json_with(false, kNoCap)})
        EXPECT_TRUE(has(j, "\"budget_max_connections\": null, \"instance_share\": null")) << j;
    // The numbers of the recommendation stay as they were.
    EXPECT_TRUE(has(json_with(true, 20), "\"max_connections\": 9, \"reserved_connections\": 4"));
}

TEST(PoolConfig, SqlAlchemyKeywordArguments) {
    const std::string s = config(PoolClient::kSqlAlchemy, known());
    EXPECT_TRUE(has(s, "# pgpool_stats: create_engine()")) << s;
    EXPECT_TRUE(has(s,
                    "2 instance(s) x 4 = at most 8 of the recommended budget of 9 connections "
                    "(no budget now)"))
        << s;
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
    // The name goes in the startup packet: charged at login, no late naming.
    EXPECT_TRUE(has(s, "\ndataSource.assumeMinServerVersion=9.0\n")) << s;
    EXPECT_TRUE(has(s, "\ndataSource.options=-c idle_in_transaction_session_timeout=60000\n")) << s;
    // As java.util.Properties writes a value: a leading space and a
    // backslash escaped, and '=', ':', '#', '!' too; an inner or trailing
    // space is kept as it is.
    EXPECT_TRUE(has(config(PoolClient::kHikariCP, known(), " a\\b"),
                    "dataSource.ApplicationName=\\ a\\\\b\n"));
    EXPECT_TRUE(has(config(PoolClient::kHikariCP, known(), "#x=y:z!w v "),
                    "dataSource.ApplicationName=\\#x\\=y\\:z\\!w v \n"));
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
    // PgBouncer 1.18 reads an entry name of [0-9A-Za-z_.-] as it is; in its
    // connection strings a value is bare or single-quoted with '' for a
    // quote, and a backslash is an ordinary character.
    const std::string q = config(PoolClient::kPgBouncer, known(), "it's a shop", "a.b-1");
    EXPECT_TRUE(has(q, "\n[databases]\na.b-1 = dbname=a.b-1 application_name='it''s a shop' "))
        << q;
    EXPECT_TRUE(has(config(PoolClient::kPgBouncer, known(), "x\"y\\z", "A_9"),
                    "\nA_9 = dbname=A_9 application_name='x\"y\\z' pool_size="));
}

TEST(PoolConfig, PgBouncerEntryNamesAreOnlyWhatPgBouncerReads) {
    // Names PgBouncer 1.18 loads as entry names (checked with the real
    // binary: TAP 023).
    for (const char* db : {"appdb", "a.b-1", "A_B", "1", "-", "PgBouncer", "pgbouncer2"})
        EXPECT_EQ(uncarried(PoolClient::kPgBouncer, "shop", db).reason, UncarriedReason::kNone)
            << db;
    // Everything else is a syntax error for it: quoted ("billing db" used to
    // be written), a newline that would start a new setting, non-ASCII, '*'
    // (its fallback entry), and every other punctuation.
    struct Case {
        const char* database;
        size_t offset;
        unsigned char byte;
    };
    for (const Case& c :
         {Case{"billing db", 7, ' '}, Case{"a\"b", 1, '"'}, Case{"x\nauth_type = any", 1, '\n'},
          Case{"caf\xc3\xa9", 3, 0xc3}, Case{"*", 0, '*'}, Case{"a*b", 1, '*'}, Case{"x;y", 1, ';'},
          Case{"a=b", 1, '='}, Case{"[x]", 0, '['}, Case{"tab\tdb", 3, '\t'}, Case{"it's", 2, '\''},
          Case{"", 0, 0}}) {
        const UncarriedName u = uncarried(PoolClient::kPgBouncer, "shop", c.database);
        EXPECT_EQ(u.reason, UncarriedReason::kNotPgBouncerEntryName) << c.database;
        EXPECT_EQ(u.name, PoolConfigName::kDatabase) << c.database;
        EXPECT_EQ(u.offset, c.offset) << c.database;
        EXPECT_EQ(u.byte, c.byte) << c.database;
        expect_nothing_written(PoolClient::kPgBouncer, "shop", c.database);
    }
    // PgBouncer keeps "pgbouncer" for its admin console and refuses the entry.
    EXPECT_EQ(uncarried(PoolClient::kPgBouncer, "shop", "pgbouncer").reason,
              UncarriedReason::kPgBouncerReservedName);
    expect_nothing_written(PoolClient::kPgBouncer, "shop", "pgbouncer");
}

TEST(PoolConfig, TheDatabaseNameMattersOnlyToPgBouncer) {
    // The other formats do not write it, so they do not refuse it.
    for (PoolClient c : kEveryClient) {
        if (c == PoolClient::kPgBouncer) continue;
        EXPECT_EQ(uncarried(c, "shop", "billing\ndb").reason, UncarriedReason::kNone);
        const std::string s = config(c, known(), "shop", "billing\ndb");
        EXPECT_TRUE(has(s, "shop") && !has(s, "billing")) << s;
    }
}

TEST(PoolConfig, PgBouncerHasNoEmptyValue) {
    // application_name='' is a syntax error for PgBouncer 1.18, and a bare
    // application_name= takes the next setting (pool_size=3) as its value.
    const UncarriedName u = uncarried(PoolClient::kPgBouncer, "");
    EXPECT_EQ(u.reason, UncarriedReason::kEmptyPgBouncerValue);
    EXPECT_EQ(u.name, PoolConfigName::kApplicationName);
    expect_nothing_written(PoolClient::kPgBouncer, "", "appdb");
    // The empty name is a name (sessions that set none); the other formats
    // write it.
    EXPECT_EQ(uncarried(PoolClient::kJson, "").reason, UncarriedReason::kNone);
    EXPECT_TRUE(has(config(PoolClient::kJson, known(), ""), "{\"application_name\": \"\", "));
    EXPECT_TRUE(has(config(PoolClient::kHikariCP, known(), ""), "\ndataSource.ApplicationName=\n"));
}

TEST(PoolConfig, ApplicationNamesOutsidePrintableAsciiAreRefusedByEveryFormat) {
    // PostgreSQL would log the session in with '?' in place of such a byte
    // (so the budget would not count it), and a newline would start a new
    // setting line in the text.
    struct Case {
        const char* app;
        size_t offset;
        unsigned char byte;
    };
    for (const Case& c : {Case{"shop\nauth_type = any", 4, '\n'}, Case{"shop\r\n", 4, '\r'},
                          Case{"tab\there", 3, '\t'}, Case{"caf\xc3\xa9", 3, 0xc3},
                          Case{"del\x7f", 3, 0x7f}, Case{"\x1b[31m", 0, 0x1b}}) {
        for (PoolClient client : kEveryClient) {
            const UncarriedName u = uncarried(client, c.app);
            EXPECT_EQ(u.reason, UncarriedReason::kNotPrintableAscii) << c.app;
            EXPECT_EQ(u.name, PoolConfigName::kApplicationName) << c.app;
            EXPECT_EQ(u.offset, c.offset) << c.app;
            EXPECT_EQ(u.byte, c.byte) << c.app;
            expect_nothing_written(client, c.app, "appdb");
        }
    }
}

TEST(PoolConfig, HostilePrintableNamesNeverAddALine) {
    // Every printable character a PostgreSQL application_name can hold that
    // means something in one of the syntaxes: each format has as many lines
    // as for a plain name, and the name sits on its own setting's line.
    const char* hostile = " a'b\"c\\d=e:f#g!h;i[j]k{l}m%n$o ";
    for (PoolClient c : kEveryClient) {
        ASSERT_EQ(uncarried(c, hostile).reason, UncarriedReason::kNone);
        const std::vector<std::string> plain = lines(config(c, known()));
        const std::vector<std::string> odd = lines(config(c, known(), hostile));
        ASSERT_EQ(odd.size(), plain.size()) << config(c, known(), hostile);
        for (size_t i = 0; i < plain.size(); ++i)
            EXPECT_EQ(odd[i].substr(0, 12), plain[i].substr(0, 12)) << odd[i];
    }
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
    const std::string a = config(PoolClient::kAsyncpg, known(), "a\"b\\c");
    EXPECT_TRUE(has(a, "server_settings={\"application_name\": \"a\\\"b\\\\c\", ")) << a;
}

TEST(PoolConfig, CutsSafelyAndReportsTheLengthNeeded) {
    const Recommendation r = known();
    PoolConfigInput in{"shop", "appdb", &r, false, kNoCap};
    const size_t need = write_pool_config(PoolClient::kSqlAlchemy, in, nullptr, 0);
    char small[16];
    EXPECT_EQ(write_pool_config(PoolClient::kSqlAlchemy, in, small, sizeof small), need);
    EXPECT_EQ(std::string(small).size(), sizeof small - 1);
}

TEST(PoolConfig, InsufficientDataIsSaidInEveryFormat) {
    Recommendation r = known();
    r.findings |= kFindingInsufficientData;
    r.observed_seconds = 12;
    r.ticks = 120;
    const std::string j = config(PoolClient::kJson, r);
    EXPECT_TRUE(has(j, "\"insufficient_data\": true, \"observed_seconds\": 12, \"samples\": 120"))
        << j;
    for (PoolClient c : {PoolClient::kSqlAlchemy, PoolClient::kHikariCP, PoolClient::kAsyncpg,
                         PoolClient::kPsycopgPool, PoolClient::kPgBouncer}) {
        const std::string s = config(c, r);
        EXPECT_TRUE(has(s,
                        " insufficient data: 12 s and 120 samples observed, at least 60 s and "
                        "60 needed; these numbers are floors, not a recommendation"))
            << s;
    }
    EXPECT_FALSE(has(config(PoolClient::kSqlAlchemy, known()), "insufficient data"));
}

TEST(PoolConfig, TheHeaderQuotesTheBudgetNowBesideTheRecommendedOne) {
    const Recommendation r = known();
    PoolConfigInput in{"shop", "appdb", &r, true, 10};
    std::string s(write_pool_config(PoolClient::kPgBouncer, in, nullptr, 0), '\0');
    write_pool_config(PoolClient::kPgBouncer, in, s.data(), s.size() + 1);
    EXPECT_TRUE(has(s, "at most 8 of the recommended budget of 9 connections (its budget now: 10)"))
        << s;
}
