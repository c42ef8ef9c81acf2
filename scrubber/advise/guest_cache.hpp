// One guest's page cache in the model: which blocks of its disks it holds, and which it drops
// when a new one comes in. Either one LRU list, or a Linux-like active/inactive pair (a block
// enters the inactive list, a second access promotes it, the active list is kept at most at its
// share of the cache; a scan only ever flushes the inactive list).
#pragma once

#include <cstdint>
#include <vector>

#include "scrubber/advise/huge_page_allocator.hpp"
#include "scrubber/advise/index_list.hpp"

namespace singleton::advise {

enum class GuestLru { kLru, kTwoList };

class GuestCache {
 public:
  // `pages`: the guest's disk pages (its blocks are 0..pages-1); `capacity`: blocks it caches.
  // `active_share`: the active list's bound in kTwoList, as a fraction of the capacity.
  GuestCache(uint64_t pages, uint64_t capacity, GuestLru kind, double active_share = 0.5);

  // A read or write of `block`: true when cached (a hit; its recency is updated).
  bool hit(uint32_t block) {
    if (!Lru::contains(nodes_.data(), block)) return false;
    if (kind_ == GuestLru::kLru) {
      inactive_.move_to_front(nodes_.data(), block);
    } else {
      promote(block);
    }
    return true;
  }
  // Caches `block` (not cached). Returns the block dropped to make room, or kNil.
  uint32_t insert(uint32_t block);
  bool holds(uint32_t block) const { return Lru::contains(nodes_.data(), block); }

  uint64_t size() const { return inactive_.size() + active_.size(); }
  uint64_t capacity() const { return capacity_; }
  uint64_t bytes() const { return nodes_.capacity() * sizeof(Node); }
  const void* node_address(uint32_t block) const { return &nodes_[block]; }

 private:
  struct Node {
    uint32_t prev;
    uint32_t next;
    bool active;
  };
  using Lru = IndexList<Node, &Node::prev, &Node::next>;
  void promote(uint32_t block);

  std::vector<Node, HugePageAllocator<Node>> nodes_;  // gigabytes at scale, read at random
  uint64_t capacity_;
  uint64_t active_max_;
  GuestLru kind_;
  Lru inactive_;  // the only list of kLru
  Lru active_;
};

}  // namespace singleton::advise
