// pgpool_stats.recommend() and pool_config(): the core recommender
// (core/recommender.cpp) fed from the history and the ledger. The method is in
// docs/recommendations.md.
//
// The window's ticks: from the later of (now - window) and the oldest
// history row, one tick per sample_interval. Fine samples give their value;
// older minutes and hours only have roll-ups, each standing for its ticks as
// core::fill_ticks says, so the peak is kept; ticks without a row are zeros.

#include <cmath>

#include "core/pool_config.hpp"
#include "recommendations.hpp"
#include "gucs.hpp"
#include "sql_boundary.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

using namespace pgpool_stats;

namespace {

constexpr int kColumns = 19;
// pool_config() uses recommend()'s defaults (sql/pgpool_stats--1.0.sql).
constexpr int64 kDefaultWindowMicros = USECS_PER_HOUR;
constexpr double kDefaultTarget = 0.7;
constexpr int32 kMaxTicks =
    50 * 1000 * 1000;  // 200 MB of ticks at most: a window that large is refused

// Fills `in` for the application at live row k. Returns the window's ticks.
// Its window starts no earlier than its last reset (or its first login): a
// period reset() wiped, or before it existed, is not evidence of zeros.
int32 gather(const Observed& o, int32 k, core::DemandInput* in) {
    const HistoryCopy& h = o.history;
    const TimestampTz from = std::max(o.from, o.live.ledger.entries[k].stats_reset_at);
    const int64 tick = static_cast<int64>(guc_sample_interval_ms) * 1000;
    int64 ticks = std::max<int64>(0, (o.now - from) / tick);
    if (ticks > kMaxTicks) ticks = kMaxTicks;
    in->observed_seconds = static_cast<double>(std::max<int64>(0, o.now - from)) / USECS_PER_SEC;
    int32* active = static_cast<int32*>(palloc0(sizeof(int32) * (ticks + 1)));
    // Stretches with a session idle in a transaction, in time order.
    core::IdleSpan* idle =
        static_cast<core::IdleSpan*>(palloc(sizeof(core::IdleSpan) * (ticks + 1)));
    int32 n_idle = 0;
    int64 filled = 0;

    // A minute or hour row: its ticks (core::fill_ticks), its sums, and one
    // idle stretch only when every sample of it had a session idle in a
    // transaction. A row that began before the window counts for the share
    // of it inside the window: that many of its ticks (its peaks first, on
    // the safe side) and that share of its sums.
    auto add_summary = [&](const auto& x, TimestampTz start, int64 length) {
        const TimestampTz inside_from = std::max(start, from);
        const double share = static_cast<double>(start + length - inside_from) / length;
        const auto scaled = [share](int64 v) { return static_cast<int64>(std::ceil(v * share)); };
        filled += core::fill_ticks(x, core::kActive, active + filled,
                                   std::min<int64>(ticks - filled, scaled(x.samples)));
        in->connection_ticks += scaled(x.sum[core::kConnections]);
        in->idle_in_transaction_ticks += scaled(x.sum[core::kIdleInTransaction]);
        in->rejected += scaled(x.rejected);
        if (x.min[core::kIdleInTransaction] > 0 && n_idle <= ticks)
            idle[n_idle++] = core::IdleSpan{inside_from, start + length};
        in->peak_rejected_per_tick = std::max<int64>(
            in->peak_rejected_per_tick, (x.rejected + x.samples - 1) / Max(x.samples, 1));
        in->peak_admission_waiting =
            std::max(in->peak_admission_waiting, x.max[core::kAdmissionWaiting]);
        in->peak_active = std::max(in->peak_active, x.max[core::kActive]);
    };
    for (int32 r = 0; r < h.n_hours && filled < ticks; ++r) {
        const core::HistoryHour& x = h.hours[r];
        if (x.hour + USECS_PER_HOUR <= from || x.hour + USECS_PER_HOUR > h.minutes_from) continue;
        if (o.names.row_of(x.entry, x.incarnation) == k) add_summary(x, x.hour, USECS_PER_HOUR);
    }
    for (int32 r = 0; r < h.n_minutes && filled < ticks; ++r) {
        const core::HistoryMinute& m = h.minutes[r];
        if (m.minute < std::max(from, h.minutes_from) ||
            m.minute + USECS_PER_MINUTE > h.samples_from)
            continue;
        if (o.names.row_of(m.entry, m.incarnation) == k) add_summary(m, m.minute, USECS_PER_MINUTE);
    }
    for (int32 s = 0; s < h.n_samples && filled < ticks; ++s) {
        const core::HistorySample& x = h.samples[s];
        if (x.sample_time < std::max(from, h.samples_from)) continue;
        if (o.names.row_of(x.entry, x.incarnation) != k) continue;
        active[filled++] = x.gauge[core::kActive];
        in->connection_ticks += x.gauge[core::kConnections];
        in->idle_in_transaction_ticks += x.gauge[core::kIdleInTransaction];
        in->rejected += x.rejected;
        if (x.gauge[core::kIdleInTransaction] > 0 && n_idle <= ticks)
            idle[n_idle++] = core::IdleSpan{x.sample_time, x.sample_time + tick};
        in->peak_rejected_per_tick = std::max(in->peak_rejected_per_tick, x.rejected);
        in->peak_admission_waiting =
            std::max(in->peak_admission_waiting, x.gauge[core::kAdmissionWaiting]);
        in->peak_active = std::max(in->peak_active, x.gauge[core::kActive]);
    }
    in->idle_episodes =
        core::idle_in_transaction_episodes(idle, n_idle, tick, core::kIdleEpisodeMicros);
    in->active = active;  // the rest of the ticks are the zeros palloc0 left
    in->ticks = static_cast<int32>(ticks);
    return in->ticks;
}

// instances: NULL means observed; otherwise at least 1.
int32 instances_argument(FunctionCallInfo fcinfo, int arg) {
    if (PG_ARGISNULL(arg)) return 0;
    const int32 instances = PG_GETARG_INT32(arg);
    if (instances < 1)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("instances must be at least 1"),
                 errdetail("instances is %d.", instances),
                 errhint("Leave it NULL to use the number of client addresses observed.")));
    return instances;
}

}  // namespace

