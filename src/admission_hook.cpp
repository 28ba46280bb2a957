// Admission at login: ClientAuthentication_hook charges each counted session
// to its application in the ledger, or refuses it with FATAL 53300.
//
// Why this hook: it runs in the new backend after authentication succeeded and
// before the client is told so, inside a transaction that can read the shared
// catalogs (rolsuper, role membership), and before the database is opened, so
// a refused login costs no more than a failed password.
//
// Release: a before_shmem_exit callback, registered before the session is
// charged, releases it on every way out of the process (normal exit, FATAL
// later in startup, pg_terminate_backend, client gone). A crash resets shared
// memory instead.

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

#include "compat.hpp"
#include "gucs.hpp"
#include "shared_memory.hpp"
#include "shell.hpp"

extern "C" {
#include "access/genam.h"
#include "access/xact.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "common/string.h"
#include "libpq/auth.h"
#include "common/ip.h"
#include "libpq/libpq-be.h"
#include "libpq/libpq.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc_tables.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

namespace pgpool_stats {

namespace {

ClientAuthentication_hook_type prev_client_auth_hook = nullptr;

// This backend's charge. Plain statics: the exit callback reads them.
int32 charged_entry = -1;  // entry the session is charged to
int32 waiting_entry = -1;  // entry whose admission_waiting counts us
TimestampTz charged_at = 0;
bool exit_callback_registered = false;

// How long a login waits for the worker's first load of the budgets after a
// start or crash restart before it is admitted without them (fail open).
constexpr long kBudgetLoadWaitMs = 5000;
// A waiting login wakes at least this often to notice a vanished client.
constexpr long kWaitSliceMs = 100;
// Leave this much of authentication_timeout for our own clear rejection.
constexpr long kAuthTimeoutMarginMs = 250;

SessionSlot& my_slot() {
    return session_slots[compat::my_backend_index()];
}

bool in_line = false;  // this login stands in a line of wait_queue

// The first waiting login of each line (at most this many lines at once; the
// others notice within their 100 ms slice), collected under the ledger lock a
// caller already holds and woken after it is released, so the exit and
// admission paths take the lock once.
constexpr int32 kWakeAtOnce = 64;
struct FirstWaiters {
    int32 procs[kWakeAtOnce];
    int32 n;
};

FirstWaiters collect_first_waiters() {
    FirstWaiters w;
    w.n = wait_queue->first_in_lines(w.procs, kWakeAtOnce);
    return w;
}

void wake(const FirstWaiters& w) {
    for (int32 k = 0; k < w.n; ++k) SetLatch(&GetPGProcByNumber(w.procs[k])->procLatch);
}

void release_session(int, Datum) {
    if (charged_entry < 0 && waiting_entry < 0 && !in_line) return;
    ledger_lock_exclusive();
    if (charged_entry >= 0) {
        // The slot's entry, not charged_entry: a budget created since may
        // have moved the session out of "(other)".
        ledger->release(my_slot().entry, GetCurrentTimestamp() - charged_at);
        memset(&my_slot(), 0, sizeof(SessionSlot));
    }
    if (waiting_entry >= 0) ledger->abandon_wait(waiting_entry);
    if (in_line) wait_queue->remove(compat::my_backend_index());
    const FirstWaiters next = collect_first_waiters();
    ledger_unlock();
    charged_entry = waiting_entry = -1;
    in_line = false;
    wake(next);
}

// The encoding of the database the client asked for: PostgreSQL cuts
// application_name in it, and the session has not opened it yet. pg_database is
// a shared catalog, readable here; read as InitPostgres reads it (a heap scan
// while the shared relcache is not built, as after a crash restart). A database
// that does not exist fails the login later; its sessions get a byte cut.
int requested_database_encoding(const char* dbname) {
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_database_datname, BTEqualStrategyNumber, F_NAMEEQ,
                CStringGetDatum(dbname));
    Relation rel = table_open(DatabaseRelationId, AccessShareLock);
    SysScanDesc scan = systable_beginscan(rel, DatabaseNameIndexId, criticalSharedRelcachesBuilt,
                                          nullptr, 1, &key);
    HeapTuple tuple = systable_getnext(scan);
    int encoding =
        HeapTupleIsValid(tuple) ? ((Form_pg_database)GETSTRUCT(tuple))->encoding : PG_SQL_ASCII;
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return encoding;
}

// The raw value the startup packet gives application_name, or nullptr.
// InitPostgres applies the options field first ("-c name=value", "--name=value";
// the name folded as ParseLongOption does), then the startup parameters, each in
// order: the last one wins. GUC names are case-insensitive. port->application_name
// is no use: the postmaster has already cleaned it, before any cut.
const char* raw_startup_application_name(const Port* port) {
    const char* name = nullptr;
    if (port->cmdline_options != nullptr) {
        int maxac = 2 + (static_cast<int>(strlen(port->cmdline_options)) + 1) / 2;
        char** av = static_cast<char**>(palloc(maxac * sizeof(char*)));
        int ac = 0;
        pg_split_opts(av, &ac, port->cmdline_options);
        for (int i = 0; i < ac; ++i) {
            const char* opt = av[i];
            if (strcmp(opt, "-c") == 0 && i + 1 < ac)
                opt = av[++i];
            else if (strncmp(opt, "-c", 2) == 0)
                opt += 2;
            else if (strncmp(opt, "--", 2) == 0)
                opt += 2;
            else
                continue;
            if (pg_strncasecmp(opt, "application_name=", 17) == 0 ||
                pg_strncasecmp(opt, "application-name=", 17) == 0)
                name = opt + 17;
        }
    }
    const List* params = port->guc_options;  // name, value, name, value, ...
    for (int i = 0; i + 1 < list_length(params); i += 2) {
        if (pg_strcasecmp(static_cast<const char*>(list_nth(params, i)), "application_name") == 0)
            name = static_cast<const char*>(list_nth(params, i + 1));
    }
    return name;
}

// The name pg_stat_activity will show for this session, computed before
// PostgreSQL sets it, in PostgreSQL's order:
//   1. the GUC is a name (GUC_IS_NAME): a value of NAMEDATALEN bytes or more is
//      cut to 63 on a character boundary of the database encoding;
//   2. the check hook cleans what is left (compat::clean_ascii);
//   3. pgstat_report_appname clips to 63 bytes again, which matters only when
//      16's escapes made the name longer.
// Cleaning first and cutting by bytes charged "a...Z?" for 61 a, Z, é, which
// PostgreSQL stores as "a...Z" in a UTF8 database.
void startup_application_name(Port* port, char (&out)[NAMEDATALEN]) {
    out[0] = '\0';
    const char* raw = raw_startup_application_name(port);
    if (raw == nullptr) return;
    const int encoding = requested_database_encoding(port->database_name);
    int len = static_cast<int>(strlen(raw));
    if (len >= NAMEDATALEN) len = pg_encoding_mbcliplen(encoding, raw, len, NAMEDATALEN - 1);
    char* clean = compat::clean_ascii(pnstrdup(raw, len));
    len = pg_encoding_mbcliplen(encoding, clean, static_cast<int>(strlen(clean)), NAMEDATALEN - 1);
    memcpy(out, clean, len);
    out[len] = '\0';
}

// Instances are told apart by client address, not port; every Unix-socket
// client is one instance.
uint64 client_key(const Port* port) {
    const struct sockaddr* sa = reinterpret_cast<const struct sockaddr*>(&port->raddr.addr);
    if (sa->sa_family == AF_INET)
        return core::client_key_of(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
    if (sa->sa_family == AF_INET6)
        return core::client_key_of(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
    return 1;
}

void numeric_client_addr(const Port* port, char (&out)[core::kAddressBytes]) {
    out[0] = '\0';
    if (port->raddr.addr.ss_family != AF_INET && port->raddr.addr.ss_family != AF_INET6) return;
    if (pg_getnameinfo_all(&port->raddr.addr, port->raddr.salen, out, sizeof out, nullptr, 0,
                           NI_NUMERICHOST) != 0)
        out[0] = '\0';
}

bool role_is_superuser(const char* role_name) {
    HeapTuple tuple = SearchSysCache1(AUTHNAME, CStringGetDatum(role_name));
    if (!HeapTupleIsValid(tuple)) return false;  // InitPostgres refuses it later
    bool super = ((Form_pg_authid)GETSTRUCT(tuple))->rolsuper;
    ReleaseSysCache(tuple);
    return super;
}

// The role is listed in allowed_roles, or is a member of a listed role (like
// "+role" in pg_hba.conf).
bool role_allowed(const char* role_name, const core::Budget& budget) {
    Oid role = get_role_oid(role_name, true);
    for (int k = 0; k < budget.allowed_role_count; ++k) {
        if (strcmp(budget.allowed_roles[k], role_name) == 0) return true;
        Oid listed = get_role_oid(budget.allowed_roles[k], true);
        if (OidIsValid(role) && OidIsValid(listed) && is_member_of_role_nosuper(role, listed))
            return true;
    }
    return false;
}

// After a start or a crash restart, wait (bounded) until the worker has loaded
// the budgets, so the first logins are not admitted against an empty table.
void wait_for_budgets() {
    TimestampTz give_up = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), kBudgetLoadWaitMs);
    for (;;) {
        ledger_lock_shared();
        bool loaded = shared->budgets_loaded;
        ledger_unlock();
        if (loaded) break;
        long left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), give_up);
        if (left <= 0) {
            ereport(LOG, (errmsg("pgpool_stats: budgets not loaded yet; admitting without them"),
                          errhint("Check that the pgpool_stats worker is running.")));
            break;
        }
        ConditionVariableTimedSleep(&shared->ledger_changed, std::min(left, kWaitSliceMs),
                                    PG_WAIT_EXTENSION);
    }
    ConditionVariableCancelSleep();
}

