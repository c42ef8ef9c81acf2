// What one pass did: per VM (its snapshot), per image (its counts), and in total.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "scrubber/pass/eviction_plan.hpp"
#include "scrubber/pass/scrub_policy.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {

struct VmReport {
  std::string name;
  pid_t pid = 0;
  uint64_t indexed_pages = 0;
  double snapshot_seconds = 0;
  std::string error;  // "" when its snapshot is complete (or it exited)
  // The VM exited during its snapshot: it is being stopped, not failing. Its images were left
  // alone (nothing evicted on its behalf) and it does not make the pass partial.
  bool exited = false;
};

struct ImageReport {
  std::string path;
  std::vector<std::string> vms;
  PageCounts counts;
  double seconds = 0;
  std::string error;  // "" when done
  // Why the image was not scanned although nothing failed ("" when it was): a VM on it exited.
  std::string left_alone;
};

struct PassReport {
  std::string backend;
  std::string backend_note;  // why `auto` did not use the preferred backend ("" otherwise)
  bool dry_run = true;
  SharedPolicy shared_policy = SharedPolicy::kAll;
  std::vector<VmReport> vms;        // the VMs snapshotted in this pass
  std::vector<ImageReport> images;  // the images looked at, in the order they were chosen
  std::vector<std::string> uncached_disks;
  std::vector<std::string> discovery_errors;  // VMs or disks discovery could not describe
  PageCounts totals;
  double snapshot_seconds = 0;
  double scrub_seconds = 0;
  double duration_seconds = 0;
  // kDone, or kPartial when a VM or an image failed (the rest was done).
  ExitCode exit_code() const;
};

}  // namespace singleton
