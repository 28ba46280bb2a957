// Entry points between the files of the PostgreSQL shell: hooks, the
// worker, budget sync, session states, the reaper, the dump.
//
// The shell is the only code that includes PostgreSQL headers. Its rule: in a
// frame that may ereport (and so longjmp), hold only PODs, palloc'd memory and
// PostgreSQL structures; never a C++ object with a destructor. Its other
// headers: shared_memory.hpp (layout and locks), gucs.hpp, observed.hpp (the
// copies views, recommendations and the report are computed from),
// sql_boundary.hpp (SQL-callable functions).
#pragma once

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/relcache.h"
}

#include "core/census.hpp"
#include "core/reaper.hpp"

namespace pgpool_stats {

// dump_file.cpp: in the startup hook, after shared memory was created.
void load_dump_and_arrange_saving();

// Moves the sessions counted in "(other)" whose application now has an entry
// of its own to that entry. Caller holds the ledger lock exclusively.
void rehome_overflow_sessions();

// backend_states.cpp
void attach_backend_status();
// The census of the counted sessions now: one row per application with
// sessions, in entry order (palloc'd). One pass over the session slots.
struct CensusRows {
    core::EntryCensus* rows;
    int32 n;
};
CensusRows census_now();
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
enum class BudgetReload {
    kApplied,      // the ledger's budgets equal the table's
    kRaced,        // a concurrent commit changed budgets meanwhile: try again
    kTableLocked,  // another session locks the table: budgets kept, try later
};
// Reads the extension's budget table (caller is in a transaction; no SQL is
// run) and makes the ledger's budgets equal to it: none when the table is
// missing or malformed. Sets *table to the table's OID and *row_news to
// budget_news_relid() of it (InvalidOid when there is none). Never waits for
// a lock on the table.
BudgetReload reload_budgets_from_table(Oid* table, Oid* row_news);
// The relation whose relcache invalidation announces a changed budget row:
// the budget table's primary key index (the table itself when it has none),
// so the worker can tell row news, which the commit path has applied on a
// primary, from news of the table itself (DDL), which it never skips.
Oid budget_news_relid(Relation rel);

}  // namespace pgpool_stats
