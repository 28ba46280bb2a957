// The ledger: which application every counted session is charged to, the
// budgets, and the counters of admission, in one fixed-size block of memory.
//
// The shell places the ledger in shared memory and serialises every call that
// changes it with one LWLock, held exclusively, except the sampler's, which
// hold it shared and write only fields no one else writes then (see
// src/shared_memory.cpp for the protocol). The
// ledger itself does no locking, allocation or I/O and never throws, so it is
// safe to call from a frame that PostgreSQL may longjmp out of, and it can be
// exercised by unit tests on ordinary memory.
//
// Layout of the block: Ledger header, then (max_applications + 1) entries
// (entry 0 is "(other)", where sessions go when the table is full), then a
// stack of free entry numbers, then an open-addressing index of entry numbers
// keyed by name hash (linear probing, deletion by backward shift, so no
// tombstones ever fill it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "admission.hpp"
#include "budget.hpp"
#include "census.hpp"

namespace pgpool_stats::core {

inline constexpr int32_t kOtherEntry = 0;
inline constexpr const char* kOtherName = "(other)";

// Copies a name into a fixed buffer, cut at kNameBytes - 1 bytes.
void copy_name(char (&dst)[kNameBytes], const char* src) noexcept;

struct ApplicationEntry {
    char name[kNameBytes];
    bool in_use;
    bool has_budget;
    uint32_t incarnation;  // new for every application added; names its history rows
    Budget budget;         // meaningful when has_budget

    int32_t connections;        // counted sessions charged here now
    int32_t admission_waiting;  // logins waiting for a slot now
    int32_t peak_connections;   // since stats_reset_at
    int32_t peak_active;        // since stats_reset_at, as the sampler saw it (sampler-written)

    int64_t admitted;      // sessions admitted (including monitor and exempt)
    int64_t rejected;      // logins refused
    int64_t would_reject;  // logins a monitor budget (or enforce = off) let through
    int64_t sessions_ended;
    int64_t session_micros_total;  // summed life of ended sessions
    int64_t reaped;                // sessions the reaper terminated

    // Logins per second over about the last minute: an exponentially decaying
    // count of logins, bumped by each admission and read through
    // connects_per_second(entry, now), which decays it to `now`. Kept by the
    // login itself, so the sampler never visits an entry to age its rate.
    double connects_per_second_at;  // its value at connects_counted_at
    int64_t connects_counted_at;
    // Sampler-written: rejected and would_reject as of the sampler's last
    // visit (history rows carry the refusals between two samples).
    int64_t rejected_at_last_sample;
    int64_t would_reject_at_last_sample;

    // Timestamps in the caller's unit (the shell uses TimestampTz); 0 = never.
    int64_t last_rejected_at;
    int64_t last_seen_at;
    int64_t stats_reset_at;
};

static_assert(std::is_standard_layout_v<ApplicationEntry> &&
                  std::is_trivially_copyable_v<ApplicationEntry>,
              "ApplicationEntry lives in shared memory");

// The memory of the login rate: a burst of logins fades from it over about a
// minute.
inline constexpr double kRateWindowSeconds = 60.0;

// Logins per second of entry e over about the last minute, as of `now`
// (microseconds, as every timestamp of the ledger).
double connects_per_second(const ApplicationEntry& e, int64_t now) noexcept;

struct NamedBudget {
    char application_name[kNameBytes];
    Budget budget;
};

static_assert(std::is_trivially_copyable_v<NamedBudget>, "NamedBudget is palloc'd by the shell");

// An entry as a caller found it: its number and the incarnation it had then.
// A caller that releases the lock between finding an entry and using it
// passes this, so an entry evicted and reused in between (another
// application's now) is never charged.
struct EntryRef {
    int32_t entry;
    uint32_t incarnation;
};

// What a login asks of the ledger.
struct AdmissionRequest {
    bool exempt;           // a superuser while exempt_superusers is on
    bool enforce;          // pgpool_stats.enforce
    bool may_wait;         // the budget has admission_timeout and time is left
    bool already_waiting;  // this login is counted in admission_waiting
    // Earlier logins of the same application wait in its line (WaitQueue):
    // a login that may wait does not take a slot before them.
    bool behind_others = false;
};

enum class Outcome : uint8_t {
    kAdmitted,  // charged: the caller must release exactly once
    kRejected,  // not charged; counted in rejected
    kWait,      // not charged; counted in admission_waiting, try again later
    kStale,     // not charged, nothing counted: the entry is another application's
                // now; find it again
};

struct AdmissionResult {
    Outcome outcome;
    Verdict verdict;       // the rule that decided (for messages)
    AdmissionFacts facts;  // the numbers behind it (for DETAIL)
    bool wait_refused;     // rejected although it could have waited: no unreserved slot to wait in
};

// Figures of the whole server for the capacity view.
struct CapacityFigures {
    int32_t capacity;
    int32_t connections;
    int32_t admission_waiting;  // logins waiting for a slot, each holding a process slot
    int64_t reserved_total;
    int64_t reserved_unused;
    int64_t free_unreserved;
    int64_t budget_total;  // sum of caps; applications without a cap add nothing
    int32_t applications_tracked;
    int32_t applications_max;

