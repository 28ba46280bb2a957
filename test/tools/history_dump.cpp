// history_dump FILE SERVER_MAJOR NOW_US HOURS: writes a dump (the file a
// clean shutdown leaves in pg_stat/) holding HOURS hours of one application,
// "steady", that ended a minute before NOW_US (microseconds since
// 2000-01-01, PostgreSQL's epoch). TAP 043 restores it into a real server to
// test the hour tier without waiting hours.
//
// The rows are made by the core itself: a ledger, and a history fed one
// tick every 10 s, as the sampler would. Its minute ring is kept small, so
// the server gets hour rows for what is older than a few minutes, as on a
// server that has run for weeks. Each tick: 3 connections, 1 active, and 5
// active in minutes 0, 20 and 40 of every hour.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/dump.hpp"

using namespace pgpool_stats::core;

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: history_dump FILE SERVER_MAJOR NOW_US HOURS\n");
        return 2;
    }
    const char* file = argv[1];
    const auto major = static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10));
    const int64_t now = std::strtoll(argv[3], nullptr, 10);
    const int64_t hours = std::strtoll(argv[4], nullptr, 10);
    constexpr int64_t kSecond = 1000 * 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute;
    constexpr int32_t kApps = 8;
    const History::Rows rows{64, 16, 64};

    std::vector<char> ledger_memory(Ledger::bytes_needed(kApps) + 64);
    std::vector<char> history_memory(History::bytes_needed(rows, kApps + 1) + 64);
    auto aligned = [](std::vector<char>& v) {
        return reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(v.data()) + 63) &
                                       ~uintptr_t{63});
    };
    // The hours end on an hour boundary a minute or more before now.
    const int64_t end = (now - kMinute) / kHour * kHour;
    const int64_t start = end - hours * kHour;
    Ledger* ledger = Ledger::create(aligned(ledger_memory), kApps, 100, start);
    History* history = History::create(aligned(history_memory), rows, kApps + 1, kMinute);

    bool full = false;
    const int32_t steady = ledger->find_or_add("steady", start, &full);
    if (steady < 0 || full) return 1;
    for (int64_t t = start; t <= end; t += 10 * kSecond) {
        HistorySample s{};
        s.entry = steady;
        s.incarnation = ledger->entry(steady).incarnation;
        s.gauge[kConnections] = 3;
        s.gauge[kIdle] = 2;
        s.gauge[kActive] = (t % kHour) / kMinute % 20 == 0 ? 5 : 1;
        history->record(t, &s, 1);
    }

    std::vector<ApplicationEntry> entries(kApps + 1);
    std::vector<HistorySample> samples(rows.samples);
    std::vector<HistoryMinute> minutes(rows.minutes);
    std::vector<HistoryHour> hour_rows(rows.hours);
    DumpInput in{};
    in.entries = entries.data();
    in.n_entries = ledger->copy_entries(entries.data(), nullptr, kApps + 1);
    in.samples = samples.data();
    in.n_samples = history->copy_samples(samples.data(), rows.samples);
    in.minutes = minutes.data();
    in.n_minutes = history->copy_minutes(minutes.data(), rows.minutes);
    in.hours = hour_rows.data();
    in.n_hours = history->copy_hours(hour_rows.data(), rows.hours);
    std::vector<char> bytes(encode_dump(in, major, nullptr, 0));
    encode_dump(in, major, bytes.data(), bytes.size());

    FILE* out = std::fopen(file, "wb");
    if (out == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), out) != bytes.size() ||
        std::fclose(out) != 0) {
        std::perror(file);
        return 1;
    }
    std::printf("%d hour rows, %d minute rows, %d samples\n", in.n_hours, in.n_minutes,
                in.n_samples);
    return 0;
}
