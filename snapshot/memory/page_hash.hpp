// The content hash of a 4 KiB page: XXH64 with seed 0, the same function as the kernel's xxh64(),
// so hashes computed by the kernel module and by userspace compare.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <cstring>

#include "snapshot/memory/pagemap.hpp"
#include "snapshot/base/page_size.hpp"

namespace singleton {

inline uint64_t hash_page(const void* page) { return XXH64(page, kPageBytes, 0); }

// XXH64 of a page of zeros. Zero pages are counted, never indexed: every guest has plenty of
// them and evicting "duplicates" of zero blocks is pointless.
uint64_t zero_page_hash();

inline bool is_zero_page(const void* page) {
  static const unsigned char zeros[kPageBytes] = {};
  return std::memcmp(page, zeros, kPageBytes) == 0;
}

// True for a page of zeros; cheap for the others (the hash rules them out).
inline bool is_zero_page(const void* page, uint64_t hash) {
  return hash == zero_page_hash() && is_zero_page(page);
}

}  // namespace singleton