    // Reservations no longer fit (max_connections lowered, or a restore into
    // a smaller server): by how many slots. Unbudgeted applications find no
    // slot while this is positive.
    int64_t reserved_over_capacity() const noexcept {
        return reserved_total > capacity ? reserved_total - capacity : 0;
    }
    // How far the caps of all budgets exceed the capacity (0 when they fit).
    int64_t overcommit() const noexcept {
        return budget_total > capacity ? budget_total - capacity : 0;
    }
};

class Ledger {
public:
    static size_t bytes_needed(int32_t max_applications) noexcept;

    // Formats `memory` (bytes_needed() bytes, suitably aligned) as an empty ledger.
    static Ledger* create(void* memory, int32_t max_applications, int32_t capacity,
                          int64_t now) noexcept;

    // Entry number of `name`, or -1. `name` is at most kNameBytes - 1 bytes.
    int32_t find(const char* name) const noexcept;

    // Entry number of `name`, adding it when new. When the table is full the
    // answer is kOtherEntry and *table_full is set.
    int32_t find_or_add(const char* name, int64_t now, bool* table_full) noexcept;

    // The entry as found now, to be used after the lock was released.
    EntryRef ref(int32_t i) const noexcept { return EntryRef{i, entries()[i].incarnation}; }
    // Still the application it was when `r` was taken: not evicted since.
    bool holds(EntryRef r) const noexcept;

    // One step of admission for a login of entry `r`. Exact: called under the
    // ledger's exclusive lock, with every other admission and release
    // serialised. kStale when the entry changed hands since `r` was taken.
    AdmissionResult try_admit(EntryRef r, const AdmissionRequest& req, int64_t now) noexcept;
    // The same for a caller that held the lock since it found entry i.
    AdmissionResult try_admit(int32_t i, const AdmissionRequest& req, int64_t now) noexcept;

    // Late naming: a session charged to entry `from` (the empty name) named
    // itself; decide it as a login of `to` would be decided, with itself no
    // longer counted in `from` (nor in from's admitted). Admitted: charged to
    // `to` now. Rejected: charged nowhere (the caller ends the session and
    // must not release it). kStale: nothing changed.
    AdmissionResult recharge(int32_t from, EntryRef to, const AdmissionRequest& req,
                             int64_t now) noexcept;

    // A waiting login gave up (timeout handled by try_admit; this is for exits).
    void abandon_wait(int32_t i) noexcept;

    // A charged session ended after living session_micros.
    void release(int32_t i, int64_t session_micros) noexcept;

    // A login refused before the rule was consulted (allowed_roles). `real` is
    // false when monitor mode or enforce = off let it through. Counts nothing
    // and returns false when the entry changed hands since `r` was taken.
    bool record_refusal(EntryRef r, bool real, int64_t now) noexcept;

