#include "wait_queue.hpp"

#include <new>

namespace pgpool_stats::core {

namespace {
constexpr size_t align8(size_t n) {
    return (n + 7) & ~size_t{7};
}
}  // namespace

size_t WaitQueue::bytes_needed(int32_t max_waiters, int32_t max_entries) noexcept {
    return align8(sizeof(WaitQueue)) + align8(sizeof(Line) * static_cast<size_t>(max_entries)) +
           sizeof(Node) * static_cast<size_t>(max_waiters);
}

WaitQueue* WaitQueue::create(void* memory, int32_t max_waiters, int32_t max_entries) noexcept {
    auto* q = new (memory) WaitQueue;
    q->max_waiters_ = max_waiters;
    q->max_entries_ = max_entries;
    q->first_line_ = -1;
    for (int32_t e = 0; e < max_entries; ++e) q->lines()[e] = Line{-1, -1, 0, -1, -1};
    for (int32_t w = 0; w < max_waiters; ++w) q->nodes()[w] = Node{-1, -1, -1, 0};
    return q;
}

WaitQueue::Line* WaitQueue::lines() noexcept {
    return reinterpret_cast<Line*>(reinterpret_cast<char*>(this) + align8(sizeof(WaitQueue)));
}
const WaitQueue::Line* WaitQueue::lines() const noexcept {
    return const_cast<WaitQueue*>(this)->lines();
}
WaitQueue::Node* WaitQueue::nodes() noexcept {
    return reinterpret_cast<Node*>(reinterpret_cast<char*>(lines()) +
                                   align8(sizeof(Line) * static_cast<size_t>(max_entries_)));
}
const WaitQueue::Node* WaitQueue::nodes() const noexcept {
    return const_cast<WaitQueue*>(this)->nodes();
}

void WaitQueue::enqueue(int32_t waiter, int32_t entry, int32_t token) noexcept {
    Node& n = nodes()[waiter];
    n.token = token;
    if (n.entry == entry) return;
    remove(waiter);
    Line& line = lines()[entry];
    n.entry = entry;
    n.prev = line.tail;
    n.next = -1;
    if (line.tail >= 0)
        nodes()[line.tail].next = waiter;
    else
        line.head = waiter;
    line.tail = waiter;
    if (line.length++ == 0) {  // a new non-empty line: at the front of their list
        line.prev_line = -1;
        line.next_line = first_line_;
        if (first_line_ >= 0) lines()[first_line_].prev_line = entry;
        first_line_ = entry;
    }
}

void WaitQueue::remove(int32_t waiter) noexcept {
    Node& n = nodes()[waiter];
    if (n.entry < 0) return;
    const int32_t entry = n.entry;
    Line& line = lines()[entry];
    if (n.prev >= 0)
        nodes()[n.prev].next = n.next;
    else
        line.head = n.next;
    if (n.next >= 0)
        nodes()[n.next].prev = n.prev;
    else
        line.tail = n.prev;
    n = Node{-1, -1, -1, n.token};
    if (--line.length == 0) {
        if (line.prev_line >= 0)
            lines()[line.prev_line].next_line = line.next_line;
        else
            first_line_ = line.next_line;
        if (line.next_line >= 0) lines()[line.next_line].prev_line = line.prev_line;
        line.prev_line = line.next_line = -1;
    }
}

bool WaitQueue::behind_others(int32_t waiter, int32_t entry) const noexcept {
    const Line& line = lines()[entry];
    return line.head >= 0 && line.head != waiter;
}

int32_t WaitQueue::line_of(int32_t waiter) const noexcept {
    return nodes()[waiter].entry;
}

int32_t WaitQueue::length(int32_t entry) const noexcept {
    return lines()[entry].length;
}

int32_t WaitQueue::first_in_lines(int32_t* tokens, int32_t max) const noexcept {
    int32_t n = 0;
    for (int32_t e = first_line_; e >= 0 && n < max; e = lines()[e].next_line)
        tokens[n++] = nodes()[lines()[e].head].token;
    return n;
}

int32_t WaitQueue::waiting_entries(int32_t* entries, int32_t max) const noexcept {
    int32_t n = 0;
    for (int32_t e = first_line_; e >= 0 && n < max; e = lines()[e].next_line) entries[n++] = e;
    return n;
}

}  // namespace pgpool_stats::core
