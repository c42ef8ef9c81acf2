// What a run of the model counts, and the ratios the tables show. Counted per access; the
// occupancy sums too (one addition per access is cheaper than sampling on a clock).
#pragma once

#include <cstdint>

namespace singleton::advise {

struct ModelCounters {
  uint64_t accesses = 0;
  uint64_t writes = 0;
  uint64_t guest_hits = 0;       // reads and writes the guest's own cache served
  uint64_t guest_read_hits = 0;
  uint64_t host_hits = 0;        // guest read misses the host cache served
  uint64_t device_reads = 0;     // guest read misses read from the device
  uint64_t readmit_reads = 0;    // extra device reads of `readmit` (blocks guests dropped)
  uint64_t saved_drops = 0;      // dropped blocks moved to the host (demote, save)
  uint64_t lru_evictions = 0;    // host blocks the host's LRU dropped
  uint64_t duplicate_evictions = 0;  // host copies of guest-held blocks evicted by the policy
  uint64_t host_blocks_sum = 0;      // host cache size, summed over accesses
  uint64_t duplicate_blocks_sum = 0;  // duplicates in it, summed over accesses
};

// The ratios of a run (NaN-free: 0 when nothing was counted).
struct ModelSummary {
  double guest_hit = 0;          // share of accesses the guests' caches served
  double host_hit = 0;           // share of guest read misses the host cache served
  double system_hit = 0;         // share of reads that cost no device read
  double device_reads_per_1000 = 0;  // device reads (readmission's too) per 1,000 accesses
  double host_mean_blocks = 0;   // host cache occupancy, mean over accesses
  double duplicate_share = 0;    // share of that occupancy guests hold too
};

ModelSummary summarize(const ModelCounters& c);

}  // namespace singleton::advise
