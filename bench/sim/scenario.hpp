// One simulated setup (guests, images, sizes, a workload) run under one policy: a warm-up of
// the same workload, then the measured accesses. The unit of every sweep of the simulator.
#pragma once

#include <cstdint>
#include <string>

#include "bench/sim/results.hpp"
#include "scrubber/advise/cache_policy.hpp"
#include "scrubber/advise/topology.hpp"

namespace singleton::sim {

struct Scenario {
  std::string name;
  uint32_t vms = 1;
  bool shared = false;        // one base image under every guest
  uint64_t data_blocks = 0;   // per image
  uint64_t guest_blocks = 0;  // per guest
  uint64_t host_blocks = 0;
  advise::GuestLru lru = advise::GuestLru::kLru;
  advise::SharedRule rule = advise::SharedRule::kAll;
  std::string workload = "uniform";  // a mixture: workload.hpp
  uint64_t warmup_per_vm = 0;
  uint64_t accesses_per_vm = 0;
  uint64_t seed = 20120618;
  bool same_seed = false;

  advise::Topology topology() const;
};

ResultRow run_scenario(const Scenario& s, const advise::Policy& policy);

}  // namespace singleton::sim
