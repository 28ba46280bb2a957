// Every difference between the PostgreSQL majors we build on (15 to 18), in
// one place: the rest of the shell reads the same on every version. Each
// wrapper names the major that changed what it wraps. No other file of src/
// tests PG_VERSION_NUM.
#pragma once

extern "C" {
#include "postgres.h"

#include "common/string.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "storage/proc.h"
#include "utils/backend_status.h"
#include "utils/guc_tables.h"
#if PG_VERSION_NUM < 170000
#include "storage/backendid.h"  // 17: gone with BackendId (ProcNumber is in storage/procnumber.h)
#endif
}

// The module magic block. 18: PG_MODULE_MAGIC_EXT also records the library's
// name and version (shown by pg_get_loaded_modules()).
#if PG_VERSION_NUM >= 180000
#define PGPOOL_STATS_MODULE_MAGIC \
    PG_MODULE_MAGIC_EXT(.name = "pgpool_stats", .version = PGPOOL_STATS_VERSION)
#else
#define PGPOOL_STATS_MODULE_MAGIC PG_MODULE_MAGIC
#endif

namespace pgpool_stats::compat {

// This backend's index, 0-based, in the per-backend arrays: PostgreSQL's
// backend status array and our session slots. -1 for a process without one
// (auxiliary processes, or before it is assigned).
// 17: BackendId (1-based) became ProcNumber (0-based, the PGPROC's index),
// and auxiliary processes now have one too, beyond MaxBackends.
static inline int my_backend_index() {
#if PG_VERSION_NUM >= 170000
    const int index = MyProcNumber;
#else
    const int index = MyBackendId == InvalidBackendId ? -1 : MyBackendId - 1;
#endif
    return index >= 0 && index < MaxBackends ? index : -1;
}

// This backend's PGPROC number (index in ProcGlobal->allProcs).
// 17: PGPROC.pgprocno removed; GetNumberFromPGProc() computes it.
static inline int my_pgprocno() {
#if PG_VERSION_NUM >= 170000
    return GetNumberFromPGProc(MyProc);
#else
    return MyProc->pgprocno;
#endif
}

// The local id of this backend's current top-level transaction.
// 17: PGPROC.lxid moved into PGPROC.vxid.
static inline LocalTransactionId my_lxid() {
#if PG_VERSION_NUM >= 170000
    return MyProc->vxid.lxid;
#else
    return MyProc->lxid;
#endif
}

// Entries of the shared "Backend Status Array", as backend_status.c's
// NumBackendStatSlots counts them. 17: one per auxiliary process
// (NUM_AUXILIARY_PROCS; 18 adds the I/O workers to it) instead of one per
// auxiliary process type (NUM_AUXPROCTYPES, gone in 17).
static inline int backend_status_slots() {
#if PG_VERSION_NUM >= 170000
    return MaxBackends + NUM_AUXILIARY_PROCS;
#else
    return MaxBackends + NUM_AUXPROCTYPES;
#endif
}

// superuser_reserved_connections. 16: the variable ReservedBackends was
// renamed SuperuserReservedConnections.
static inline int superuser_reserved_connections() {
#if PG_VERSION_NUM >= 160000
    return SuperuserReservedConnections;
#else
    return ReservedBackends;
#endif
}

// reserved_connections (slots for roles with pg_use_reserved_connections).
// 16: new; none before.
static inline int reserved_connections() {
#if PG_VERSION_NUM >= 160000
    return ReservedConnections;
#else
    return 0;
#endif
}

// A palloc'd copy of str cleaned as PostgreSQL cleans application_name.
// 16: pg_clean_ascii() returns a new string and escapes each byte outside
// printable ASCII as \xNN; 15 replaced it with '?' in place.
static inline char* clean_ascii(const char* str) {
#if PG_VERSION_NUM >= 160000
    return pg_clean_ascii(str, 0);
#else
    char* copy = pstrdup(str);
    pg_clean_ascii(copy);
    return copy;
#endif
}

// The GUC application_name's record. 16: find_option() exported; before it,
// the table of variables is searched (once: the record never moves).
static inline config_generic* application_name_guc() {
    static config_generic* found = nullptr;
    if (found != nullptr) return found;
#if PG_VERSION_NUM >= 160000
    found = find_option("application_name", false, true, ERROR);
#else
    config_generic** vars = get_guc_variables();
    for (int i = 0, n = GetNumConfigOptions(); i < n; ++i) {
        if (strcmp(vars[i]->name, "application_name") == 0) {
            found = vars[i];
            break;
        }
    }
#endif
    return found;
}

}  // namespace pgpool_stats::compat
