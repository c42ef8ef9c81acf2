#include "scrubber/advise/guest_cache.hpp"

#include <algorithm>

namespace singleton::advise {

GuestCache::GuestCache(uint64_t pages, uint64_t capacity, GuestLru kind, double active_share)
    : nodes_(pages, Node{kOut, kNil, false}),
      capacity_(std::min(capacity, pages)),
      active_max_(static_cast<uint64_t>(static_cast<double>(capacity_) * active_share)),
      kind_(kind) {}

void GuestCache::promote(uint32_t block) {
  Node* n = nodes_.data();
  if (n[block].active) {
    active_.move_to_front(n, block);
    return;
  }
  inactive_.remove(n, block);
  n[block].active = true;
  active_.push_front(n, block);
  // Linux rebalances by moving the active list's tail back to the inactive list's head.
  while (active_.size() > active_max_) {
    const uint32_t old = active_.back();
    active_.remove(n, old);
    n[old].active = false;
    inactive_.push_front(n, old);
  }
}

uint32_t GuestCache::insert(uint32_t block) {
  Node* n = nodes_.data();
  uint32_t dropped = kNil;
  if (capacity_ == 0) return block;  // caches nothing: the block leaves at once
  if (size() >= capacity_) {
    Lru& from = inactive_.empty() ? active_ : inactive_;
    dropped = from.back();
    from.remove(n, dropped);
    n[dropped].active = false;
  }
  inactive_.push_front(n, block);
  return dropped;
}

}  // namespace singleton::advise
