#include "snapshot/page_index.hpp"

#include <algorithm>

namespace singleton {

PageIndex::PageIndex(std::vector<uint64_t> hashes) : hashes_(std::move(hashes)) {
  std::sort(hashes_.begin(), hashes_.end());
  hashes_.erase(std::unique(hashes_.begin(), hashes_.end()), hashes_.end());
  hashes_.shrink_to_fit();
}

bool PageIndex::contains(uint64_t hash) const {
  const uint64_t* data = hashes_.data();
  size_t lo = 0;
  size_t hi = hashes_.size();  // candidates are [lo, hi)
  // Interpolation search: uniform keys put the guess within a few slots of the answer. The
  // number of rounds is capped so that adversarial (non-uniform) input costs a binary search.
  for (int round = 0; round < 6 && hi - lo > 32; ++round) {
    uint64_t first = data[lo];
    uint64_t last = data[hi - 1];
    if (hash < first || hash > last) return false;
    if (first == last) return hash == first;
    unsigned __int128 span = static_cast<unsigned __int128>(hash - first) * (hi - 1 - lo);
    size_t guess = lo + static_cast<size_t>(span / (last - first));
    uint64_t value = data[guess];
    if (value == hash) return true;
    if (value < hash) {
      lo = guess + 1;
    } else {
      hi = guess;
    }
  }
  return std::binary_search(data + lo, data + hi, hash);
}

}  // namespace singleton
