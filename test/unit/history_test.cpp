// The history: fine ring keeps the newest, roll-ups per minute and per hour
// with absent ticks (and minutes) counted as zero, incarnations, erase.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "block.hpp"
#include "core/history.hpp"

using namespace pgpool_stats::core;

namespace {

constexpr int64_t kMinute = 60;  // tests count time in seconds

class TestHistory {
public:
    TestHistory(int32_t samples, int32_t minutes, int32_t entries, int32_t hours = 8)
        : memory_(History::bytes_needed({samples, minutes, hours}, entries)),
          history_(History::create(memory_.get(), {samples, minutes, hours}, entries, kMinute)) {}
    History* operator->() { return history_; }

private:
    Block memory_;
    History* history_;
};

HistorySample row(int32_t entry, int32_t connections, int32_t active, int64_t rejected = 0,
                  uint32_t incarnation = 1) {
    HistorySample s{};
    s.entry = entry;
    s.incarnation = incarnation;
    s.gauge[kConnections] = connections;
    s.gauge[kActive] = active;
    s.rejected = rejected;
    return s;
}

}  // namespace

TEST(History, FineRingKeepsTheNewestRowsOldestFirst) {
    TestHistory h(4, 8, 2);
    for (int t = 0; t < 6; ++t) {
        HistorySample r = row(1, t, 0);
        h->record(t, &r, 1);
    }
    std::vector<HistorySample> out(10);
    int32_t n = h->copy_samples(out.data(), 10);
    ASSERT_EQ(n, 4);
    EXPECT_EQ(out[0].sample_time, 2);
    EXPECT_EQ(out[3].sample_time, 5);
    EXPECT_EQ(out[3].gauge[kConnections], 5);
}

TEST(History, MinutesSummariseEachMinuteCountingAbsentTicksAsZero) {
    TestHistory h(100, 8, 3);
    // Minute 0: four ticks; entry 1 present in three of them, entry 2 in all.
    int32_t conns[4] = {2, 6, 4, -1};
    for (int t = 0; t < 4; ++t) {
        std::vector<HistorySample> rows = {row(2, 1, 1, t == 0 ? 3 : 0)};
        if (conns[t] >= 0) rows.push_back(row(1, conns[t], 1));
        h->record(t * 15, rows.data(), static_cast<int32_t>(rows.size()));
    }
    HistorySample none{};
    h->record(kMinute, &none, 0);  // first tick of minute 1 closes minute 0
    std::vector<HistoryMinute> out(8);
    int32_t n = h->copy_minutes(out.data(), 8);
    ASSERT_EQ(n, 2);
    const HistoryMinute& e1 = out[0].entry == 1 ? out[0] : out[1];
    const HistoryMinute& e2 = out[0].entry == 2 ? out[0] : out[1];
    EXPECT_EQ(e1.minute, 0);
    EXPECT_EQ(e1.samples, 4);
    EXPECT_EQ(e1.min[kConnections], 0);  // absent in one tick
    EXPECT_EQ(e1.max[kConnections], 6);
    EXPECT_DOUBLE_EQ(e1.mean(kConnections), 3.0);  // (2 + 6 + 4 + 0) / 4
    EXPECT_EQ(e2.min[kConnections], 1);
    EXPECT_EQ(e2.rejected, 3);
}

TEST(History, MinuteRingKeepsTheNewestMinutes) {
    TestHistory h(10, 3, 2);
    for (int m = 0; m < 6; ++m) {
        HistorySample r = row(1, m, 0);
        h->record(m * kMinute, &r, 1);
    }
    std::vector<HistoryMinute> out(8);
    int32_t n = h->copy_minutes(out.data(), 8);
    ASSERT_EQ(n, 3);  // minutes 2, 3, 4 (5 is still open)
    EXPECT_EQ(out[0].minute, 2 * kMinute);
    EXPECT_EQ(out[2].minute, 4 * kMinute);
    EXPECT_EQ(out[2].max[kConnections], 4);
}

