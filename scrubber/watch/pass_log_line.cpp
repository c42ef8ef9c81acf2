#include "scrubber/watch/pass_log_line.hpp"

#include <cstdio>

#include "scrubber/pagecache/page_cache_view.hpp"

namespace singleton {
namespace {

std::string mib(uint64_t pages) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(pages * kPageBytes) / (1 << 20));
  return text;
}

std::string plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

std::string pass_log_line(uint64_t number, const std::string& trigger, const PassReport& report) {
  uint64_t indexed = 0;
  for (const VmReport& vm : report.vms) indexed += vm.indexed_pages;
  const PageCounts& t = report.totals;
  char seconds[64];
  std::snprintf(seconds, sizeof seconds, " in %.2f s; ", report.snapshot_seconds);
  std::string line =
      "pass " + std::to_string(number) + " (" + trigger + "): " + plural(report.vms.size(), "VM") +
      " indexed " + std::to_string(indexed) + " pages" + seconds +
      plural(report.images.size(), "image") + ": cached " + mib(t.cached_pages_before) +
      ", double-cached " + mib(t.double_cached_pages) + ", " +
      (report.dry_run ? "would evict " : "evicted ") + mib(t.evicted_pages) + ", skipped " +
      mib(t.skipped.total()) + ", partial folios " + mib(t.partial_folio_pages);
  std::snprintf(seconds, sizeof seconds, "; %.2f s", report.duration_seconds);
  line += seconds;
  const size_t failed = report.failures();
  if (failed > 0) line += "; " + std::to_string(failed) + " failed (see below)";
  return line;
}

std::string pass_status_text(uint64_t number, const std::string& trigger,
                             const PassReport& report) {
  const uint64_t evicted = report.totals.evicted_pages;
  std::string text =
      "pass " + std::to_string(number) + " (" + trigger + "): " + plural(report.vms.size(), "VM") +
      " indexed, " + plural(report.images.size(), "image") + " scrubbed, " +
      (report.dry_run ? "would evict " : "evicted ") + plural(evicted, "page") + " (" +
      mib(evicted) + ")";
  const size_t failed = report.failures();
  if (failed > 0) text += "; " + std::to_string(failed) + " failed";
  return text;
}

TrackerWindow& TrackerWindow::operator+=(const PassReport& placed_pass) {
  ++placed_passes;
  placed_pages += placed_pass.tracked.placed_pages;
  evicted_pages += placed_pass.totals.evicted_pages;
  host_pages_hashed += placed_pass.tracked.host_pages_hashed;
  guest_pages_hashed += placed_pass.tracked.guest_pages_hashed;
  stale += placed_pass.tracked.stale_placements + placed_pass.tracked.outside_guest_ram;
  return *this;
}

std::string tracker_summary_line(const TrackerWindow& w, uint64_t map_pages,
                                 uint64_t kernel_drops) {
  return "tracker bpf: " + std::to_string(w.placed_passes) + " placed passes over " +
         std::to_string(w.placed_pages) + " pages since the last summary: evicted " +
         mib(w.evicted_pages) + ", hashed " + std::to_string(w.host_pages_hashed) + " host and " +
         std::to_string(w.guest_pages_hashed) + " guest pages, dropped " +
         std::to_string(w.stale) + " stale placements; map " + std::to_string(map_pages) +
         " pages; records dropped in the kernel " + std::to_string(kernel_drops);
}

}  // namespace singleton