// When the wait for a slot must end: admission_timeout, but always before
// authentication_timeout fires, so the client gets our rejection, not a
// generic timeout.
TimestampTz admission_deadline(TimestampTz now, int64 admission_timeout_ms) {
    TimestampTz deadline = TimestampTzPlusMilliseconds(now, admission_timeout_ms);
    if (get_timeout_active(STATEMENT_TIMEOUT)) {
        TimestampTz auth_end = get_timeout_finish_time(STATEMENT_TIMEOUT);
        deadline = std::min(deadline, TimestampTzPlusMilliseconds(auth_end, -kAuthTimeoutMarginMs));
    }
    return deadline;
}

void reject(const char* app, const core::AdmissionResult& r) {
    const core::AdmissionFacts& f = r.facts;
    // Said when admission_timeout would have let the login wait but no slot
    // outside the reservations was left to wait in.
    const char* no_wait =
        !r.wait_refused ? ""
        : f.others_reserved_unused > 0
            ? " It cannot wait for a slot: waiting would hold a process slot that other "
              "applications have reserved."
            : " It cannot wait for a slot: no process slot is free to wait in.";
    if (r.verdict == core::Verdict::kRejectBudgetFull) {
        ereport(FATAL,
                (errcode(ERRCODE_TOO_MANY_CONNECTIONS),
                 errmsg("too many connections for application \"%s\"", app),
                 errdetail("%d of %d connections in use; the budget of \"%s\" allows %d.%s", f.used,
                           f.max_connections, app, f.max_connections, no_wait),
                 errhint("Lower the pool size of the application's instances, or raise its budget "
                         "with pgpool_stats.set_budget('%s', ...).",
                         app)));
    }
    ereport(FATAL,
            (errcode(ERRCODE_TOO_MANY_CONNECTIONS),
             errmsg("no unreserved connection slot for application \"%s\"", app),
             errdetail("%d of %d connection slots in use%s; %lld of the free ones are reserved "
                       "for other applications.%s",
                       f.counted_total, f.capacity,
                       f.waiting_others > 0
                           ? psprintf(" and %d held by waiting logins", f.waiting_others)
                           : "",
                       static_cast<long long>(std::min<int64>(
                           f.others_reserved_unused,
                           std::max(0, f.capacity - f.counted_total - f.waiting_others))),
                       no_wait),
             errhint("Give \"%s\" reserved_connections, lower other applications' "
                     "reserved_connections, or raise max_connections.",
                     app)));
}

