// The set of content hashes of one guest's memory: a sorted vector of distinct 64-bit hashes.
//
// Why not a hash set: a flat hash set needs ~8 B / load factor (10-16 B per page after growth)
// and a node set far more; a sorted vector needs exactly 8 B per distinct page, is built once per
// pass by one sort, and XXH64 values are uniform, so interpolation search finds a hash in a few
// probes (bench/snapshot_bench compares both).
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
  // Heap bytes held by the index.
  size_t memory_bytes() const { return hashes_.capacity() * sizeof(uint64_t); }
  // Ascending, distinct.
  std::span<const uint64_t> hashes() const { return hashes_; }

 private:
  std::vector<uint64_t> hashes_;
};

}  // namespace singleton