TEST(History, ANewIncarnationStartsItsOwnMinute) {
    TestHistory h(10, 4, 2);
    HistorySample a = row(1, 9, 0, 0, 1), b = row(1, 1, 0, 0, 2);
    h->record(0, &a, 1);
    h->record(10, &b, 1);  // the entry was reused by another application
    HistorySample none{};
    h->record(kMinute, &none, 0);
    std::vector<HistoryMinute> out(4);
    ASSERT_EQ(h->copy_minutes(out.data(), 4), 1);
    EXPECT_EQ(out[0].incarnation, 2u);
    EXPECT_EQ(out[0].max[kConnections], 1);
}

TEST(History, EraseRemovesOneEntryOrAll) {
    TestHistory h(10, 4, 3);
    std::vector<HistorySample> rows = {row(1, 1, 0), row(2, 2, 0)};
    h->record(0, rows.data(), 2);
    h->record(kMinute, rows.data(), 2);
    h->erase(1);
    std::vector<HistorySample> s(10);
    std::vector<HistoryMinute> r(4);
    EXPECT_EQ(h->copy_samples(s.data(), 10), 2);
    EXPECT_EQ(h->copy_minutes(r.data(), 4), 1);
    EXPECT_EQ(r[0].entry, 2);
    h->erase(-1);
    EXPECT_EQ(h->copy_samples(s.data(), 10), 0);
    EXPECT_EQ(h->copy_minutes(r.data(), 4), 0);
}

TEST(History, OldestIsTheOldestRowKept) {
    TestHistory h(2, 4, 2);
    EXPECT_EQ(h->oldest(500), 500);
    HistorySample r = row(1, 1, 0);
    for (int t : {100, 130, 170, 200}) h->record(t, &r, 1);
    EXPECT_EQ(h->oldest(500), 60);  // the roll-up of minute 1 starts at 60
}

TEST(History, HoursSummariseTheirMinutesWithTheP95OfTheMinuteMaxima) {
    TestHistory h(16, 128, 3);
    constexpr int64_t kHour = 60 * kMinute;
    // One tick a minute for an hour: entry 1 holds 1, 2, ... 60 connections;
    // entry 2 appears in two minutes only, with 7 and 3.
    for (int m = 0; m < 60; ++m) {
        std::vector<HistorySample> rows = {row(1, m + 1, 0, 1)};
        rows[0].would_reject = 2;
        if (m == 10) rows.push_back(row(2, 7, 0));
        if (m == 20) rows.push_back(row(2, 3, 0));
        h->record(m * kMinute, rows.data(), static_cast<int32_t>(rows.size()));
    }
    HistorySample none{};
    h->record(kHour, &none, 0);  // closes minute 59, and with it hour 0
    std::vector<HistoryHour> out(8);
    ASSERT_EQ(h->copy_hours(out.data(), 8), 2);
    const HistoryHour& e1 = out[0].entry == 1 ? out[0] : out[1];
    const HistoryHour& e2 = out[0].entry == 2 ? out[0] : out[1];
    EXPECT_EQ(e1.hour, 0);
    EXPECT_EQ(e1.samples, 60);
    EXPECT_EQ(e1.minutes, 60);
    EXPECT_EQ(e1.min[kConnections], 1);
    EXPECT_EQ(e1.max[kConnections], 60);
    EXPECT_DOUBLE_EQ(e1.mean(kConnections), 30.5);  // (1 + ... + 60) / 60
    EXPECT_EQ(e1.p95[kConnections], 57);            // nearest rank: the 57th of 60
    EXPECT_EQ(e1.rejected, 60);
    EXPECT_EQ(e1.would_reject, 120);
    EXPECT_EQ(e2.min[kConnections], 0);  // absent in 58 minutes
    EXPECT_EQ(e2.max[kConnections], 7);
    EXPECT_EQ(e2.p95[kConnections], 0);  // 58 zeros, then 3 and 7: the 57th is a zero
    EXPECT_DOUBLE_EQ(e2.mean(kConnections), 10.0 / 60);
}

