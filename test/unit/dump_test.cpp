// The dump: a round trip moves counters and history to new entry numbers;
// any damage refuses the whole file.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "block.hpp"
#include "core/dump.hpp"

using namespace pgpool_stats::core;

namespace {

struct World {
    World(int32_t apps)
        : ledger_memory(Ledger::bytes_needed(apps)),
          history_memory(History::bytes_needed({64, 16, 4}, apps + 1)),
          ledger(Ledger::create(ledger_memory.get(), apps, 100, 1)),
          history(History::create(history_memory.get(), {64, 16, 4}, apps + 1, 60)) {}
    Block ledger_memory, history_memory;
    Ledger* ledger;
    History* history;
};

std::string encode(World& w) {
    std::vector<ApplicationEntry> entries(w.ledger->max_applications() + 1);
    std::vector<HistorySample> samples(64);
    std::vector<HistoryMinute> minutes(16);
    std::vector<HistoryHour> hours(4);
    DumpInput in{};
    in.entries = entries.data();
    in.n_entries =
        w.ledger->copy_entries(entries.data(), nullptr, static_cast<int32_t>(entries.size()));
    in.samples = samples.data();
    in.n_samples = w.history->copy_samples(samples.data(), 64);
    in.minutes = minutes.data();
    in.n_minutes = w.history->copy_minutes(minutes.data(), 16);
    in.hours = hours.data();
    in.n_hours = w.history->copy_hours(hours.data(), 4);
    std::string bytes(encode_dump(in, 15, nullptr, 0), '\0');
    encode_dump(in, 15, bytes.data(), bytes.size());
    return bytes;
}

World saved_world() {
    World w(8);
    bool full = false;
    int32_t a = w.ledger->find_or_add("a", 1, &full);
    int32_t b = w.ledger->find_or_add("b", 1, &full);
    AdmissionRequest req{false, true, false, false};
    for (int k = 0; k < 3; ++k) w.ledger->try_admit(b, req, 1);
    w.ledger->try_admit(a, req, 1);
    HistorySample s{};
    s.entry = b;
    s.incarnation = w.ledger->entry(b).incarnation;
    s.gauge[kConnections] = 3;
    w.history->record(10, &s, 1);
    w.history->record(70, &s, 1);    // closes minute 0 into a roll-up
    w.history->record(3600, &s, 1);  // and hour 0
    return w;
}

}  // namespace

TEST(Dump, RoundTripMovesCountersAndHistoryToTheNewEntries) {
    World before = saved_world();
    std::string bytes = encode(before);

    World after(8);
    bool full = false;
    after.ledger->find_or_add("unrelated", 1, &full);  // entry numbers differ now
    ASSERT_EQ(restore_dump(bytes.data(), bytes.size(), 15, *after.ledger, *after.history, 99),
              nullptr);
    int32_t b = after.ledger->find("b");
    ASSERT_GT(b, 0);
    EXPECT_EQ(after.ledger->entry(b).admitted, 3);
    EXPECT_EQ(after.ledger->entry(b).peak_connections, 3);
    EXPECT_EQ(after.ledger->entry(b).connections, 0);  // sessions do not survive
    std::vector<HistorySample> samples(64);
    ASSERT_EQ(after.history->copy_samples(samples.data(), 64), 3);
    EXPECT_EQ(samples[0].entry, b);
    EXPECT_EQ(samples[0].incarnation, after.ledger->entry(b).incarnation);
    EXPECT_EQ(samples[1].sample_time, 70);
    std::vector<HistoryMinute> minutes(16);
    ASSERT_EQ(after.history->copy_minutes(minutes.data(), 16), 2);
    EXPECT_EQ(minutes[0].entry, b);
    std::vector<HistoryHour> hours(4);
    ASSERT_EQ(after.history->copy_hours(hours.data(), 4), 1);
    EXPECT_EQ(hours[0].entry, b);
    EXPECT_EQ(hours[0].incarnation, after.ledger->entry(b).incarnation);
    EXPECT_EQ(hours[0].max[kConnections], 3);
    EXPECT_TRUE(after.ledger->consistent());
}

TEST(Dump, AnyDamageRefusesTheWholeFile) {
    World before = saved_world();
    std::string good = encode(before);
    auto refused = [&](std::string bytes, uint32_t major = 15) {
        World after(8);
        const char* why =
            restore_dump(bytes.data(), bytes.size(), major, *after.ledger, *after.history, 1);
        EXPECT_EQ(after.ledger->find("b"), -1) << "nothing restored when refused";
        return why ? std::string(why) : std::string("restored");
    };
    std::string flipped = good;
    flipped[good.size() / 2] ^= 0x40;
    EXPECT_EQ(refused(flipped), "checksum mismatch");
    EXPECT_EQ(refused(good.substr(0, good.size() - 1)), "length does not match its header");
    EXPECT_EQ(refused(good.substr(0, 10)), "file too short");
    EXPECT_EQ(refused(good, 16), "written by another major version of PostgreSQL");
    std::string foreign = good;
    foreign[0] = 'X';
    EXPECT_EQ(refused(foreign), "not a pgpool_stats snapshot");
    EXPECT_EQ(refused(std::string(200, '\0')), "not a pgpool_stats snapshot");
}

TEST(Dump, ASmallerTableRestoresWhatFits) {
    World before = saved_world();
    std::string bytes = encode(before);
    World after(1);
    ASSERT_EQ(restore_dump(bytes.data(), bytes.size(), 15, *after.ledger, *after.history, 1),
              nullptr);
    EXPECT_EQ(after.ledger->free_entries(), 0);
    EXPECT_TRUE(after.ledger->consistent());
}

TEST(Dump, AnHourOpenAtTheShutdownKeepsItsMinutesFromBeforeTheRestart) {
    World before(8);
    bool full = false;
    const int32_t a = before.ledger->find_or_add("a", 1, &full);
    HistorySample s{};
    s.entry = a;
    s.incarnation = before.ledger->entry(a).incarnation;
    s.gauge[kActive] = 10;
    for (int t = 0; t < 5; ++t) before.history->record(t * 60, &s, 1);  // minutes 0-4, 10 active
    std::string bytes = encode(before);  // shut down in minute 4 of hour 0

    World after(8);
    ASSERT_EQ(restore_dump(bytes.data(), bytes.size(), 15, *after.ledger, *after.history, 400),
              nullptr);
    const int32_t b = after.ledger->find("a");
    s.entry = b;
    s.incarnation = after.ledger->entry(b).incarnation;
    s.gauge[kActive] = 1;
    after.history->record(35 * 60, &s, 1);  // back at minute 35: 1 active
    after.history->record(3600, &s, 1);     // the hour closes
    std::vector<HistoryHour> hours(4);
    ASSERT_EQ(after.history->copy_hours(hours.data(), 4), 1);
    EXPECT_EQ(hours[0].max[kActive], 10) << "the minutes before the restart count";
    EXPECT_EQ(hours[0].minutes, 5);  // minutes 0-3 restored, and 35
}
