#include "scrubber/pass/eviction_candidates.hpp"

namespace singleton {

void EvictionCandidates::add(size_t image, uint64_t page, uint64_t time_ns) {
  const auto [it, inserted] = time_of_.try_emplace({image, page}, time_ns);
  if (!inserted) {
    if (it->second == time_ns) return;
    by_time_.erase({it->second, image, page});
    it->second = time_ns;
  }
  by_time_.insert({time_ns, image, page});
}

PendingPages EvictionCandidates::take(EvictOrder order, size_t n) {
  PendingPages out;
  auto take_one = [&](auto it) {
    const auto [time, image, page] = *it;
    out[image].insert(page);
    time_of_.erase({image, page});
  };
  for (size_t k = 0; k < n && !by_time_.empty(); ++k) {
    if (order == EvictOrder::kNewest) {
      const auto it = std::prev(by_time_.end());
      take_one(it);
      by_time_.erase(it);
    } else {
      take_one(by_time_.begin());
      by_time_.erase(by_time_.begin());
    }
  }
  return out;
}

void EvictionCandidates::clear() {
  time_of_.clear();
  by_time_.clear();
}

}  // namespace singleton
