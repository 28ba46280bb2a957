// Entry point: _PG_init defines the GUCs, asks for shared memory, installs the
// admission hook and registers the worker. Nothing else happens at load.

#include "compat.hpp"
#include "gucs.hpp"
#include "shared_memory.hpp"
#include "shell.hpp"

extern "C" {
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

PGPOOL_STATS_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
}

namespace pgpool_stats {

char* guc_database = nullptr;
int guc_max_applications = 256;
bool guc_enforce = true;
bool guc_exempt_superusers = true;
int guc_sample_interval_ms = 1000;
int guc_history_samples = 32768;
int guc_history_minutes = 65536;
int guc_history_hours = 36864;
int guc_history_rollups_deprecated = -1;
bool guc_save = true;
bool guc_reap = true;

namespace {

// Where pgpool_stats.history_minutes got its value: set explicitly, it wins
// over the deprecated name.
GucSource history_minutes_source = PGC_S_DEFAULT;
bool note_history_minutes_source(int*, void**, GucSource source) {
    history_minutes_source = source;
    return true;
}

void define_gucs() {
    DefineCustomStringVariable(
        "pgpool_stats.database", "Database whose pgpool_stats.budget table holds the budgets.",
        "The worker connects to it; budgets are cluster-wide.", &guc_database, "postgres",
        PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pgpool_stats.max_applications",
                            "Number of distinct application names tracked in shared memory.",
                            "Beyond it, new applications are counted as \"(other)\".",
                            &guc_max_applications, 256, 16, 65536, PGC_POSTMASTER, 0, nullptr,
                            nullptr, nullptr);
    DefineCustomBoolVariable("pgpool_stats.enforce",
                             "Refuse logins over budget (off: count them as would_reject only).",
                             nullptr, &guc_enforce, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable(
        "pgpool_stats.exempt_superusers", "Never refuse superuser logins (they are still counted).",
        nullptr, &guc_exempt_superusers, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pgpool_stats.sample_interval",
                            "How often the worker samples the sessions of every application.",
                            nullptr, &guc_sample_interval_ms, 1000, 10, 3600 * 1000, PGC_SIGHUP,
                            GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomIntVariable(
        "pgpool_stats.history_samples", "Fine history rows kept in shared memory (56 bytes each).",
        "One row per application with sessions, per sample.", &guc_history_samples, 32768, 1024,
        64 * 1024 * 1024, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("pgpool_stats.history_minutes",
                            "Per-minute history rows kept in shared memory (136 bytes each).",
                            "One row per application with sessions, per minute.",
                            &guc_history_minutes, 65536, 1024, 64 * 1024 * 1024, PGC_POSTMASTER, 0,
                            note_history_minutes_source, nullptr, nullptr);
    DefineCustomIntVariable("pgpool_stats.history_hours",
                            "Per-hour history rows kept in shared memory (160 bytes each).",
                            "One row per application with sessions, per hour.", &guc_history_hours,
                            36864, 1024, 64 * 1024 * 1024, PGC_POSTMASTER, 0, nullptr, nullptr,
                            nullptr);
    // Its name in 1.0, kept so that a postgresql.conf written for 1.0 still
    // starts with the size it asked for; history_minutes is the one word.
    DefineCustomIntVariable("pgpool_stats.history_rollups",
                            "Deprecated name of pgpool_stats.history_minutes (-1: not set).",
                            nullptr, &guc_history_rollups_deprecated, -1, -1, 64 * 1024 * 1024,
                            PGC_POSTMASTER, GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
    // Said once, by the postmaster (under EXEC_BACKEND every child loads us).
    const bool say = !IsUnderPostmaster;
    if (guc_history_rollups_deprecated >= 0 && history_minutes_source > PGC_S_DEFAULT) {
        if (say)
            ereport(WARNING,
                    (errmsg("pgpool_stats.history_rollups is deprecated and ignored: "
                            "pgpool_stats.history_minutes is set"),
                     errhint("Remove pgpool_stats.history_rollups from postgresql.conf.")));
    } else if (guc_history_rollups_deprecated >= 0) {
        guc_history_minutes = Max(1024, guc_history_rollups_deprecated);
        if (say)
            ereport(WARNING, (errmsg("pgpool_stats.history_rollups is deprecated; using it as "
                                     "pgpool_stats.history_minutes = %d",
                                     guc_history_minutes),
                              errhint("Rename the setting to pgpool_stats.history_minutes in "
                                      "postgresql.conf.")));
    }
    DefineCustomBoolVariable("pgpool_stats.save",
                             "Keep counters and history across a clean restart.", nullptr,
                             &guc_save, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("pgpool_stats.reap",
                             "Terminate sessions idle longer than their application's timeouts "
                             "(off: the reaper does nothing).",
                             nullptr, &guc_reap, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("pgpool_stats");
}

}  // namespace

}  // namespace pgpool_stats

void _PG_init(void) {
    // pg_upgrade loads every library in binary-upgrade mode to check it; we
    // have nothing to do there and must not refuse to load.
    if (IsBinaryUpgrade) return;
    if (!process_shared_preload_libraries_in_progress)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("pgpool_stats must be loaded via shared_preload_libraries"),
                        errhint("Add pgpool_stats to shared_preload_libraries in postgresql.conf "
                                "and restart the server.")));

    pgpool_stats::define_gucs();
    pgpool_stats::install_shmem_hooks();
    pgpool_stats::install_admission_hook();
    pgpool_stats::install_reaper_hooks();
    pgpool_stats::register_worker();
}
