// Budgets: from the table pgpool_stats.budget to the ledger.
//
// Two paths keep the ledger equal to the committed table:
//   * the commit path: triggers on the table stage every changed row in the
//     writing backend; at XACT_EVENT_COMMIT (after the commit is visible,
//     before the row locks are released, so two changes of one row apply in
//     commit order) the staged rows are applied under the ledger lock. A login
//     that starts after COMMIT returns sees the new budget; a rolled-back or
//     rolled-back-to-savepoint change is never applied.
//   * the reload path: the worker reads the whole table at start and every
//     second, which also covers what no trigger sees (DROP EXTENSION,
//     replication to a hot standby, disabled triggers). A reload that raced a
//     commit is detected by the budget generation and retried.

#include "shell.hpp"
#include "sql_boundary.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

namespace pgpool_stats {

namespace {

struct StagedChange {
    int nest_level;   // subtransaction that made it
    bool clear_all;   // TRUNCATE
    bool has_budget;  // false: the row is gone
    core::NamedBudget named;
};

// Changes of the current transaction, in TopTransactionContext. staged_lxid
// names the transaction that owns the list: a list left by an earlier
// transaction points into freed memory and is never reused.
StagedChange* staged = nullptr;
int staged_count = 0;
int staged_capacity = 0;
LocalTransactionId staged_lxid = InvalidLocalTransactionId;
bool callbacks_registered = false;

int64 interval_ms(const Interval* iv) {
    return interval_micros(iv) / 1000;
}

Datum column(HeapTuple tuple, TupleDesc desc, const char* name, bool* isnull) {
    int attnum = SPI_fnumber(desc, name);
    if (attnum <= 0)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                        errmsg("pgpool_stats.budget has no column \"%s\"", name),
                        errhint("The extension's objects were altered; reinstall pgpool_stats.")));
    return heap_getattr(tuple, attnum, desc, isnull);
}

// One row of pgpool_stats.budget as a NamedBudget. The table's constraints
// have already refused nonsense; this only converts.
void budget_from_row(HeapTuple tuple, TupleDesc desc, core::NamedBudget* out) {
    bool isnull = false;
    Datum d = column(tuple, desc, "application_name", &isnull);
    char* name = isnull ? pstrdup("") : TextDatumGetCString(d);
    core::copy_name(out->application_name, name);

    core::Budget& b = out->budget;
    b = core::unlimited_budget();
    d = column(tuple, desc, "max_connections", &isnull);
    b.max_connections = isnull ? core::kNoCap : DatumGetInt32(d);
    d = column(tuple, desc, "reserved_connections", &isnull);
    b.reserved_connections = isnull ? 0 : DatumGetInt32(d);
    d = column(tuple, desc, "mode", &isnull);
    b.mode = (!isnull && strcmp(TextDatumGetCString(d), "monitor") == 0)
                 ? core::BudgetMode::kMonitor
                 : core::BudgetMode::kEnforce;
    d = column(tuple, desc, "admission_timeout", &isnull);
    b.admission_timeout_ms = isnull ? 0 : interval_ms(DatumGetIntervalP(d));
    d = column(tuple, desc, "idle_in_transaction_timeout", &isnull);
    b.idle_in_transaction_timeout_ms = isnull ? -1 : interval_ms(DatumGetIntervalP(d));
    d = column(tuple, desc, "idle_session_timeout", &isnull);
    b.idle_session_timeout_ms = isnull ? -1 : interval_ms(DatumGetIntervalP(d));

    d = column(tuple, desc, "allowed_roles", &isnull);
    if (!isnull) {
        ArrayType* roles = DatumGetArrayTypeP(d);
        Datum* elems = nullptr;
        bool* nulls = nullptr;
        int n = 0;
        deconstruct_array(roles, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR, &elems, &nulls, &n);
        b.allowed_role_count = 0;
        for (int k = 0; k < n && b.allowed_role_count < core::kMaxAllowedRoles; ++k) {
            if (nulls[k]) continue;
            core::copy_name(b.allowed_roles[b.allowed_role_count++],
                            NameStr(*DatumGetName(elems[k])));
        }
    }
}

