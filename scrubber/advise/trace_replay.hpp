// A recorded trace through the model. A trace holds what QEMU read and wrote: the guests'
// misses, not their hits. So the model's guests see only those accesses, and their cache sizes
// are inferred from the trace (or given): a block a guest reads again must have left its cache,
// so the accesses between its two reads bound the cache from above. What the replay measures
// is the host cache under the guests' miss stream: host hits, device reads, what it holds.
#pragma once

#include <cstdint>
#include <vector>

#include "scrubber/advise/cache_policy.hpp"
#include "scrubber/advise/model_counters.hpp"
#include "scrubber/advise/topology.hpp"
#include "scrubber/advise/trace_reader.hpp"

namespace singleton::advise {

// Per VM: the 1st percentile of the number of its accesses strictly between two accesses to one
// block
// (so that under FIFO at most 1% of its re-reads would have been hits, which they were not);
// the VM's distinct blocks when it read no block twice (its cache never had to drop one).
std::vector<uint64_t> infer_guest_blocks(const Trace& trace);

// The trace's VMs and images with these cache sizes (an image read by several VMs is shared).
Topology trace_topology(const Trace& trace, const std::vector<uint64_t>& guest_blocks,
                        uint64_t host_blocks, SharedRule rule);

// Replays every record; the first `warmup` share of them only fill the caches (not counted).
ModelCounters replay(const Trace& trace, const Topology& topology, const Policy& policy,
                     double warmup);

}  // namespace singleton::advise
