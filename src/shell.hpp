// Declarations shared by the files of the PostgreSQL shell.
//
// The shell is the only code that includes PostgreSQL headers. Its rule: in a
// frame that may ereport (and so longjmp), hold only PODs, palloc'd memory and
// PostgreSQL structures; never a C++ object with a destructor.
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
}

#include "core/census.hpp"
#include "core/history.hpp"
#include "core/ledger.hpp"
#include "core/wait_queue.hpp"
#include "core/recommender.hpp"
#include "core/reaper.hpp"

namespace pgpool_stats {

// GUCs (defined in pgpool_stats.cpp, documented in README.md).
extern char* guc_database;
extern int guc_max_applications;
extern bool guc_enforce;
extern bool guc_exempt_superusers;
extern int guc_sample_interval_ms;
extern int guc_history_samples;
extern int guc_history_minutes;
extern bool guc_save;
extern bool guc_reap;

// The part of shared memory that is not the ledger; see ledger_shmem.cpp for
// the locking protocol.
struct SharedState {
    LWLock* lock;                      // the ledger lock
    LWLock* history_lock;              // protects the history only
    ConditionVariable ledger_changed;  // a slot freed, budgets changed or loaded
    bool budgets_loaded;               // the worker has read the budget table once
    bool overflow_logged;              // "(other)" has been announced in the log
    bool budgets_unplaced;             // committed budgets found no entry: the worker must reload
    Latch* worker_latch;               // to ask the worker for an early reload
};

// Which application each counted session was admitted as, one slot per
// backend (index compat::my_backend_index(), as PostgreSQL's own backend
// status array).
// Written by the session itself at admission and release, under the ledger
// lock; pid == 0 means free.
struct SessionSlot {
    int32 pid;
    int32 entry;                         // may move from "(other)" to the application's own entry
    char application_name[NAMEDATALEN];  // the name charged, whichever entry counts it
    int32 pgprocno;                      // its PGPROC, for lock waits
    bool superuser;                      // at login: exempt from the reaper while exempt_superusers
    uint64 client_key;                   // client address without port (core::client_key_of)
    TimestampTz charged_at;
    char usename[NAMEDATALEN];
    char datname[NAMEDATALEN];
    char client_addr[core::kAddressBytes];  // numeric; empty for a Unix socket
    // Written by the reaper just before it signals the session, read by the
    // session's own emit_log_hook to say why it is being terminated.
    core::ReapReason reap_reason;
    int64 reap_timeout_ms;
    TimestampTz reported_episode;  // monitor mode: the idle episode already recorded
};

extern SharedState* shared;
extern core::Ledger* ledger;
extern SessionSlot* session_slots;  // MaxBackends of them
extern core::History* history;
extern core::ReapedLog* reaped_log;  // under the history lock
extern core::WaitQueue* wait_queue;  // under the ledger lock

// A copy of the ledger's entries in use, taken under the ledger lock.
struct LedgerCopy {
    core::ApplicationEntry* entries;  // the entries in use
    int32* numbers;                   // numbers[k]: entry number of entries[k]
    int32 n;
    core::CapacityFigures capacity;
    TimestampTz copied_at;  // login rates are read as of then (core::connects_per_second)
};

// The applications as they are now: ledger entries, their entry numbers and
// the census of their sessions, row by row. States are observed first, then
// the ledger copied: a session that arrives in between is in connections but
// not yet in a state column, never the reverse.
struct LiveApplications {
    LedgerCopy ledger;
    core::Census* census;  // census[k] belongs to ledger.entries[k]
};

// Names of the applications the history rows refer to: entry number ->
// (incarnation, name) of the entries alive now. A row whose incarnation
// differs belongs to an application forgotten since, and is not shown.
struct HistoryNames {
    const LedgerCopy* ledger;
    int32* row_of_entry;  // indexed by entry number: row in ledger->entries, or -1
    int32 entries;

    // The row in ledger->entries of the application a history row belongs
    // to, or -1.
    int32 row_of(int32 entry, uint32 incarnation) const {
        if (entry < 0 || entry >= entries || row_of_entry[entry] < 0) return -1;
        const int32 row = row_of_entry[entry];
        return ledger->entries[row].incarnation == incarnation ? row : -1;
    }
    const char* name_of(int32 entry, uint32 incarnation) const {
        const int32 row = row_of(entry, incarnation);
        return row < 0 ? nullptr : ledger->entries[row].name;
    }
};

struct HistoryCopy {
    core::HistorySample* samples;
    int32 n_samples;
    core::HistoryMinute* minutes;
    int32 n_minutes;
};

// views.cpp: copies of what the views show, for the views and recommend().
LedgerCopy copy_ledger();
LiveApplications live_applications();
HistoryNames history_names(const LedgerCopy& ledger);
HistoryCopy copy_history();

// recommendations.cpp: what every recommendation (and the report) of one call
// is computed from, copied once.
struct Observed {
    HistoryCopy history;
    LiveApplications live;
    HistoryNames names;
    TimestampTz now;
    TimestampTz from;  // the window's start, never before the oldest history row
};
Observed observe(int64 window_us);
bool is_other_row(const Observed& o, int32 k);  // the ledger's own "(other)" row
// The recommendation for the application at live row k; instances 0 means
// "as observed". Sets *ticks to the window's ticks.
core::Recommendation recommend_row(const Observed& o, int32 k, int32 instances, double target,
                                   int32* ticks);

// ledger_shmem.cpp
void install_shmem_hooks();
void ledger_lock_exclusive();
void ledger_lock_shared();
void ledger_unlock();
void history_lock_exclusive();
void history_lock_shared();
void history_unlock();
void require_shared_memory();  // ERROR with a hint when not preloaded

// dump_file.cpp: in the startup hook, after shared memory was created.
void load_dump_and_arrange_saving();

// Moves the sessions counted in "(other)" whose application now has an entry
// of its own to that entry. Caller holds the ledger lock exclusively.
void rehome_overflow_sessions();

// backend_states.cpp
void attach_backend_status();
// One observation per counted session now, into out[0..MaxBackends).
int32 observe_sessions(core::SessionObservation* out);
// What PostgreSQL's status says of backend slot `index` if it still belongs
// to `pid`: its idle episode, transaction start (0 = none) and, when query is
// not null, its last query cut to core::kQueryBytes.
bool read_backend_status(int index, int32 pid, core::IdleEpisode* episode, TimestampTz* xact_start,
                         char* query);

// reaper.cpp
void install_reaper_hooks();
// One pass of the reaper over every counted session (from the worker).
void reap_idle_sessions();

// admission_hook.cpp
void install_admission_hook();
// Wakes the first waiting login of every application's line: a slot may be
// free, or the budgets changed. Call without the ledger lock.
void wake_first_waiters();

// worker.cpp
void register_worker();
void wake_worker();

// budget_sync.cpp
// Reads the extension's budget table (caller is in a transaction; no SQL is
// run) and installs it as the whole set of budgets: none when the table is
// missing or malformed. Sets *table to the table's OID (InvalidOid when
// there is none). Returns false when a concurrent commit changed budgets
// meanwhile (try again).
bool reload_budgets_from_table(Oid* table);

}  // namespace pgpool_stats