namespace pgpool_stats {

core::Recommendation recommend_row(const Observed& o, int32 k, int32 instances, double target,
                                   int32* ticks) {
    const core::ApplicationEntry& e = o.live.ledger.entries[k];
    core::DemandInput in{};
    gather(o, k, &in);
    in.peak_connections = e.peak_connections;
    in.peak_active = std::max(in.peak_active, e.peak_active);
    in.connects_per_second = core::connects_per_second(e, o.live.ledger.copied_at);
    in.avg_session_seconds =
        e.sessions_ended ? static_cast<double>(e.session_micros_total) / e.sessions_ended / 1e6
                         : -1;
    in.instances = instances > 0 ? instances : std::max(1, o.live.census[k].instances);
    in.target_utilization = target;
    in.has_budget = e.has_budget;
    in.budget = e.has_budget ? e.budget : core::unlimited_budget();
    in.capacity = o.live.ledger.capacity.capacity;
    in.others_reserved =
        o.live.ledger.capacity.reserved_total - (e.has_budget ? e.budget.reserved_connections : 0);
    in.budget_total = o.live.ledger.capacity.budget_total;
    *ticks = in.ticks;
    return core::recommend(in);
}

}  // namespace pgpool_stats

PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_recommend_1_0) {
    const bool one = !PG_ARGISNULL(0);
    const char* only = one ? text_to_cstring(PG_GETARG_TEXT_PP(0)) : nullptr;
    if (PG_ARGISNULL(1) || PG_ARGISNULL(3))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                        errmsg("window and target_utilization must not be NULL")));
    Interval* window = PG_GETARG_INTERVAL_P(1);
    const int64 window_us = interval_micros(window);
    if (window_us <= 0)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("window must be positive"),
                 errhint("Use the span of history to base the recommendation on, e.g. '1 hour'.")));
    const int32 instances = instances_argument(fcinfo, 2);
    const double target = PG_GETARG_FLOAT8(3);
    if (!(target > 0 && target <= 1))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("target_utilization must be in (0, 1]"),
                        errdetail("target_utilization is %g.", target),
                        errhint("0.7 leaves 30%% headroom at the 99th percentile of demand.")));

    ReturnSetInfo* rsinfo = begin_rows(fcinfo, kColumns);
    const Observed o = observe(window_us);
    bool found = false;
    Row row(rsinfo);
    for (int32 k = 0; k < o.live.ledger.n; ++k) {
        const core::ApplicationEntry& e = o.live.ledger.entries[k];
        if (is_other_row(o, k)) continue;
        if (one && strcmp(e.name, only) != 0) continue;
        found = true;

        int32 ticks = 0;
        const core::Recommendation r = recommend_row(o, k, instances, target, &ticks);
        Datum findings[core::kFindings];
        int n_findings = 0;
        for (int bit = 0; bit < core::kFindings; ++bit)
            if (r.findings & (1u << bit))
                findings[n_findings++] = CStringGetTextDatum(core::finding_name(bit));
        char rationale[2048];
        core::write_rationale(r, target, rationale, sizeof rationale);

        row.add(CStringGetTextDatum(e.name))
            .add(micros_interval(static_cast<int64>(r.observed_seconds * USECS_PER_SEC)))
            .add(Int32GetDatum(ticks))
            .add(Int32GetDatum(r.instances))
            .add(Float8GetDatum(r.mean_active))
            .add(Float8GetDatum(r.p95_active))
            .add(Float8GetDatum(r.p99_active))
            .add(Int32GetDatum(r.peak_active))
            .add(Int32GetDatum(r.peak_connections))
            .add(Float8GetDatum(r.idle_in_transaction_share))
            .add(Float8GetDatum(r.connects_per_second))
            .add(Int32GetDatum(r.max_connections))
            .add(Int32GetDatum(r.reserved_connections))
            .add(Int32GetDatum(r.pool_size))
            .add(Int32GetDatum(r.max_overflow))
            .add(Int32GetDatum(r.pool_timeout_seconds))
            .add_or_null(r.idle_in_transaction_timeout_seconds < 0,
                         micros_interval(static_cast<int64>(r.idle_in_transaction_timeout_seconds) *
                                         USECS_PER_SEC))
            .add(PointerGetDatum(
                construct_array(findings, n_findings, TEXTOID, -1, false, TYPALIGN_INT)))
            .add(CStringGetTextDatum(rationale));
        row.emit();
    }
    if (one && !found)
        ereport(
            NOTICE,
            (errmsg("pgpool_stats: no application \"%s\" is tracked; nothing to recommend", only)));
    return (Datum)0;
}

