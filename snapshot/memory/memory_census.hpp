// What one guest's RAM holds, counted for `singleton report`: present, zero and KSM pages, the
// content hash of every other present page *with its multiplicity* (a scrub pass keeps only the
// distinct ones), and a compression sample.
//
// Every page is read through /proc/PID/mem, never process_vm_readv: a report must leave KSM
// merges as they are, and a pin unshares a KSM page (process_memory.hpp, README "Kernel facts").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "snapshot/discovery/vm.hpp"
#include "snapshot/memory/compression_sample.hpp"
#include "snapshot/memory/smaps.hpp"

namespace singleton {

struct CensusOptions {
  RegionSelection regions = RegionSelection::kMergeable;
  uint32_t sample_every = 100;  // compression sample: one present page in this many
  size_t read_batch_bytes = 1024 * 1024;
  size_t pagemap_batch_pages = 64 * 1024;
  std::function<void(uint64_t pages_read)> on_batch;  // progress
};

struct MemoryCensus {
  Vm vm;
  uint64_t region_bytes = 0;    // guest RAM as mapped (the selected regions)
  uint64_t present_pages = 0;   // resident (pagemap)
  uint64_t zero_pages = 0;      // present pages of zeros (the shared zero page included)
  uint64_t ksm_pages = 0;       // present pages on a KSM frame (already merged)
  uint64_t pages_read = 0;
  // XXH64 of every present non-zero page, ascending, duplicates kept.
  std::vector<uint64_t> hashes;
  CompressionSample sample;
  double seconds = 0;
  bool vanished = false;  // the process exited or unmapped its RAM meanwhile
  std::string error;      // "" when complete; else names the VM and what failed

  bool complete() const { return !vanished && error.empty(); }
};

// Never throws for problems of the process (gone, no access): they land in `error`.
MemoryCensus take_memory_census(const Vm& vm, const CensusOptions& options = {});

}  // namespace singleton
