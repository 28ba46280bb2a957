// Session states read directly from backend state in shared memory: no SPI,
// and no copy of every backend's status as pg_stat_activity makes.
//
// PostgreSQL keeps per-backend status (pg_stat_activity's state) in the
// shared "Backend Status Array" but exports no pointer to it. We attach to it
// by name once, at shared-memory startup, with the size this major gives it
// (compat::backend_status_slots()); if that ever fails to match (a layout
// change we do not know), states are reported as unknown instead of guessed,
// with one LOG line, and the server starts as usual. Entries are read with
// PostgreSQL's changecount protocol, as pg_stat_activity reads them.

#include "compat.hpp"
#include "shared_memory.hpp"
#include "shell.hpp"

extern "C" {
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/backend_status.h"
#include "utils/wait_event.h"
}

namespace pgpool_stats {

namespace {

PgBackendStatus* backend_status_array = nullptr;

core::SessionState state_of(BackendState s) {
    switch (s) {
        case STATE_RUNNING:
        case STATE_FASTPATH:
            return core::SessionState::kActive;
        case STATE_IDLE:
            return core::SessionState::kIdle;
        case STATE_IDLEINTRANSACTION:
        case STATE_IDLEINTRANSACTION_ABORTED:
            return core::SessionState::kIdleInTransaction;
        default:
            return core::SessionState::kUnknown;
    }
}

}  // namespace

void attach_backend_status() {
    // The size backend_status.c gives it.
    Size size = mul_size(sizeof(PgBackendStatus), compat::backend_status_slots());
#ifdef PGPOOL_STATS_PERTURB_STATUS_SIZE
    // Test builds only (make PGPOOL_STATS_PERTURB_STATUS_SIZE=1): a size that
    // does not match, to prove the fallback below (TAP 028).
    size = add_size(size, sizeof(PgBackendStatus));
#endif
    backend_status_array = nullptr;

    // ShmemInitStruct raises ERROR when the size differs, and we run inside
    // the postmaster's shmem startup hook, where an uncaught ERROR is FATAL
    // to the server: catch it and go on without states. It changes nothing
    // in shared memory on that path (the entry exists; only sizes differ).
    // No AddinShmemInitLock: we only attach (PostgreSQL created the array
    // before any startup hook), ShmemInitStruct takes ShmemIndexLock itself,
    // and the ERROR zeroes InterruptHoldoffCount, which the release of a lock
    // held across it would then take below zero: interrupts held forever in
    // the postmaster and every child it forks (they ignore SIGTERM).
    MemoryContext context = CurrentMemoryContext;
    const uint32 holdoff = InterruptHoldoffCount;
    void* volatile array = nullptr;
    volatile bool found = false;
    char* volatile problem = nullptr;
    PG_TRY();
    {
        bool f = false;
        array = ShmemInitStruct("Backend Status Array", size, &f);
        found = f;
    }
    PG_CATCH();
    {
        InterruptHoldoffCount = holdoff;
        MemoryContextSwitchTo(context);
        ErrorData* error = CopyErrorData();
        FlushErrorState();
        problem = error->message;
    }
    PG_END_TRY();

    if (problem != nullptr)
        ereport(LOG, (errmsg("pgpool_stats: cannot attach to the backend status array; session "
                             "states will be reported as unknown"),
                      errdetail("%s", problem)));
    else if (!found)
        ereport(LOG, (errmsg("pgpool_stats: backend status array not found; session states will "
                             "be reported as unknown")));
    else
        backend_status_array = static_cast<PgBackendStatus*>(array);
}

bool read_backend_status(int index, int32 pid, core::IdleEpisode* episode, TimestampTz* xact_start,
                         char* query) {
    if (backend_status_array == nullptr) return false;
    volatile PgBackendStatus* be = &backend_status_array[index];
    for (int attempt = 0; attempt < 1000; ++attempt) {
        int before, after;
        pgstat_begin_read_activity(be, before);
        int be_pid = be->st_procpid;
        BackendState state = be->st_state;
        TimestampTz since = be->st_state_start_timestamp;
        TimestampTz xact = be->st_xact_start_timestamp;
        if (query != nullptr) {
            int n = Min(pgstat_track_activity_query_size, core::kQueryBytes) - 1;
            memcpy(query, const_cast<char*>(be->st_activity_raw), n);
            query[n] = '\0';
        }
        pgstat_end_read_activity(be, after);
        if (!pgstat_read_activity_complete(before, after)) continue;
        if (be_pid != pid) return false;
        episode->state = state_of(state);
        episode->state_since = since;
        *xact_start = xact;
        if (query != nullptr)
            query[pg_mbcliplen(query, strlen(query), core::kQueryBytes - 1)] = '\0';
        return true;
    }
    return false;
}

namespace {

// One observation per counted session now, into out[0..MaxBackends).
int32 observe_sessions(core::SessionObservation* out) {
    // Only what the census needs, not the whole slot: this runs at every
    // sample and for every view query.
    struct Charge {
        int32 pid;
        int32 entry;
        int32 pgprocno;
        uint64 client_key;
    };
    Charge* slots = static_cast<Charge*>(palloc(sizeof(Charge) * MaxBackends));
    ledger_lock_shared();
    for (int i = 0; i < MaxBackends; ++i) {
        const SessionSlot& s = session_slots[i];
        slots[i] = Charge{s.pid, s.entry, s.pgprocno, s.client_key};
    }
    ledger_unlock();

    int32 n = 0;
    for (int i = 0; i < MaxBackends; ++i) {
        const Charge& slot = slots[i];
        if (slot.pid == 0) continue;
        core::SessionObservation& o = out[n++];
        o.entry = slot.entry;
        o.client_key = slot.client_key;
        o.state = core::SessionState::kUnknown;
        o.lock_waiting = false;
        if (backend_status_array == nullptr) continue;

        volatile PgBackendStatus* be = &backend_status_array[i];
        int pid = 0;
        BackendState state = STATE_UNDEFINED;
        for (int attempt = 0; attempt < 1000; ++attempt) {
            int before, after;
            pgstat_begin_read_activity(be, before);
            pid = be->st_procpid;
            state = be->st_state;
            pgstat_end_read_activity(be, after);
            if (pgstat_read_activity_complete(before, after)) break;
            CHECK_FOR_INTERRUPTS();
        }
        if (pid != slot.pid) continue;  // the slot changed hands meanwhile
        o.state = state_of(state);
        const PGPROC* proc = &ProcGlobal->allProcs[slot.pgprocno];
        o.lock_waiting = (proc->wait_event_info & 0xFF000000U) == PG_WAIT_LOCK;
    }
    pfree(slots);
    return n;
}

}  // namespace

CensusRows census_now() {
    core::SessionObservation* observations = static_cast<core::SessionObservation*>(
        palloc(sizeof(core::SessionObservation) * MaxBackends));
    const int32 observed = observe_sessions(observations);
    CensusRows census;
    census.rows =
        static_cast<core::EntryCensus*>(palloc(sizeof(core::EntryCensus) * Max(observed, 1)));
    census.n = core::take_census(observations, observed, census.rows);
    pfree(observations);
    return census;
}

}  // namespace pgpool_stats
