// The one pass engine of scan, scrub and watch: snapshot the chosen guests, then view, match
// and (when evicting) evict the chosen images against every attached guest's last complete
// index, and report. scan and scrub choose everything, once; watch chooses what its triggers
// name and keeps each guest's index between passes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scrubber/pagecache/page_cache_view.hpp"
#include "scrubber/pass/image_set.hpp"
#include "scrubber/pass/pass_report.hpp"
#include "scrubber/pass/scrub_policy.hpp"
#include "snapshot/discovery/vm.hpp"
#include "snapshot/memory/guest_snapshot.hpp"
#include "snapshot/memory/ksm_hash_cache.hpp"
#include "snapshot/memory/page_index.hpp"

namespace singleton {

struct PassProgress {
  std::string stage;  // "snapshot", "scan", "scrub"
  std::string what;   // VM name or image path
  size_t item = 0;    // 1-based, of `items`
  size_t items = 0;
  uint64_t pages = 0;  // pages read or scanned so far in this item
};

struct PassOptions {
  bool evict = false;  // false: a dry run (scan) that changes nothing
  SharedPolicy shared_policy = SharedPolicy::kAll;
  uint64_t max_evict_pages = UINT64_MAX;
  // Called between batches of the snapshot and of the scan (a throw abandons the pass there:
  // after an eviction, never inside one).
  std::function<void(const PassProgress&)> on_progress;
  // Passed to the guest snapshots (tests hook on_batch to act in the middle of a pass).
  SnapshotOptions snapshot;
  // A guest that exits during its snapshot: for scan and scrub (true) the pass is done in part
  // (exit 1: a VM it was asked to cover was not), and its images are not scrubbed, as errors;
  // for watch (false) the VM is being stopped: it is reported as exited, its images are left
  // alone, and it is dropped at the next discovery, without an error.
  bool exited_guest_is_failure = true;
};

// A guest as a pass sees it: the VM and where its last complete index is kept, by the caller
// (for one pass in scan and scrub, across passes in watch).
struct PassGuest {
  const Vm* vm = nullptr;
  std::optional<PageIndex>* index = nullptr;
  bool snapshot_now = true;  // in: snapshot it in this pass
  bool exited = false;       // out: it exited during its snapshot
};

// What one pass works on. `guests` are parallel to the VM list `images` was collected from
// (Image::vms are indices into it); `chosen_images` index `images->images`.
struct PassScope {
  std::vector<PassGuest> guests;
  ImageSet* images = nullptr;
  std::vector<size_t> chosen_images;
};

// An empty report of a pass of `options` over `view` (backend, dry run, shared policy): what
// every pass engine fills in.
PassReport new_pass_report(const PageCacheView& view, const PassOptions& options);

// Snapshots the guests with snapshot_now (a complete snapshot replaces *index, an incomplete one
// clears it: nothing is evicted on that guest's behalf), then looks at the chosen images. An
// image with an attached guest that exited is not scrubbed (options.exited_guest_is_failure says
// whether that is an error). Image failures are recorded in their
// report, never thrown; what on_progress throws is passed on.
PassReport run_pass(PageCacheView& view, PassScope& scope, KsmHashCache& ksm,
                    const PassOptions& options);

// Everything, once (scan, scrub): every VM of `vms` snapshotted, every image of them looked at.
PassReport run_pass(PageCacheView& view, const std::vector<Vm>& vms, const PassOptions& options);

}  // namespace singleton