    // Sets (budget != nullptr) or clears the budget of entry i.
    void set_budget(int32_t i, const Budget* budget) noexcept;

    // Applies one committed change: the budget of `name` is now `budget`
    // (nullptr = dropped). Returns false when the table is full.
    bool apply_budget_change(const char* name, const Budget* budget, int64_t now) noexcept;

    // Makes the budgets exactly `budgets[0..n)`: the full reload from the table.
    // Returns how many could not be placed because the table is full.
    int32_t replace_budgets(const NamedBudget* budgets, int32_t n, int64_t now) noexcept;

    // Budgets as a reload found them in the table, compared with the ledger's
    // (read-only: the caller holds the lock shared). Appends to changes[] the
    // rows of rows[from..to) whose budget the ledger lacks or holds
    // differently, and returns how many. The reload applies them with
    // apply_budget_change() under the exclusive lock: O(changed rows) there.
    int32_t differing_budgets(const NamedBudget* const* rows, int32_t from, int32_t to,
                              const NamedBudget** changes) const noexcept;
    // Names of the budgets of entries [from, to) that `has_row` says the
    // table no longer has, appended to dropped[]; returns how many.
    template <typename HasRow>
    int32_t vanished_budgets(int32_t from, int32_t to, HasRow has_row,
                             char (*dropped)[kNameBytes]) const noexcept {
        int32_t n = 0;
        for (int32_t i = from < 1 ? 1 : from; i < to && i <= max_applications_; ++i) {
            const ApplicationEntry& e = entries()[i];
            if (e.in_use && e.has_budget && !has_row(e.name)) copy_name(dropped[n++], e.name);
        }
        return n;
    }

    // Forgets entries with no budget, no session and no waiter, last seen
    // before `cutoff`, visiting at most `visits` entries from where the
    // previous call stopped (amortized: the worker visits a slice a second).
    // Returns how many were removed.
    int32_t evict_idle(int64_t cutoff, int32_t visits) noexcept;
    int32_t evict_idle(int64_t cutoff) noexcept { return evict_idle(cutoff, max_applications_); }

    // The sampler. It holds the lock SHARED, so logins wait for it no longer
    // than for a view's copy, and it writes only what no one else writes
    // under a shared lock (peak_active with an atomic store, since copies may
    // read it meanwhile; rejected_at_last_sample and
    // would_reject_at_last_sample, likewise; the refusal log's read
    // position). Exclusive holders never run at the same time.
    //
    // The entries logged with refusals since the previous sample, into
    // out[0..max); returns how many, or -1 when more were refused than the
    // log holds or max allows: then visit every entry in use and call
    // skip_refused_entries(). An entry appears once per sample unless it was
    // evicted and reused meanwhile (then twice: callers remove duplicates).
    int32_t take_refused_entries(int32_t* out, int32_t max) noexcept;
    void skip_refused_entries() noexcept;
    // One sample of entry i with `active` sessions running: raises
    // peak_active and returns the refusals (real and would-be) since the
    // previous sample.
    struct RefusalsSinceSample {
        int64_t rejected;
        int64_t would_reject;
    };
    RefusalsSinceSample record_sample(int32_t i, int32_t active) noexcept;

    // Gives a saved application (from a dump) an entry and its counters,
    // peaks and timestamps back. Returns the entry, or -1 when the table is full.
    int32_t restore_counters(const ApplicationEntry& saved, int64_t now) noexcept;

    // Moves one counted session from entry `from` to entry `to` (a session of
    // an application counted in "(other)" while the table was full, once the
    // application has an entry of its own).
    void move_session(int32_t from, int32_t to) noexcept;

    // A session of entry i was terminated by the reaper.
    void count_reaped(int32_t i) noexcept { ++entries()[i].reaped; }

    // Zeroes the counters and peaks of entry i (all when i < 0).
    void reset_counters(int32_t i, int64_t now) noexcept;

    CapacityFigures capacity_figures() const noexcept;

