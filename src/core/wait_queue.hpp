// The lines of waiting logins: one line per application entry, first come,
// first served. A login that waits for a slot (admission_timeout) joins the
// tail of its application's line; only the first in line may take a slot the
// rule would give it, so a steady stream of later logins never overtakes an
// earlier one. Leaving (admitted, refused, timed out, gone) is O(1) from any
// place in a line, so a vanished waiter never blocks the ones behind it.
//
// Like the ledger: a fixed block of memory, no locking, allocation, I/O or
// exception (the shell keeps it in shared memory under the ledger lock).
// Waiters are numbered 0 .. max_waiters - 1 (the shell uses the backend's
// index); each carries a token the shell uses to wake it (its PGPROC number).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace pgpool_stats::core {

class WaitQueue {
public:
    static size_t bytes_needed(int32_t max_waiters, int32_t max_entries) noexcept;
    static WaitQueue* create(void* memory, int32_t max_waiters, int32_t max_entries) noexcept;

    // Puts `waiter` at the tail of `entry`'s line, unless it is in it already
    // (it keeps its place); leaves any other line first.
    void enqueue(int32_t waiter, int32_t entry, int32_t token) noexcept;
    // Takes `waiter` out of its line, wherever it stands; nothing if in none.
    void remove(int32_t waiter) noexcept;

    // Someone else stands first in `entry`'s line.
    bool behind_others(int32_t waiter, int32_t entry) const noexcept;
    // The entry whose line `waiter` stands in, or -1.
    int32_t line_of(int32_t waiter) const noexcept;
    int32_t length(int32_t entry) const noexcept;

    // The tokens of the first waiter of every line (at most max), to wake
    // them when a slot may have become free. Returns how many were written.
    int32_t first_in_lines(int32_t* tokens, int32_t max) const noexcept;
    // The entries whose line is not empty (at most max), for the sampler: it
    // visits them without scanning every entry. Returns how many were written.
    int32_t waiting_entries(int32_t* entries, int32_t max) const noexcept;

private:
    struct Line {
        int32_t head, tail, length;
        int32_t prev_line, next_line;  // the list of non-empty lines
    };
    struct Node {
        int32_t entry;  // -1 when not waiting
        int32_t prev, next;
        int32_t token;
    };
    Line* lines() noexcept;
    const Line* lines() const noexcept;
    Node* nodes() noexcept;
    const Node* nodes() const noexcept;

    int32_t max_waiters_;
    int32_t max_entries_;
    int32_t first_line_;  // -1 when nobody waits
};

static_assert(std::is_standard_layout_v<WaitQueue> && std::is_trivially_copyable_v<WaitQueue>,
              "WaitQueue lives in shared memory");

}  // namespace pgpool_stats::core
