// The watch's BPF tracker (`--tracker bpf`): the placement tracer following the watched QEMUs,
// the placement map fed from its ring buffer, and the image pages waiting for a placed pass.
// The loop polls fd() beside its signals, calls drain() when records wait and scrub() soon after
// (within --merge-delay), so a block a guest read is looked at within milliseconds, and only
// that block.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "scrubber/pass/image_set.hpp"
#include "scrubber/pass/eviction_candidates.hpp"
#include "scrubber/pass/placed_pass.hpp"
#include "scrubber/placement/placement_map.hpp"
#include "scrubber/placement/placement_tracer.hpp"
#include "snapshot/discovery/vm.hpp"

namespace singleton {

// `--tracker`: how the watch learns what the guests read.
//   scan: today's I/O triggers and full-RAM index of the guests that read;
//   bpf:  the placement tracer (exit 3 when it cannot load);
//   auto: bpf when it loads, else scan (saying why once).
enum class TrackerChoice { kAuto, kBpf, kScan };
TrackerChoice tracker_choice_from_string(const std::string& text);  // throws Error(kUsage)

struct TrackingCounts {
  uint64_t records = 0;            // records taken from the ring buffer
  uint64_t other_files = 0;        // records on files that are not a watched image
  uint64_t pending_overflow = 0;   // placed pages not queued: too many waiting (reconciled later)
};

class PlacementTracking {
 public:
  // Loads and attaches the tracer; throws TracerUnavailable (exit 3) with the reason.
  explicit PlacementTracking(const std::string& kernel_btf);

  // Readable when records wait in the ring buffer.
  int fd() const { return tracer_.fd(); }

  // The VMs and images the watch now has: new QEMUs are followed, gone ones unfollowed and
  // their placements forgotten; pages waiting for images that changed are dropped (the next
  // full pass covers them).
  void set_vms(std::span<const Vm> vms, const ImageSet& images);

  // Takes every record waiting; placed pages of watched images are queued for scrub().
  void drain();

  // Pages are waiting, and since when (the merge delay counts from the first).
  bool has_pending() const { return !pending_.empty(); }
  std::chrono::steady_clock::time_point pending_since() const { return pending_since_; }
  // Pages held back for a retry (dirty or writeback folios) whose time has come join the queue.
  void requeue_due_retries(std::chrono::steady_clock::time_point now);

  // One placed pass over the queued pages.
  PassReport scrub(PageCacheView& view, ImageSet& images, std::span<const Vm> vms,
                   const PassOptions& options);

  // --evict-when pressure while memory is free: the queued pages are kept as candidates, with
  // the time they were placed, instead of being looked at.
  void hold_pending();
  // Under pressure: a placed pass over up to `pages` candidates, taken in `order`.
  PassReport scrub_candidates(PageCacheView& view, ImageSet& images, std::span<const Vm> vms,
                              const PassOptions& options, EvictOrder order, size_t pages);
  size_t candidates() const { return candidates_.size(); }

  // Re-reads up to `n` verified placements; returns how many were dropped as stale.
  size_t reverify(size_t n) { return scrubber_.reverify(n); }

  // Distinct pages placed on image `i` since the last call (the watch compares them with the
  // image's cache growth: growth the tracker did not see is I/O that bypasses it).
  uint64_t take_placed_on(size_t image);

  const PlacementMap& map() const { return map_; }
  const TrackingCounts& counts() const { return counts_; }
  PlacementDrops drops() const { return tracer_.drops(); }

 private:
  static constexpr size_t kMaxPendingPages = size_t{1} << 20;  // 4 GiB of image blocks

  PlacementTracer tracer_;
  FdResolver files_;
  PlacementMap map_;
  PlacedScrubber scrubber_{map_};
  std::set<pid_t> followed_;
  // Runs the placed pass over `pages` and queues the pages it says to retry.
  PassReport scrub_pages(PageCacheView& view, ImageSet& images, std::span<const Vm> vms,
                         PendingPages& pages, const PassOptions& options);

  std::map<ImageFileId, size_t> image_index_;  // (dev, inode) -> index in the ImageSet
  std::vector<ImageFileId> image_ids_;          // index in the ImageSet -> (dev, inode)
  EvictionCandidates candidates_;
  PendingPages pending_;
  size_t pending_pages_ = 0;
  std::chrono::steady_clock::time_point pending_since_{};
  PendingPages retry_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::map<size_t, uint64_t> placed_on_;
  TrackingCounts counts_;
};

}  // namespace singleton
