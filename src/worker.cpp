// The pgpool_stats background worker (backend_type "pgpool_stats").
//
// Connected to pgpool_stats.database, it loads the budgets into the ledger at
// start and reloads them every second (the commit path applies changes at
// once; the reload catches what no trigger sees), forgets applications that
// have been idle for long, and every pgpool_stats.sample_interval samples the
// sessions of every application (peak_active, the login rate). Loop shape after worker_spi and
// pg_cron: latch wait, interrupts, config reload, work.

#include <algorithm>

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
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

namespace pgpool_stats {

namespace {

constexpr long kReloadEveryMs = 1000;
// Bounds for forgetting idle applications (see forget_idle_applications).
constexpr int64 kForgetIdleAfterMs = 3600 * 1000;
constexpr int64 kForgetIdleWhenCrowdedMs = 60 * 1000;

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

// Runs its own transaction, and gives the caller back its memory context
// (a commit leaves TopMemoryContext current: whatever the caller allocated
// next would leak there).
void reload_budgets() {
    MemoryContext caller = CurrentMemoryContext;
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    pgstat_report_activity(STATE_RUNNING, "pgpool_stats: reloading budgets");
    // No snapshot pushed here: the reload takes its own after reading the
    // budget generation (see budget_sync.cpp).
    for (int attempt = 0; attempt < 3 && !reload_budgets_from_table(); ++attempt) {
    }
    CommitTransactionCommand();
    pgstat_report_activity(STATE_IDLE, nullptr);
    MemoryContextSwitchTo(caller);
}

// One sample: the census of every application, from which the ledger keeps
// peak_active and the login rate, and the history gets one row for each
// application with something to say.
void take_sample(TimestampTz now, double elapsed_seconds) {
    core::SessionObservation* observations = static_cast<core::SessionObservation*>(
        palloc(sizeof(core::SessionObservation) * MaxBackends));
    int32 n = observe_sessions(observations);
    const int32 entries = ledger->max_applications() + 1;
    core::Census* census = static_cast<core::Census*>(palloc(sizeof(core::Census) * entries));
    core::take_census(observations, n, census, entries);

    core::HistorySample* rows =
        static_cast<core::HistorySample*>(palloc0(sizeof(core::HistorySample) * entries));
    int32 n_rows = 0;
    ledger_lock_exclusive();
    for (int32 i = 0; i < entries; ++i) {
        const core::ApplicationEntry& e = ledger->entry(i);
        if (!e.in_use) continue;
        int64 refused = ledger->record_sample(i, census[i], elapsed_seconds);
        if (e.connections == 0 && e.admission_waiting == 0 && refused == 0) continue;
        core::HistorySample& row = rows[n_rows++];
        row.entry = i;
        row.incarnation = e.incarnation;
        row.gauge[core::kConnections] = e.connections;
        row.gauge[core::kActive] = census[i].active;
        row.gauge[core::kIdle] = census[i].idle;
        row.gauge[core::kIdleInTransaction] = census[i].idle_in_transaction;
        row.gauge[core::kWaiting] = census[i].waiting;
        row.gauge[core::kAdmissionWaiting] = e.admission_waiting;
        row.rejected = refused;
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
    ledger->evict_idle(cutoff);
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
    ereport(LOG, (errmsg("pgpool_stats worker started in database \"%s\"", guc_database)));

    MemoryContext loop_context =
        AllocSetContextCreate(TopMemoryContext, "pgpool_stats worker loop", ALLOCSET_DEFAULT_SIZES);
    TimestampTz next_reload = 0;
    TimestampTz last_sample = GetCurrentTimestamp();
    TimestampTz next_sample = last_sample;
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
            next_sample = GetCurrentTimestamp();
        }
        MemoryContext previous = MemoryContextSwitchTo(loop_context);
        TimestampTz now = GetCurrentTimestamp();
        if (now >= next_reload) {
            reload_budgets();
            forget_idle_applications();
            next_reload = TimestampTzPlusMilliseconds(now, kReloadEveryMs);
        }
        now = GetCurrentTimestamp();
        if (now >= next_sample) {
            take_sample(now, static_cast<double>(now - last_sample) / USECS_PER_SEC);
            if (guc_reap) reap_idle_sessions();
            last_sample = now;
            // Fixed rate, not fixed delay; after a stall, start again from now.
            next_sample = TimestampTzPlusMilliseconds(next_sample, guc_sample_interval_ms);
            if (next_sample <= now)
                next_sample = TimestampTzPlusMilliseconds(now, guc_sample_interval_ms);
        }
        MemoryContextSwitchTo(previous);
        MemoryContextReset(loop_context);

        now = GetCurrentTimestamp();
        long sleep_ms =
            std::max<long>(1, std::min(TimestampDifferenceMilliseconds(now, next_reload),
                                       TimestampDifferenceMilliseconds(now, next_sample)));
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, sleep_ms,
                        PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    }
}