namespace {

// A name as pool_config()'s errors show it: control characters as \xNN, so
// that a name with a newline cannot break the message into lines.
const char* name_for_message(const char* name) {
    StringInfoData s;
    initStringInfo(&s);
    for (const unsigned char* c = reinterpret_cast<const unsigned char*>(name); *c; ++c) {
        if (*c < 0x20 || *c == 0x7f)
            appendStringInfo(&s, "\\x%02x", *c);
        else
            appendStringInfoChar(&s, static_cast<char>(*c));
    }
    return s.data;
}

// Which character of NAME was refused: its position counts the characters
// before it in the database's encoding (a database name may have multibyte
// characters before a refused control byte).
const char* refused_character(const core::UncarriedName& u, const char* name) {
    const int position = pg_mbstrlen_with_len(name, static_cast<int>(u.offset)) + 1;
    if (u.byte >= 0x20 && u.byte < 0x7f) return psprintf("character %d, \"%c\"", position, u.byte);
    return psprintf("character %d, byte 0x%02x", position, u.byte);
}

// Refuses (0A000) a name the client's format cannot carry: the text must be
// safe to paste, so nothing is written approximately. The reasons are the
// core's (core/pool_config.hpp); docs/recommendations.md lists them.
void refuse_uncarried_name(core::PoolClient client, const char* client_name,
                           const core::PoolConfigInput& in) {
    const core::UncarriedName u = core::uncarried_name(client, in);
    switch (u.reason) {
        case core::UncarriedReason::kNone:
            return;
        case core::UncarriedReason::kNotPrintableAscii:
            ereport(ERROR,
                    (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                     errmsg("pool_config cannot write application_name \"%s\" for %s",
                            name_for_message(in.application_name), client_name),
                     errdetail("Its %s is not printable ASCII: PostgreSQL would log the pool's "
                               "sessions in with \"?\" in its place, so the budget would not "
                               "count them under this name, and a control character could start "
                               "a new line in the settings.",
                               refused_character(u, in.application_name)),
                     errhint("Use the name as pgpool_stats.applications shows it.")));
            break;
        case core::UncarriedReason::kNotPgBouncerEntryName:
            ereport(ERROR,
                    (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                     errmsg("pool_config cannot write application_name \"%s\" as a PgBouncer "
                            "entry name",
                            name_for_message(in.application_name)),
                     errdetail("The pgbouncer snippet names its [databases] entry after the "
                               "application, and PgBouncer 1.18 reads an entry name only of "
                               "ASCII letters, digits, \"_\", \".\" and \"-\", with no "
                               "quoting; anything else stops it with a syntax error. The name "
                               "has %s.",
                               refused_character(u, in.application_name)),
                     errhint("Budget the application under a name of those characters and set "
                             "it in its clients, or write the entry by hand under such a name "
                             "with application_name= set to this one in single quotes; the "
                             "other clients' formats write this name as it is.")));
            break;
        case core::UncarriedReason::kPgBouncerReservedName:
            ereport(ERROR,
                    (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                     errmsg("pool_config cannot write application_name \"pgbouncer\" as a "
                            "PgBouncer entry name"),
                     errdetail("The pgbouncer snippet names its [databases] entry after the "
                               "application, and PgBouncer keeps the name \"pgbouncer\" for its "
                               "admin console and refuses an entry of that name."),
                     errhint("Write the entry by hand under another name, with "
                             "application_name=pgbouncer, or budget the application under "
                             "another name.")));
            break;
        case core::UncarriedReason::kEmptyPgBouncerValue:
            if (u.name == core::PoolConfigName::kApplicationName)
                ereport(ERROR,
                        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                         errmsg("pool_config cannot write an empty application_name for "
                                "pgbouncer"),
                         errdetail("The pgbouncer snippet names its [databases] entry after the "
                                   "application, and an entry needs a name; nor can PgBouncer "
                                   "1.18 send an empty application_name: its connection strings "
                                   "have no empty value (application_name='' is a syntax error, "
                                   "and application_name= takes the next setting as its value)."),
                         errhint("Budget the application under a name it sets, or use another "
                                 "client format.")));
            else  // PostgreSQL has no such database; the core refuses it all the same
                ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                                errmsg("pool_config cannot write an empty database name for "
                                       "pgbouncer")));
            break;
        case core::UncarriedReason::kControlCharacterInPgBouncerValue:
            ereport(ERROR,
                    (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                     errmsg("pool_config cannot write database name \"%s\" in a PgBouncer "
                            "entry",
                            name_for_message(in.database)),
                     errdetail("Its %s, is a control character: PgBouncer reads its "
                               "configuration line by line, so a newline would end the entry "
                               "and start a new setting, and terminals and editors hide or "
                               "rewrite the others.",
                               refused_character(u, in.database)),
                     errhint("Rename the database; the other clients' formats do not name it.")));
            break;
    }
}

}  // namespace

