// Shared memory of pgpool_stats: the ledger and the state around it.
//
// Locking protocol
// ----------------
// One LWLock, the ledger lock (tranche "pgpool_stats ledger"), protects
// everything in SharedState, the whole core::Ledger, the wait queue and the
// session slots. Nothing is ever waited on, and no I/O, catalog access or ereport
// happens while it is held. Every holder and what it costs (n: entries
// in the table, B: MaxBackends, k: what the step is about):
//
//   EXCLUSIVE (every login waits for these):
//   * admission, one step (admission_hook.cpp): hash lookup, counters, one
//     exp() for the login rate, a look at its line: O(1). A refused role
//     (record_refusal) and a waiting login leaving its line: O(1).
//   * release at session exit, late naming and its undo: O(1), plus the
//     first waiter of every line to wake: O(lines with waiters).
//   * a budget commit (budget_sync.cpp, XACT_EVENT_COMMIT): O(changed rows),
//     plus O(B) to move sessions out of "(other)" when it holds any. TRUNCATE
//     of the table clears every budget: O(n).
//   * the worker's reload: O(rows that differ) from the table, only when
//     some do, plus O(B) to move sessions out of "(other)" when it holds
//     any; the comparison runs under the SHARED lock, 1,024 entries a hold.
//     When the table is full, the first new budget searches it for an idle
//     entry to displace (O(n)) and the others of that reload do not.
//   * the worker's eviction of idle applications: 1,024 entries a second.
//   * the reaper marking a session it terminates: O(1).
//   * reset(): O(1) for one application, O(n) for all (an explicit request).
//   * a new budget committed when the table is full looks for the least
//     recently seen idle entry to displace: O(n), only then.
//   * the worker registering its latch, and its exit: O(1).
//
//   SHARED (these delay a login only while they hold it):
//   * the sampler, every sample_interval (worker.cpp): O(applications with
//     sessions, waiting logins or refusals since the previous sample + B).
//     It writes only what no one else writes under a shared lock: peak_active
//     (atomic stores, since copies read it meanwhile), rejected_at_last_sample
//     and would_reject_at_last_sample (atomic stores too) and the refusal
//     log's read position. Only a log overrun (more than
//     core::Ledger::kRefusalLogSize applications refused, or let through by a
//     monitor budget that would have refused them, in one interval)
//     makes it visit all n entries, once.
//   * the views: a memcpy of the entries in use, O(n), or of the session
//     slots, O(B); their work is done after releasing it.
//   * the reload's comparison: 1,024 entries a hold; a commit's room check
//     (O(staged rows), O(n) only when the free entries do not suffice).
//   * the reaper's pass, every sample: O(B) over the session slots, copying
//     the sessions some timeout applies to.
//   * the worker reading the generation and the unplaced flag, each second.
//
// A second LWLock, the history lock (tranche "pgpool_stats history"), protects
// only the history and the reaped log: the sampler and the reaper append under it EXCLUSIVE, the
// views copy under it SHARED. It is never held together with the ledger lock, so reading history
// never delays a login. PostgreSQL's backend status entries, read for session states, are not ours:
// they are read with PostgreSQL's own changecount protocol, without our lock
// (backend_states.cpp).
// A login that must wait for a slot stands in its application's line
// (core::WaitQueue, under the ledger lock), releases the lock and sleeps on
// its own latch, at most 100 ms at a time; a release, a late naming and a waiter leaving its line
// set the latch of the first waiter of every line (not every waiter), and only the first in line
// may take a slot. The ledger_changed condition variable is for logins waiting for the worker's
// first budget load. The lock is never taken while another LWLock is held, and ProcArrayLock is
// never taken at all. An entry number found under the lock is only trusted after the lock was
// released when its entry cannot have changed hands: a charged session's or a
// waiting login's entry is never idle, so never evicted or displaced (release,
// the reaper, abandon_wait); a login between finding its entry and its first
// admission step holds a core::EntryRef, which try_admit and record_refusal
// check (kStale: find it again).
//
// After a backend crash the postmaster re-creates shared memory, and the
// ledger starts empty with every other session gone: that is the reset.

#include "compat.hpp"
#include "gucs.hpp"
#include "shared_memory.hpp"
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

// Two tranches, so that pg_stat_activity.wait_event tells the locks apart.
constexpr const char* kLedgerTranche = "pgpool_stats ledger";
constexpr const char* kHistoryTranche = "pgpool_stats history";

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
core::History::Rows history_rows() {
    return {guc_history_samples, guc_history_minutes, guc_history_hours};
}
Size history_size() {
    return core::History::bytes_needed(history_rows(), guc_max_applications + 1);
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
    RequestNamedLWLockTranche(kLedgerTranche, 1);
    RequestNamedLWLockTranche(kHistoryTranche, 1);
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
        shared->lock = &GetNamedLWLockTranche(kLedgerTranche)[0].lock;
        shared->history_lock = &GetNamedLWLockTranche(kHistoryTranche)[0].lock;
        reaped_log = core::ReapedLog::create(reaped_memory, kReapedLogSize);
        wait_queue =
            core::WaitQueue::create(wait_queue_memory, MaxBackends, guc_max_applications + 1);
        history = core::History::create(history_memory, history_rows(), guc_max_applications + 1,
                                        USECS_PER_MINUTE);
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
    if (!found) load_dump_and_arrange_saving();
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
