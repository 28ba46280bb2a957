// Text written into a caller's buffer like snprintf: what does not fit is
// counted, not written, so a caller can ask for the length first. The core
// writes its texts (pool_config() formats, announcements) with it, without
// allocating.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdio>

namespace pgpool_stats::core {

class Text {
public:
    Text(char* out, size_t out_size) : out_(out), out_size_(out_size) {
        if (out_size_ > 0) out_[0] = '\0';
    }
    // The whole text's length, written or not (excluding the terminator).
    size_t length() const { return length_; }

    void put(char c) {
        if (length_ + 1 < out_size_) {
            out_[length_] = c;
            out_[length_ + 1] = '\0';
        }
        ++length_;
    }
    void add(const char* s) {
        for (; *s; ++s) put(*s);
    }
    void addf(const char* format, ...) __attribute__((format(printf, 2, 3))) {
        char piece[256];
        va_list args;
        va_start(args, format);
        std::vsnprintf(piece, sizeof piece, format, args);
        va_end(args);
        add(piece);
    }

private:
    char* out_;
    size_t out_size_;
    size_t length_ = 0;
};

}  // namespace pgpool_stats::core
