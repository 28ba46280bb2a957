// The reaper: sessions idle in a transaction (or idle) longer than their
// application's budget allows are terminated, from the worker every sample,
// or on demand with pgpool_stats.reap().
//
// Each candidate is observed twice: once to choose it, and again right
// before acting; it is signalled only if it is still in the same idle episode
// (core::same_episode), so a session that has just become busy is left
// alone. Never touched: superusers while exempt_superusers is on (as they
// logged in), the calling process, and anything that is not a counted client
// session (walsenders and workers have no session slot).
//
// The terminated client sees why: the reaper marks the session's slot before
// sending SIGTERM, and the session's own emit_log_hook turns PostgreSQL's
// generic "terminating connection due to administrator command" (57P01) into
// 25P03 / 57P05 with the application and its timeout, as PostgreSQL's own
// idle timeouts report them.

#include <signal.h>

#include "compat.hpp"
#include "gucs.hpp"
#include "shared_memory.hpp"
#include "shell.hpp"
#include "sql_boundary.hpp"

extern "C" {
#include "catalog/pg_authid.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/inet.h"
#include "utils/timestamp.h"
}

namespace pgpool_stats {

namespace {

emit_log_hook_type prev_emit_log_hook = nullptr;

const char* seconds_text(int64 micros) {
    return psprintf("%.1f s", static_cast<double>(micros) / USECS_PER_SEC);
}

// In the terminated session: say why.
void explain_termination(ErrorData* edata) {
    if (prev_emit_log_hook) prev_emit_log_hook(edata);
    if (edata->elevel != FATAL || edata->sqlerrcode != ERRCODE_ADMIN_SHUTDOWN ||
        session_slots == nullptr || compat::my_backend_index() < 0)
        return;
    const SessionSlot& slot = session_slots[compat::my_backend_index()];
    if (slot.pid != MyProcPid || slot.reap_reason == core::ReapReason::kNone) return;
    const bool in_transaction = slot.reap_reason == core::ReapReason::kIdleInTransaction;
    const char* app = ledger->entry(slot.entry).name;
    edata->sqlerrcode =
        in_transaction ? ERRCODE_IDLE_IN_TRANSACTION_SESSION_TIMEOUT : ERRCODE_IDLE_SESSION_TIMEOUT;
    edata->message =
        psprintf("terminating connection: %s longer than the %s of application \"%s\" (%s)",
                 in_transaction ? "idle in transaction" : "idle",
                 in_transaction ? "idle_in_transaction_timeout" : "idle_session_timeout", app,
                 seconds_text(slot.reap_timeout_ms * 1000));
    edata->hint = pstrdup(in_transaction
                              ? "Commit or roll back transactions promptly; the timeout is part of "
                                "the application's pgpool_stats budget."
                              : "The timeout is part of the application's pgpool_stats budget.");
}

// What one pass looks for: every budget's own timeouts, or (reap()) one
// application and one idle_for for idle-in-transaction sessions.
struct ReapRequest {
    const char* only_application;  // null: all
    int64 idle_for_ms;             // < 0: the budgets' timeouts
    bool dry_run;                  // reap(..., true): act on nothing, record nothing
    bool from_worker;              // monitor budgets only record, once per episode
};

// A session the pass will look at, with what it needs of its application.
struct Candidate {
    int index;  // its slot
    SessionSlot slot;
    char application[NAMEDATALEN];
    int64 iit_ms;  // < 0: never
    int64 idle_ms;
    bool monitor;
};

// One pass. Returns what it did (or would do) in out[0..n), palloc'd.
int32 reap_pass(const ReapRequest& req, core::ReapedRecord** out) {
    // Under the lock, keep only sessions some timeout applies to: with no
    // timeouts in any budget, a pass copies nothing.
    // One buffer per process, allocated before the lock is taken (nothing is
    // allocated under it): the worker runs a pass every sample.
    static Candidate* candidates = nullptr;
    if (candidates == nullptr)
        candidates = static_cast<Candidate*>(
            MemoryContextAlloc(TopMemoryContext, sizeof(Candidate) * MaxBackends));
    int n_candidates = 0;
    ledger_lock_shared();
    for (int index = 0; index < MaxBackends; ++index) {
        const SessionSlot& slot = session_slots[index];
        if (slot.pid == 0 || slot.pid == MyProcPid) continue;
        if (slot.superuser && guc_exempt_superusers) continue;
        const core::ApplicationEntry& app = ledger->entry(slot.entry);
        if (req.only_application && strcmp(app.name, req.only_application) != 0) continue;
        int64 iit_ms = req.idle_for_ms, idle_ms = -1;
        if (req.idle_for_ms < 0) {
            if (!app.has_budget) continue;
            iit_ms = app.budget.idle_in_transaction_timeout_ms;
            idle_ms = app.budget.idle_session_timeout_ms;
        }
        if (iit_ms < 0 && idle_ms < 0) continue;
        Candidate& c = candidates[n_candidates++];
        c.index = index;
        c.slot = slot;
        strlcpy(c.application, app.name, NAMEDATALEN);
        c.iit_ms = iit_ms;
        c.idle_ms = idle_ms;
        c.monitor = app.has_budget && app.budget.mode == core::BudgetMode::kMonitor;
    }
    ledger_unlock();

    core::ReapedRecord* records = nullptr;
    int32 n = 0;
    for (int k = 0; k < n_candidates; ++k) {
        const Candidate& cand = candidates[k];
        const SessionSlot& slot = cand.slot;
        const int index = cand.index;
        const int64 iit_ms = cand.iit_ms, idle_ms = cand.idle_ms;
        core::IdleEpisode chosen;
        TimestampTz xact_start;
        if (!read_backend_status(index, slot.pid, &chosen, &xact_start, nullptr)) continue;
        TimestampTz now = GetCurrentTimestamp();
        core::ReapReason reason = core::reap_due(chosen, now, iit_ms, idle_ms, 1000);
        if (reason == core::ReapReason::kNone) continue;
        const bool monitor = req.dry_run || (req.from_worker && cand.monitor);
        if (monitor && req.from_worker && slot.reported_episode == chosen.state_since) continue;

        // The re-check, immediately before acting.
        if (records == nullptr)
            records = static_cast<core::ReapedRecord*>(
                palloc0(sizeof(core::ReapedRecord) * n_candidates));
        core::ReapedRecord& r = records[n];
        core::IdleEpisode again;
        if (!read_backend_status(index, slot.pid, &again, &xact_start, r.query)) continue;
        if (!core::same_episode(chosen, again)) continue;
        now = GetCurrentTimestamp();

        r.reaped_at = now;
        r.pid = slot.pid;
        r.reason = reason;
        r.action = monitor ? core::ReapAction::kWouldTerminate : core::ReapAction::kTerminated;
        r.idle_for = now - again.state_since;
        r.xact_age = xact_start > 0 ? now - xact_start : -1;
        strlcpy(r.application_name, cand.application, sizeof r.application_name);
        strlcpy(r.usename, slot.usename, sizeof r.usename);
        strlcpy(r.datname, slot.datname, sizeof r.datname);
        strlcpy(r.client_addr, slot.client_addr, sizeof r.client_addr);
        ++n;

        const int64 timeout_ms = reason == core::ReapReason::kIdleInTransaction ? iit_ms : idle_ms;
        bool signalled = false;
        ledger_lock_exclusive();
        SessionSlot& live = session_slots[index];
        if (live.pid == slot.pid) {
            if (monitor) {
                if (req.from_worker) live.reported_episode = again.state_since;
            } else {
                live.reap_reason = reason;
                live.reap_timeout_ms = timeout_ms;
                ledger->count_reaped(live.entry);
                signalled = true;
            }
        }
        ledger_unlock();
        if (signalled && kill(slot.pid, SIGTERM) != 0) signalled = false;
        if (req.dry_run) continue;

        ereport(
            LOG,
            (errmsg("pgpool_stats: %s session %d of application \"%s\" (role \"%s\"): %s for "
                    "%s, longer than its %s of %s",
                    monitor ? "would terminate" : "terminated", r.pid, r.application_name,
                    r.usename, core::reap_reason_name(reason), seconds_text(r.idle_for),
                    reason == core::ReapReason::kIdleInTransaction ? "idle_in_transaction_timeout"
                                                                   : "idle_session_timeout",
                    seconds_text(timeout_ms * 1000))));
        history_lock_exclusive();
        reaped_log->add(r);
        history_unlock();
    }

    *out = records;
    return n;
}

// One row of pgpool_stats.reaped; query text only for pg_read_all_stats.
constexpr int kReapedColumns = 11;

void put_reaped_row(Row& row, const core::ReapedRecord& r, bool show_query) {
    const bool socket = r.client_addr[0] == '\0';
    row.add(TimestampTzGetDatum(r.reaped_at))
        .add(Int32GetDatum(r.pid))
        .add(CStringGetTextDatum(r.application_name))
        .add(CStringGetTextDatum(r.usename))
        .add(CStringGetTextDatum(r.datname))
        .add_or_null(socket, socket ? (Datum)0
                                    : DirectFunctionCall1(inet_in, CStringGetDatum(r.client_addr)))
        .add(CStringGetTextDatum(core::reap_reason_name(r.reason)))
        .add(micros_interval(r.idle_for))
        .add_or_null(r.xact_age < 0, micros_interval(r.xact_age))
        .add_or_null(!show_query, CStringGetTextDatum(r.query))
        .add(CStringGetTextDatum(core::reap_action_name(r.action)));
    row.emit();
}

}  // namespace

void install_reaper_hooks() {
    prev_emit_log_hook = emit_log_hook;
    emit_log_hook = explain_termination;
}

void reap_idle_sessions() {
    core::ReapedRecord* records = nullptr;
    ReapRequest req{nullptr, -1, false, true};
    reap_pass(req, &records);
    if (records) pfree(records);
}

}  // namespace pgpool_stats

