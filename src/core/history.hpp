// The history: fine samples for the recent past, per-minute roll-ups
// (min / mean / max) for days and per-hour roll-ups (min / mean / max and
// the 95th percentile of the minute maxima) for a month and more, in three
// fixed rings in caller memory. Each tier is summed from the one below as
// it closes: a minute from its samples, an hour from its minutes.
//
// Pure core: the shell places it in shared memory and serialises it with the
// history lock (not the ledger lock, so reading history never delays a login).
// Nothing here allocates, locks or throws.
//
// A sample row is written only for an application with something to say
// (a connection, a waiting login, a rejection): an absent row means zero.
// Rows name their application by ledger entry number plus the entry's
// incarnation, so a reused entry never inherits another application's past.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace pgpool_stats::core {

inline constexpr int kGauges = 6;
enum Gauge : int {
    kConnections = 0,
    kActive,
    kIdle,
    kIdleInTransaction,
    kWaiting,
    kAdmissionWaiting,
};

struct HistorySample {
    int64_t sample_time;
    int32_t entry;  // -1: erased by reset()
    uint32_t incarnation;
    int32_t gauge[kGauges];
    int64_t rejected;      // refusals since the previous sample
    int64_t would_reject;  // logins let through that enforce mode would refuse
};

struct HistoryMinute {
    int64_t minute;  // start of the minute, in the caller's time unit
    int32_t entry;   // -1: erased by reset()
    uint32_t incarnation;
    int32_t samples;  // sampler ticks in that minute (absent ticks counted as zero)
    int32_t min[kGauges];
    int32_t max[kGauges];
    int64_t sum[kGauges];
    int64_t rejected;
    int64_t would_reject;

    double mean(int g) const noexcept {
        return samples ? static_cast<double>(sum[g]) / samples : 0;
    }
};

// An hour from its minute rows. p95 is the 95th percentile (nearest rank)
// of the hour's minute maxima, absent minutes counted as zero: the level
// that 95 % of the hour's minutes stayed at or below even at their peak. It
// is exact from the four largest maxima (an hour has at most 60 minutes, and
// the nearest rank of 95 % of n <= 60 values is among the top four).
struct HistoryHour {
    int64_t hour;   // start of the hour, in the caller's time unit
    int32_t entry;  // -1: erased by reset()
    uint32_t incarnation;
    int32_t samples;  // sampler ticks in that hour (absent ticks counted as zero)
    int32_t minutes;  // minutes with at least one tick in that hour
    int32_t min[kGauges];
    int32_t max[kGauges];
    int32_t p95[kGauges];
    int64_t sum[kGauges];
    int64_t rejected;
    int64_t would_reject;

    double mean(int g) const noexcept {
        return samples ? static_cast<double>(sum[g]) / samples : 0;
    }
};

static_assert(std::is_trivially_copyable_v<HistorySample> &&
                  std::is_trivially_copyable_v<HistoryMinute> &&
                  std::is_trivially_copyable_v<HistoryHour>,
              "history rows live in shared memory");

// A summary row standing for its ticks, one value of gauge g per tick, for
// what needs a value per tick (a recommendation's percentiles): a minute is
// its maximum once; an hour is its maximum once and its p95 for the rest of
// its top 5 % of ticks; the other ticks share what keeps the row's mean. The
// peak is kept, the mean too, and no distribution finer than the row knows
// is invented. Writes min(samples, max) values
// into out and returns how many.
int32_t fill_ticks(const HistoryMinute& minute, int g, int32_t* out, int64_t max) noexcept;
int32_t fill_ticks(const HistoryHour& hour, int g, int32_t* out, int64_t max) noexcept;

// A reader that shows the minute row the fine samples begin in beside those
// samples (its first part is covered by nothing else) would count twice the
// refusals of that minute from the first sample on. This takes them out of
// the minute rows of that minute (the refusals of each row's own entry and
// incarnation in samples [from, the minute's end)), in a copy of the rings.
// Gauges stay the minute's own: a maximum over the whole minute is still
// its maximum. minutes and samples are oldest first; row_of_entry is scratch
// for `entries` values.
void uncount_refusals_in_samples(HistoryMinute* minutes, int32_t n_minutes,
                                 const HistorySample* samples, int32_t n_samples, int64_t from,
                                 int64_t ticks_per_minute, int32_t* row_of_entry,
                                 int32_t entries) noexcept;