void refuse_role(const char* app, const char* role) {
    ereport(FATAL, (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
                    errmsg("role \"%s\" may not connect as application \"%s\"", role, app),
                    errdetail("The budget of \"%s\" lists the roles allowed to use its name.", app),
                    errhint("Connect with another application_name, or add the role to "
                            "allowed_roles with pgpool_stats.set_budget().")));
}

// What admission needs to know of the session, kept for late naming.
struct Login {
    Port* port;
    bool superuser;
    bool exempt;
};
Login login{};

// Charges this session to `app`, or ends it with FATAL. A login may wait for
// a slot under admission_timeout; a session that names itself late (`late`:
// it is charged to '' now) never waits, and is decided with itself no longer
// counted in the entry it leaves.
void admit(const char* app, bool late) {
    Port* port = login.port;
    const TimestampTz started = GetCurrentTimestamp();
    core::AdmissionRequest req{login.exempt, guc_enforce, false, false};
    // Resolve the entry and its budget, then admit against them. The lock is
    // released in between (the role check reads catalogs), so the admission
    // goes back to resolve again when a budget change committed meanwhile (a
    // new budget generation: the budget read may no longer apply, e.g. the
    // login would go into "(other)" after its application got an entry of its
    // own) or when the entry changed hands (kStale: evicted while idle and
    // reused). So a login is never charged to another application's entry.
    // A waiting login keeps its count and its place in line while it resolves
    // again (so its entry stays busy, never evicted), and gives them up only
    // when the entry it finds is another one.
    for (;;) {
        TimestampTz now = GetCurrentTimestamp();
        bool table_full = false;
        bool announce_overflow = false;
        ledger_lock_exclusive();
        const core::EntryRef entry = ledger->ref(ledger->find_or_add(app, now, &table_full));
        if (req.already_waiting && waiting_entry != entry.entry) {
            ledger->abandon_wait(waiting_entry);
            if (in_line) wait_queue->remove(compat::my_backend_index());
            waiting_entry = -1;
            req.already_waiting = in_line = false;
        }
        const int64 generation = ledger->budget_generation();
        if (table_full && !shared->overflow_logged)
            announce_overflow = shared->overflow_logged = true;
        const bool budgeted = ledger->entry(entry.entry).has_budget;
        const core::Budget budget =
            budgeted ? ledger->entry(entry.entry).budget : core::unlimited_budget();
        ledger_unlock();

        if (announce_overflow)
            ereport(LOG, (errmsg("pgpool_stats: application table is full (%d applications); new "
                                 "applications are counted as \"(other)\"",
                                 guc_max_applications),
                          errhint("Raise pgpool_stats.max_applications.")));

        const bool enforced = guc_enforce && budget.mode == core::BudgetMode::kEnforce;
        if (budget.roles_restricted() && !login.exempt && !role_allowed(port->user_name, budget)) {
            ledger_lock_exclusive();
            const bool counted = ledger->record_refusal(entry, enforced, now);
            ledger_unlock();
            if (!counted) continue;  // the entry changed hands: resolve again
            // Still charged where it was: the exit callback releases it.
            if (enforced) refuse_role(app, port->user_name);
        }

        const TimestampTz deadline = admission_deadline(started, budget.admission_timeout_ms);
        for (;;) {
            req.may_wait = !late && budget.admission_timeout_ms > 0 && now < deadline;
            ledger_lock_exclusive();
            if (ledger->budget_generation() != generation) {
                ledger_unlock();
                break;  // resolve again (still waiting, if it was)
            }
            const int me = compat::my_backend_index();
            req.behind_others = wait_queue->behind_others(me, entry.entry);
            core::AdmissionResult r = late ? ledger->recharge(my_slot().entry, entry, req, now)
                                           : ledger->try_admit(entry, req, now);
            const bool was_in_line = in_line;
            waiting_entry = r.outcome == core::Outcome::kWait ? entry.entry : -1;
            if (r.outcome == core::Outcome::kWait) {
                wait_queue->enqueue(me, entry.entry, compat::my_pgprocno());
                in_line = true;
            } else if (in_line && r.outcome != core::Outcome::kStale) {
                wait_queue->remove(me);
                in_line = false;
            }
            if (r.outcome == core::Outcome::kStale) {
                // Only before the first try: a waiter's entry is not idle, so
                // it is never evicted.
                ledger_unlock();
                break;  // resolve again
            }
            if (late && r.outcome == core::Outcome::kRejected) {
                // No longer counted anywhere: nothing for the exit callback.
                memset(&my_slot(), 0, sizeof(SessionSlot));
                charged_entry = -1;
            }
            if (r.outcome == core::Outcome::kAdmitted) {
                SessionSlot& slot = my_slot();
                slot.entry = entry.entry;
                strlcpy(slot.application_name, app, NAMEDATALEN);
                if (!late) {
                    charged_at = now;
                    slot.pid = MyProcPid;
                    slot.pgprocno = compat::my_pgprocno();
                    slot.client_key = client_key(port);
                    slot.charged_at = now;
                    slot.superuser = login.superuser;
                    strlcpy(slot.usename, port->user_name, NAMEDATALEN);
                    strlcpy(slot.datname, port->database_name, NAMEDATALEN);
                    numeric_client_addr(port, slot.client_addr);
                    slot.reap_reason = core::ReapReason::kNone;
                    slot.reported_episode = 0;
                }
                charged_entry = entry.entry;
            }
            // Left '' (late naming) or a line: the next in line may fit now.
            const bool moved_on = late || (was_in_line && !in_line);
            const FirstWaiters next = moved_on ? collect_first_waiters() : FirstWaiters{{}, 0};
            ledger_unlock();
            wake(next);
            if (r.outcome != core::Outcome::kWait) {
                if (r.outcome == core::Outcome::kRejected) reject(app, r);
                return;
            }
            req.already_waiting = true;
            if (!pq_check_connection()) {
                // The client left while waiting: nothing is charged; the exit
                // callback takes us out of admission_waiting.
                ereport(FATAL, (errcode(ERRCODE_CONNECTION_FAILURE),
                                errmsg("client of application \"%s\" disconnected while waiting "
                                       "for admission",
                                       app)));
            }
            // Woken when this login may be first in line and a slot may be
            // free; every 100 ms anyway (the client may have left, a budget
            // changed).
            long left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
            (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                            std::max(1L, std::min(left, kWaitSliceMs)), PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
            CHECK_FOR_INTERRUPTS();
            now = GetCurrentTimestamp();
        }
    }
}

// Late naming. A session that logged in without a name and names itself
// afterwards (pgjdbc's SET application_name right after startup; a name
// ALTER ROLE or ALTER DATABASE gives it, applied after this hook) is charged
// to that name when the transaction that named it commits: for a role or
// database default, the startup transaction, so it is refused like a login;
// for SET, its own transaction (a rolled-back SET names nothing). The name
// is the value the session keeps after the commit: SET LOCAL is undone by
// the commit, so it does not count. Once charged to a name, a session stays
// charged to it for life. Only sessions charged to '' run this check, once
// per commit, until they are named; named sessions never register it.
bool awaiting_name = false;
bool late_naming_pending = false;  // charged at PRE_COMMIT, the commit not done yet

// The session's application_name once this transaction commits: what the
// GUC's stack says the commit keeps (top-level SET) or restores (SET LOCAL,
// a function's SET clause).
const char* application_name_after_commit() {
    config_generic* gconf = compat::application_name_guc();
    if (gconf == nullptr) return nullptr;
    const char* value = *reinterpret_cast<config_string*>(gconf)->variable;
    for (GucStack* stack = gconf->stack; stack != nullptr; stack = stack->prev) {
        if (stack->state == GUC_LOCAL || stack->state == GUC_SAVE)
            value = stack->prior.val.stringval;
        else if (stack->state == GUC_SET_LOCAL)
            value = stack->masked.val.stringval;
    }
    return value;
}

// The commit that named the session failed after our PRE_COMMIT check (a
// later callback, NOTIFY, a serialization failure, a PREPARE refused): the
// name is rolled back, so the charge goes back to '' and the session may
// name itself again.
void undo_late_naming() {
    const TimestampTz now = GetCurrentTimestamp();
    bool table_full = false;
    ledger_lock_exclusive();
    const int32 unnamed = ledger->find_or_add("", now, &table_full);
    SessionSlot& slot = my_slot();
    ledger->move_session(slot.entry, unnamed);
    slot.entry = unnamed;
    slot.application_name[0] = '\0';
    charged_entry = unnamed;
    const FirstWaiters next = collect_first_waiters();
    ledger_unlock();
    wake(next);
    awaiting_name = true;
}

void on_commit_maybe_named(XactEvent event, void*) {
    if (late_naming_pending) {
        if (event == XACT_EVENT_ABORT && charged_entry >= 0) undo_late_naming();
        if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE || event == XACT_EVENT_ABORT)
            late_naming_pending = false;
        return;
    }
    if (!awaiting_name || charged_entry < 0) return;
    if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE) return;
    const char* value = application_name_after_commit();
    if (value == nullptr || value[0] == '\0') return;
    // As pg_stat_activity stores it: the GUC holds the cleaned value; its
    // first 63 bytes, cut on a character boundary.
    char app[NAMEDATALEN];
    const int len = pg_mbcliplen(value, static_cast<int>(strlen(value)), NAMEDATALEN - 1);
    memcpy(app, value, len);
    app[len] = '\0';
    admit(app, true);
    // Charged to it (refused, the session has ended). Final at the commit;
    // undone if the transaction aborts after all.
    awaiting_name = false;
    late_naming_pending = true;
}

