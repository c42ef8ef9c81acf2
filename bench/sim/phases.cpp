#include "bench/sim/phases.hpp"

#include <array>
#include <stdexcept>
#include <string>

namespace singleton::sim {
namespace {

// Accesses generated (and their memory prefetched) before the first of them runs: enough to
// overlap the cache misses of one with the work of the others.
constexpr size_t kAhead = 16;

struct Pending {
  uint32_t attachment;
  uint32_t page;
  bool write;
};

}  // namespace

std::vector<advise::ModelCounters> run_phases(advise::CacheModel& model,
                                              const std::vector<Phase>& phases,
                                              const std::vector<uint64_t>& vm_pages) {
  std::vector<advise::ModelCounters> out;
  const uint32_t vms = static_cast<uint32_t>(vm_pages.size());
  for (const Phase& phase : phases) {
    model.reset_counters();
    std::vector<AccessStream> streams;
    for (uint32_t v = 0; v < vms; ++v) {
      const uint64_t seed = phase.same_seed ? phase.seed : phase.seed * 1000003 + v;
      streams.emplace_back(phase.workloads[v % phase.workloads.size()], vm_pages[v], seed);
    }
    std::vector<uint64_t> left(vms, phase.accesses_per_vm);
    if (!phase.accesses_each.empty()) {
      if (phase.accesses_each.size() != vms)
        throw std::invalid_argument("phase " + phase.name + ": " +
                                    std::to_string(phase.accesses_each.size()) +
                                    " access counts for " + std::to_string(vms) + " VMs");
      left = phase.accesses_each;
    }
    uint64_t total = 0;
    for (const uint64_t n : left) total += n;
    std::array<Pending, kAhead> ring;
    uint32_t vm = 0;
    for (uint64_t done = 0; done < total;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kAhead, total - done));
      for (size_t i = 0; i < n; ++i) {
        while (left[vm] == 0) vm = vm + 1 == vms ? 0 : vm + 1;  // some VM has accesses left
        --left[vm];
        Pending& p = ring[i];
        p.attachment = model.attachment(vm);
        p.page = streams[vm].next(p.write);
        model.prefetch(p.attachment, p.page);
        if (++vm == vms) vm = 0;
      }
      for (size_t i = 0; i < n; ++i) model.access(ring[i].attachment, ring[i].page, ring[i].write);
      done += n;
    }
    out.push_back(model.counters());
  }
  return out;
}

}  // namespace singleton::sim