TEST(History, AShortHourTakesItsP95FromTheMinutesItHad) {
    TestHistory h(16, 16, 2);
    // Three minutes (the server started late in the hour): 2, 9, 4.
    for (int m = 57; m < 60; ++m) {
        HistorySample r = row(1, m == 57 ? 2 : m == 58 ? 9 : 4, 0);
        h->record(m * kMinute, &r, 1);
    }
    HistorySample none{};
    h->record(60 * kMinute, &none, 0);
    std::vector<HistoryHour> out(2);
    ASSERT_EQ(h->copy_hours(out.data(), 2), 1);
    EXPECT_EQ(out[0].minutes, 3);
    EXPECT_EQ(out[0].p95[kConnections], 9);  // ceil(0.95 * 3) = 3rd of 3
    EXPECT_EQ(out[0].min[kConnections], 2);
}

TEST(History, HourRowsAreErasedAndCountForTheOldest) {
    TestHistory h(2, 2, 3, 4);
    std::vector<HistorySample> rows = {row(1, 1, 0), row(2, 2, 0)};
    for (int m : {0, 1, 60, 61, 120}) h->record(m * kMinute, rows.data(), 2);
    std::vector<HistoryHour> r(4);
    ASSERT_EQ(h->copy_hours(r.data(), 4), 4);  // hours 0 and 1, both entries
    EXPECT_EQ(h->oldest(10000 * kMinute), 0);  // the minute ring only reaches hour 1
    h->erase(1);
    ASSERT_EQ(h->copy_hours(r.data(), 4), 2);
    EXPECT_EQ(r[0].entry, 2);
    h->erase(-1);
    EXPECT_EQ(h->copy_hours(r.data(), 4), 0);
}

TEST(History, SummaryRowsStandForTheirTicksKeepingPeakP95AndMean) {
    HistoryHour hour{};
    hour.samples = 3600;
    hour.max[kActive] = 40;
    hour.p95[kActive] = 20;
    hour.sum[kActive] = 3600 * 5;  // a mean of 5
    std::vector<int32_t> ticks(4000, -1);
    ASSERT_EQ(fill_ticks(hour, kActive, ticks.data(), 4000), 3600);
    EXPECT_EQ(ticks[3600], -1) << "nothing written past the hour's ticks";
    std::vector<int32_t> sorted(ticks.begin(), ticks.begin() + 3600);
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted.back(), 40);
    EXPECT_EQ(sorted[3600 * 95 / 100], 20);  // the top 5 % at the p95
    int64_t sum = 0;
    for (int32_t v : sorted) sum += v;
    EXPECT_EQ(sum, 3600 * 5);  // the mean kept
    EXPECT_EQ(fill_ticks(hour, kActive, ticks.data(), 10), 10) << "bounded by max";

    HistoryMinute minute{};
    minute.samples = 4;
    minute.max[kActive] = 9;
    minute.sum[kActive] = 15;  // mean 3.75: 9 once, then 6 shared by three ticks
    ASSERT_EQ(fill_ticks(minute, kActive, ticks.data(), 100), 4);
    EXPECT_EQ(ticks[0], 9);
    EXPECT_EQ(ticks[1], 2);
    EXPECT_EQ(ticks[2], 2);
    EXPECT_EQ(ticks[3], 2);
}

TEST(History, AClockSteppedBackNeverWritesASecondRowForAMinute) {
    TestHistory h(16, 16, 2);
    HistorySample r = row(1, 2, 0);
    h->record(59 * kMinute + 50, &r, 1);
    h->record(60 * kMinute + 4, &r, 1);   // minute 60 (hour 1): closes minute 59 and hour 0
    h->record(59 * kMinute + 55, &r, 1);  // 9 s back: counted in minute 60
    h->record(61 * kMinute, &r, 1);
    std::vector<HistoryMinute> minutes(16);
    ASSERT_EQ(h->copy_minutes(minutes.data(), 16), 2);
    EXPECT_EQ(minutes[0].minute, 59 * kMinute);
    EXPECT_EQ(minutes[1].minute, 60 * kMinute);
    EXPECT_EQ(minutes[1].samples, 2);
    std::vector<HistoryHour> hours(4);
    EXPECT_EQ(h->copy_hours(hours.data(), 4), 1) << "hour 0 once";
}

