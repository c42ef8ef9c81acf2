#include "scrubber/metrics/scrub_metrics.hpp"

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "scrubber/pagecache/page_cache_view.hpp"

namespace singleton {
namespace {

// Besides the reasons a folio was not evicted (kSkipReasons), the metric counts double-cached
// pages kept because their folio also holds pages no guest has.
constexpr const char* kPartialFolio = "partial_folio";
constexpr const char* kPassResults[] = {"done", "partial", "failed"};

std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

// One exposition line: `name{key="value"} value` (no label when key is null).
struct ParsedSample {
  std::string name;
  std::string label_key;
  std::string label_value;
  double value = 0;
};

// Parses a sample line of our own output (at most one label). False for anything else.
bool parse_sample(const std::string& line, ParsedSample& out) {
  if (line.empty() || line[0] == '#') return false;
  size_t at = line.find_first_of("{ ");
  if (at == std::string::npos) return false;
  out.name = line.substr(0, at);
  if (line[at] == '{') {
    const size_t equals = line.find('=', at);
    if (equals == std::string::npos || equals + 1 >= line.size() || line[equals + 1] != '"') {
      return false;
    }
    out.label_key = line.substr(at + 1, equals - at - 1);
    size_t k = equals + 2;
    for (; k < line.size() && line[k] != '"'; ++k) {
      if (line[k] == '\\' && k + 1 < line.size()) {
        ++k;
        out.label_value += line[k] == 'n' ? '\n' : line[k];
      } else {
        out.label_value += line[k];
      }
    }
    if (k + 1 >= line.size() || line[k + 1] != '}') return false;
    at = k + 2;
  }
  try {
    out.value = std::stod(line.substr(at));
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

}  // namespace

std::string prometheus_label_value(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void ScrubMetrics::add_pass(const PassReport& report, double now_unix) {
  // A tracked pass (placement tracker) looked at a few folios, not at the whole image: it adds
  // to the counters and leaves the per-image gauges as the last full pass measured them.
  const bool whole_images = report.tracker != "bpf";
  for (const ImageReport& image : report.images) {
    ImageFigures& figures = images_[image.path];
    if (whole_images) {
      figures.cached_bytes = image.counts.cached_pages_after * kPageBytes;
      figures.double_cached_bytes = image.counts.double_cached_pages * kPageBytes;
    }
    if (!report.dry_run) {
      figures.evicted_bytes_total += image.counts.evicted_pages * kPageBytes;
    }
  }
  for (const VmReport& vm : report.vms) vm_indexed_pages_[vm.name] = vm.indexed_pages;
  if (!report.dry_run) {
    evicted_bytes_total_ += report.totals.evicted_pages * kPageBytes;
    evicted_by_tracker_[report.tracker] += report.totals.evicted_pages * kPageBytes;
    for (const SkipReasonInfo& r : kSkipReasons) {
      skipped_pages_total_[std::string(r.name)] += report.totals.skipped[r.reason];
    }
    skipped_pages_total_[kPartialFolio] += report.totals.partial_folio_pages;
  }
  ++passes_total_[report.exit_code() == ExitCode::kDone ? "done" : "partial"];
  last_pass_seconds_ = report.duration_seconds;
  last_pass_timestamp_ = now_unix;
  snapshot_seconds_total_ += report.snapshot_seconds;
}

void ScrubMetrics::add_failed_pass(double now_unix) {
  ++passes_total_["failed"];
  last_pass_timestamp_ = now_unix;
}

void ScrubMetrics::forget_absent(const std::set<std::string>& present_images,
                                 const std::set<std::string>& present_vms) {
  std::erase_if(images_, [&](const auto& entry) { return !present_images.contains(entry.first); });
  std::erase_if(vm_indexed_pages_,
                [&](const auto& entry) { return !present_vms.contains(entry.first); });
}

void ScrubMetrics::set_policy_state(const EvictionPolicyState& state) { policy_ = state; }

void ScrubMetrics::set_tracker_state(const TrackerState& state) { tracker_ = state; }

void ScrubMetrics::set_watch_state(double cpu_seconds, double cpu_budget_percent,
                                   int pressure_level, double psi_some_avg10,
                                   uint64_t mem_available_bytes) {
  watch_ = true;
  cpu_seconds_ = cpu_seconds;
  cpu_budget_percent_ = cpu_budget_percent;
  pressure_level_ = pressure_level;
  psi_some_avg10_ = psi_some_avg10;
  mem_available_bytes_ = mem_available_bytes;
}

void ScrubMetrics::resume_counters_from(const std::string& textfile_content) {
  std::istringstream in(textfile_content);
  std::string line;
  ParsedSample sample;
  while (std::getline(in, line)) {
    sample = ParsedSample{};
    if (!parse_sample(line, sample) || sample.value < 0) continue;
    const auto count = static_cast<uint64_t>(sample.value);
    if (sample.name == "singleton_evicted_bytes_total" && sample.label_key.empty()) {
      evicted_bytes_total_ += count;
    } else if (sample.name == "singleton_skipped_pages_total" && sample.label_key == "reason") {
      skipped_pages_total_[sample.label_value] += count;
    } else if (sample.name == "singleton_passes_total" && sample.label_key == "result") {
      passes_total_[sample.label_value] += count;
    } else if (sample.name == "singleton_image_evicted_bytes_total" &&
               sample.label_key == "image") {
      images_[sample.label_value].evicted_bytes_total += count;
    } else if (sample.name == "singleton_snapshot_seconds_total" && sample.label_key.empty()) {
      snapshot_seconds_total_ += sample.value;
    }
  }
}

std::string ScrubMetrics::prometheus_text() const {
  std::ostringstream out;
  header(out, "singleton_image_cached_bytes", "gauge",
         "Bytes of the disk image in the host page cache after the last pass over it.");
  for (const auto& [path, figures] : images_) {
    out << "singleton_image_cached_bytes{image=\"" << prometheus_label_value(path) << "\"} "
        << figures.cached_bytes << "\n";
  }
  header(out, "singleton_image_double_cached_bytes", "gauge",
         "Bytes of the image in the host page cache whose content the attached guests held, "
         "as found by the last pass over it (before it evicted them).");
  for (const auto& [path, figures] : images_) {
    out << "singleton_image_double_cached_bytes{image=\"" << prometheus_label_value(path) << "\"} "
        << figures.double_cached_bytes << "\n";
  }
  header(out, "singleton_image_evicted_bytes_total", "counter",
         "Bytes of the image evicted from the host page cache.");
  for (const auto& [path, figures] : images_) {
    out << "singleton_image_evicted_bytes_total{image=\"" << prometheus_label_value(path) << "\"} "
        << figures.evicted_bytes_total << "\n";
  }
  header(out, "singleton_evicted_bytes_total", "counter",
         "Bytes evicted from the host page cache, all images.");
  out << "singleton_evicted_bytes_total " << evicted_bytes_total_ << "\n";
  header(out, "singleton_evicted_bytes_by_tracker_total", "counter",
         "Bytes evicted, by the path that found them: bpf (pages the placement tracker saw QEMU "
         "read or write), scan (full passes over the guests' RAM: start, reconciliation, or "
         "no tracker).");
  for (const char* tracker : {"bpf", "scan"}) {
    const auto it = evicted_by_tracker_.find(tracker);
    out << "singleton_evicted_bytes_by_tracker_total{tracker=\"" << tracker << "\"} "
        << (it == evicted_by_tracker_.end() ? 0 : it->second) << "\n";
  }
  std::string help = "Double-cached pages not evicted, by reason (";
  for (const SkipReasonInfo& r : kSkipReasons) {
    help += std::string(r.name) + ": " + std::string(r.what) + "; ";
  }
  help += std::string(kPartialFolio) + ": their folio also holds pages no guest has).";
  header(out, "singleton_skipped_pages_total", "counter", help.c_str());
  std::vector<std::string> reasons;
  for (const SkipReasonInfo& r : kSkipReasons) reasons.emplace_back(r.name);
  reasons.emplace_back(kPartialFolio);
  for (const std::string& reason : reasons) {
    const auto it = skipped_pages_total_.find(reason);
    out << "singleton_skipped_pages_total{reason=\"" << reason << "\"} "
        << (it == skipped_pages_total_.end() ? 0 : it->second) << "\n";
  }
  header(out, "singleton_passes_total", "counter",
         "Passes by result: done, partial (a VM or an image failed), failed (no report).");
  for (const char* result : kPassResults) {
    const auto it = passes_total_.find(result);
    out << "singleton_passes_total{result=\"" << result << "\"} "
        << (it == passes_total_.end() ? 0 : it->second) << "\n";
  }
  header(out, "singleton_pass_duration_seconds", "gauge", "Wall time of the last pass.");
  out << "singleton_pass_duration_seconds " << number(last_pass_seconds_) << "\n";
  header(out, "singleton_last_pass_timestamp_seconds", "gauge",
         "When the last pass ended (Unix time).");
  out << "singleton_last_pass_timestamp_seconds " << number(last_pass_timestamp_) << "\n";
  header(out, "singleton_snapshot_seconds_total", "counter",
         "Wall time spent indexing guest memory.");
  out << "singleton_snapshot_seconds_total " << number(snapshot_seconds_total_) << "\n";
  header(out, "singleton_vm_indexed_pages", "gauge",
         "Distinct non-zero guest pages in the VM's index at its last snapshot.");
  for (const auto& [name, pages] : vm_indexed_pages_) {
    out << "singleton_vm_indexed_pages{vm=\"" << prometheus_label_value(name) << "\"} " << pages
        << "\n";
  }
  if (watch_) {
    header(out, "singleton_watch_cpu_seconds_total", "counter",
           "CPU time used by singleton watch (user + system).");
    out << "singleton_watch_cpu_seconds_total " << number(cpu_seconds_) << "\n";
    header(out, "singleton_watch_cpu_budget_ratio", "gauge",
           "The CPU budget in effect, as a fraction of one core (--cpu-budget, raised under "
           "memory pressure).");
    out << "singleton_watch_cpu_budget_ratio " << number(cpu_budget_percent_ / 100) << "\n";
    header(out, "singleton_memory_pressure_level", "gauge",
           "Memory pressure as singleton sees it: 0 none, 1 moderate, 2 high.");
    out << "singleton_memory_pressure_level " << pressure_level_ << "\n";
    header(out, "singleton_memory_psi_some_avg10_ratio", "gauge",
           "/proc/pressure/memory some avg10, as a fraction.");
    out << "singleton_memory_psi_some_avg10_ratio " << number(psi_some_avg10_ / 100) << "\n";
    header(out, "singleton_memory_available_bytes", "gauge", "MemAvailable of /proc/meminfo.");
    out << "singleton_memory_available_bytes " << mem_available_bytes_ << "\n";
  }
  if (policy_) {
    const EvictionPolicyState& p = *policy_;
    header(out, "singleton_memory_needed", "gauge",
           "1 while --evict-when pressure sees memory needed (duplicates are evicted), else 0.");
    out << "singleton_memory_needed " << (p.memory_needed ? 1 : 0) << "\n";
    header(out, "singleton_pressure_steps_total", "counter",
           "Eviction steps taken because memory was needed.");
    out << "singleton_pressure_steps_total " << p.pressure_steps << "\n";
    if (p.cgroup_headroom_bytes) {
      header(out, "singleton_pressure_cgroup_headroom_bytes", "gauge",
             "Bytes left below the limit of --pressure-cgroup.");
      out << "singleton_pressure_cgroup_headroom_bytes " << *p.cgroup_headroom_bytes << "\n";
    }
    header(out, "singleton_kept_duplicate_candidate_pages", "gauge",
           "Image pages placed in a guest and kept in the host cache until memory is needed.");
    out << "singleton_kept_duplicate_candidate_pages " << p.kept_candidate_pages << "\n";
  }
  if (tracker_) {
    const TrackerState& t = *tracker_;
    header(out, "singleton_tracker_placed_pages", "gauge",
           "Image pages the BPF tracker knows a guest page for (the placement map).");
    out << "singleton_tracker_placed_pages " << t.placed_pages << "\n";
    header(out, "singleton_tracker_records_total", "counter",
           "Read and write records the BPF tracker delivered.");
    out << "singleton_tracker_records_total " << t.records << "\n";
    header(out, "singleton_tracker_records_lost_total", "counter",
           "Records the BPF tracker lost (ring buffer full, unreadable iovecs, no offset, too "
           "many in flight, undecodable); the reconciliation passes cover what they held.");
    out << "singleton_tracker_records_lost_total " << t.records_lost << "\n";
    header(out, "singleton_tracker_dropped_placements_total", "counter",
           "Placements dropped: the guest page no longer held the block, or its VM went away.");
    out << "singleton_tracker_dropped_placements_total " << t.dropped_placements << "\n";
  }
  return out.str();
}

}  // namespace singleton
