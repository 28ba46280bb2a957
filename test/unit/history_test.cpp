// The history: fine ring keeps the newest, roll-ups per minute with absent
// ticks counted as zero, incarnations, erase.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "block.hpp"
#include "core/history.hpp"

using namespace pgpool_stats::core;

namespace {

constexpr int64_t kMinute = 60;  // tests count time in seconds

class TestHistory {
public:
    TestHistory(int32_t samples, int32_t minutes, int32_t entries)
        : memory_(History::bytes_needed(samples, minutes, entries)),
          history_(History::create(memory_.get(), samples, minutes, entries, kMinute)) {}
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
