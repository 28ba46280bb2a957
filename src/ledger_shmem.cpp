// Shared memory of pgpool_stats: the ledger and the state around it.
//
// Locking protocol
// ----------------
// One LWLock, the ledger lock (tranche "pgpool_stats"), protects everything in
// SharedState, the whole core::Ledger and the session slots:
//   * admission (a login is charged), release (a session ends), budget changes
//     (commit of a change, the worker's reload) and eviction take it
//     EXCLUSIVE; each holds it for a handful of instructions: a hash lookup
//     and a few counter updates, never I/O, never a catalog access, never a wait;
//   * the views and the sampler take it SHARED only long enough to memcpy the
//     entries or session slots they need, and do their work after releasing it.
// A second LWLock, the history lock, protects only the history and the reaped
// log: the sampler and the reaper append under it EXCLUSIVE, the views copy
// under it SHARED. It is never held together with the ledger lock, so reading
// history never delays a login.
// PostgreSQL's backend status entries, read for session states, are not ours:
// they are read with PostgreSQL's own changecount protocol, without our lock
// (backend_states.cpp).
// Nothing is ever waited on while holding the lock: a login that must wait for
// a slot stands in its application's line (core::WaitQueue, under the ledger
// lock), releases the lock and sleeps on its own latch, at most 100 ms at a
// time; a release, a late naming and a waiter leaving its line set the latch
// of the first waiter of every line (not every waiter), and only the first in
// line may take a slot. The ledger_changed condition variable is for logins
// waiting for the worker's first budget load. The lock is never
// taken while another LWLock is held, and ProcArrayLock is never taken at all.
// No ereport happens while it is held.
// An entry number found under the lock is only trusted after the lock was
// released when its entry cannot have changed hands: a charged session's or a
// waiting login's entry is never idle, so never evicted or displaced (release,
// the reaper, abandon_wait); a login between finding its entry and its first
// admission step holds a core::EntryRef, which try_admit and record_refusal
// check (kStale: find it again).
//
// After a backend crash the postmaster re-creates shared memory, and the
// ledger starts empty with every other session gone: that is the reset.

#include "compat.hpp"
#include "shell.hpp"

extern "C" {
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"
}

namespace pgpool_stats {

SharedState* shared = nullptr;
core::Ledger* ledger = nullptr;
SessionSlot* session_slots = nullptr;
core::History* history = nullptr;
core::ReapedLog* reaped_log = nullptr;
core::WaitQueue* wait_queue = nullptr;

namespace {

constexpr const char* kTrancheName = "pgpool_stats";

shmem_request_hook_type prev_shmem_request_hook = nullptr;
shmem_startup_hook_type prev_shmem_startup_hook = nullptr;

Size ledger_size() {
    return MAXALIGN(core::Ledger::bytes_needed(guc_max_applications));
}
Size wait_queue_size() {
    return MAXALIGN(core::WaitQueue::bytes_needed(MaxBackends, guc_max_applications + 1));
}
Size sessions_size() {
    return MAXALIGN(mul_size(sizeof(SessionSlot), MaxBackends));
}
Size history_size() {
    return core::History::bytes_needed(guc_history_samples, guc_history_rollups,
                                       guc_max_applications + 1);
}

// The reaped log keeps the last actions, newest kept (~700 KB).
constexpr int32 kReapedLogSize = 1000;
Size reaped_log_size() {
    return MAXALIGN(core::ReapedLog::bytes_needed(kReapedLogSize));
}

Size shared_size() {
    Size size = add_size(MAXALIGN(sizeof(SharedState)), ledger_size());
    size = add_size(add_size(size, sessions_size()), reaped_log_size());
    size = add_size(size, wait_queue_size());
    return add_size(size, history_size());
}

// Slots ordinary sessions can ever have: DESIGN.md's "capacity". On 16+ the
// slots of reserved_connections (roles with pg_use_reserved_connections) are
// not ours to hand out either.
int32 ordinary_capacity() {
    return MaxConnections - compat::superuser_reserved_connections() -
           compat::reserved_connections();
}

void request_shmem() {
    if (prev_shmem_request_hook) prev_shmem_request_hook();
    RequestAddinShmemSpace(shared_size());
    RequestNamedLWLockTranche(kTrancheName, 2);
}

void startup_shmem() {
    if (prev_shmem_startup_hook) prev_shmem_startup_hook();

    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found = false;
    char* base = static_cast<char*>(ShmemInitStruct("pgpool_stats", shared_size(), &found));
    shared = reinterpret_cast<SharedState*>(base);
    void* ledger_memory = base + MAXALIGN(sizeof(SharedState));
    session_slots =
        reinterpret_cast<SessionSlot*>(base + MAXALIGN(sizeof(SharedState)) + ledger_size());
    void* reaped_memory = reinterpret_cast<char*>(session_slots) + sessions_size();
    void* wait_queue_memory = static_cast<char*>(reaped_memory) + reaped_log_size();
    void* history_memory = static_cast<char*>(wait_queue_memory) + wait_queue_size();
    if (!found) {
        memset(session_slots, 0, sessions_size());
        LWLockPadded* locks = GetNamedLWLockTranche(kTrancheName);
        shared->lock = &locks[0].lock;
        shared->history_lock = &locks[1].lock;
        reaped_log = core::ReapedLog::create(reaped_memory, kReapedLogSize);
        wait_queue =
            core::WaitQueue::create(wait_queue_memory, MaxBackends, guc_max_applications + 1);
        history = core::History::create(history_memory, guc_history_samples, guc_history_rollups,
                                        guc_max_applications + 1, USECS_PER_MINUTE);
        ConditionVariableInit(&shared->ledger_changed);
        shared->budgets_loaded = false;
        shared->overflow_logged = false;
        shared->budgets_unplaced = false;
        shared->worker_latch = nullptr;
        ledger = core::Ledger::create(ledger_memory, guc_max_applications, ordinary_capacity(),
                                      GetCurrentTimestamp());
    } else {
        ledger = static_cast<core::Ledger*>(ledger_memory);
        history = static_cast<core::History*>(history_memory);
        reaped_log = static_cast<core::ReapedLog*>(reaped_memory);
        wait_queue = static_cast<core::WaitQueue*>(wait_queue_memory);
    }
    LWLockRelease(AddinShmemInitLock);
    attach_backend_status();
    if (!found) load_snapshot_and_arrange_saving();
}

}  // namespace

void install_shmem_hooks() {
    prev_shmem_request_hook = shmem_request_hook;
    shmem_request_hook = request_shmem;
    prev_shmem_startup_hook = shmem_startup_hook;
    shmem_startup_hook = startup_shmem;
}

void ledger_lock_exclusive() {
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
}
void ledger_lock_shared() {
    LWLockAcquire(shared->lock, LW_SHARED);
}
void ledger_unlock() {
    LWLockRelease(shared->lock);
}
void history_lock_exclusive() {
    LWLockAcquire(shared->history_lock, LW_EXCLUSIVE);
}
void history_lock_shared() {
    LWLockAcquire(shared->history_lock, LW_SHARED);
}
void history_unlock() {
    LWLockRelease(shared->history_lock);
}

void require_shared_memory() {
    if (shared == nullptr || ledger == nullptr || !ledger->valid())
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("pgpool_stats must be loaded via shared_preload_libraries"),
                 errhint("Add pgpool_stats to shared_preload_libraries in postgresql.conf and "
                         "restart the server.")));
}

}  // namespace pgpool_stats
