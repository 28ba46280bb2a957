// Budgets: from the table pgpool_stats.budget to the ledger.
//
// Two paths keep the ledger equal to the committed table:
//   * the commit path: triggers on the table stage every changed row in the
//     writing backend; at XACT_EVENT_COMMIT (after the commit is visible,
//     before the row locks are released, so two changes of one row apply in
//     commit order) the staged rows are applied under the ledger lock. A login
//     that starts after COMMIT returns sees the new budget; a rolled-back or
//     rolled-back-to-savepoint change is never applied.
//   * the reload path: the worker reads the whole table at start, whenever a
//     relcache invalidation of the table arrives (the trigger sends one with
//     every change; a hot standby replays it; DDL, TRUNCATE and DROP
//     EXTENSION send their own) and every minute for what nothing announces
//     (writes with triggers disabled). It compares the table with the ledger
//     under the lock held shared, a slice at a time, and takes it exclusive
//     only to apply the rows that differ. A reload that raced a commit is
//     detected by the budget generation and retried.
//
// Trust: the worker runs as the bootstrap superuser, so it never resolves the
// table by name and never runs SQL. It reads only the relation that belongs to
// extension pgpool_stats in its database (found by OID through the extension's
// catalog entry and pg_depend), an ordinary heap table whose column names and
// types are checked before any value is read, with a plain sequential scan:
// no view, rule, policy, function or operator of anyone else's can run. The
// triggers check that they fire on that same relation. See docs/security.md.
//
// Announcements (from 1.1's SQL on, pgpool_stats_budget_trigger_1_1): the
// same row triggers send every changed row with NOTIFY pgpool_stats_budget
// (payload: core/announcement.hpp), and TRUNCATE a drop for each row it
// removes. PostgreSQL delivers them at commit, in order, and never after a
// rollback or a rollback to savepoint, exactly like the staged changes.

#include "compat.hpp"
#include "gucs.hpp"
#include "shared_memory.hpp"
#include "shell.hpp"
#include "sql_boundary.hpp"

#include "core/announcement.hpp"