class History {
public:
    struct Rows {  // the size of each ring
        int32_t samples;
        int32_t minutes;
        int32_t hours;
    };
    static size_t bytes_needed(Rows rows, int32_t entries) noexcept;
    static History* create(void* memory, Rows rows, int32_t entries,
                           int64_t ticks_per_minute) noexcept;

    // One sampler tick at `now`: rows[0..n) are the applications with
    // something to say (sample_time is ignored and set to now).
    void record(int64_t now, const HistorySample* rows, int32_t n) noexcept;

    // Oldest first. Returns how many were copied (at most max).
    int32_t copy_samples(HistorySample* out, int32_t max) const noexcept;
    int32_t copy_minutes(HistoryMinute* out, int32_t max) const noexcept;
    int32_t copy_hours(HistoryHour* out, int32_t max) const noexcept;

    // Appends rows as they are: restoring a dump, oldest first.
    void append(const HistorySample& sample) noexcept;
    void append(const HistoryMinute& minute) noexcept;
    void append(const HistoryHour& hour) noexcept;
    // After restoring a dump: the minute rows of the newest minute's hour
    // go back into the hour being summed, so the hour row written when it
    // closes covers the minutes before the restart too.
    void reopen_last_hour() noexcept;

    // Erases the rows of one entry (all when entry < 0).
    void erase(int32_t entry) noexcept;

    // Time of the oldest row kept (fine or roll-up), or `now` when empty.
    int64_t oldest(int64_t now) const noexcept;

    int32_t sample_capacity() const noexcept { return sample_rows_; }
    int32_t minute_capacity() const noexcept { return minute_rows_; }
    int32_t hour_capacity() const noexcept { return hour_rows_; }

private:
    struct Accumulator {  // one per entry, for the minute being summed
        uint32_t incarnation;
        int32_t listed;   // in the list of entries with rows this minute
        int32_t present;  // ticks with a row
        int32_t min[kGauges];
        int32_t max[kGauges];
        int64_t sum[kGauges];
        int64_t rejected;
        int64_t would_reject;
    };
    static constexpr int kTopMaxima = 4;  // enough for the p95 of <= 60 minutes
    struct HourAccumulator {              // one per entry, for the hour being summed
        uint32_t incarnation;
        int32_t listed;
        int32_t present;  // minutes with a row
        int32_t min[kGauges];
        int32_t max[kGauges];
        int32_t top[kGauges][kTopMaxima];  // largest minute maxima, descending
        int64_t sum[kGauges];
        int64_t rejected;
        int64_t would_reject;
    };

    HistorySample* samples() noexcept;
    const HistorySample* samples() const noexcept;
    HistoryMinute* minute_ring() noexcept;
    const HistoryMinute* minute_ring() const noexcept;
    HistoryHour* hour_ring() noexcept;
    const HistoryHour* hour_ring() const noexcept;
    Accumulator* accumulators() noexcept;
    // The entries with rows in the minute being summed, so that closing a
    // minute visits them only, not every entry.
    int32_t* listed() noexcept;
    HourAccumulator* hour_accumulators() noexcept;
    int32_t* hour_listed() noexcept;  // likewise for the hour

    void close_minute() noexcept;
    void add_to_hour(const HistoryMinute& minute) noexcept;
    void close_hour() noexcept;
    static void clear(Accumulator& a) noexcept;  // zeroes the minute's sums
    static void clear(HourAccumulator& a) noexcept;

    int32_t sample_rows_;
    int32_t minute_rows_;
    int32_t hour_rows_;
    int32_t entries_;
    int64_t ticks_per_minute_;  // the caller's time unit: minute = floor(time / this)
    int64_t sample_head_;       // rows ever written; ring index = head % capacity
    int64_t minute_head_;
    int64_t current_minute_;  // -1 before the first tick
    int32_t minute_ticks_;
    int32_t n_listed_;
    int64_t hour_head_;
    int64_t current_hour_;  // the hour being summed; -1 before the first tick
    int32_t hour_ticks_;
    int32_t hour_minutes_;
    int32_t n_hour_listed_;
};

static_assert(std::is_standard_layout_v<History> && std::is_trivially_copyable_v<History>,
              "History lives in shared memory");

}  // namespace pgpool_stats::core