TEST(History, AnHourKeepsNoMoreTicksAtItsP95ThanItsSumAllows) {
    // Four one-second spikes of 50 in an otherwise idle hour: the p95 of the
    // minute maxima is 50, yet only four ticks were up there.
    HistoryHour hour{};
    hour.samples = 3600;
    hour.max[kActive] = 50;
    hour.p95[kActive] = 50;
    hour.sum[kActive] = 200;
    std::vector<int32_t> ticks(3600);
    ASSERT_EQ(fill_ticks(hour, kActive, ticks.data(), 3600), 3600);
    int64_t sum = 0;
    int32_t high = 0;
    for (int32_t v : ticks) {
        sum += v;
        high += v == 50;
    }
    EXPECT_EQ(high, 4);
    EXPECT_EQ(sum, 200);
}

// The minute row the fine samples begin in, shown beside them, keeps only
// the refusals before the first sample (TAP 031 summed 21 for 15 refusals
// that straddled a minute).
TEST(History, RefusalsInTheFineSamplesAreUncountedFromTheMinuteTheyBeginIn) {
    TestHistory h(5, 8, 3);
    // Minute 0: entry 1 refused at t = 10, 40, 50 and 55; entry 2 at 50 as
    // an older incarnation, then again as a new one at 55.
    const int64_t times[] = {10, 40, 50, 55};
    for (int64_t t : times) {
        HistorySample rows[2] = {row(1, 0, 0, 1), row(2, 0, 0, 1, t < 55 ? 1 : 2)};
        h->record(t, rows, t >= 50 ? 2 : 1);
    }
    HistorySample later = row(1, 0, 0, 2);
    h->record(61, &later, 1);  // minute 1 begins: minute 0 is rolled up
    std::vector<HistorySample> samples(5);
    std::vector<HistoryMinute> minutes(8);
    const int32_t n_samples = h->copy_samples(samples.data(), 5);
    const int32_t n_minutes = h->copy_minutes(minutes.data(), 8);
    ASSERT_EQ(n_samples, 5);  // 50 and 55 (two rows each), 61: the ring dropped 10 and 40
    ASSERT_EQ(n_minutes, 2);
    const int64_t from = samples[0].sample_time;
    ASSERT_EQ(from, 50);
    EXPECT_EQ(minutes[0].rejected, 4);  // entry 1: all four of the minute

    std::vector<int32_t> scratch(3, 7);
    uncount_refusals_in_samples(minutes.data(), n_minutes, samples.data(), n_samples, from, kMinute,
                                scratch.data(), 3);
    EXPECT_EQ(minutes[0].entry, 1);
    EXPECT_EQ(minutes[0].rejected, 2) << "entry 1: 10 and 40 only; 50 and 55 are in the samples";
    EXPECT_EQ(minutes[1].entry, 2);
    EXPECT_EQ(minutes[1].incarnation, 2u);
    EXPECT_EQ(minutes[1].rejected, 0) << "the new incarnation's refusal at 55 is in the samples";
    EXPECT_EQ(minutes[0].max[kConnections], 0) << "gauges are the minute's own";

    // Samples beginning on a minute's first instant: no row straddles them.
    std::vector<HistoryMinute> again(8);
    h->copy_minutes(again.data(), 8);
    uncount_refusals_in_samples(again.data(), n_minutes, samples.data(), n_samples, 0, kMinute,
                                scratch.data(), 3);
    EXPECT_EQ(again[0].rejected, 4);
}
