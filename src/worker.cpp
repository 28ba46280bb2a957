// The pgpool_stats background worker (backend_type "pgpool_stats").
//
// Connected to pgpool_stats.database, it loads the budgets into the ledger at
// start and again whenever the budget table may have changed (the commit path
// applies changes at once; the reload catches what it cannot: a hot standby's
// replay, DROP EXTENSION, writes with triggers disabled), forgets applications
// that have been idle for long, and every pgpool_stats.sample_interval samples
// the applications with sessions, waiting logins or refusals. What each step
// costs, and which lock it holds, is in the locking comment of
// shared_memory.cpp. Loop shape after worker_spi and pg_cron: latch wait,
// interrupts, config reload, work.

#include <algorithm>

#include "gucs.hpp"
#include "shared_memory.hpp"
#include "shell.hpp"

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

namespace pgpool_stats {

namespace {

// Every second the worker looks for news of the budget table (relcache
// invalidations) and forgets a slice of idle applications.
constexpr long kHousekeepingEveryMs = 1000;
// A reload without news, for changes no invalidation announces (writes with
// triggers disabled: pg_restore --disable-triggers, a logical replication
// subscriber's apply worker).
constexpr long kSafetyReloadEveryMs = 60 * 1000;
// Bounds for forgetting idle applications (see forget_idle_applications).
constexpr int64 kForgetIdleAfterMs = 3600 * 1000;
constexpr int64 kForgetIdleWhenCrowdedMs = 60 * 1000;
// Entries visited per second by eviction: a full pass of 65,536 entries
// takes about a minute, and each slice holds the lock for microseconds.
constexpr int32 kEvictionSlice = 1024;

// The budget table and its row-news relation (budget_news_relid()), as the
// last reload found them (InvalidOid: none yet), and the news since: a
// relcache invalidation of the table itself (DDL, TRUNCATE, DROP EXTENSION)
// or of everything (a lost invalidation queue: InvalidOid) is table news,
// never skipped; one of the row-news relation is sent by the budget trigger
// for changed rows, at commit and, on a hot standby, at replay.
Oid budget_table = InvalidOid;
Oid budget_row_news = InvalidOid;
bool table_news = true;
bool row_news = false;
// The ledger's budget generation when the worker last looked: a commit that
// applied its changes itself (the commit path) moved it.
int64 generation_seen = -1;

void note_relcache_invalidation(Datum, Oid relid) {
    if (relid == InvalidOid || budget_table == InvalidOid || relid == budget_table)
        table_news = true;
    else if (relid == budget_row_news)
        row_news = true;
}

// Whether the budgets must be read again now. Row news is of changes the
// commit path has already applied when the generation moved since the last
// look (on a primary, every set_budget() and trigger-seen write: the commit
// path runs before the invalidation is sent), so the worker does not read
// the whole table after each of them; a hot standby has no commit path (its
// generation never moves). A commit that could not place its budgets (table
// full) asks for reloads until they are placed.
bool budgets_need_reload(TimestampTz now, TimestampTz next_safety_reload) {
    ledger_lock_shared();
    const int64 generation = ledger->budget_generation();
    const bool unplaced = shared->budgets_unplaced;
    ledger_unlock();
    const bool applied_by_commits = generation_seen >= 0 && generation != generation_seen;
    generation_seen = generation;
    return table_news || unplaced || now >= next_safety_reload || (row_news && !applied_by_commits);
}

// If the worker dies before its first load (a missing database, say), logins
// must not keep waiting for it: mark the budgets loaded (empty) on the way out.
void fail_open_on_exit(int, Datum) {
    if (shared == nullptr) return;
    ledger_lock_exclusive();
    bool was_loaded = shared->budgets_loaded;
    shared->budgets_loaded = true;
    shared->worker_latch = nullptr;
    ledger_unlock();
    ConditionVariableBroadcast(&shared->ledger_changed);
    if (!was_loaded)
        ereport(LOG,
                (errmsg("pgpool_stats worker exits before loading budgets; logins are admitted "
                        "without budgets until it is back")));
}

// Reloads the budgets when the table may have changed, or when the safety
// period is over. The transaction it runs takes in the invalidations that
// arrived (StartTransactionCommand accepts them), so it costs microseconds
// when there is no news. Gives the caller back its memory context (a commit
// leaves TopMemoryContext current: whatever the caller allocated next would
// leak there).
void reload_budgets_if_changed(TimestampTz now, TimestampTz* next_safety_reload) {
    MemoryContext caller = CurrentMemoryContext;
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    const bool reload = budgets_need_reload(now, *next_safety_reload);
    row_news = false;  // applied by the commit path, or read now
    if (reload) {
        // Cleared before the read: news arriving during it asks for another.
        table_news = false;
        *next_safety_reload = TimestampTzPlusMilliseconds(now, kSafetyReloadEveryMs);
        pgstat_report_activity(STATE_RUNNING, "pgpool_stats: reloading budgets");
        // No snapshot pushed here: the reload takes its own after reading the
        // budget generation (see budget_sync.cpp).
        BudgetReload result = BudgetReload::kRaced;
        for (int attempt = 0; attempt < 3 && result == BudgetReload::kRaced; ++attempt)
            result = reload_budgets_from_table(&budget_table, &budget_row_news);
        // Locked by another session: asked again at the next housekeeping.
        if (result == BudgetReload::kTableLocked) table_news = true;
        (void)budgets_need_reload(now, *next_safety_reload);  // the reload's own changes seen
        pgstat_report_activity(STATE_IDLE, nullptr);
    }
    CommitTransactionCommand();
    MemoryContextSwitchTo(caller);
}

// One sample: the census of the applications with sessions, peak_active for
// them, and one history row for each application with something to say
// (sessions, waiting logins, refusals since the previous sample). Its cost
// follows those applications and the backends, not the size of the table:
// the entries to visit come from the session slots, the lines of waiting
// logins and the ledger's refusal log. Only a refusal log overrun (more
// applications refused within one interval than the log holds) makes it
// visit every entry, once. Under the ledger lock held SHARED.
void take_sample(TimestampTz now) {
    const CensusRows sessions = census_now();
    const core::EntryCensus* census = sessions.rows;
    const int32 n_census = sessions.n;

    // Waiting lines are at most one per backend.
    const int32 room = n_census + MaxBackends + core::Ledger::kRefusalLogSize;
    int32* visit = static_cast<int32*>(palloc(sizeof(int32) * room));
    const int32 all_entries = ledger->max_applications() + 1;
    core::HistorySample* rows = static_cast<core::HistorySample*>(
        palloc0(sizeof(core::HistorySample) * Min(room, all_entries)));
    int32 n_rows = 0;
    ledger_lock_shared();
    int32 n_visit = 0;
    for (int32 k = 0; k < n_census; ++k) visit[n_visit++] = census[k].entry;
    n_visit += wait_queue->waiting_entries(visit + n_visit, MaxBackends);
    const int32 refused_entries =
        ledger->take_refused_entries(visit + n_visit, core::Ledger::kRefusalLogSize);
    const bool visit_all = refused_entries < 0;
    if (visit_all) {
        // Every entry may have a row now; no allocation under the lock. An
        // entry refused meanwhile is visited all the same.
        ledger_unlock();
        rows =
            static_cast<core::HistorySample*>(palloc0(sizeof(core::HistorySample) * all_entries));
        ledger_lock_shared();
    } else {
        n_visit += refused_entries;
        std::sort(visit, visit + n_visit);
        n_visit = static_cast<int32>(std::unique(visit, visit + n_visit) - visit);
    }
    const int32 visits = visit_all ? all_entries : n_visit;
    for (int32 v = 0; v < visits; ++v) {
        const int32 i = visit_all ? v : visit[v];
        if (i < 0 || i >= all_entries) continue;
        const core::ApplicationEntry& e = ledger->entry(i);
        if (!e.in_use) continue;
        const core::Census c = core::census_of(census, n_census, i);
        const core::Ledger::RefusalsSinceSample refused = ledger->record_sample(i, c.active);
        if (e.connections == 0 && e.admission_waiting == 0 && refused.rejected == 0 &&
            refused.would_reject == 0)
            continue;
        core::HistorySample& row = rows[n_rows++];
        row.entry = i;
        row.incarnation = e.incarnation;
        row.gauge[core::kConnections] = e.connections;
        row.gauge[core::kActive] = c.active;
        row.gauge[core::kIdle] = c.idle;
        row.gauge[core::kIdleInTransaction] = c.idle_in_transaction;
        row.gauge[core::kWaiting] = c.waiting;
        row.gauge[core::kAdmissionWaiting] = e.admission_waiting;
        row.rejected = refused.rejected;
        row.would_reject = refused.would_reject;
    }
    ledger_unlock();

    history_lock_exclusive();
    history->record(now, rows, n_rows);
    history_unlock();
}

// An application with no budget, no session and no login is kept while the
// history still remembers it (DESIGN: "seen within the history window"), and
// at least an hour; when the table is nearly full, idle ones go after a minute.
void forget_idle_applications() {
    TimestampTz now = GetCurrentTimestamp();
    history_lock_shared();
    TimestampTz history_starts = history->oldest(now);
    history_unlock();
    ledger_lock_exclusive();
    bool crowded = ledger->free_entries() * 10 < ledger->max_applications();
    TimestampTz cutoff =
        crowded ? TimestampTzPlusMilliseconds(now, -kForgetIdleWhenCrowdedMs)
                : std::min(history_starts, TimestampTzPlusMilliseconds(now, -kForgetIdleAfterMs));
    ledger->evict_idle(cutoff, kEvictionSlice);
    ledger_unlock();
}

}  // namespace

void register_worker() {
    BackgroundWorker worker;
    memset(&worker, 0, sizeof worker);
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    // Consistent state: it runs on hot standbys too, where it enforces the
    // budgets replicated from the primary.
    worker.bgw_start_time = BgWorkerStart_ConsistentState;
    worker.bgw_restart_time = 5;
    strlcpy(worker.bgw_library_name, "pgpool_stats", BGW_MAXLEN);
    strlcpy(worker.bgw_function_name, "pgpool_stats_worker_main", BGW_MAXLEN);
    strlcpy(worker.bgw_name, "pgpool_stats worker", BGW_MAXLEN);
    strlcpy(worker.bgw_type, "pgpool_stats", BGW_MAXLEN);
    RegisterBackgroundWorker(&worker);
}

void wake_worker() {
    ledger_lock_shared();
    Latch* latch = shared->worker_latch;
    ledger_unlock();
    if (latch) SetLatch(latch);
}

}  // namespace pgpool_stats

