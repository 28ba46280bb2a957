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

size_t History::bytes_needed(int32_t sample_rows, int32_t minute_rows, int32_t entries) noexcept {
    return align8(sizeof(History)) +
           align8(sizeof(HistorySample) * static_cast<size_t>(sample_rows)) +
           align8(sizeof(HistoryMinute) * static_cast<size_t>(minute_rows)) +
           align8(sizeof(Accumulator) * static_cast<size_t>(entries)) +
           align8(sizeof(int32_t) * static_cast<size_t>(entries));
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
History::Accumulator* History::accumulators() noexcept {
    return reinterpret_cast<Accumulator*>(reinterpret_cast<char*>(minute_ring()) +
                                          align8(sizeof(HistoryMinute) * minute_rows_));
}

int32_t* History::listed() noexcept {
    return reinterpret_cast<int32_t*>(reinterpret_cast<char*>(accumulators()) +
                                      align8(sizeof(Accumulator) * entries_));
}

History* History::create(void* memory, int32_t sample_rows, int32_t minute_rows, int32_t entries,
                         int64_t ticks_per_minute) noexcept {
    std::memset(memory, 0, bytes_needed(sample_rows, minute_rows, entries));
    History* h = static_cast<History*>(memory);
    h->sample_rows_ = sample_rows;
    h->minute_rows_ = minute_rows;
    h->entries_ = entries;
    h->ticks_per_minute_ = ticks_per_minute;
    h->current_minute_ = -1;
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
        std::memset(&a, 0, sizeof a);
    }
    n_listed_ = 0;
    minute_ticks_ = 0;
}

void History::record(int64_t now, const HistorySample* rows, int32_t n) noexcept {
    const int64_t minute = now / ticks_per_minute_;
    if (current_minute_ >= 0 && minute != current_minute_) close_minute();
    current_minute_ = minute;
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
        ++a.present;
    }
}

int32_t History::copy_samples(HistorySample* out, int32_t max) const noexcept {
    return copy_ring(samples(), sample_rows_, sample_head_, out, max);
}

int32_t History::copy_minutes(HistoryMinute* out, int32_t max) const noexcept {
    return copy_ring(minute_ring(), minute_rows_, minute_head_, out, max);
}

void History::append(const HistorySample* sample, const HistoryMinute* minute) noexcept {
    if (sample) samples()[sample_head_++ % sample_rows_] = *sample;
    if (minute) minute_ring()[minute_head_++ % minute_rows_] = *minute;
}

void History::erase(int32_t entry) noexcept {
    for (int32_t k = 0; k < sample_rows_; ++k)
        if (entry < 0 || samples()[k].entry == entry) samples()[k].entry = -1;
    for (int32_t k = 0; k < minute_rows_; ++k)
        if (entry < 0 || minute_ring()[k].entry == entry) minute_ring()[k].entry = -1;
    Accumulator* acc = accumulators();
    if (entry >= 0 && entry < entries_) {
        clear(acc[entry]);
        return;
    }
    if (entry < 0) {
        std::memset(acc, 0, sizeof(Accumulator) * static_cast<size_t>(entries_));
        n_listed_ = 0;
    }
}

void History::clear(Accumulator& a) noexcept {
    const int32_t listed = a.listed;  // it stays in the list: one place each
    std::memset(&a, 0, sizeof a);
    a.listed = listed;
}

int64_t History::oldest(int64_t now) const noexcept {
    int64_t oldest = now;
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
