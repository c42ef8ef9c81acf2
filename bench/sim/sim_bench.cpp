// How fast the model simulates and how much memory it takes per block it tracks (issue 14:
// >= 10 M accesses/s on one core, <= 64 B per tracked block). items_per_second is simulated
// accesses per second; bytes_per_block is the model's memory over its cache slots (the guests'
// and the host's). Two sizes: the fio experiment's (fits the CPU caches) and 100 VMs at a tenth
// of the scale (200 K-block guests, 300 K-block images, 10 M-block host: 1 GiB of model,
// every access a DRAM miss or several).
#include <benchmark/benchmark.h>

#include "bench/sim/phases.hpp"
#include "scrubber/advise/cache_model.hpp"
#include "scrubber/advise/huge_page_allocator.hpp"

namespace {

using namespace singleton;

void simulate(benchmark::State& state, uint32_t vms, uint64_t data, uint64_t guest, uint64_t host,
              const char* workload, const char* policy, bool huge_pages = true) {
  advise::use_huge_pages = huge_pages;
  advise::CacheModel model(advise::Topology::uniform(vms, data, guest, host, false),
                           advise::parse_policy(policy));
  const std::vector<uint64_t> pages(vms, data);
  const uint64_t per_vm = std::max<uint64_t>(1, 4000000 / vms);
  // Warm: the caches full, as in a long run.
  sim::run_phases(model, {sim::Phase{"warm", {sim::parse_workload(workload)}, 2 * (guest + host / vms), 1, false}}, pages);
  uint64_t seed = 2;
  for (auto _ : state)
    sim::run_phases(model, {sim::Phase{"run", {sim::parse_workload(workload)}, per_vm, seed++, false}}, pages);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * per_vm * vms));
  state.counters["bytes_per_block"] =
      static_cast<double>(model.bytes()) / static_cast<double>(model.tracked_blocks());
}

void experiment_uniform_inclusive(benchmark::State& s) { simulate(s, 2, 65536, 33280, 65536, "uniform", "inclusive"); }
void experiment_zipf_pressure(benchmark::State& s) { simulate(s, 2, 65536, 33280, 65536, "zipf:0.8", "pressure:newest"); }
void tenth_scale_uniform_inclusive(benchmark::State& s) { simulate(s, 100, 300000, 200000, 10000000, "uniform", "inclusive"); }
void tenth_scale_zipf_pressure(benchmark::State& s) { simulate(s, 100, 300000, 200000, 10000000, "zipf:0.8", "pressure:newest"); }
void tenth_scale_zipf_eager(benchmark::State& s) { simulate(s, 100, 300000, 200000, 10000000, "zipf:0.8", "eager:1"); }
// The baseline of the huge pages' gain: the same model on 4 KiB pages.
void tenth_scale_zipf_pressure_small_pages(benchmark::State& s) {
  simulate(s, 100, 300000, 200000, 10000000, "zipf:0.8", "pressure:newest", false);
}

BENCHMARK(experiment_uniform_inclusive)->Unit(benchmark::kMillisecond);
BENCHMARK(experiment_zipf_pressure)->Unit(benchmark::kMillisecond);
BENCHMARK(tenth_scale_uniform_inclusive)->Unit(benchmark::kMillisecond);
BENCHMARK(tenth_scale_zipf_pressure)->Unit(benchmark::kMillisecond);
BENCHMARK(tenth_scale_zipf_eager)->Unit(benchmark::kMillisecond);
BENCHMARK(tenth_scale_zipf_pressure_small_pages)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