using namespace pgpool_stats;

// pgpool_stats.reaped: the last actions of the reaper, oldest first.
PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_reaped_1_0) {
    ReturnSetInfo* rsinfo = begin_rows(fcinfo, kReapedColumns);
    core::ReapedRecord* records =
        static_cast<core::ReapedRecord*>(palloc(sizeof(core::ReapedRecord) * reaped_log->size()));
    history_lock_shared();
    int32 n = reaped_log->copy(records, reaped_log->size());
    history_unlock();
    const bool show_query = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
    Row row(rsinfo);
    for (int32 k = 0; k < n; ++k) put_reaped_row(row, records[k], show_query);
    return (Datum)0;
}

// pgpool_stats.reap(application_name, idle_for, dry_run DEFAULT true): the
// application's sessions idle in a transaction longer than idle_for, now.
PGPOOL_STATS_SQL_FUNCTION(pgpool_stats_reap_1_0) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                        errmsg("pgpool_stats.reap() arguments must not be NULL")));
    ReturnSetInfo* rsinfo = begin_rows(fcinfo, kReapedColumns);
    char* application = text_to_cstring(PG_GETARG_TEXT_PP(0));
    Interval* idle_for = PG_GETARG_INTERVAL_P(1);
    const int64 idle_for_ms = interval_micros(idle_for) / 1000;
    if (idle_for_ms < 0)
        ereport(ERROR,
                (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("idle_for must not be negative"),
                 errhint("Sessions idle in a transaction longer than idle_for are reaped.")));
    ReapRequest req{application, idle_for_ms, PG_GETARG_BOOL(2), false};
    core::ReapedRecord* records = nullptr;
    int32 n = reap_pass(req, &records);
    const bool show_query = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
    Row row(rsinfo);
    for (int32 k = 0; k < n; ++k) put_reaped_row(row, records[k], show_query);
    return (Datum)0;
}
