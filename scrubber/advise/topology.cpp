#include "scrubber/advise/topology.hpp"

namespace singleton::advise {

Topology Topology::uniform(uint32_t n, uint64_t pages, uint64_t cache, uint64_t host, bool shared) {
  Topology t;
  t.host_blocks = host;
  t.image_pages.assign(shared ? 1 : n, pages);
  for (uint32_t v = 0; v < n; ++v) t.vms.push_back(Vm{cache, {shared ? 0u : v}});
  return t;
}

uint64_t Topology::total_pages() const {
  uint64_t total = 0;
  for (uint64_t p : image_pages) total += p;
  return total;
}

uint64_t Topology::guest_blocks() const {
  uint64_t total = 0;
  for (const Vm& vm : vms) total += vm.cache_blocks;
  return total;
}

}  // namespace singleton::advise
