// What singleton tells Prometheus: figures of the last pass per image and VM, and counters
// summed over passes (evicted bytes, skipped pages by reason, passes by result).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "scrubber/pass/pass_report.hpp"

namespace singleton {

class ScrubMetrics {
 public:
  // Adds one pass (a full pass, or a watch step over some of the VMs and images). Images and
  // VMs the pass did not look at keep their last figures. `now_unix` stamps the pass.
  void add_pass(const PassReport& report, double now_unix);
  // A pass that did not run to a report (lock held, discovery failed).
  void add_failed_pass(double now_unix);
  // Drops the per-image and per-VM gauges of images and VMs no longer attached to any VM, so
  // a stopped VM's series end.
  void forget_absent(const std::set<std::string>& present_images,
                     const std::set<std::string>& present_vms);

  // Watch-mode figures (absent from the output of a one-shot pass when never set).
  // The BPF tracker's state, under watch --tracker bpf (absent otherwise).
  struct TrackerState {
    uint64_t placed_pages = 0;
    uint64_t records = 0;
    uint64_t records_lost = 0;
    uint64_t dropped_placements = 0;
  };
  void set_tracker_state(const TrackerState& state);
  // Under --evict-when pressure (absent otherwise): whether memory is needed now, the cgroup's
  // headroom when a cgroup is watched, and the duplicates kept for later (bpf tracker).
  struct EvictionPolicyState {
    bool memory_needed = false;
    uint64_t pressure_steps = 0;  // steps that evicted under pressure
    std::optional<uint64_t> cgroup_headroom_bytes;
    uint64_t kept_candidate_pages = 0;
  };
  void set_policy_state(const EvictionPolicyState& state);
  void set_watch_state(double cpu_seconds, double cpu_budget_percent, int pressure_level,
                       double psi_some_avg10, uint64_t mem_available_bytes);

  // Carries counters over from an earlier textfile of ours (a one-shot pass started by cron
  // or a timer adds to the totals of the ones before it). Lines that are not our counters are
  // ignored.
  void resume_counters_from(const std::string& textfile_content);

  // The Prometheus text exposition format (version 0.0.4), as node_exporter's textfile
  // collector and a /metrics endpoint serve it.
  std::string prometheus_text() const;

  uint64_t evicted_bytes_total() const { return evicted_bytes_total_; }

 private:
  struct ImageFigures {
    uint64_t cached_bytes = 0;         // after the last pass over it
    uint64_t double_cached_bytes = 0;  // found by the last pass over it (before evicting)
    uint64_t evicted_bytes_total = 0;
  };
  std::map<std::string, ImageFigures> images_;
  std::map<std::string, uint64_t> vm_indexed_pages_;
  uint64_t evicted_bytes_total_ = 0;
  std::map<std::string, uint64_t> evicted_by_tracker_;   // "bpf", "scan"
  std::map<std::string, uint64_t> skipped_pages_total_;  // by reason
  std::map<std::string, uint64_t> passes_total_;         // by result: done, partial, failed
  double last_pass_seconds_ = 0;
  double last_pass_timestamp_ = 0;
  double snapshot_seconds_total_ = 0;
  bool watch_ = false;
  std::optional<TrackerState> tracker_;
  std::optional<EvictionPolicyState> policy_;
  double cpu_seconds_ = 0;
  double cpu_budget_percent_ = 0;
  int pressure_level_ = 0;
  double psi_some_avg10_ = 0;
  uint64_t mem_available_bytes_ = 0;
};

// Escapes a label value per the exposition format (backslash, double quote, newline).
std::string prometheus_label_value(const std::string& text);

}  // namespace singleton
