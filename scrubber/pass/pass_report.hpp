// What one pass did: per VM (its snapshot), per image (its counts), and in total.
#pragma once

#include <sys/types.h>

#include <cstddef>
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
  std::string error;  // "" when its snapshot is complete (or it exited under a watch)
  // The VM exited during its snapshot: nothing was evicted on its behalf. An error for scan and
  // scrub (done in part); under a watch it is being stopped, not failing (no error).
  bool exited = false;
  std::string snapshot_reader;  // "kmod" (hashed in place) or "process_vm_readv" (copied)
};

struct ImageReport {
  std::string path;
  std::vector<std::string> vms;
  PageCounts counts;
  double seconds = 0;
  std::string error;  // "" when done
  // Why the image was not scanned although nothing failed ("" when it was): under a watch, a
  // VM on it exited.
  std::string left_alone;
};

// What a pass driven by the placement tracker did (tracker "bpf"): the work follows the pages
// QEMU was seen to read or write, and these counts show how much.
struct TrackerCounts {
  uint64_t placed_pages = 0;        // image pages looked at because they were placed
  uint64_t host_pages_hashed = 0;   // host pages hashed: the folios holding them
  uint64_t guest_pages_hashed = 0;  // guest pages hashed at their placed addresses
  uint64_t guest_pages_matched = 0; // of those, equal to the host page
  uint64_t stale_placements = 0;    // dropped: the guest page no longer held the block
  uint64_t outside_guest_ram = 0;   // dropped: the address is QEMU's own memory, not guest RAM
  uint64_t retry_pages = 0;         // held but dirty or under writeback: looked at again later
  uint64_t incomplete_folio_pages = 0;  // their folio holds pages not placed (yet): not hashed
};

struct PassReport {
  // "scan": every chosen guest's RAM indexed; "bpf": only the pages the tracker placed.
  std::string tracker = "scan";
  TrackerCounts tracked;  // tracker "bpf" only
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
  // VMs and images that failed (a VM that exited did not fail).
  size_t failures() const;
  // kDone, or kPartial when discovery, a VM or an image failed (the rest was done).
  ExitCode exit_code() const;
};

}  // namespace singleton
