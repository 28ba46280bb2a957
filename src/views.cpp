// SQL functions behind the views pgpool_stats.applications and
// pgpool_stats.capacity, and pgpool_stats.reset(). Each view copies what it
// shows under the ledger lock held SHARED, releases it, and only then builds
// tuples.

#include <algorithm>

#include "shell.hpp"
#include "sql_boundary.hpp"

extern "C" {
#include "funcapi.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

using namespace pgpool_stats;

namespace {

Datum timestamp_or_null(int64 ts, bool* isnull) {
    *isnull = ts == 0;
    return TimestampTzGetDatum(ts);
}

void expect_columns(ReturnSetInfo* rsinfo, int n) {
    if (rsinfo->setDesc->natts != n)
        ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                        errmsg("pgpool_stats: function returns %d columns, the SQL declares %d", n,
                               rsinfo->setDesc->natts),
                        errhint("The installed SQL does not match the library; run ALTER EXTENSION "
                                "pgpool_stats UPDATE.")));
}

}  // namespace

PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_applications_1_0) {
    constexpr int kColumns = 22;
    require_shared_memory();
    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    expect_columns(rsinfo, kColumns);

    // Live states first, then the ledger: a session that arrives in between
    // is in connections but not yet in a state column, never the reverse.
    const int32 room = ledger->max_applications() + 1;
    core::SessionObservation* observations = static_cast<core::SessionObservation*>(
        palloc(sizeof(core::SessionObservation) * MaxBackends));
    int32 observed = observe_sessions(observations);
    core::Census* census = static_cast<core::Census*>(palloc(sizeof(core::Census) * room));
    core::take_census(observations, observed, census, room);

    core::ApplicationEntry* entries =
        static_cast<core::ApplicationEntry*>(palloc(sizeof(core::ApplicationEntry) * room));
    int32* numbers = static_cast<int32*>(palloc(sizeof(int32) * room));
    ledger_lock_shared();
    int32 n = ledger->copy_entries(entries, numbers, room);
    ledger_unlock();

    for (int32 k = 0; k < n; ++k) {
        const core::ApplicationEntry& e = entries[k];
        const core::Census& now = census[numbers[k]];
        Datum values[kColumns];
        bool nulls[kColumns];
        memset(nulls, 0, sizeof nulls);
        const bool capped = e.has_budget && e.budget.capped();
        const bool has_utilization = capped && e.budget.max_connections > 0;
        int c = 0;
        values[c++] = CStringGetTextDatum(e.name);
        values[c++] = Int32GetDatum(e.connections);
        values[c++] = Int32GetDatum(now.active);
        values[c++] = Int32GetDatum(now.idle);
        values[c++] = Int32GetDatum(now.idle_in_transaction);
        values[c++] = Int32GetDatum(now.waiting);
        values[c++] = Int32GetDatum(e.admission_waiting);
        values[c++] = Int32GetDatum(now.instances);
        nulls[c] = !capped;
        values[c++] = Int32GetDatum(e.budget.max_connections);
        nulls[c] = !e.has_budget;
        values[c++] = Int32GetDatum(e.budget.reserved_connections);
        nulls[c] = !e.has_budget;
        values[c++] = CStringGetTextDatum(e.budget.mode == core::BudgetMode::kMonitor ? "monitor"
                                                                                      : "enforce");
        nulls[c] = !has_utilization;
        values[c++] = Float8GetDatum(
            has_utilization ? static_cast<double>(e.connections) / e.budget.max_connections : 0.0);
        values[c++] = Int32GetDatum(e.peak_connections);
        values[c++] = Int32GetDatum(std::max(e.peak_active, now.active));
        values[c++] = Int64GetDatum(e.admitted);
        values[c++] = Int64GetDatum(e.rejected);
        values[c++] = Int64GetDatum(e.would_reject);
        values[c++] = Int64GetDatum(e.reaped);
        values[c++] = Float8GetDatum(e.connects_per_second);
        nulls[c] = e.sessions_ended == 0;
        values[c++] =
            Float8GetDatum(e.sessions_ended == 0 ? 0.0
                                                 : static_cast<double>(e.session_micros_total) /
                                                       e.sessions_ended / 1e6);
        values[c] = timestamp_or_null(e.last_rejected_at, &nulls[c]);
        ++c;
        values[c] = timestamp_or_null(e.stats_reset_at, &nulls[c]);
        ++c;
        Assert(c == kColumns);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
    return (Datum)0;
}

// pgpool_stats.reset(application_name DEFAULT NULL): zero counters and peaks
// of one application, or of all.
PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_reset_1_0) {
    require_shared_memory();
    TimestampTz now = GetCurrentTimestamp();
    if (PG_ARGISNULL(0)) {
        ledger_lock_exclusive();
        ledger->reset_counters(-1, now);
        ledger_unlock();
        PG_RETURN_VOID();
    }
    char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
    ledger_lock_exclusive();
    int32 i = ledger->find(name);
    if (i < 0 && strcmp(name, core::kOtherName) == 0) i = core::kOtherEntry;
    if (i >= 0) ledger->reset_counters(i, now);
    ledger_unlock();
    if (i < 0)
        ereport(NOTICE,
                (errmsg("pgpool_stats: no application \"%s\" is tracked; nothing to reset", name)));
    PG_RETURN_VOID();
}

PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_capacity_1_0) {
    constexpr int kColumns = 11;
    require_shared_memory();
    InitMaterializedSRF(fcinfo, 0);
    ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    expect_columns(rsinfo, kColumns);

    ledger_lock_shared();
    core::CapacityFigures f = ledger->capacity_figures();
    ledger_unlock();

    Datum values[kColumns];
    bool nulls[kColumns];
    memset(nulls, 0, sizeof nulls);
    int c = 0;
    values[c++] = Int32GetDatum(MaxConnections);
    values[c++] = Int32GetDatum(ReservedBackends);
    values[c++] = Int32GetDatum(f.capacity);
    values[c++] = Int32GetDatum(f.connections);
    values[c++] = Int64GetDatum(f.reserved_total);
    values[c++] = Int64GetDatum(f.reserved_unused);
    values[c++] = Int64GetDatum(f.free_unreserved);
    values[c++] = Int64GetDatum(f.budget_total);
    values[c++] = Int64GetDatum(f.budget_total > f.capacity ? f.budget_total - f.capacity : 0);
    values[c++] = Int32GetDatum(f.applications_tracked);
    values[c++] = Int32GetDatum(f.applications_max);
    Assert(c == kColumns);
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    return (Datum)0;
}
