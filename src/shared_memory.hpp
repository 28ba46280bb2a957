// The shared memory of pgpool_stats, laid out in shared_memory.cpp, whose
// first comment is the locking protocol every user of these must follow:
// the state around the ledger, the ledger, the session slots, the wait
// queue, the history and the reaped log.
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
}

#include "core/history.hpp"
#include "core/ledger.hpp"
#include "core/reaper.hpp"
#include "core/wait_queue.hpp"

namespace pgpool_stats {

// The part of shared memory that is not the ledger; see shared_memory.cpp for
// the locking protocol.
struct SharedState {
    LWLock* lock;                      // the ledger lock
    LWLock* history_lock;              // protects the history only
    ConditionVariable ledger_changed;  // a slot freed, budgets changed or loaded
    bool budgets_loaded;               // the worker has read the budget table once
    bool overflow_logged;              // "(other)" has been announced in the log
    bool budgets_unplaced;             // committed budgets found no entry: the worker must reload
    Latch* worker_latch;               // to wake the worker (budgets left unplaced)
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

void install_shmem_hooks();
void ledger_lock_exclusive();
void ledger_lock_shared();
void ledger_unlock();
void history_lock_exclusive();
void history_lock_shared();
void history_unlock();
void require_shared_memory();  // ERROR with a hint when not preloaded

}  // namespace pgpool_stats
