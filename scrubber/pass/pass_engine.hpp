// One pass: snapshot the guests, then for each image view its host cache, match, evict, count.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "scrubber/pass/eviction_plan.hpp"
#include "scrubber/pass/image_set.hpp"
#include "scrubber/pagecache/page_cache_view.hpp"
#include "scrubber/pass/scrub_policy.hpp"
#include "snapshot/base/error.hpp"
#include "snapshot/memory/guest_snapshot.hpp"
#include "snapshot/memory/page_index.hpp"
#include "snapshot/discovery/vm.hpp"

namespace singleton {

struct PassProgress {
  std::string stage;  // "snapshot", "scan", "evict"
  std::string what;   // VM name or image path
  size_t item = 0;    // 1-based, of `items`
  size_t items = 0;
  uint64_t pages = 0;  // pages read or scanned so far in this item
};

struct PassOptions {
  bool evict = false;  // false: a dry run (scan) that changes nothing
  SharedPolicy shared_policy = SharedPolicy::kAll;
  uint64_t max_evict_pages = UINT64_MAX;
  std::function<void(const PassProgress&)> on_progress;
  // Passed to the guest snapshots (tests hook on_batch to act in the middle of a pass).
  SnapshotOptions snapshot;
};

struct VmReport {
  std::string name;
  pid_t pid = 0;
  uint64_t indexed_pages = 0;
  double snapshot_seconds = 0;
  std::string error;  // "" when its snapshot is complete
};

struct ImageReport {
  std::string path;
  std::vector<std::string> vms;
  PageCounts counts;
  double seconds = 0;
  std::string error;  // "" when done
};

struct PassReport {
  std::string backend;
  std::string backend_note;  // why `auto` did not use the preferred backend ("" otherwise)
  bool dry_run = true;
  SharedPolicy shared_policy = SharedPolicy::kAll;
  std::vector<VmReport> vms;
  std::vector<ImageReport> images;
  std::vector<std::string> uncached_disks;
  std::vector<std::string> discovery_errors;  // VMs or disks discovery could not describe
  PageCounts totals;
  double snapshot_seconds = 0;
  double scrub_seconds = 0;
  double duration_seconds = 0;
  // kDone, or kPartial when a VM or an image failed (the rest was done).
  ExitCode exit_code() const;
};

// What the guests attached to the images hold: one index per VM (nullptr when its snapshot is
// incomplete: nothing is evicted on that VM's behalf).
struct GuestHoldings {
  std::vector<const PageIndex*> indices;
};

// Views, matches and (with options.evict) evicts the images of `set` against `holdings`, adding
// one ImageReport per image to `report` and summing `report.totals`. Image failures are
// recorded in their report, never thrown.
void scrub_images(PageCacheView& view, ImageSet& set, const GuestHoldings& holdings,
                  const std::vector<Vm>& vms, const PassOptions& options, PassReport& report);

// The whole pass over `vms` (discovered or given): snapshots, then scrub_images.
PassReport run_pass(PageCacheView& view, const std::vector<Vm>& vms, const PassOptions& options);

}  // namespace singleton
