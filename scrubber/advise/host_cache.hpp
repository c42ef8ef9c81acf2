// The host page cache in the model: one LRU list of image blocks with a bound (the host's RAM
// for page cache, or a memory cgroup's limit), and beside it the duplicates: blocks it holds that
// guests hold too, in the order the guests got them (the order `--evict-order` walks). A block
// is a duplicate once `need` guests hold it: 1, or every VM on a shared image under
// `--shared-policy all`.
#pragma once

#include <cstdint>
#include <vector>

#include "scrubber/advise/huge_page_allocator.hpp"
#include "scrubber/advise/index_list.hpp"

namespace singleton::advise {

class HostCache {
 public:
  // Blocks 0..blocks-1 are every image's pages end to end; `capacity` is the bound.
  HostCache(uint64_t blocks, uint64_t capacity);
  // Blocks [first, first+count) become duplicates when `need` guests hold them (default 1).
  void set_need(uint64_t first, uint64_t count, uint16_t need);

  bool contains(uint32_t b) const { return Lru::contains(nodes_.data(), b); }
  bool full() const { return lru_.size() >= capacity_; }
  void touch(uint32_t b) { lru_.move_to_front(nodes_.data(), b); }
  // Caches `b` (not cached) as the most recent; the caller made room.
  void admit(uint32_t b);
  void remove(uint32_t b);
  uint32_t least_recent() const { return lru_.back(); }

  // A guest cached `b` (its duplicate time is now) or dropped it.
  void guest_got(uint32_t b);
  void guest_dropped(uint32_t b);
  uint16_t holders(uint32_t b) const { return nodes_[b].holders; }
  bool duplicate(uint32_t b) const { return Dup::contains(nodes_.data(), b); }
  // The duplicate the guests got last (newest) or first (oldest); kNil when none.
  uint32_t newest_duplicate() const { return dup_.back(); }
  uint32_t oldest_duplicate() const { return dup_.front(); }

  uint64_t size() const { return lru_.size(); }
  uint64_t duplicates() const { return dup_.size(); }
  uint64_t capacity() const { return capacity_; }
  uint64_t bytes() const { return nodes_.capacity() * sizeof(Node); }
  const void* node_address(uint32_t b) const { return &nodes_[b]; }

 private:
  struct Node {
    uint32_t lru_prev;
    uint32_t lru_next;
    uint32_t dup_prev;
    uint32_t dup_next;
    uint16_t holders;  // guests holding the block, cached here or not
    uint16_t need;     // holders that make it a duplicate
  };
  using Lru = IndexList<Node, &Node::lru_prev, &Node::lru_next>;
  using Dup = IndexList<Node, &Node::dup_prev, &Node::dup_next>;
  bool is_held(const Node& n) const { return n.holders >= n.need; }

  std::vector<Node, HugePageAllocator<Node>> nodes_;  // gigabytes at scale, read at random
  uint64_t capacity_;
  Lru lru_;
  Dup dup_;  // front: oldest
};

}  // namespace singleton::advise