using namespace pgpool_stats;

extern "C" PGDLLEXPORT void pgpool_stats_worker_main(Datum) {
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    before_shmem_exit(fail_open_on_exit, 0);

    // Whatever the database's owner set for it: connections allowed or not,
    // and per-database settings that would make every reload fail.
    BackgroundWorkerInitializeConnection(guc_database, nullptr, BGWORKER_BYPASS_ALLOWCONN);
    SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
    SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);

    ledger_lock_exclusive();
    shared->worker_latch = MyLatch;
    ledger_unlock();
    CacheRegisterRelcacheCallback(note_relcache_invalidation, (Datum)0);
    ereport(LOG, (errmsg("pgpool_stats worker started in database \"%s\"", guc_database)));

    MemoryContext loop_context =
        AllocSetContextCreate(TopMemoryContext, "pgpool_stats worker loop", ALLOCSET_DEFAULT_SIZES);
    TimestampTz next_housekeeping = 0;
    TimestampTz next_safety_reload = 0;
    TimestampTz next_sample = GetCurrentTimestamp();
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
            next_sample = GetCurrentTimestamp();
        }
        MemoryContext previous = MemoryContextSwitchTo(loop_context);
        TimestampTz now = GetCurrentTimestamp();
        if (now >= next_housekeeping) {
            reload_budgets_if_changed(now, &next_safety_reload);
            forget_idle_applications();
            next_housekeeping = TimestampTzPlusMilliseconds(now, kHousekeepingEveryMs);
        }
        now = GetCurrentTimestamp();
        if (now >= next_sample) {
            take_sample(now);
            if (guc_reap) reap_idle_sessions();
            // Fixed rate, not fixed delay; after a stall, start again from now.
            next_sample = TimestampTzPlusMilliseconds(next_sample, guc_sample_interval_ms);
            if (next_sample <= now)
                next_sample = TimestampTzPlusMilliseconds(now, guc_sample_interval_ms);
        }
        MemoryContextSwitchTo(previous);
        MemoryContextReset(loop_context);

        now = GetCurrentTimestamp();
        long sleep_ms =
            std::max<long>(1, std::min(TimestampDifferenceMilliseconds(now, next_housekeeping),
                                       TimestampDifferenceMilliseconds(now, next_sample)));
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, sleep_ms,
                        PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
}
