#include "snapshot/memory/page_index.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <stdexcept>

namespace singleton {

PageIndex::PageIndex(std::vector<uint64_t> hashes) : hashes_(std::move(hashes)) {
  std::sort(hashes_.begin(), hashes_.end());
  hashes_.erase(std::unique(hashes_.begin(), hashes_.end()), hashes_.end());
  hashes_.shrink_to_fit();
  if (hashes_.size() > std::numeric_limits<uint32_t>::max())
    throw std::length_error("page index: more than 2^32 distinct pages");
  // Four to eight hashes per bucket: the directory costs at most 1 byte per page (+4 bytes).
  int bits = static_cast<int>(std::bit_width(hashes_.size() / 4)) - 1;
  if (bits < 4) return;  // tiny: a binary search over a few cache lines is as good
  directory_bits_ = std::min(bits, 30);
  size_t buckets = size_t{1} << directory_bits_;
  directory_.resize(buckets + 1);
  size_t next = 0;
  for (size_t bucket = 0; bucket < buckets; ++bucket) {
    directory_[bucket] = static_cast<uint32_t>(next);
    while (next < hashes_.size() && (hashes_[next] >> (64 - directory_bits_)) == bucket) ++next;
  }
  directory_[buckets] = static_cast<uint32_t>(hashes_.size());
}

bool PageIndex::contains(uint64_t hash) const {
  const uint64_t* first = hashes_.data();
  const uint64_t* last = first + hashes_.size();
  if (!directory_.empty()) {
    size_t bucket = hash >> (64 - directory_bits_);
    last = first + directory_[bucket + 1];
    first += directory_[bucket];
    for (; first != last && first + 8 > last; ++first) {  // short bucket: scan it
      if (*first >= hash) return *first == hash;
    }
    if (first == last) return false;
  }
  return std::binary_search(first, last, hash);
}

}  // namespace singleton
