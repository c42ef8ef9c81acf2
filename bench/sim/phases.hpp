// Runs workloads through a model in phases (a warm-up, then the measured part; or the fio
// experiment's job sequence), the guests taking turns one access each, as guests running side by
// side at one rate would. Counters are kept per phase.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/sim/workload.hpp"
#include "scrubber/advise/cache_model.hpp"

namespace singleton::sim {

struct Phase {
  std::string name;
  std::vector<WorkloadSpec> workloads;  // VM i runs workloads[i % size]
  uint64_t accesses_per_vm = 0;
  uint64_t seed = 1;
  bool same_seed = false;  // every VM draws the same sequence (fio's randseed in every guest)
  // When given (one per VM), each VM's own count instead of accesses_per_vm: the guests take
  // turns while they all have accesses left, then the ones still going go on alone.
  std::vector<uint64_t> accesses_each = {};
};

// One VM per image slot 0 of each guest. Returns the counters of each phase.
std::vector<advise::ModelCounters> run_phases(advise::CacheModel& model,
                                              const std::vector<Phase>& phases,
                                              const std::vector<uint64_t>& vm_pages);

}  // namespace singleton::sim
