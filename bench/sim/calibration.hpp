// The simulator against the fio experiment (bench/fio-experiment): the same guests, data,
// host cache bound, job sequence (a sequential warm-up, then --runs rounds of randread-uniform,
// randread-zipf, randrw, seqread; the shared variant randread-uniform only), the same seed in
// every guest, and each mode as a policy. With a results folder, each job is as long (in
// accesses) as it was measured and the model's hit ratios print beside the measured ones.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "scrubber/advise/guest_cache.hpp"

namespace singleton::sim {

// bench/experiment/cli.py's defaults, and what the guest's page cache holds of its RAM.
struct ExperimentSizes {
  uint32_t guests = 2;
  // Of --guest-mem 192: what a 6.1 guest of the kit caches of the data file at most, measured
  // with bench/sim/guest-cache-probe (Active(file) + Inactive(file) 106 MiB; MemTotal 153 MiB).
  uint64_t guest_cache_mib = 106;
  // With a results folder: the guests' cache fitted instead, as the share of the file cache=none
  // guests served of their uniform random reads (only their own cache serves them), x the data.
  // The kit's guests: 0.29 x 256 = 75 MiB; the rest of their 106 MiB of file cache holds fio's
  // libraries and the agent's files.
  bool fit_guest_cache = true;
  bool guest_cache_fitted = false;  // set by fitted()
  advise::GuestLru guest_lru = advise::GuestLru::kTwoList;  // Linux's
  // How fio drew each round's offsets. fio 3.33 (Debian 12) with randrepeat=1 ignores randseed:
  // every round, and randrw, replay randread-uniform's offsets (bench/sim/README.md). A results
  // folder with a `round_seed` column (randrepeat=0) had a sequence of its own in every round.
  bool offsets_per_round = false;
  uint64_t data_mib = 256;
  uint64_t seq_mib = 48;  // seqread per guest and round
  uint64_t host_cache_mib = 256;
  uint64_t shared_host_cache_mib = 128;
  double zipf_theta = 0.8;
  uint32_t runs = 3;
  double scrub_interval = 5;
  uint64_t seed = 20120618;
};

struct MeasuredRow {
  std::string variant, job, mode;
  double host_hit = -1, system_hit = -1;  // -1: not measured
  double iops = 0, fio_read_mib = 0, fio_write_mib = 0;
  int run = 1;             // the round (results.csv's `run`)
  std::vector<uint64_t> ios_each;  // each guest's reads + writes, when the folder has them
  double round_seed = -1;  // -1: the folder predates the column (offsets repeat every round)
};

// DIR/results.csv of a fio experiment; throws std::runtime_error when missing or unreadable.
std::vector<MeasuredRow> read_measured(const std::string& dir);

struct CalibrationRow {
  std::string variant, job, mode, policy;
  uint64_t accesses_per_guest = 0;
  double model_host_hit = 0, model_system_hit = 0;
  double measured_host_hit = -1, measured_system_hit = -1;
};

// `sizes` with the guest cache fitted to the measured rows (when asked and they allow).
ExperimentSizes fitted(const ExperimentSizes& sizes, const std::vector<MeasuredRow>& measured);

std::vector<CalibrationRow> calibrate(const ExperimentSizes& sizes,
                                      const std::vector<MeasuredRow>& measured);

// The table, and for the random-read jobs whether every row agrees within 0.05.
void print_calibration(std::ostream& out, const ExperimentSizes& sizes,
                       const std::vector<CalibrationRow>& rows, bool measured);

}  // namespace singleton::sim
