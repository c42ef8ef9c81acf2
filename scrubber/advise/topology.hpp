// What the model simulates: the images (private, or one base under many guests), the guests
// with their cache sizes and the images each reads, the host cache's bound. Sizes in blocks of
// 4 KiB (a page of a guest, a page of an image file).
#pragma once

#include <cstdint>
#include <vector>

#include "scrubber/advise/guest_cache.hpp"

namespace singleton::advise {

enum class SharedRule {
  kAll,  // a shared block is a duplicate when every VM on its image holds it (the default)
  kAny,  // when one does
};

struct Topology {
  struct Vm {
    uint64_t cache_blocks = 0;
    std::vector<uint32_t> images;  // indices into `image_pages`, each read through this guest
  };
  std::vector<uint64_t> image_pages;  // pages of each image
  std::vector<Vm> vms;
  uint64_t host_blocks = 0;
  GuestLru guest_lru = GuestLru::kLru;
  SharedRule shared_rule = SharedRule::kAll;

  // `n` guests of `cache` blocks each on private images of `pages` (shared: one image for all).
  static Topology uniform(uint32_t n, uint64_t pages, uint64_t cache, uint64_t host, bool shared);
  uint64_t total_pages() const;
  uint64_t guest_blocks() const;  // sum of the guests' caches
};

}  // namespace singleton::advise
