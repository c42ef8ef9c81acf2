// Per-VM figures from the guests' memory censuses: how much of each guest's RAM is zero,
// duplicated inside the guest, identical to another guest's pages (what KSM could merge), and a
// block of one of its own images.
#pragma once

#include <span>
#include <vector>

#include "scrubber/report/report_model.hpp"
#include "snapshot/memory/memory_census.hpp"
#include "snapshot/memory/page_index.hpp"

namespace singleton {

// censuses[i] and distinct[i] describe the same VM (distinct: its hashes without repeats).
// image_blocks[i]: the block hashes of VM i's images (nullptr entries: an image that could not be
// read; the figure is then left unknown).
std::vector<VmFigures> memory_figures(std::span<const MemoryCensus> censuses,
                                      std::span<const PageIndex> distinct,
                                      std::span<const std::vector<const PageIndex*>> image_blocks);

// Hashes sorted ascending (duplicates kept): how many belong to a run of two or more.
uint64_t pages_with_a_twin(std::span<const uint64_t> sorted_hashes);

}  // namespace singleton
