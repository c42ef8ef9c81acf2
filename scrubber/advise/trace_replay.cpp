#include "scrubber/advise/trace_replay.hpp"

#include <algorithm>
#include <unordered_map>

#include "scrubber/advise/cache_model.hpp"

namespace singleton::advise {

std::vector<uint64_t> infer_guest_blocks(const Trace& trace) {
  const size_t n = trace.vms.size();
  std::vector<std::vector<uint64_t>> gaps(n);
  std::vector<uint64_t> seen(n, 0);
  std::vector<std::unordered_map<uint64_t, uint64_t>> last(n);  // (slot, page) -> access number
  for (const TraceRecord& r : trace.records) {
    const uint64_t key = (uint64_t{r.slot} << 32) | r.page;
    const uint64_t now = seen[r.vm]++;
    const auto [it, added] = last[r.vm].emplace(key, now);
    if (!added) {
      gaps[r.vm].push_back(now - it->second);
      it->second = now;
    }
  }
  std::vector<uint64_t> blocks(n);
  for (size_t v = 0; v < n; ++v) {
    std::vector<uint64_t>& g = gaps[v];
    if (g.empty()) {
      blocks[v] = last[v].size();
      continue;
    }
    const size_t k = g.size() / 100;  // the 1st percentile
    std::nth_element(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(k), g.end());
    blocks[v] = std::max<uint64_t>(1, g[k] - 1);  // the accesses strictly between the two
  }
  return blocks;
}

Topology trace_topology(const Trace& trace, const std::vector<uint64_t>& guest_blocks,
                        uint64_t host_blocks, SharedRule rule) {
  Topology t;
  t.image_pages = trace.image_pages;
  t.host_blocks = host_blocks;
  t.shared_rule = rule;
  for (size_t v = 0; v < trace.vms.size(); ++v)
    t.vms.push_back(Topology::Vm{guest_blocks.at(v), trace.vm_images[v]});
  return t;
}

ModelCounters replay(const Trace& trace, const Topology& topology, const Policy& policy,
                     double warmup) {
  CacheModel model(topology, policy);
  const size_t first = static_cast<size_t>(static_cast<double>(trace.records.size()) *
                                           std::clamp(warmup, 0.0, 1.0));
  for (size_t i = 0; i < trace.records.size(); ++i) {
    if (i == first) model.reset_counters();
    const TraceRecord& r = trace.records[i];
    model.access(model.attachment(r.vm, r.slot), r.page, r.write);
  }
  if (first >= trace.records.size()) model.reset_counters();
  return model.counters();
}

}  // namespace singleton::advise
