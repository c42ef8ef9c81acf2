// What one simulated guest reads: the workloads of issue 14, each a stream of page numbers of
// the guest's image. Named as on the command line and in the CSV:
//   uniform                     every page equally likely (fio random_distribution=random)
//   zipf:THETA                  fio's zipf:THETA (the ranks spread over the image, as fio's
//                               hash does: the hot blocks are not the image's first ones)
//   loop[:SHARE]                the first SHARE of the image, in order, again and again
//   seq                         loop:1 (fio rw=read; the experiment's warm-up)
//   hotscan[:HOT[:P]]           with probability P a uniform read of the first HOT share,
//                               else the next page of a scan of the rest
//   shifting[:HOT[:P[:EVERY]]]  with probability P a read of a hot set of HOT share that moves
//                               to a random place every EVERY reads of this guest, else uniform
//   NAME@W                      any of the above with a share W of writes (randrw: uniform@0.3)
// A mixture gives each VM its own: "zipf:0.8,uniform,hotscan" (VM i takes entry i mod 3).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/sim/random.hpp"

namespace singleton::sim {

struct WorkloadSpec {
  enum class Kind { kUniform, kZipf, kLoop, kHotScan, kShifting };
  Kind kind = Kind::kUniform;
  double theta = 0.8;
  double share = 1.0;     // loop: share of the image; hotscan/shifting: hot share
  double hot_prob = 0.9;
  uint64_t every = 0;     // shifting: reads between moves (0: the image's pages)
  double first = 0;       // loop: where it starts, a share of the image (fio's offset=)
  double write_share = 0;
  std::string name;       // as parsed
};

// Throws std::invalid_argument naming the bad part.
WorkloadSpec parse_workload(const std::string& text);
std::vector<WorkloadSpec> parse_mixture(const std::string& text);  // comma-separated

// One guest's accesses under a spec, over an image of `pages` pages.
class AccessStream {
 public:
  AccessStream(const WorkloadSpec& spec, uint64_t pages, uint64_t seed);
  uint32_t next(bool& write) {
    write = spec_.write_share > 0 && mix_.unit() < spec_.write_share;
    switch (spec_.kind) {
      case WorkloadSpec::Kind::kUniform: return static_cast<uint32_t>(rng_.below(pages_));
      case WorkloadSpec::Kind::kZipf: return static_cast<uint32_t>((zipf_.draw(rng_) - 1) * spread_ % pages_);
      case WorkloadSpec::Kind::kLoop: return next_in_loop();
      case WorkloadSpec::Kind::kHotScan: return next_hot_scan();
      case WorkloadSpec::Kind::kShifting: return next_shifting();
    }
    return 0;
  }

 private:
  uint32_t next_in_loop();
  uint32_t next_hot_scan();
  uint32_t next_shifting();

  WorkloadSpec spec_;
  uint64_t pages_;
  Rng rng_;  // the offsets: one seed gives the same offsets with or without writes, as in fio
  Rng mix_;  // read or write
  Zipf zipf_;
  uint64_t spread_;     // zipf: a multiplier prime to the image's pages (rank -> page, one to one)
  uint64_t hot_;        // hot set or loop length
  uint64_t first_;      // loop: its first page
  uint64_t cursor_ = 0;  // loop and scan position
  uint64_t hot_base_ = 0;
  uint64_t reads_ = 0;
};

}  // namespace singleton::sim
