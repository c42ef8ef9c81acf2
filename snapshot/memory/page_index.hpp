// The set of content hashes of one guest's memory: a sorted vector of distinct 64-bit hashes and
// a directory of where each range of top bits starts.
//
// Why not a hash set: a Boost flat hash set needed 16.9 B per page in bench/snapshot_bench (8 B
// per slot, load factor ~0.5 after growth) and a node set far more; the sorted vector needs 8 B
// per distinct page, and is built once per pass by one sort. XXH64 values are uniform, so a
// directory with one 4-byte entry per ~4 hashes (<= 1 B per page) narrows a lookup to about
// one cache line. Skewed input stays correct (binary search inside a bucket), only slower.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace singleton {

class PageIndex {
 public:
  PageIndex() = default;
  // Takes hashes in any order, with duplicates.
  explicit PageIndex(std::vector<uint64_t> hashes);

  bool contains(uint64_t hash) const;
  size_t size() const { return hashes_.size(); }
  bool empty() const { return hashes_.empty(); }
  // Heap bytes held by the index (hashes and directory).
  size_t memory_bytes() const {
    return hashes_.capacity() * sizeof(uint64_t) + directory_.capacity() * sizeof(uint32_t);
  }
  // Ascending, distinct.
  std::span<const uint64_t> hashes() const { return hashes_; }

 private:
  std::vector<uint64_t> hashes_;
  // directory_[b] = index of the first hash whose top `directory_bits_` bits are >= b; one extra
  // entry at the end. Empty when the index is tiny.
  std::vector<uint32_t> directory_;
  int directory_bits_ = 0;
};

}  // namespace singleton