void admit_session(Port* port) {
    char app[NAMEDATALEN];
    startup_application_name(port, app);
    login.port = port;
    login.superuser = role_is_superuser(port->user_name);
    login.exempt = login.superuser && guc_exempt_superusers;

    if (!exit_callback_registered) {
        // Before the charge: there is no moment at which we hold a charge
        // without a way to give it back.
        before_shmem_exit(release_session, 0);
        exit_callback_registered = true;
    }
    if (!login.exempt) wait_for_budgets();
    admit(app, false);
    if (app[0] == '\0') {
        awaiting_name = true;
        RegisterXactCallback(on_commit_maybe_named, nullptr);
    }
}

void client_authentication(Port* port, int status) {
    if (prev_client_auth_hook) prev_client_auth_hook(port, status);
    // A failed authentication is never counted; replication connections are
    // never touched.
    if (status != STATUS_OK || am_walsender || ledger == nullptr) return;
    admit_session(port);
}

}  // namespace

void wake_first_waiters() {
    ledger_lock_shared();
    const FirstWaiters next = collect_first_waiters();
    ledger_unlock();
    wake(next);
}

void install_admission_hook() {
    prev_client_auth_hook = ClientAuthentication_hook;
    ClientAuthentication_hook = client_authentication;
}

}  // namespace pgpool_stats
