#include "history.hpp"

#include <algorithm>
#include <cstring>

namespace pgpool_stats::core {

namespace {

constexpr size_t align8(size_t n) noexcept {
    return (n + 7) & ~size_t{7};
}

template <typename Row>
int32_t copy_ring(const Row* ring, int32_t ring_rows, int64_t head, Row* out,
                  int32_t max) noexcept {
    int64_t count = std::min<int64_t>(head, ring_rows);
    int32_t n = 0;
    for (int64_t k = head - count; k < head && n < max; ++k) {
        const Row& row = ring[k % ring_rows];
        if (row.entry >= 0) out[n++] = row;
    }
    return n;
}

}  // namespace

namespace {

// Ticks [0, n): first the peaks given by peak(t) for t < peaks, then the
// others sharing what is left of sum as evenly as integers allow, so the
// ticks add up to the row's sum (its mean) whenever the peaks leave room.
template <typename Peak>
int32_t fill(int32_t samples, int64_t sum, int32_t peaks, Peak peak, int32_t* out,
             int64_t max) noexcept {
    const int32_t n = static_cast<int32_t>(std::min<int64_t>(samples, max));
    int64_t left = sum;
    for (int32_t t = 0; t < peaks && t < samples; ++t) left -= peak(t);
    const int32_t others = samples - std::min(peaks, samples);
    const int64_t base = others > 0 ? std::max<int64_t>(0, left) / others : 0;
    const int64_t extra = others > 0 ? std::max<int64_t>(0, left) % others : 0;
    for (int32_t t = 0; t < n; ++t)
        out[t] = t < peaks ? peak(t) : static_cast<int32_t>(base + (t - peaks < extra ? 1 : 0));
    return n;
}

}  // namespace

int32_t fill_ticks(const HistoryMinute& m, int g, int32_t* out, int64_t max) noexcept {
    return fill(
        m.samples, m.sum[g], 1, [&](int32_t) { return m.max[g]; }, out, max);
}

int32_t fill_ticks(const HistoryHour& h, int g, int32_t* out, int64_t max) noexcept {
    // The top 5 % of the hour's ticks, but no more ticks at the p95 than the
    // hour's sum allows: four one-second spikes in a quiet hour have a p95
    // of minute maxima at the spike, yet only four ticks up there.
    const int64_t room = 1 + std::max<int64_t>(0, h.sum[g] - h.max[g]) / std::max(h.p95[g], 1);
    const auto top = static_cast<int32_t>(std::min<int64_t>((h.samples + 19) / 20, room));
    return fill(
        h.samples, h.sum[g], top, [&](int32_t t) { return t == 0 ? h.max[g] : h.p95[g]; }, out,
        max);
}

size_t History::bytes_needed(Rows rows, int32_t entries) noexcept {
    const size_t n = static_cast<size_t>(entries);
    return align8(sizeof(History)) +
           align8(sizeof(HistorySample) * static_cast<size_t>(rows.samples)) +
           align8(sizeof(HistoryMinute) * static_cast<size_t>(rows.minutes)) +
           align8(sizeof(HistoryHour) * static_cast<size_t>(rows.hours)) +
           align8(sizeof(Accumulator) * n) + align8(sizeof(int32_t) * n) +
           align8(sizeof(HourAccumulator) * n) + align8(sizeof(int32_t) * n);
}

HistorySample* History::samples() noexcept {
    return reinterpret_cast<HistorySample*>(reinterpret_cast<char*>(this) +
                                            align8(sizeof(History)));
}
const HistorySample* History::samples() const noexcept {
    return const_cast<History*>(this)->samples();
}
HistoryMinute* History::minute_ring() noexcept {
    return reinterpret_cast<HistoryMinute*>(reinterpret_cast<char*>(samples()) +
                                            align8(sizeof(HistorySample) * sample_rows_));
}
const HistoryMinute* History::minute_ring() const noexcept {
    return const_cast<History*>(this)->minute_ring();
}
HistoryHour* History::hour_ring() noexcept {
    return reinterpret_cast<HistoryHour*>(reinterpret_cast<char*>(minute_ring()) +
                                          align8(sizeof(HistoryMinute) * minute_rows_));
}
const HistoryHour* History::hour_ring() const noexcept {
    return const_cast<History*>(this)->hour_ring();
}
History::Accumulator* History::accumulators() noexcept {
    return reinterpret_cast<Accumulator*>(reinterpret_cast<char*>(hour_ring()) +
                                          align8(sizeof(HistoryHour) * hour_rows_));
}

int32_t* History::listed() noexcept {
    return reinterpret_cast<int32_t*>(reinterpret_cast<char*>(accumulators()) +
                                      align8(sizeof(Accumulator) * entries_));
}

History::HourAccumulator* History::hour_accumulators() noexcept {
    return reinterpret_cast<HourAccumulator*>(reinterpret_cast<char*>(listed()) +
                                              align8(sizeof(int32_t) * entries_));
}

int32_t* History::hour_listed() noexcept {
    return reinterpret_cast<int32_t*>(reinterpret_cast<char*>(hour_accumulators()) +
                                      align8(sizeof(HourAccumulator) * entries_));
}

void uncount_refusals_in_samples(HistoryMinute* minutes, int32_t n_minutes,
                                 const HistorySample* samples, int32_t n_samples, int64_t from,
                                 int64_t ticks_per_minute, int32_t* row_of_entry,
                                 int32_t entries) noexcept {
    for (int32_t e = 0; e < entries; ++e) row_of_entry[e] = -1;
    // The minute `from` falls in (floor, also for times before the epoch).
    int64_t minute = from / ticks_per_minute;
    if (minute * ticks_per_minute > from) --minute;
    const int64_t start = minute * ticks_per_minute;
    const int64_t end = start + ticks_per_minute;
    if (start == from) return;  // no minute row straddles `from`
    bool any = false;
    for (int32_t r = 0; r < n_minutes; ++r)
        if (minutes[r].minute == start && minutes[r].entry >= 0 && minutes[r].entry < entries) {
            row_of_entry[minutes[r].entry] = r;
            any = true;
        }
    if (!any) return;
    for (int32_t k = 0; k < n_samples; ++k) {
        const HistorySample& x = samples[k];
        if (x.sample_time < from) continue;
        if (x.sample_time >= end) break;
        if (x.entry < 0 || x.entry >= entries) continue;
        const int32_t r = row_of_entry[x.entry];
        if (r < 0 || minutes[r].incarnation != x.incarnation) continue;
        // Never below zero: a sample the minute did not sum (after a clock
        // stepped back) takes at most what the row has.
        minutes[r].rejected -= std::min(minutes[r].rejected, x.rejected);
        minutes[r].would_reject -= std::min(minutes[r].would_reject, x.would_reject);
    }
}

History* History::create(void* memory, Rows rows, int32_t entries,
                         int64_t ticks_per_minute) noexcept {
    std::memset(memory, 0, bytes_needed(rows, entries));
    History* h = static_cast<History*>(memory);
    h->sample_rows_ = rows.samples;
    h->minute_rows_ = rows.minutes;
    h->hour_rows_ = rows.hours;
    h->entries_ = entries;
    h->ticks_per_minute_ = ticks_per_minute;
    h->current_minute_ = -1;
    h->current_hour_ = -1;
    return h;
}

void History::close_minute() noexcept {
    Accumulator* acc = accumulators();
    // By entry, as a full pass would have written them.
    std::sort(listed(), listed() + n_listed_);
    for (int32_t k = 0; k < n_listed_; ++k) {
        const int32_t e = listed()[k];
        Accumulator& a = acc[e];
        if (a.present == 0) {  // erased by reset() meanwhile
            a.listed = 0;
            continue;
        }
        HistoryMinute& r = minute_ring()[minute_head_++ % minute_rows_];
        r.minute = current_minute_ * ticks_per_minute_;
        r.entry = e;
        r.incarnation = a.incarnation;
        r.samples = minute_ticks_;
        for (int g = 0; g < kGauges; ++g) {
            // Ticks without a row were zeros.
            r.min[g] = a.present < minute_ticks_ ? 0 : a.min[g];
            r.max[g] = a.max[g];
            r.sum[g] = a.sum[g];
        }
        r.rejected = a.rejected;
        r.would_reject = a.would_reject;
        std::memset(&a, 0, sizeof a);
        add_to_hour(r);
    }
    n_listed_ = 0;
    hour_ticks_ += minute_ticks_;
    ++hour_minutes_;
    minute_ticks_ = 0;
}

void History::add_to_hour(const HistoryMinute& m) noexcept {
    HourAccumulator& a = hour_accumulators()[m.entry];
    if (!a.listed) {
        hour_listed()[n_hour_listed_++] = m.entry;
        a.listed = 1;
    }
    if (a.present > 0 && a.incarnation != m.incarnation) clear(a);
    a.incarnation = m.incarnation;
    for (int g = 0; g < kGauges; ++g) {
        a.min[g] = a.present == 0 ? m.min[g] : std::min(a.min[g], m.min[g]);
        a.max[g] = std::max(a.max[g], m.max[g]);
        a.sum[g] += m.sum[g];
        int32_t* top = a.top[g];  // keep the four largest, descending
        int32_t v = m.max[g];
        for (int k = 0; k < kTopMaxima; ++k)
            if (v > top[k]) std::swap(v, top[k]);
    }
    a.rejected += m.rejected;
    a.would_reject += m.would_reject;
    ++a.present;
}

void History::close_hour() noexcept {
    HourAccumulator* acc = hour_accumulators();
    std::sort(hour_listed(), hour_listed() + n_hour_listed_);
    // Nearest rank of the 95th percentile among the hour's minutes, counted
    // from the top: 1 is the largest maximum.
    const int32_t n = hour_minutes_;
    const int32_t rank = n - (n * 95 + 99) / 100 + 1;
    for (int32_t k = 0; k < n_hour_listed_; ++k) {
        const int32_t e = hour_listed()[k];
        HourAccumulator& a = acc[e];
        if (a.present == 0) {  // erased by reset() meanwhile
            a.listed = 0;
            continue;
        }
        HistoryHour& r = hour_ring()[hour_head_++ % hour_rows_];
        r.hour = current_hour_ * 60 * ticks_per_minute_;
        r.entry = e;
        r.incarnation = a.incarnation;
        r.samples = hour_ticks_;
        r.minutes = n;
        for (int g = 0; g < kGauges; ++g) {
            r.min[g] = a.present < n ? 0 : a.min[g];  // absent minutes were zeros
            r.max[g] = a.max[g];
            r.p95[g] = rank >= 1 && rank <= kTopMaxima ? a.top[g][rank - 1] : a.max[g];
            r.sum[g] = a.sum[g];
        }
        r.rejected = a.rejected;
        r.would_reject = a.would_reject;
        std::memset(&a, 0, sizeof a);
    }
    n_hour_listed_ = 0;
    hour_ticks_ = 0;
    hour_minutes_ = 0;
}

void History::record(int64_t now, const HistorySample* rows, int32_t n) noexcept {
    // A wall clock stepped back counts in the minute it left, never in one
    // already closed (that would write a second row for it).
    const int64_t minute = std::max(now / ticks_per_minute_, current_minute_);
    if (current_minute_ >= 0 && minute != current_minute_) close_minute();
    // The hour can also be open without a minute: restored from a dump.
    if (current_hour_ >= 0 && minute / 60 != current_hour_) close_hour();
    current_minute_ = minute;
    current_hour_ = minute / 60;
    ++minute_ticks_;

    Accumulator* acc = accumulators();
    for (int32_t k = 0; k < n; ++k) {
        const HistorySample& in = rows[k];
        if (in.entry < 0 || in.entry >= entries_) continue;
        HistorySample& out = samples()[sample_head_++ % sample_rows_];
        out = in;
        out.sample_time = now;

        Accumulator& a = acc[in.entry];
        if (!a.listed) {
            listed()[n_listed_++] = in.entry;
            a.listed = 1;
        }
        if (a.present > 0 && a.incarnation != in.incarnation) clear(a);
        a.incarnation = in.incarnation;
        for (int g = 0; g < kGauges; ++g) {
            a.min[g] = a.present == 0 ? in.gauge[g] : std::min(a.min[g], in.gauge[g]);
            a.max[g] = std::max(a.max[g], in.gauge[g]);
            a.sum[g] += in.gauge[g];
        }
        a.rejected += in.rejected;
        a.would_reject += in.would_reject;
        ++a.present;
    }
}

int32_t History::copy_samples(HistorySample* out, int32_t max) const noexcept {
    return copy_ring(samples(), sample_rows_, sample_head_, out, max);
}

int32_t History::copy_minutes(HistoryMinute* out, int32_t max) const noexcept {
    return copy_ring(minute_ring(), minute_rows_, minute_head_, out, max);
}

int32_t History::copy_hours(HistoryHour* out, int32_t max) const noexcept {
    return copy_ring(hour_ring(), hour_rows_, hour_head_, out, max);
}

void History::append(const HistorySample& sample) noexcept {
    samples()[sample_head_++ % sample_rows_] = sample;
}
void History::append(const HistoryMinute& minute) noexcept {
    minute_ring()[minute_head_++ % minute_rows_] = minute;
}
void History::append(const HistoryHour& hour) noexcept {
    hour_ring()[hour_head_++ % hour_rows_] = hour;
}

void History::reopen_last_hour() noexcept {
    if (minute_head_ == 0) return;
    const int64_t newest = minute_ring()[(minute_head_ - 1) % minute_rows_].minute;
    const int64_t hour = newest / ticks_per_minute_ / 60;
    // Its hour row, if one was closed, was written by the server that saved
    // the dump: never sum that hour twice.
    if (hour_head_ > 0 &&
        hour_ring()[(hour_head_ - 1) % hour_rows_].hour / ticks_per_minute_ / 60 >= hour)
        return;
    const int64_t kept = std::min<int64_t>(minute_head_, minute_rows_);
    int64_t first = minute_head_;  // the oldest minute row of that hour
    while (first > minute_head_ - kept &&
           minute_ring()[(first - 1) % minute_rows_].minute / ticks_per_minute_ / 60 == hour)
        --first;
    int64_t previous_minute = -1;
    for (int64_t k = first; k < minute_head_; ++k) {
        const HistoryMinute& m = minute_ring()[k % minute_rows_];
        if (m.minute != previous_minute) {  // rows of one minute come together
            hour_ticks_ += m.samples;
            ++hour_minutes_;
            previous_minute = m.minute;
        }
        if (m.entry >= 0 && m.entry < entries_) add_to_hour(m);
    }
    current_hour_ = hour;
}

void History::erase(int32_t entry) noexcept {
    for (int32_t k = 0; k < sample_rows_; ++k)
        if (entry < 0 || samples()[k].entry == entry) samples()[k].entry = -1;
    for (int32_t k = 0; k < minute_rows_; ++k)
        if (entry < 0 || minute_ring()[k].entry == entry) minute_ring()[k].entry = -1;
    for (int32_t k = 0; k < hour_rows_; ++k)
        if (entry < 0 || hour_ring()[k].entry == entry) hour_ring()[k].entry = -1;
    if (entry >= 0 && entry < entries_) {
        clear(accumulators()[entry]);
        clear(hour_accumulators()[entry]);
        return;
    }
    if (entry < 0) {
        std::memset(accumulators(), 0, sizeof(Accumulator) * static_cast<size_t>(entries_));
        n_listed_ = 0;
        std::memset(hour_accumulators(), 0,
                    sizeof(HourAccumulator) * static_cast<size_t>(entries_));
        n_hour_listed_ = 0;
    }
}

void History::clear(Accumulator& a) noexcept {
    const int32_t listed = a.listed;  // it stays in the list: one place each
    std::memset(&a, 0, sizeof a);
    a.listed = listed;
}

void History::clear(HourAccumulator& a) noexcept {
    const int32_t listed = a.listed;
    std::memset(&a, 0, sizeof a);
    a.listed = listed;
}

int64_t History::oldest(int64_t now) const noexcept {
    int64_t oldest = now;
    if (hour_head_ > 0) {
        const HistoryHour& r =
            hour_ring()[std::max<int64_t>(0, hour_head_ - hour_rows_) % hour_rows_];
        oldest = std::min(oldest, r.hour);
    }
    if (minute_head_ > 0) {
        const HistoryMinute& r =
            minute_ring()[std::max<int64_t>(0, minute_head_ - minute_rows_) % minute_rows_];
        oldest = std::min(oldest, r.minute);
    }
    if (sample_head_ > 0) {
        const HistorySample& s =
            samples()[std::max<int64_t>(0, sample_head_ - sample_rows_) % sample_rows_];
        oldest = std::min(oldest, s.sample_time);
    }
    return oldest;
}

}  // namespace pgpool_stats::core
