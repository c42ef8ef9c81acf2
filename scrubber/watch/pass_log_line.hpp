// The one line per pass on stderr (journald-friendly: no colours, no timestamps of our own).
#pragma once

#include <string>

#include "scrubber/pass/pass_report.hpp"

namespace singleton {

// "pass 7 (io): 1 VM indexed 45123 pages in 0.21 s; 1 image: cached 12.3 MiB, double-cached
//  10.0 MiB, evicted 10.0 MiB, skipped 0.1 MiB, partial folios 0.0 MiB; 0.25 s"
// `trigger` says why the pass ran (io, cache, sweep, new, once).
std::string pass_log_line(uint64_t number, const std::string& trigger, const PassReport& report);

// The STATUS= line after pass `number`: "pass 12 (io): 2 VMs indexed, 3 images scrubbed,
// evicted 1234 pages (4.8 MiB)", and "; 1 failed" when a VM or an image failed.
std::string pass_status_text(uint64_t number, const std::string& trigger, const PassReport& report);

// What the placed passes (--tracker bpf) did since the last summary line.
struct TrackerWindow {
  uint64_t placed_passes = 0;
  uint64_t placed_pages = 0;
  uint64_t evicted_pages = 0;
  uint64_t host_pages_hashed = 0;
  uint64_t guest_pages_hashed = 0;
  uint64_t stale = 0;  // placements dropped: stale, or outside guest RAM
  TrackerWindow& operator+=(const PassReport& placed_pass);
};

// The summary a minute: "tracker bpf: 821 placed passes over 114742 pages since the last
// summary: evicted 434.5 MiB, hashed 112663 host and 112663 guest pages, dropped 1426 stale
// placements; map 112799 pages; records dropped in the kernel 0".
std::string tracker_summary_line(const TrackerWindow& window, uint64_t map_pages,
                                 uint64_t kernel_drops);

}  // namespace singleton
