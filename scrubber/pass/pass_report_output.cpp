#include "scrubber/pass/pass_report_output.hpp"

#include <cstdio>
#include <string>

#include "snapshot/base/page_size.hpp"

namespace singleton {
namespace {

boost::json::object counts_json(const PageCounts& c) {
  boost::json::object o;
  o["cached_pages_before"] = c.cached_pages_before;
  o["double_cached_pages"] = c.double_cached_pages;
  o["evicted_pages"] = c.evicted_pages;
  o["skipped_pages"] = c.skipped.total();
  o["partial_folio_pages"] = c.partial_folio_pages;
  o["cached_pages_after"] = c.cached_pages_after;
  o["scanned_pages"] = c.scanned_pages;
  boost::json::object by_reason;
  for (const SkipReasonInfo& r : kSkipReasons) by_reason[r.name] = c.skipped[r.reason];
  o["skipped_by_reason"] = std::move(by_reason);
  return o;
}

boost::json::value error_json(const std::string& error) {
  if (error.empty()) return nullptr;
  return boost::json::value(error);
}

std::string mib(uint64_t pages) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", static_cast<double>(pages * kPageBytes) / (1 << 20));
  return buf;
}

void row(std::ostream& out, const std::string& name, const std::string& vms, const PageCounts& c) {
  char buf[512];
  std::snprintf(buf, sizeof(buf), "%-40s %-22s %9s %9s %9s %9s %9s %9s\n", name.c_str(),
                vms.c_str(), mib(c.cached_pages_before).c_str(), mib(c.double_cached_pages).c_str(),
                mib(c.evicted_pages).c_str(), mib(c.skipped.total()).c_str(),
                mib(c.partial_folio_pages).c_str(), mib(c.cached_pages_after).c_str());
  out << buf;
}

std::string shorten(const std::string& path, size_t width) {
  if (path.size() <= width) return path;
  return "..." + path.substr(path.size() - (width - 3));
}

}  // namespace

boost::json::object pass_report_json(const PassReport& report) {
  boost::json::object o;
  o["tracker"] = report.tracker;
  if (report.tracker == "bpf") {
    const TrackerCounts& t = report.tracked;
    o["tracked"] = {{"placed_pages", t.placed_pages},
                    {"host_pages_hashed", t.host_pages_hashed},
                    {"guest_pages_hashed", t.guest_pages_hashed},
                    {"guest_pages_matched", t.guest_pages_matched},
                    {"stale_placements", t.stale_placements},
                    {"outside_guest_ram", t.outside_guest_ram},
                    {"retry_pages", t.retry_pages},
                    {"incomplete_folio_pages", t.incomplete_folio_pages}};
  } else {
    o["tracked"] = nullptr;
  }
  o["backend"] = report.backend;
  o["backend_note"] = error_json(report.backend_note);
  o["dry_run"] = report.dry_run;
  o["shared_policy"] = to_string(report.shared_policy);
  o["duration_s"] = report.duration_seconds;
  o["timings"] = {{"snapshot_s", report.snapshot_seconds}, {"scrub_s", report.scrub_seconds}};
  o["totals"] = counts_json(report.totals);
  boost::json::array images;
  for (const ImageReport& image : report.images) {
    boost::json::object i = counts_json(image.counts);
    i["path"] = image.path;
    boost::json::array vms;
    for (const auto& vm : image.vms) vms.emplace_back(vm);
    i["vms"] = std::move(vms);
    i["seconds"] = image.seconds;
    i["left_alone"] = error_json(image.left_alone);
    i["error"] = error_json(image.error);
    images.emplace_back(std::move(i));
  }
  o["images"] = std::move(images);
  boost::json::array vms;
  for (const VmReport& vm : report.vms) {
    vms.emplace_back(boost::json::object{{"name", vm.name},
                                         {"pid", vm.pid},
                                         {"indexed_pages", vm.indexed_pages},
                                         {"snapshot_s", vm.snapshot_seconds},
                                         {"snapshot_reader", vm.snapshot_reader},
                                         {"exited", vm.exited},
                                         {"error", error_json(vm.error)}});
  }
  o["vms"] = std::move(vms);
  boost::json::array uncached;
  for (const auto& disk : report.uncached_disks) uncached.emplace_back(disk);
  o["uncached_disks"] = std::move(uncached);
  boost::json::array discovery;
  for (const auto& error : report.discovery_errors) discovery.emplace_back(error);
  o["discovery_errors"] = std::move(discovery);
  return o;
}

void print_pass_table(const PassReport& report, std::ostream& out) {
  out << (report.dry_run ? "singleton scan (dry run: nothing evicted; EVICTED = would evict)"
                         : "singleton scrub")
      << ", backend " << report.backend << ", shared policy " << to_string(report.shared_policy)
      << "\n";
  if (!report.backend_note.empty()) out << "note: " << report.backend_note << "\n";
  for (const VmReport& vm : report.vms) {
    char buf[256];
    std::snprintf(buf, sizeof(buf), "vm %-20s pid %-8d %9s MiB indexed in %.2f s", vm.name.c_str(),
                  vm.pid, mib(vm.indexed_pages).c_str(), vm.snapshot_seconds);
    out << buf << (vm.exited ? "  exited during the pass" : "")
        << (vm.error.empty() ? "" : "  ERROR: " + vm.error) << "\n";
  }
  out << "\n";
  char head[512];
  std::snprintf(head, sizeof(head), "%-40s %-22s %9s %9s %9s %9s %9s %9s\n", "IMAGE (MiB)", "VMS",
                "CACHED", "DOUBLE", "EVICTED", "SKIPPED", "PARTIAL", "AFTER");
  out << head;
  for (const ImageReport& image : report.images) {
    std::string vms;
    for (const auto& vm : image.vms) vms += (vms.empty() ? "" : ",") + vm;
    if (vms.size() > 22) vms = std::to_string(image.vms.size()) + " VMs";
    row(out, shorten(image.path, 40), vms, image.counts);
    if (!image.left_alone.empty()) out << "  left alone: " << image.left_alone << "\n";
    if (!image.error.empty()) out << "  ERROR: " << image.error << "\n";
  }
  row(out, "TOTAL", "", report.totals);
  const SkipCounts& s = report.totals.skipped;
  if (s.total() != 0) {
    out << "skipped pages by reason:";
    const char* separator = " ";
    for (const SkipReasonInfo& r : kSkipReasons) {
      out << separator << r.name << " " << s[r.reason];
      separator = ", ";
    }
    out << "\n";
  }
  for (const auto& disk : report.uncached_disks) {
    out << "not scrubbed (bypasses the host cache): " << disk << "\n";
  }
  char timing[160];
  std::snprintf(timing, sizeof(timing),
                "time: %.2f s (guest snapshots %.2f s, host cache %.2f s)\n",
                report.duration_seconds, report.snapshot_seconds, report.scrub_seconds);
  out << timing;
}

}  // namespace singleton
