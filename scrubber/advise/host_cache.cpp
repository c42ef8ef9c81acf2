#include "scrubber/advise/host_cache.hpp"

namespace singleton::advise {

HostCache::HostCache(uint64_t blocks, uint64_t capacity)
    : nodes_(blocks, Node{kOut, kNil, kOut, kNil, 0, 1}), capacity_(capacity) {}

void HostCache::set_need(uint64_t first, uint64_t count, uint16_t need) {
  for (uint64_t b = first; b < first + count; ++b) nodes_[b].need = need;
}

void HostCache::admit(uint32_t b) {
  Node* n = nodes_.data();
  lru_.push_front(n, b);
  if (is_held(n[b])) dup_.push_back(n, b);
}

void HostCache::remove(uint32_t b) {
  Node* n = nodes_.data();
  lru_.remove(n, b);
  if (Dup::contains(n, b)) dup_.remove(n, b);
}

void HostCache::guest_got(uint32_t b) {
  Node* n = nodes_.data();
  ++n[b].holders;
  if (!Lru::contains(n, b) || !is_held(n[b])) return;
  if (Dup::contains(n, b)) {
    dup_.move_to_back(n, b);  // placed again: its time is now
  } else {
    dup_.push_back(n, b);
  }
}

void HostCache::guest_dropped(uint32_t b) {
  Node* n = nodes_.data();
  --n[b].holders;
  if (Dup::contains(n, b) && !is_held(n[b])) dup_.remove(n, b);
}

}  // namespace singleton::advise
