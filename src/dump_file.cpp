// Counters, peaks and history survive a clean restart: the postmaster writes
// them to pg_stat/pgpool_stats.stat when it exits cleanly (with
// pgpool_stats.save on), and the next start reads the file back and removes
// it. After a crash there is no fresh file, so everything starts empty. A
// file that fails any check (core/dump.cpp) is ignored with a LOG line.
// The shape follows pg_stat_statements' dump.

#include "core/dump.hpp"
#include "gucs.hpp"
#include "observed.hpp"
#include "shared_memory.hpp"
#include "shell.hpp"

extern "C" {
#include <sys/stat.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "utils/timestamp.h"
}

namespace pgpool_stats {

namespace {

constexpr const char* kDumpFile = "pg_stat/pgpool_stats.stat";
constexpr const char* kDumpTemp = "pg_stat/pgpool_stats.stat.tmp";

uint32 server_major() {
    return PG_VERSION_NUM / 100;
}

// Postmaster exit: only after a clean exit, and only when asked to.
void save_dump(int code, Datum) {
    if (code != 0 || !guc_save || ledger == nullptr) return;

    // Every other process is gone: nothing else touches shared memory now.
    const int32 room = ledger->max_applications() + 1;
    core::DumpInput in{};
    core::ApplicationEntry* entries =
        static_cast<core::ApplicationEntry*>(palloc(sizeof(core::ApplicationEntry) * room));
    in.entries = entries;
    in.n_entries = ledger->copy_entries(entries, nullptr, room);
    const HistoryCopy h = copy_history_unlocked();
    in.samples = h.samples;
    in.n_samples = h.n_samples;
    in.minutes = h.minutes;
    in.n_minutes = h.n_minutes;
    in.hours = h.hours;
    in.n_hours = h.n_hours;

    size_t length = core::encode_dump(in, server_major(), nullptr, 0);
    char* bytes = static_cast<char*>(palloc_extended(length, MCXT_ALLOC_HUGE));
    core::encode_dump(in, server_major(), bytes, length);

    FILE* file = AllocateFile(kDumpTemp, PG_BINARY_W);
    bool written = file != nullptr && fwrite(bytes, 1, length, file) == length;
    if (file != nullptr && FreeFile(file) != 0) written = false;
    if (!written) {
        ereport(LOG, (errcode_for_file_access(),
                      errmsg("pgpool_stats: could not write \"%s\": %m", kDumpTemp)));
        unlink(kDumpTemp);
        return;
    }
    (void)durable_rename(kDumpTemp, kDumpFile, LOG);
}

}  // namespace

void load_dump_and_arrange_saving() {
    if (!IsUnderPostmaster) on_shmem_exit(save_dump, 0);

    FILE* file = AllocateFile(kDumpFile, PG_BINARY_R);
    if (file == nullptr) {
        if (errno != ENOENT)
            ereport(LOG, (errcode_for_file_access(),
                          errmsg("pgpool_stats: could not read \"%s\": %m", kDumpFile)));
        return;
    }
    struct stat st;
    char* bytes = nullptr;
    size_t length = 0;
    if (fstat(fileno(file), &st) == 0 && st.st_size > 0) {
        length = static_cast<size_t>(st.st_size);
        bytes = static_cast<char*>(palloc_extended(length, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM));
        if (bytes != nullptr && fread(bytes, 1, length, file) != length) length = 0;
    }
    FreeFile(file);
    // Read once: a crash from now on must not bring these figures back.
    unlink(kDumpFile);

    const char* refused = bytes == nullptr || length == 0
                              ? "empty or unreadable"
                              : core::restore_dump(bytes, length, server_major(), *ledger, *history,
                                                   GetCurrentTimestamp());
    if (refused != nullptr)
        ereport(LOG, (errmsg("pgpool_stats: ignoring \"%s\": %s", kDumpFile, refused),
                      errdetail("Counters and history start empty.")));
    else
        ereport(LOG,
                (errmsg("pgpool_stats: restored counters and history from \"%s\"", kDumpFile)));
    if (bytes != nullptr) pfree(bytes);
}

}  // namespace pgpool_stats
