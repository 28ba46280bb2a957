// Memory for a core structure that lives in one fixed block (Ledger,
// History, WaitQueue, ReapedLog): `bytes` bytes, 8-byte aligned as
// PostgreSQL's shared memory is (MAXALIGN), owned by the test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

class Block {
public:
    explicit Block(size_t bytes) : words_((bytes + 7) / 8) {}
    void* get() { return words_.data(); }

private:
    std::vector<uint64_t> words_;
};