    // Entries with a budget, and the sums the capacity view shows, kept as
    // budgets change so that no reader sums the table.
    int32_t budgeted() const noexcept { return budgeted_; }

    // Copies the entries in use to out[0..max), "(other)" only when it has
    // ever been used, and their entry numbers to numbers[] when not null.
    // Returns how many were copied.
    int32_t copy_entries(ApplicationEntry* out, int32_t* numbers, int32_t max) const noexcept;

    const ApplicationEntry& entry(int32_t i) const noexcept { return entries()[i]; }
    int32_t max_applications() const noexcept { return max_applications_; }
    int32_t free_entries() const noexcept { return max_applications_ - tracked_; }

    // Entries a budget can have: free ones plus idle entries without budget,
    // which a budget displaces when the table is full.
    int32_t room_for_budgets() const noexcept;
    int32_t counted_total() const noexcept { return counted_total_; }
    int32_t waiting_total() const noexcept { return waiting_total_; }
    int32_t capacity() const noexcept { return capacity_; }
    int64_t budget_generation() const noexcept { return budget_generation_; }
    bool valid() const noexcept;

    // Checks every redundant sum against a recount; for tests and assertions.
    bool consistent() const noexcept;

private:
    ApplicationEntry* entries() noexcept;
    const ApplicationEntry* entries() const noexcept;
    int32_t* free_stack() noexcept;
    int32_t* index() noexcept;
    const int32_t* index() const noexcept;

    int32_t slot_of(const char* name) const noexcept;  // index slot holding name, or -1
    void unindex(int32_t slot) noexcept;
    void remove(int32_t i) noexcept;
    bool idle_unbudgeted(int32_t i) const noexcept;
    // find_or_add for a budget: when full, forgets the least recently seen
    // idle entry without budget to make room.
    int32_t find_or_add_for_budget(const char* name, int64_t now, bool* table_full) noexcept;

    // A refusal of entry i: counted, and logged for the sampler.
    void count_rejection(int32_t i, int64_t now) noexcept;
    void count_would_reject(int32_t i) noexcept;
    void log_for_sampler(int32_t i) noexcept;  // before counting a refusal

    // A login of entry i starts waiting, or stops (admitted, refused or gone).
    void begin_wait(int32_t i) noexcept;
    void end_wait(int32_t i) noexcept;
    // Adds (sign = +1) or removes (-1) e's budget from budgeted_ and the sums.
    void account_budget_sums(const ApplicationEntry& e, int sign) noexcept;
    // Adds (sign = +1) or removes (-1) entry i's unused reservation from the totals.
    void account_reservation(int32_t i, int sign) noexcept;
    int64_t own_unused(int32_t i, BudgetMode mode) const noexcept;

    uint32_t magic_;
    int32_t max_applications_;
    int32_t index_slots_;  // power of two
    int32_t capacity_;
    int32_t counted_total_;
    int32_t waiting_total_;  // sum of admission_waiting
    int32_t free_top_;
    int32_t tracked_;
    bool other_used_;
    int64_t reserved_unused_enforced_;
    int64_t reserved_unused_monitored_;
    int64_t budget_generation_;
    uint32_t last_incarnation_;
    int32_t budgeted_;        // entries with a budget
    int64_t reserved_total_;  // their reservations
    int64_t budget_total_;    // their caps
    int32_t evict_cursor_;    // where the next evict_idle() slice starts

public:
    // Refusal log size: the distinct applications refused between two
    // samples that the sampler finds without visiting every entry.
    static constexpr int32_t kRefusalLogSize = 4096;

private:
    // Entries with refusals (real or would-be) the sampler has not seen yet,
    // appended at an entry's first such refusal since its last sample.
    int64_t refusal_log_head_;  // appends ever; position = head % size
    int64_t refusal_log_read_;  // the sampler's read position (sampler-written)
    int32_t refusal_log_[kRefusalLogSize];
};

static_assert(std::is_standard_layout_v<Ledger> && std::is_trivially_copyable_v<Ledger>,
              "Ledger lives in shared memory");

}  // namespace pgpool_stats::core
