#include "announcement.hpp"

#include <cinttypes>
#include <cstdio>

#include "text.hpp"

namespace pgpool_stats::core {

namespace {

// The payload's JSON.
class Json : public Text {
public:
    using Text::Text;

    void integer(int64_t v) {
        char digits[24];
        std::snprintf(digits, sizeof digits, "%" PRId64, v);
        add(digits);
    }
    // A JSON string. Bytes from 0x80 on pass as they are: they are in the
    // server's encoding, which PostgreSQL converts to the listener's.
    void string(const char* s) {
        put('"');
        for (; *s; ++s) {
            const unsigned char c = static_cast<unsigned char>(*s);
            if (c == '"' || c == '\\') {
                put('\\');
                put(*s);
            } else if (c < 0x20 || c == 0x7f) {
                char escape[8];
                std::snprintf(escape, sizeof escape, "\\u%04x", c);
                add(escape);
            } else {
                put(*s);
            }
        }
        put('"');
    }
    void key(const char* name) {
        add(", ");
        string(name);
        add(": ");
    }
    // Milliseconds, or null for "never" (-1).
    void millis_or_null(int64_t ms) {
        if (ms < 0)
            add("null");
        else
            integer(ms);
    }
};

void write(Json& j, const Announcement& a, bool with_comment) {
    const bool set = a.action == AnnouncementAction::kSet;
    j.add("{\"action\": ");
    j.string(set ? "set" : "drop");
    j.key("application_name");
    j.string(a.row->application_name);
    j.key("sequence");
    j.integer(a.sequence);
    if (!set) {
        j.put('}');
        return;
    }
    const Budget& b = a.row->budget;
    j.key("max_connections");
    if (b.capped())
        j.integer(b.max_connections);
    else
        j.add("null");
    j.key("reserved_connections");
    j.integer(b.reserved_connections);
    j.key("mode");
    j.string(mode_name(b.mode));
    j.key("admission_timeout");
    j.integer(b.admission_timeout_ms);
    j.key("idle_in_transaction_timeout");
    j.millis_or_null(b.idle_in_transaction_timeout_ms);
    j.key("idle_session_timeout");
    j.millis_or_null(b.idle_session_timeout_ms);
    j.key("allowed_roles");
    if (!b.roles_restricted()) {
        j.add("null");
    } else {
        j.put('[');
        for (int32_t k = 0; k < b.allowed_role_count && k < kMaxAllowedRoles; ++k) {
            if (k > 0) j.add(", ");
            j.string(b.allowed_roles[k]);
        }
        j.put(']');
    }
    if (with_comment) {
        j.key("comment");
        if (a.comment == nullptr)
            j.add("null");
        else
            j.string(a.comment);
    }
    j.key("truncated");
    j.add(with_comment ? "false" : "true");
    j.put('}');
}

}  // namespace

size_t write_announcement(const Announcement& a, char* out, size_t out_size) noexcept {
    // Only the comment is unbounded. Without it the row always fits: 17
    // names of 63 bytes (the application's and 16 roles), each byte escaped
    // to at most 6, and numbers, make under 7,000 bytes (unit-tested).
    Json measure(nullptr, 0);
    write(measure, a, true);
    Json j(out, out_size);
    write(j, a, measure.length() <= kAnnouncementMaxBytes);
    return j.length();
}

}  // namespace pgpool_stats::core