void require_budget_database() {
    const char* here = get_database_name(MyDatabaseId);
    if (here == nullptr || strcmp(here, guc_database) != 0)
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("budgets are kept in database \"%s\", not in \"%s\"", guc_database,
                        here ? here : "?"),
                 errdetail("pgpool_stats.database names the one database whose pgpool_stats.budget "
                           "table is enforced."),
                 errhint("Connect to database \"%s\" to change budgets.", guc_database)));
}

void discard_staged() {
    staged = nullptr;  // its memory goes with TopTransactionContext
    staged_count = staged_capacity = 0;
    staged_lxid = InvalidLocalTransactionId;
}

StagedChange* stage() {
    if (staged_lxid != MyProc->lxid) {
        discard_staged();
        staged_lxid = MyProc->lxid;
    }
    if (staged_count == staged_capacity) {
        int grown = staged_capacity == 0 ? 8 : staged_capacity * 2;
        size_t bytes = sizeof(StagedChange) * static_cast<size_t>(grown);
        staged = static_cast<StagedChange*>(staged == nullptr
                                                ? MemoryContextAlloc(TopTransactionContext, bytes)
                                                : repalloc(staged, bytes));
        staged_capacity = grown;
    }
    StagedChange* c = &staged[staged_count++];
    memset(c, 0, sizeof *c);
    c->nest_level = GetCurrentTransactionNestLevel();
    return c;
}

void stage_row(HeapTuple tuple, TupleDesc desc, bool present) {
    StagedChange* c = stage();
    budget_from_row(tuple, desc, &c->named);
    c->has_budget = present;
}

// A commit must not fail to apply for want of room: check before committing.
void check_room_before_commit() {
    int needed = 0;
    ledger_lock_shared();
    for (int k = 0; k < staged_count; ++k)
        if (staged[k].has_budget && ledger->find(staged[k].named.application_name) < 0) ++needed;
    int free_entries = ledger->room_for_budgets();
    ledger_unlock();
    if (needed > free_entries)
        ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                        errmsg("pgpool_stats cannot track %d more applications", needed),
                        errdetail("%d of %d application slots are free.", free_entries,
                                  guc_max_applications),
                        errhint("Raise pgpool_stats.max_applications (needs a restart).")));
}

void apply_staged_at_commit() {
    TimestampTz now = GetCurrentTimestamp();
    int unplaced = 0;
    ledger_lock_exclusive();
    for (int k = 0; k < staged_count; ++k) {
        const StagedChange& c = staged[k];
        if (c.clear_all)
            ledger->replace_budgets(nullptr, 0, now);
        else if (!ledger->apply_budget_change(c.named.application_name,
                                              c.has_budget ? &c.named.budget : nullptr, now))
            ++unplaced;
    }
    ledger_unlock();
    ConditionVariableBroadcast(&shared->ledger_changed);
    if (unplaced > 0) {
        // Only a race with a flood of new applications gets here; the worker's
        // next reload retries. WARNING: nothing may fail after a commit.
        ereport(WARNING,
                (errmsg("pgpool_stats: %d committed budgets wait for a free application slot",
                        unplaced)));
        wake_worker();
    }
}

void on_xact(XactEvent event, void*) {
    if (staged_count == 0) {
        // Everything was rolled back to savepoints: forget the list, whose
        // memory goes with this transaction.
        if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT) discard_staged();
        return;
    }
    switch (event) {
        case XACT_EVENT_PRE_COMMIT:
            check_room_before_commit();
            break;
        case XACT_EVENT_PRE_PREPARE:
            ereport(ERROR,
                    (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                     errmsg("cannot PREPARE a transaction that changed pgpool_stats budgets"),
                     errhint("Change budgets in an ordinary transaction.")));
            break;
        case XACT_EVENT_COMMIT:
            apply_staged_at_commit();
            discard_staged();
            break;
        case XACT_EVENT_ABORT:
            discard_staged();
            break;
        default:
            break;
    }
}

