// What the host does with the blocks guests hold and drop: the policies the model compares.
// Named by one word (and its settings after colons) so that a sweep, a CSV row and
// `singleton advise`'s output use the same names: inclusive, none, none-bigger-guests, eager:T,
// pressure:newest|oldest[:STEP[:HEADROOM]], readmit, demote, save:RATE.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace singleton::advise {

enum class PolicyKind {
  kInclusive,         // cache=writeback alone: the host keeps copies of what guests hold
  kNone,              // cache=none: no host cache at all
  kNoneBiggerGuests,  // cache=none, the host cache's blocks split among the guests as RAM
  kEager,             // every `period` accesses, evict every duplicate (watch/scrub always)
  kPressure,          // evict duplicates only when the host cache must make room (watch pressure)
  kReadmit,           // eager:1, and blocks guests drop are read back into the host (device reads)
  kDemote,            // upper bound: eager:1, and dropped blocks move to the host for free
  kSaveOnOverwrite,   // as demote for a share `catch_rate` of the dropped blocks
};

enum class EvictOrder { kNewest, kOldest };  // by the time the guest got the block

struct Policy {
  PolicyKind kind = PolicyKind::kInclusive;
  uint64_t period = 1;          // kEager: T accesses between sweeps
  EvictOrder order = EvictOrder::kNewest;
  uint64_t step = 1;            // kPressure: duplicates evicted at once (--evict-step)
  uint64_t headroom = 0;        // kPressure: evict when this close to the bound (blocks)
  double catch_rate = 1.0;      // kSaveOnOverwrite

  std::string name() const;
  bool uses_host() const { return kind != PolicyKind::kNone && kind != PolicyKind::kNoneBiggerGuests; }
  // Evicts every duplicate every `period` accesses (eager and the exclusive bounds).
  bool sweeps() const {
    return kind == PolicyKind::kEager || kind == PolicyKind::kReadmit ||
           kind == PolicyKind::kDemote || kind == PolicyKind::kSaveOnOverwrite;
  }
  // An upper bound no host can reach today (nothing tells the host what a guest drops).
  bool is_bound() const { return kind == PolicyKind::kDemote || kind == PolicyKind::kSaveOnOverwrite; }
};

// Parses a name as printed by Policy::name(); throws std::invalid_argument naming what is wrong.
Policy parse_policy(const std::string& text);

// Every policy once, at the settings the fio experiment runs (pressure at step 1, no headroom).
std::vector<Policy> standard_policies();

}  // namespace singleton::advise
