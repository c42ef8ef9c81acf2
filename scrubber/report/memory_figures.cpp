#include "scrubber/report/memory_figures.hpp"

#include "snapshot/base/page_size.hpp"

namespace singleton {

uint64_t pages_with_a_twin(std::span<const uint64_t> sorted) {
  uint64_t twins = 0;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i + 1;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    if (j - i > 1) twins += j - i;
    i = j;
  }
  return twins;
}

std::vector<VmFigures> memory_figures(std::span<const MemoryCensus> censuses,
                                      std::span<const PageIndex> distinct,
                                      std::span<const std::vector<const PageIndex*>> image_blocks) {
  std::vector<VmFigures> out;
  for (size_t v = 0; v < censuses.size(); ++v) {
    const MemoryCensus& c = censuses[v];
    VmFigures f;
    f.name = c.vm.name;
    f.pid = c.vm.pid;
    f.ram_bytes = c.vm.ram_bytes != 0 ? c.vm.ram_bytes : c.region_bytes;
    f.resident_pages = c.present_pages;
    f.zero_pages = c.zero_pages;
    f.ksm_pages = c.ksm_pages;
    f.same_vm_identical_pages = pages_with_a_twin(c.hashes);
    for (uint64_t hash : c.hashes) {
      for (size_t w = 0; w < censuses.size(); ++w) {
        if (w != v && censuses[w].complete() && distinct[w].contains(hash)) {
          ++f.other_vm_identical_pages;
          break;
        }
      }
    }
    bool known = true;
    for (const PageIndex* blocks : image_blocks[v]) known &= blocks != nullptr;
    if (known) {
      uint64_t matched = 0;
      for (uint64_t hash : c.hashes) {
        for (const PageIndex* blocks : image_blocks[v]) {
          if (blocks->contains(hash)) {
            ++matched;
            break;
          }
        }
      }
      f.image_block_pages = matched;
    }
    f.sample_pages = c.sample.sampled_pages();
    f.sample_every = c.sample.every();
    f.sample_compressed_bytes = c.sample.compressed_bytes();
    f.compression_ratio = c.sample.ratio();
    f.seconds = c.seconds;
    f.error = c.error;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace singleton
