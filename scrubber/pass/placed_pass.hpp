// Scrubbing from the placement map (the BPF tracker): a pass over just the image pages QEMU was
// seen to read or write, instead of every guest's RAM. For each such page the host folio is
// hashed (only the folios holding those pages) and so is the guest page at the placed address
// (only those); a folio is evicted by the same rules as the full pass (eviction_plan: every page
// held per the shared policy, never dirty, writeback, mapped or locked, the audit log), with a
// per-VM index built from the guest pages that were found equal. Work per evicted page: one
// host page and one guest page hashed per placement, not (RAM + cache) / evicted.
//
// A placed page counts as held only at an address inside the VM's guest RAM (the regions the
// full snapshot indexes): QEMU's own buffers (block jobs, bounce buffers) are not guest memory.
// A guest page that no longer equals the block drops its placement.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "scrubber/pagecache/page_cache_view.hpp"
#include "scrubber/pass/image_set.hpp"
#include "scrubber/pass/pass_engine.hpp"
#include "scrubber/pass/pass_report.hpp"
#include "scrubber/placement/placement_map.hpp"
#include "snapshot/discovery/vm.hpp"
#include "snapshot/memory/process_memory.hpp"
#include "snapshot/memory/smaps.hpp"

namespace singleton {

// Image pages to look at, per image (an index into the ImageSet), ascending.
using PendingPages = std::map<size_t, std::set<uint64_t>>;

class PlacedScrubber {
 public:
  explicit PlacedScrubber(PlacementMap& map) : map_(map) {}

  // Looks at the `pending` pages of `images` (Image::vms index `vms`) and evicts the folios the
  // guests hold. `pending` is consumed; pages that must be looked at again (held, but their
  // folio is dirty or under writeback: a guest write not yet written back) are put back into
  // `retry`. options.evict false: a dry run.
  PassReport run(PageCacheView& view, ImageSet& images, std::span<const Vm> vms,
                 PendingPages& pending, PendingPages& retry, const PassOptions& options);

  // Re-reads up to `n` verified placements (round robin over the map) and drops those whose
  // guest page changed since: the map stays true without a full RAM scan. Returns how many
  // were dropped.
  size_t reverify(size_t n);

  // The VM of `pid` went away: its placements and what is cached about its memory.
  void forget(pid_t pid);

 private:
  // The guest-RAM regions of `pid` containing `addr`; re-read once per pass when an address
  // misses (QEMU maps RAM at start and on hotplug).
  bool in_guest_ram(pid_t pid, uint64_t addr, std::set<pid_t>& reread);

  // /proc/PID/mem of `pid`, kept open between passes (nullptr when it cannot be opened);
  // `reopen`: the kept one's process is gone.
  ProcessMemFile* mem_of(pid_t pid, bool reopen);

  PlacementMap& map_;
  std::map<pid_t, std::vector<MemoryRegion>> ram_;
  std::map<pid_t, std::unique_ptr<ProcessMemFile>> mem_;
  std::optional<PlacementKey> reverify_cursor_;
};

}  // namespace singleton