extern "C" {
#include "access/genam.h"
#include "access/relation.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
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

// The columns of pgpool_stats.budget the ledger needs, with the types they
// must have. Positions are looked up by name in the relation's descriptor
// (a column added or dropped later moves them), types are checked there.
enum BudgetColumn {
    kApplicationName,
    kMaxConnections,
    kReservedConnections,
    kMode,
    kAdmissionTimeout,
    kIdleInTransactionTimeout,
    kIdleSessionTimeout,
    kAllowedRoles,
    kBudgetColumns
};
struct ExpectedColumn {
    const char* name;
    Oid type;
};
constexpr ExpectedColumn kExpectedColumns[kBudgetColumns] = {
    {"application_name", TEXTOID},         {"max_connections", INT4OID},
    {"reserved_connections", INT4OID},     {"mode", TEXTOID},
    {"admission_timeout", INTERVALOID},    {"idle_in_transaction_timeout", INTERVALOID},
    {"idle_session_timeout", INTERVALOID}, {"allowed_roles", NAMEARRAYOID},
};

// Attribute index (0-based) of every expected column in desc. Returns null
// when one is missing or has another type, and says which in *problem.
const char* map_columns(TupleDesc desc, int (&index)[kBudgetColumns]) {
    for (int c = 0; c < kBudgetColumns; ++c) {
        index[c] = -1;
        for (int a = 0; a < desc->natts; ++a) {
            Form_pg_attribute att = TupleDescAttr(desc, a);
            if (!att->attisdropped && strcmp(NameStr(att->attname), kExpectedColumns[c].name) == 0)
                index[c] = a;
        }
        if (index[c] < 0) return psprintf("column \"%s\" is missing", kExpectedColumns[c].name);
        if (TupleDescAttr(desc, index[c])->atttypid != kExpectedColumns[c].type)
            return psprintf("column \"%s\" is of type %s, not %s", kExpectedColumns[c].name,
                            format_type_be(TupleDescAttr(desc, index[c])->atttypid),
                            format_type_be(kExpectedColumns[c].type));
    }
    return nullptr;
}

// One row of pgpool_stats.budget (values/nulls by attribute, index from
// map_columns) as a NamedBudget. The table's constraints have already
// refused nonsense; this only converts.
void budget_from_row(const Datum* values, const bool* nulls, const int (&index)[kBudgetColumns],
                     core::NamedBudget* out) {
    auto value = [&](BudgetColumn c, bool* isnull) {
        *isnull = nulls[index[c]];
        return values[index[c]];
    };
    bool isnull = false;
    Datum d = value(kApplicationName, &isnull);
    char* name = isnull ? pstrdup("") : TextDatumGetCString(d);
    core::copy_name(out->application_name, name);

    core::Budget& b = out->budget;
    b = core::unlimited_budget();
    d = value(kMaxConnections, &isnull);
    b.max_connections = isnull ? core::kNoCap : DatumGetInt32(d);
    d = value(kReservedConnections, &isnull);
    b.reserved_connections = isnull ? 0 : DatumGetInt32(d);
    d = value(kMode, &isnull);
    b.mode = (!isnull && strcmp(TextDatumGetCString(d), "monitor") == 0)
                 ? core::BudgetMode::kMonitor
                 : core::BudgetMode::kEnforce;
    d = value(kAdmissionTimeout, &isnull);
    b.admission_timeout_ms = isnull ? 0 : interval_ms(DatumGetIntervalP(d));
    d = value(kIdleInTransactionTimeout, &isnull);
    b.idle_in_transaction_timeout_ms = isnull ? -1 : interval_ms(DatumGetIntervalP(d));
    d = value(kIdleSessionTimeout, &isnull);
    b.idle_session_timeout_ms = isnull ? -1 : interval_ms(DatumGetIntervalP(d));

    d = value(kAllowedRoles, &isnull);
    if (!isnull) {
        ArrayType* roles = DatumGetArrayTypeP(d);
        Datum* elems = nullptr;
        bool* elem_nulls = nullptr;
        int n = 0;
        deconstruct_array(roles, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR, &elems, &elem_nulls,
                          &n);
        b.allowed_role_count = 0;
        for (int k = 0; k < n && b.allowed_role_count < core::kMaxAllowedRoles; ++k) {
            if (elem_nulls[k]) continue;
            core::copy_name(b.allowed_roles[b.allowed_role_count++],
                            NameStr(*DatumGetName(elems[k])));
        }
    }
}

// The schema of an extension, from pg_extension (PostgreSQL 15 does not
// export get_extension_schema()).
Oid schema_of_extension(Oid extension) {
    Relation catalog = table_open(ExtensionRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
                ObjectIdGetDatum(extension));
    SysScanDesc scan = systable_beginscan(catalog, ExtensionOidIndexId, true, nullptr, 1, &key);
    HeapTuple tuple = systable_getnext(scan);
    const Oid schema =
        HeapTupleIsValid(tuple) ? ((Form_pg_extension)GETSTRUCT(tuple))->extnamespace : InvalidOid;
    systable_endscan(scan);
    table_close(catalog, AccessShareLock);
    return schema;
}

// The extension's own budget table in this database, by OID: the relation
// named budget in the extension's schema that is a member of the extension
// and an ordinary table. InvalidOid, with the reason in *problem, otherwise.
// Nothing here resolves a name through search_path.
Oid extension_budget_table(const char** problem) {
    const Oid extension = get_extension_oid("pgpool_stats", true);
    if (!OidIsValid(extension)) {
        *problem = "extension pgpool_stats is not created in this database";
        return InvalidOid;
    }
    const Oid relation = get_relname_relid("budget", schema_of_extension(extension));
    if (!OidIsValid(relation) || getExtensionOfObject(RelationRelationId, relation) != extension) {
        *problem = "the extension has no table \"budget\" of its own";
        return InvalidOid;
    }
    if (get_rel_relkind(relation) != RELKIND_RELATION) {
        *problem = "the extension's \"budget\" is not an ordinary table";
        return InvalidOid;
    }
    return relation;
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

// News of a changed row for the worker of every server that holds the table,
// a hot standby's included: a relcache invalidation of the table's primary
// key index (row news: budget_news_relid()), sent at commit and replayed,
// dropped on abort. Repeats within a transaction are merged by PostgreSQL.
void announce_row_change(Relation rel) {
    CacheInvalidateRelcacheByRelid(budget_news_relid(rel));
}

void discard_staged() {
    staged = nullptr;  // its memory goes with TopTransactionContext
    staged_count = staged_capacity = 0;
    staged_lxid = InvalidLocalTransactionId;
}

StagedChange* stage() {
    if (staged_lxid != compat::my_lxid()) {
        discard_staged();
        staged_lxid = compat::my_lxid();
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

const core::NamedBudget* stage_row(HeapTuple tuple, TupleDesc desc,
                                   const int (&index)[kBudgetColumns], bool present) {
    Datum* values = static_cast<Datum*>(palloc(sizeof(Datum) * desc->natts));
    bool* nulls = static_cast<bool*>(palloc(sizeof(bool) * desc->natts));
    heap_deform_tuple(tuple, desc, values, nulls);
    StagedChange* c = stage();
    budget_from_row(values, nulls, index, &c->named);
    c->has_budget = present;
    return &c->named;
}

// Announcements of the current transaction so far (their sequence), and
// which transaction that is.
int64 announced = 0;
LocalTransactionId announced_lxid = InvalidLocalTransactionId;

// Queues one announcement; PostgreSQL sends it at commit.
void announce(core::AnnouncementAction action, const core::NamedBudget* row, const char* comment) {
    if (announced_lxid != compat::my_lxid()) {
        announced = 0;
        announced_lxid = compat::my_lxid();
    }
    const core::Announcement a{action, ++announced, row, comment};
    const size_t length = core::write_announcement(a, nullptr, 0);
    char* payload = static_cast<char*>(palloc(length + 1));
    core::write_announcement(a, payload, length + 1);
    Async_Notify(core::kAnnouncementChannel, payload);
    pfree(payload);
}

// The comment of a budget row (palloc'd), or null. Not one of the ledger's
// columns: looked up here, and a table without it announces NULL.
const char* comment_of(HeapTuple tuple, TupleDesc desc) {
    for (int a = 0; a < desc->natts; ++a) {
        Form_pg_attribute att = TupleDescAttr(desc, a);
        if (att->attisdropped || strcmp(NameStr(att->attname), "comment") != 0) continue;
        if (att->atttypid != TEXTOID) return nullptr;
        bool isnull = false;
        const Datum d = heap_getattr(tuple, a + 1, desc, &isnull);
        return isnull ? nullptr : TextDatumGetCString(d);
    }
    return nullptr;
}

// TRUNCATE, before it runs (the table is locked against every other writer):
// a drop for each row it will remove, the ones this transaction wrote
// included, so the latest snapshot.
void announce_truncate(Relation rel, const int (&index)[kBudgetColumns]) {
    Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    TableScanDesc scan = table_beginscan(rel, snapshot, 0, nullptr);
    core::NamedBudget* row = static_cast<core::NamedBudget*>(palloc0(sizeof(core::NamedBudget)));
    while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
        bool isnull = false;
        const Datum d = slot_getattr(slot, index[kApplicationName] + 1, &isnull);
        core::copy_name(row->application_name, isnull ? "" : TextDatumGetCString(d));
        announce(core::AnnouncementAction::kDrop, row, nullptr);
    }
    table_endscan(scan);
    ExecDropSingleTupleTableSlot(slot);
    UnregisterSnapshot(snapshot);
    pfree(row);
}

// A commit must not fail to apply for want of room: check before committing.
void check_room_before_commit() {
    int needed = 0;
    ledger_lock_shared();
    for (int k = 0; k < staged_count; ++k)
        if (staged[k].has_budget && ledger->find(staged[k].named.application_name) < 0 &&
            strcmp(staged[k].named.application_name, core::kOtherName) != 0)
            ++needed;
    // Counting displaceable entries visits the whole table: only when the
    // free ones do not suffice.
    int free_entries = ledger->free_entries();
    if (needed > free_entries) free_entries = ledger->room_for_budgets();
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
    if (unplaced > 0) shared->budgets_unplaced = true;
    rehome_overflow_sessions();
    ledger_unlock();
    ConditionVariableBroadcast(&shared->ledger_changed);
    wake_first_waiters();
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

void rehome_overflow_sessions() {
    // Only while the table is or was full; a budget change is rare, a scan
    // of the session slots short.
    if (ledger->entry(core::kOtherEntry).connections == 0) return;
    for (int k = 0; k < MaxBackends; ++k) {
        SessionSlot& slot = session_slots[k];
        if (slot.pid == 0 || slot.entry != core::kOtherEntry) continue;
        const int32 own = ledger->find(slot.application_name);
        if (own <= 0) continue;
        ledger->move_session(core::kOtherEntry, own);
        slot.entry = own;
    }
}

namespace {

// The budgets in the extension's table, read into palloc'd memory with a
// snapshot taken once the table is locked (so a TRUNCATE or rewrite committed
// just before is seen whole). Null, with the reason in *problem, when the
// table cannot be trusted: the caller then has no budgets. Null with *locked
// set when another session holds a lock that conflicts with reading it (LOCK
// TABLE, TRUNCATE, ALTER TABLE, DROP EXTENSION in an open transaction, or
// their replay on a standby): the worker never waits for it, since sampling
// and reaping would wait too.
core::NamedBudget* read_budget_table(int* n, const char** problem, bool* locked, Oid* table,
                                     Oid* row_news) {
    *n = 0;
    *locked = false;
    const Oid relid = extension_budget_table(problem);
    *table = relid;
    *row_news = InvalidOid;
    if (!OidIsValid(relid)) return nullptr;
    if (!ConditionalLockRelationOid(relid, AccessShareLock)) {
        *locked = true;
        return nullptr;
    }
    Relation rel = try_relation_open(relid, NoLock);
    // Checked again under the lock: what was found before locking may have
    // been dropped (and its OID reused, by any kind of relation) meanwhile.
    if (rel == nullptr || rel->rd_rel->relkind != RELKIND_RELATION ||
        extension_budget_table(problem) != relid) {
        if (rel != nullptr)
            relation_close(rel, AccessShareLock);
        else
            UnlockRelationOid(relid, AccessShareLock);
        *problem = "the extension's table \"budget\" changed while it was being read";
        return nullptr;
    }
    int index[kBudgetColumns];
    const char* malformed = map_columns(RelationGetDescr(rel), index);
    if (malformed != nullptr) {
        *problem = psprintf("the extension's table \"budget\" is malformed: %s", malformed);
        table_close(rel, AccessShareLock);
        return nullptr;
    }
    *row_news = budget_news_relid(rel);
    int capacity = 16;
    core::NamedBudget* budgets =
        static_cast<core::NamedBudget*>(palloc0(sizeof(core::NamedBudget) * capacity));
    // Read committed: a fresh snapshot, taken after the caller read the
    // budget generation and after the lock.
    PushActiveSnapshot(GetTransactionSnapshot());
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, nullptr);
    while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
        if (*n == capacity) {
            capacity *= 2;
            budgets = static_cast<core::NamedBudget*>(
                repalloc(budgets, sizeof(core::NamedBudget) * capacity));
        }
        slot_getallattrs(slot);
        budget_from_row(slot->tts_values, slot->tts_isnull, index, &budgets[(*n)++]);
    }
    table_endscan(scan);
    ExecDropSingleTupleTableSlot(slot);
    PopActiveSnapshot();
    table_close(rel, AccessShareLock);
    return budgets;
}

}  // namespace

namespace {

// Rows are sorted and searched through pointers: a NamedBudget is over 1 KB.
int compare_budget_names(const void* a, const void* b) {
    return strncmp((*static_cast<const core::NamedBudget* const*>(a))->application_name,
                   (*static_cast<const core::NamedBudget* const*>(b))->application_name,
                   core::kNameBytes);
}

// Entries compared per hold of the shared lock: a login waits at most for
// one slice (tens of microseconds), never for the whole table.
constexpr int32 kCompareSlice = 1024;

// What makes the ledger's budgets equal to table[0..n): the rows to set
// (sets) and the names whose budget goes (drops). Read under the shared
// lock, a slice at a time.
struct BudgetChanges {
    const core::NamedBudget** sets;
    int n_sets;
    char (*drops)[core::kNameBytes];
    int n_drops;
};
BudgetChanges budget_changes(const core::NamedBudget* table, int n) {
    const core::NamedBudget** rows =
        static_cast<const core::NamedBudget**>(palloc(sizeof(*rows) * Max(n, 1)));
    for (int k = 0; k < n; ++k) rows[k] = &table[k];
    if (n > 0) qsort(rows, n, sizeof *rows, compare_budget_names);
    BudgetChanges c{};
    c.sets = static_cast<const core::NamedBudget**>(palloc(sizeof(*c.sets) * Max(n, 1)));
    for (int from = 0; from < n; from += kCompareSlice) {
        ledger_lock_shared();
        c.n_sets +=
            ledger->differing_budgets(rows, from, Min(n, from + kCompareSlice), c.sets + c.n_sets);
        ledger_unlock();
    }
    // A budget of the ledger the table lacks: at most one per entry.
    const int32 entries = ledger->max_applications() + 1;
    c.drops = static_cast<char(*)[core::kNameBytes]>(palloc(core::kNameBytes * entries));
    auto in_table = [rows, n](const char* name) {
        if (n == 0) return false;
        core::NamedBudget key;
        core::copy_name(key.application_name, name);
        const core::NamedBudget* key_row = &key;
        return bsearch(&key_row, rows, n, sizeof *rows, compare_budget_names) != nullptr;
    };
    for (int32 from = 0; from < entries; from += kCompareSlice) {
        ledger_lock_shared();
        c.n_drops +=
            ledger->vanished_budgets(from, from + kCompareSlice, in_table, c.drops + c.n_drops);
        ledger_unlock();
    }
    return c;
}

}  // namespace

Oid budget_news_relid(Relation rel) {
    List* indexes = RelationGetIndexList(rel);  // fills rd_pkindex
    list_free(indexes);
    return OidIsValid(rel->rd_pkindex) ? rel->rd_pkindex : RelationGetRelid(rel);
}

BudgetReload reload_budgets_from_table(Oid* table, Oid* row_news) {
    // The generation is read before the scan takes its snapshot: a commit
    // applied after this read bumps it and voids the reload; one applied
    // before it is in the snapshot. Eviction and logins never change a
    // budget, so an unchanged generation means the comparison still holds.
    ledger_lock_shared();
    const int64 generation = ledger->budget_generation();
    const bool loaded = shared->budgets_loaded;
    const bool was_unplaced = shared->budgets_unplaced;
    ledger_unlock();

    int n = 0;
    const char* problem = nullptr;
    bool locked = false;
    core::NamedBudget* budgets = read_budget_table(&n, &problem, &locked, table, row_news);

    // Said once when the lock is met and once when it is gone.
    static bool was_locked = false;
    if (locked != was_locked) {
        was_locked = locked;
        if (!locked)
            ereport(LOG, (errmsg("pgpool_stats: the budget table is no longer locked")));
        else
            ereport(LOG,
                    (errmsg("pgpool_stats: the budget table is locked by another session; %s",
                            loaded ? "budgets are kept as they were"
                                   : "logins are admitted without budgets until it can be read"),
                     errdetail("The worker tries to read pgpool_stats.budget in database \"%s\" "
                               "again every second; sampling and reaping go on meanwhile.",
                               guc_database),
                     errhint("pg_locks shows who holds the lock.")));
    }
    if (locked) {
        // The first load since the start: logins wait for it (a few seconds
        // each), which is pointless while the table is locked. They are
        // admitted without budgets, as when the worker is away.
        if (!loaded) {
            ledger_lock_exclusive();
            shared->budgets_loaded = true;
            ledger_unlock();
            ConditionVariableBroadcast(&shared->ledger_changed);
        }
        return BudgetReload::kTableLocked;
    }
    const BudgetChanges changes = budget_changes(budgets, n);
    const int n_changes = changes.n_sets + changes.n_drops;

    // Said once per change of the reason, not every second.
    static char last_problem[256] = "";
    if (problem == nullptr) {
        last_problem[0] = '\0';
    } else if (strcmp(last_problem, problem) != 0) {
        strlcpy(last_problem, problem, sizeof last_problem);
        ereport(LOG, (errmsg("pgpool_stats: no budgets are enforced: %s", problem),
                      errdetail("Budgets are read from the table of extension pgpool_stats in "
                                "database \"%s\" (pgpool_stats.database).",
                                guc_database),
                      errhint("Run CREATE EXTENSION pgpool_stats in database \"%s\" as a "
                              "superuser, or reinstall it.",
                              guc_database)));
    }

    static int last_unplaced = 0;
    static int64 last_over_capacity = 0;
    int unplaced = 0;
    bool applied = false;
    core::CapacityFigures figures{};
    // Nothing to change: no exclusive lock, except to say the first load is
    // done or that nothing is left unplaced.
    const bool nothing_changed = n_changes == 0 && loaded && !was_unplaced;
    if (nothing_changed)
        ledger_lock_shared();
    else
        ledger_lock_exclusive();
    if (ledger->budget_generation() == generation) {
        const TimestampTz now = GetCurrentTimestamp();
        // Drops first: a dropped budget's entry may be what a new one needs
        // when the table is full (the commit path orders a rename the same
        // way). Once one new budget found no room, the others are counted
        // unplaced without searching the table again: O(rows that differ).
        for (int k = 0; k < changes.n_drops; ++k)
            ledger->apply_budget_change(changes.drops[k], nullptr, now);
        bool full = false;
        for (int k = 0; k < changes.n_sets; ++k) {
            const core::NamedBudget& row = *changes.sets[k];
            if (full && ledger->find(row.application_name) < 0) {
                ++unplaced;
            } else if (!ledger->apply_budget_change(row.application_name, &row.budget, now)) {
                ++unplaced;
                full = true;
            }
        }
        if (!nothing_changed) {
            rehome_overflow_sessions();
            shared->budgets_loaded = true;
            shared->budgets_unplaced = unplaced > 0;
        }
        applied = true;
        figures = ledger->capacity_figures();
    }
    ledger_unlock();
    // Reservations that no longer fit (max_connections lowered, a restore
    // into a smaller server) are kept and said, at start and at each change.
    if (applied && figures.reserved_over_capacity() != last_over_capacity) {
        last_over_capacity = figures.reserved_over_capacity();
        if (last_over_capacity > 0)
            ereport(WARNING,
                    (errmsg("pgpool_stats: reservations exceed the server's capacity by %lld",
                            static_cast<long long>(last_over_capacity)),
                     errdetail("%lld connections are reserved; the server's capacity is %d "
                               "(max_connections less the connections PostgreSQL reserves; see "
                               "pgpool_stats.capacity). Applications without a reservation find "
                               "no slot while this lasts.",
                               static_cast<long long>(figures.reserved_total), figures.capacity),
                     errhint("Lower reservations with pgpool_stats.set_budget() in database "
                             "\"%s\", or raise max_connections.",
                             guc_database)));
    }
    if (applied && (n_changes > 0 || !loaded)) {
        ConditionVariableBroadcast(&shared->ledger_changed);
        wake_first_waiters();
    }
    if (applied && unplaced != last_unplaced && unplaced > 0)
        ereport(WARNING,
                (errmsg("pgpool_stats: %d budgets do not fit in the application table", unplaced),
                 errhint("Raise pgpool_stats.max_applications (needs a restart).")));
    if (applied) last_unplaced = unplaced;
    return applied ? BudgetReload::kApplied : BudgetReload::kRaced;
}

}  // namespace pgpool_stats

using namespace pgpool_stats;

namespace {

// Fired on pgpool_stats.budget: BEFORE each statement to refuse changes in the
// wrong database early (and, before TRUNCATE, to announce what it removes),
// AFTER each row (and AFTER TRUNCATE) to stage the change and announce it.
Datum budget_trigger(FunctionCallInfo fcinfo, bool announcing) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("pgpool_stats.budget_trigger() may only be called as a trigger")));
    require_budget_database();
    TriggerData* td = reinterpret_cast<TriggerData*>(fcinfo->context);
    // Only the extension's own table may stage budgets: anyone else's table
    // with this trigger would plant budgets for the whole cluster.
    const char* problem = nullptr;
    if (RelationGetRelid(td->tg_relation) != extension_budget_table(&problem))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("pgpool_stats.budget_trigger() fired on table \"%s\", which is not "
                               "the budget table of extension pgpool_stats",
                               RelationGetRelationName(td->tg_relation)),
                        problem ? errdetail("In this database %s.", problem) : 0));
    int index[kBudgetColumns];
    if (const char* malformed = map_columns(RelationGetDescr(td->tg_relation), index))
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("pgpool_stats.budget is malformed: %s", malformed),
                        errhint("The extension's objects were altered; reinstall pgpool_stats.")));

    if (!callbacks_registered) {
        RegisterXactCallback(on_xact, nullptr);
        RegisterSubXactCallback(on_subxact, nullptr);
        callbacks_registered = true;
    }

    if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) || TRIGGER_FIRED_FOR_ROW(td->tg_event))
        announce_row_change(td->tg_relation);

    using core::AnnouncementAction;
    if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event)) {
        if (TRIGGER_FIRED_AFTER(td->tg_event))
            stage()->clear_all = true;
        else if (announcing)
            announce_truncate(td->tg_relation, index);
    } else if (TRIGGER_FIRED_FOR_ROW(td->tg_event)) {
        TupleDesc desc = td->tg_relation->rd_att;
        if (TRIGGER_FIRED_BY_DELETE(td->tg_event)) {
            const core::NamedBudget* gone = stage_row(td->tg_trigtuple, desc, index, false);
            if (announcing) announce(AnnouncementAction::kDrop, gone, nullptr);
        } else if (TRIGGER_FIRED_BY_INSERT(td->tg_event)) {
            const core::NamedBudget* row = stage_row(td->tg_trigtuple, desc, index, true);
            if (announcing)
                announce(AnnouncementAction::kSet, row, comment_of(td->tg_trigtuple, desc));
        } else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event)) {
            // A renamed row leaves its old name.
            const core::NamedBudget* old_row = stage_row(td->tg_trigtuple, desc, index, false);
            const core::NamedBudget* new_row = stage_row(td->tg_newtuple, desc, index, true);
            if (announcing) {
                // stage() may have moved old_row: compare the names as staged.
                old_row = &staged[staged_count - 2].named;
                if (strcmp(old_row->application_name, new_row->application_name) != 0)
                    announce(AnnouncementAction::kDrop, old_row, nullptr);
                announce(AnnouncementAction::kSet, new_row, comment_of(td->tg_newtuple, desc));
            }
        }
    }
    return PointerGetDatum(nullptr);
}

}  // namespace

// 1.0's SQL: stages changes for the ledger.
PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_budget_trigger_1_0) {
    return budget_trigger(fcinfo, false);
}

// 1.1's SQL: also announces them (NOTIFY pgpool_stats_budget).
PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_budget_trigger_1_1) {
    return budget_trigger(fcinfo, true);
}
