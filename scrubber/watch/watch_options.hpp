// The settings of `singleton watch`, from its command line and /etc/singleton.conf (every key of
// the file is one of the long options; the command line wins).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scrubber/config/vm_selection_options.hpp"
#include "scrubber/pagecache/page_cache_view.hpp"
#include "scrubber/pass/scrub_policy.hpp"
#include "scrubber/pressure/pressure_gauge.hpp"
#include "scrubber/watch/placement_tracking.hpp"

namespace singleton {

struct WatchOptions {
  VmSelectionOptions selection;  // --vm, --pid/--image, --connect (a --vm may match none yet)
  BackendChoice backend = BackendChoice::kAuto;
  SharedPolicy shared_policy = SharedPolicy::kAll;
  uint64_t max_evict_pages = UINT64_MAX;  // --max-evict MIB, per pass
  double cpu_budget_percent = 10;         // of one core, on average
  double interval_seconds = 0.25;         // how often the I/O triggers are looked at
  double discover_interval_seconds = 5;   // how often VMs are looked for
  std::string prometheus_path;            // --prometheus FILE ("" = none)
  std::string metrics_listen;             // --metrics-listen ADDR:PORT ("" = none)
  std::string audit_path;                 // --audit FILE: every evicted range ("" = none)
  int verbosity = 1;                      // 0 --quiet, 1 default, 2 --verbose
  bool once = false;                      // one full pass, then exit (cron, timers)
  bool json = false;                      // also each pass's report as one JSON line on stdout
  std::string config_path;                // the file read ("" when none)
  TrackerChoice tracker = TrackerChoice::kAuto;  // --tracker auto|bpf|scan
  std::string kernel_btf = "/sys/kernel/btf/vmlinux";  // --kernel-btf: for the BPF tracker
  double merge_delay_seconds = 0.01;      // --merge-delay: placed pages gathered before a pass
  double reconcile_interval_seconds = 300;  // --reconcile-interval: full passes under bpf
  PressureSettings pressure;  // --evict-when, --pressure-*, --evict-step, --evict-order
};

struct WatchCommandLine {
  bool help = false;
  std::string help_text;
  WatchOptions options;
};

// Parses `args` (the words after `watch`) and the config file: --config FILE, else
// $SINGLETON_CONFIG, else /etc/singleton.conf when it exists. Throws Error(kUsage) for a bad
// flag or a bad config line ("FILE:LINE: ...").
WatchCommandLine parse_watch_command_line(const std::vector<std::string>& args);

}  // namespace singleton