void on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
    if (staged_count == 0) return;
    int level = GetCurrentTransactionNestLevel();
    if (event == SUBXACT_EVENT_ABORT_SUB) {
        // Changes are appended in order, so the aborted ones are a suffix.
        while (staged_count > 0 && staged[staged_count - 1].nest_level >= level) --staged_count;
    } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
        for (int k = 0; k < staged_count; ++k)
            if (staged[k].nest_level >= level) staged[k].nest_level = level - 1;
    }
}

}  // namespace

bool budget_table_exists() {
    RangeVar* rv = makeRangeVar(const_cast<char*>("pgpool_stats"), const_cast<char*>("budget"), -1);
    return OidIsValid(RangeVarGetRelid(rv, NoLock, true));
}

bool reload_budgets_from_table() {
    // The generation is read before the query takes its snapshot: a commit
    // applied after this read bumps it and voids the reload; one applied
    // before it is in the snapshot.
    ledger_lock_shared();
    int64 generation = ledger->budget_generation();
    ledger_unlock();

    // Read committed: a fresh snapshot, taken after the generation was read.
    PushActiveSnapshot(GetTransactionSnapshot());
    core::NamedBudget* budgets = nullptr;
    int n = 0;
    if (budget_table_exists()) {
        int rc = SPI_execute(
            "SELECT application_name, max_connections, reserved_connections, mode, "
            "admission_timeout, idle_in_transaction_timeout, idle_session_timeout, allowed_roles "
            "FROM pgpool_stats.budget",
            true, 0);
        if (rc != SPI_OK_SELECT)
            ereport(ERROR, (errmsg("pgpool_stats: reading pgpool_stats.budget failed: %s",
                                   SPI_result_code_string(rc))));
        n = static_cast<int>(SPI_processed);
        budgets = static_cast<core::NamedBudget*>(palloc0(sizeof(core::NamedBudget) * (n + 1)));
        for (int k = 0; k < n; ++k)
            budget_from_row(SPI_tuptable->vals[k], SPI_tuptable->tupdesc, &budgets[k]);
    }
    PopActiveSnapshot();

    static int last_unplaced = 0;
    int unplaced = 0;
    bool applied = false;
    ledger_lock_exclusive();
    if (ledger->budget_generation() == generation) {
        unplaced = ledger->replace_budgets(budgets, n, GetCurrentTimestamp());
        shared->budgets_loaded = true;
        applied = true;
    }
    ledger_unlock();
    if (applied) ConditionVariableBroadcast(&shared->ledger_changed);
    if (applied && unplaced != last_unplaced && unplaced > 0)
        ereport(WARNING,
                (errmsg("pgpool_stats: %d budgets do not fit in the application table", unplaced),
                 errhint("Raise pgpool_stats.max_applications (needs a restart).")));
    if (applied) last_unplaced = unplaced;
    return applied;
}

}  // namespace pgpool_stats

using namespace pgpool_stats;

// Fired on pgpool_stats.budget: BEFORE each statement to refuse changes in the
// wrong database early, AFTER each row (and AFTER TRUNCATE) to stage the change.
PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_budget_trigger_1_0) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("pgpool_stats.budget_trigger() may only be called as a trigger")));
    require_shared_memory();
    require_budget_database();
    TriggerData* td = reinterpret_cast<TriggerData*>(fcinfo->context);

    if (!callbacks_registered) {
        RegisterXactCallback(on_xact, nullptr);
        RegisterSubXactCallback(on_subxact, nullptr);
        callbacks_registered = true;
    }

    if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event)) {
        if (TRIGGER_FIRED_AFTER(td->tg_event)) stage()->clear_all = true;
    } else if (TRIGGER_FIRED_FOR_ROW(td->tg_event)) {
        TupleDesc desc = td->tg_relation->rd_att;
        if (TRIGGER_FIRED_BY_DELETE(td->tg_event)) {
            stage_row(td->tg_trigtuple, desc, false);
        } else if (TRIGGER_FIRED_BY_INSERT(td->tg_event)) {
            stage_row(td->tg_trigtuple, desc, true);
        } else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event)) {
            stage_row(td->tg_trigtuple, desc, false);  // a renamed row leaves its old name
            stage_row(td->tg_newtuple, desc, true);
        }
    }
    return PointerGetDatum(nullptr);
}
