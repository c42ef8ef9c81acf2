// Duplicates kept for later (`--evict-when pressure` with the bpf tracker): the image pages the
// guests were seen to read or write, with when, waiting until memory is needed. Under pressure
// the ones to look at first are taken in --evict-order: newest (the guest read them last, so its
// own LRU keeps them longest and the host copy is the least likely to be read again) or oldest.
// A page placed again moves to its new time; one looked at leaves (the placement map keeps it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "scrubber/pass/placed_pass.hpp"
#include "scrubber/pressure/pressure_gauge.hpp"

namespace singleton {

class EvictionCandidates {
 public:
  // Page `page` of image `image` (an ImageSet index) placed at `time_ns`.
  void add(size_t image, uint64_t page, uint64_t time_ns);
  // Up to `n` pages in `order`, removed from the candidates, as a placed pass takes them.
  PendingPages take(EvictOrder order, size_t n);
  void clear();
  size_t size() const { return time_of_.size(); }

 private:
  std::map<std::pair<size_t, uint64_t>, uint64_t> time_of_;
  std::set<std::tuple<uint64_t, size_t, uint64_t>> by_time_;  // (time, image, page)
};

}  // namespace singleton