// pool_config(): the default recommendation (one hour, target utilization
// 0.7) of one application, written for one client by the core.
PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_pool_config_1_0) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                        errmsg("application_name and client must not be NULL")));
    const char* application = text_to_cstring(PG_GETARG_TEXT_PP(0));
    const char* client_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
    core::PoolClient client;
    if (!core::parse_pool_client(client_name, &client))
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("unknown pool client \"%s\"", client_name),
                        errhint("Use one of: %s.", core::pool_client_names())));
    const int32 instances = instances_argument(fcinfo, 2);
    const char* database = get_database_name(MyDatabaseId);
    refuse_uncarried_name(client, client_name,
                          core::PoolConfigInput{application, database, nullptr, false, 0});

    const Observed o = observe(kDefaultWindowMicros);
    int32 k = 0;
    while (k < o.live.ledger.n &&
           (is_other_row(o, k) || strcmp(o.live.ledger.entries[k].name, application) != 0))
        ++k;
    if (k == o.live.ledger.n)
        ereport(ERROR,
                (errcode(ERRCODE_UNDEFINED_OBJECT),
                 errmsg("application \"%s\" is not tracked by pgpool_stats", application),
                 errdetail("Recommendations come from what the server saw of an application, and "
                           "no session with this application_name was seen."),
                 errhint("Connect with application_name '%s' and let it work for a while, or "
                         "see pgpool_stats.applications for the names being tracked.",
                         application)));
    int32 ticks = 0;
    const core::Recommendation r = recommend_row(o, k, instances, kDefaultTarget, &ticks);
    const core::ApplicationEntry& e = o.live.ledger.entries[k];
    const core::PoolConfigInput in{application, database, &r, e.has_budget,
                                   e.has_budget ? e.budget.max_connections : core::kNoCap};
    const size_t length = core::write_pool_config(client, in, nullptr, 0);
    text* result = static_cast<text*>(palloc(VARHDRSZ + length + 1));
    core::write_pool_config(client, in, VARDATA(result), length + 1);
    SET_VARSIZE(result, VARHDRSZ + length);
    PG_RETURN_TEXT_P(result);
}
