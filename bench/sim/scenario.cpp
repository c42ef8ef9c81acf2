#include "bench/sim/scenario.hpp"

#include <time.h>

#include "bench/sim/phases.hpp"
#include "scrubber/advise/cache_model.hpp"

namespace singleton::sim {
namespace {

// This thread's CPU time: the rate of one core, even on a host busy with other work.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

advise::Topology Scenario::topology() const {
  advise::Topology t = advise::Topology::uniform(vms, data_blocks, guest_blocks, host_blocks, shared);
  t.guest_lru = lru;
  t.shared_rule = rule;
  return t;
}

ResultRow run_scenario(const Scenario& s, const advise::Policy& policy) {
  advise::CacheModel model(s.topology(), policy);
  const std::vector<WorkloadSpec> workloads = parse_mixture(s.workload);
  const double start = cpu_seconds();  // the accesses, not the allocation
  const std::vector<Phase> phases{
      Phase{"warm-up", workloads, s.warmup_per_vm, s.seed, s.same_seed},
      Phase{"measured", workloads, s.accesses_per_vm, s.seed + 1, s.same_seed}};
  const auto counters = run_phases(model, phases, std::vector<uint64_t>(s.vms, s.data_blocks));
  ResultRow row;
  row.seconds = cpu_seconds() - start;
  row.scenario = s.name;
  row.workload = s.workload;
  row.policy = policy.name();
  row.vms = s.vms;
  row.shared = s.shared;
  row.guest_blocks = s.guest_blocks;
  row.host_blocks = s.host_blocks;
  row.data_blocks = s.data_blocks;
  row.counters = counters.back();
  row.summary = advise::summarize(row.counters);
  row.simulated = (s.warmup_per_vm + s.accesses_per_vm) * s.vms;
  row.bytes_per_block = static_cast<double>(model.bytes()) / static_cast<double>(model.tracked_blocks());
  return row;
}

}  // namespace singleton::sim
