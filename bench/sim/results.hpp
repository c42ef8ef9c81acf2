// The simulator's rows and the three forms they leave in, like the fio experiment's: a
// Markdown table (stdout and table.md), results.csv (every counter), and gnuplot figures per
// scenario (skipped, and said so, where gnuplot is missing).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "scrubber/advise/model_counters.hpp"

namespace singleton::sim {

struct ResultRow {
  std::string scenario;  // e.g. "1vm-own" or "8vm-shared"
  std::string workload;
  std::string policy;
  uint32_t vms = 0;
  bool shared = false;
  uint64_t guest_blocks = 0;  // per VM
  uint64_t host_blocks = 0;
  uint64_t data_blocks = 0;   // per image
  advise::ModelCounters counters;
  advise::ModelSummary summary;
  double seconds = 0;          // CPU time of the accesses (warm-up included)
  uint64_t simulated = 0;      // accesses simulated (warm-up included)
  double bytes_per_block = 0;  // model memory / tracked cache slots
};

void print_table(std::ostream& out, const std::vector<ResultRow>& rows);
void write_csv(const std::string& path, const std::vector<ResultRow>& rows);
// One figure per scenario and workload: hit ratios and device reads per policy. Returns what
// happened ("plots: ..." or why none were drawn).
std::string write_plots(const std::string& dir, const std::vector<ResultRow>& rows);

}  // namespace singleton::sim
