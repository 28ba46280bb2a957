#include "dump.hpp"

#include <cstring>

namespace pgpool_stats::core {

namespace {

constexpr uint32_t kMagic = 0x53505050;  // "PPPS"
// 2: the hour tier (1.1). A format-1 dump (1.0) is refused whole.
constexpr uint32_t kFormat = 2;

struct Header {
    uint32_t magic;
    uint32_t format;
    uint32_t server_major;
    uint32_t entry_size;
    uint32_t sample_size;
    uint32_t minute_size;
    uint32_t hour_size;
    int32_t n_entries;
    int32_t n_samples;
    int32_t n_minutes;
    int32_t n_hours;
};

uint64_t checksum(const char* data, size_t n) noexcept {
    uint64_t h = 1469598103934665603ULL;
    for (size_t k = 0; k < n; ++k) {
        h ^= static_cast<unsigned char>(data[k]);
        h *= 1099511628211ULL;
    }
    return h;
}

class Out {
public:
    Out(char* out, size_t out_size) : out_(out), out_size_(out_size) {}
    void put(const void* p, size_t n) noexcept {
        if (length_ + n <= out_size_) std::memcpy(out_ + length_, p, n);
        length_ += n;
    }
    size_t length() const noexcept { return length_; }
    bool complete() const noexcept { return length_ <= out_size_; }

private:
    char* out_;
    size_t out_size_;
    size_t length_ = 0;
};

}  // namespace

size_t encode_dump(const DumpInput& in, uint32_t server_major, char* out,
                   size_t out_size) noexcept {
    Header h{kMagic,
             kFormat,
             server_major,
             sizeof(ApplicationEntry),
             sizeof(HistorySample),
             sizeof(HistoryMinute),
             sizeof(HistoryHour),
             in.n_entries,
             in.n_samples,
             in.n_minutes,
             in.n_hours};
    Out o(out, out_size);
    o.put(&h, sizeof h);
    o.put(in.entries, sizeof(ApplicationEntry) * static_cast<size_t>(in.n_entries));
    o.put(in.samples, sizeof(HistorySample) * static_cast<size_t>(in.n_samples));
    o.put(in.minutes, sizeof(HistoryMinute) * static_cast<size_t>(in.n_minutes));
    o.put(in.hours, sizeof(HistoryHour) * static_cast<size_t>(in.n_hours));
    uint64_t sum = o.complete() ? checksum(out, o.length()) : 0;
    o.put(&sum, sizeof sum);
    return o.length();
}

const char* restore_dump(const char* data, size_t length, uint32_t server_major, Ledger& ledger,
                         History& history, int64_t now) noexcept {
    Header h;
    if (length < sizeof h + sizeof(uint64_t)) return "file too short";
    std::memcpy(&h, data, sizeof h);
    if (h.magic != kMagic) return "not a pgpool_stats snapshot";
    if (h.format != kFormat) return "written by another version of pgpool_stats";
    if (h.server_major != server_major) return "written by another major version of PostgreSQL";
    if (h.entry_size != sizeof(ApplicationEntry) || h.sample_size != sizeof(HistorySample) ||
        h.minute_size != sizeof(HistoryMinute) || h.hour_size != sizeof(HistoryHour))
        return "written with another row layout";
    if (h.n_entries < 0 || h.n_samples < 0 || h.n_minutes < 0 || h.n_hours < 0)
        return "corrupt row counts";
    const size_t body = sizeof h + sizeof(ApplicationEntry) * static_cast<size_t>(h.n_entries) +
                        sizeof(HistorySample) * static_cast<size_t>(h.n_samples) +
                        sizeof(HistoryMinute) * static_cast<size_t>(h.n_minutes) +
                        sizeof(HistoryHour) * static_cast<size_t>(h.n_hours);
    if (length != body + sizeof(uint64_t)) return "length does not match its header";
    uint64_t sum;
    std::memcpy(&sum, data + body, sizeof sum);
    if (sum != checksum(data, body)) return "checksum mismatch";

    // Entries: each saved application gets an entry again; remember where its
    // old (entry, incarnation) went, for its history rows.
    const char* p = data + sizeof h;
    struct Move {
        uint32_t old_incarnation;  // unique within the ledger that was saved
        int32_t new_entry;
        uint32_t new_incarnation;
    };
    constexpr int32_t kMaxMoves = 65536 + 1;
    static Move moves[kMaxMoves];  // postmaster only, once: no allocation here
    int32_t n_moves = 0;
    for (int32_t k = 0; k < h.n_entries; ++k, p += sizeof(ApplicationEntry)) {
        ApplicationEntry saved;
        std::memcpy(&saved, p, sizeof saved);
        saved.name[kNameBytes - 1] = '\0';
        int32_t i = ledger.restore_counters(saved, now);
        if (i < 0 || n_moves == kMaxMoves) continue;  // the table is smaller now
        moves[n_moves++] = {saved.incarnation, i, ledger.entry(i).incarnation};
    }
    auto moved = [&](uint32_t old_incarnation, int32_t* entry, uint32_t* incarnation) {
        for (int32_t m = 0; m < n_moves; ++m)
            if (moves[m].old_incarnation == old_incarnation) {
                *entry = moves[m].new_entry;
                *incarnation = moves[m].new_incarnation;
                return true;
            }
        return false;
    };
    // Rows of every tier, each following its application.
    auto restore_rows = [&](auto row, int32_t n) {
        for (int32_t k = 0; k < n; ++k, p += sizeof row) {
            std::memcpy(&row, p, sizeof row);
            if (moved(row.incarnation, &row.entry, &row.incarnation)) history.append(row);
        }
    };
    restore_rows(HistorySample{}, h.n_samples);
    restore_rows(HistoryMinute{}, h.n_minutes);
    restore_rows(HistoryHour{}, h.n_hours);
    history.reopen_last_hour();
    return nullptr;
}

}  // namespace pgpool_stats::core
