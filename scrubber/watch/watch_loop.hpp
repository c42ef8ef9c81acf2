// `singleton watch`: the long-running loop that keeps the host page cache exclusive.
//
// Every tick (--interval) it looks at cheap I/O triggers: each image's cached page count
// (cachestat) and each VMM's read counter (rchar). A VM that read something since its last
// snapshot is re-indexed, and the images attached to it (or whose cache grew) are scanned and
// their new double-cached folios evicted: one "pass" over just those VMs and images. Passes
// start only while the CPU budget (a token bucket at --cpu-budget) has credit, so re-indexing a
// busy guest happens at most as often as the budget pays for. Under memory pressure the budget
// is raised and every image is swept periodically; without pressure the loop only follows I/O.
//
// With the BPF tracker (--tracker bpf, or auto where it loads) the guests' RAM is indexed only
// at start, for a VM found later, where an image's cache grew by more than the tracker saw, and
// every --reconcile-interval; in between, the blocks QEMU reads (pread/preadv seen by the
// tracer) are looked at within --merge-delay, and only they (placed passes).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "scrubber/pagecache/eviction_audit.hpp"
#include "scrubber/pass/image_set.hpp"
#include "scrubber/metrics/scrub_metrics.hpp"
#include "scrubber/pagecache/page_cache_view.hpp"
#include "scrubber/pass/pass_engine.hpp"
#include "scrubber/pass/pass_lock.hpp"
#include "scrubber/watch/cpu_budget.hpp"
#include "scrubber/watch/guest_io_counter.hpp"
#include "scrubber/pressure/pressure_gauge.hpp"
#include "scrubber/watch/memory_pressure.hpp"
#include "scrubber/watch/pass_log_line.hpp"
#include "scrubber/watch/placement_tracking.hpp"
#include "scrubber/watch/service_notifier.hpp"
#include "scrubber/watch/watch_options.hpp"
#include "snapshot/memory/ksm_hash_cache.hpp"
#include "snapshot/memory/page_index.hpp"
#include "snapshot/discovery/vm.hpp"

namespace singleton {

class MetricsHttpServer;

class WatchLoop {
 public:
  // `reload` re-reads the command line and config file (SIGHUP). `log` gets the one line per
  // pass and everything else the loop has to say. Throws Error for what makes running
  // impossible (not root: kEnvironment; an unavailable --backend; a port in use).
  WatchLoop(WatchOptions options, std::function<WatchOptions()> reload, std::ostream& log);
  ~WatchLoop();

  // Runs until SIGTERM or SIGINT; returns 0 (the step under way is finished or abandoned at a
  // batch boundary: nothing half-evicted, no lock left).
  int run();
  // One full pass over every VM (--once); returns the pass's exit code.
  int run_once();

 private:
  struct TrackedVm {
    Vm vm;
    std::optional<PageIndex> index;     // the last complete snapshot
    std::optional<ProcessReads> reads;  // the VMM's read counters at the last tick
    uint64_t read_since_snapshot = 0;   // guest_read_bytes since its last snapshot began
    bool needs_snapshot = true;
  };
  struct TrackedImage {
    uint64_t cached_now = 0;
    uint64_t cached_at_last_look = 0;  // after the last pass over it
    bool changed = true;               // its cache grew since the last pass over it
    uint64_t readahead_pages = 32;     // its device's readahead window
  };
  struct StepChoice {
    std::vector<size_t> vms;     // to snapshot
    std::vector<size_t> images;  // to scan and scrub
    std::string trigger;
  };

  void apply_options(const WatchOptions& options, bool first);
  void rediscover();
  void set_vms(std::vector<Vm> found);
  void look_at_triggers();
  StepChoice choose_step(bool sweep) const;
  // Returns false when the pass lock is held by another singleton.
  bool run_step(const StepChoice& choice, bool blocking_lock, int* exit_code);
  // The pass lock, or nullopt when another singleton holds it (said once); `blocking`: throw.
  std::optional<PassLock> take_pass_lock(bool blocking);
  // The options of every pass of the watch (evicting; a stop request and the watchdog between
  // batches).
  PassOptions pass_options();
  // A placed pass over what the tracker queued; false when the pass lock is busy.
  bool run_placed_step();
  // --evict-when pressure, memory needed: placed passes over the kept duplicates in
  // --evict-order until the step's bytes are evicted or none is left; false when the pass lock
  // is busy.
  bool run_pressure_step();
  // A placed pass's report to the metrics, the log (`trigger` at -v 2) and --json.
  void report_placed(const PassReport& report, const char* trigger);
  // --evict-when pressure: reads the gauge (says when memory becomes needed and when it no
  // longer is).
  void read_pressure_gauge();
  // --evict-when pressure while memory is free: duplicates are found and kept, not evicted.
  bool keeping_duplicates() const { return gauge_ && !need_.needed; }
  // One line at -v 1 every minute with what the tracker did (placed passes log at -v 2).
  void tracker_summary(bool force);
  // The one tick of triggers, discovery and a possible full pass.
  void tick(std::chrono::steady_clock::time_point now);
  // After a pass: to the /metrics server and the --prometheus file.
  void publish_metrics();
  // The metrics with the watcher's own state (CPU, budget, pressure) as of now.
  std::string watch_metrics_text();
  void say(int level, const std::string& line);

  WatchOptions options_;
  std::function<WatchOptions()> reload_;
  std::ostream& log_;
  // Declared before view_: the view holds a pointer to it.
  std::unique_ptr<EvictionAudit> audit_;
  std::unique_ptr<PageCacheView> view_;
  std::unique_ptr<MetricsHttpServer> server_;
  std::vector<TrackedVm> vms_;
  std::vector<Vm> vm_list_;  // vms_[i].vm, as collect_images wants them
  ImageSet images_;
  std::vector<TrackedImage> image_state_;  // parallel to images_.images
  std::set<std::string> last_problems_;
  KsmHashCache ksm_;
  ScrubMetrics metrics_;
  CpuBudget budget_;
  MemoryPressure pressure_;
  uint64_t passes_ = 0;
  bool lock_busy_said_ = false;
  bool rediscover_now_ = true;
  std::chrono::steady_clock::time_point last_discovery_{};
  std::chrono::steady_clock::time_point last_sweep_{};
  std::chrono::steady_clock::time_point last_pressure_{};
  // systemd (singleton-watch.service): READY, STATUS, WATCHDOG, RELOADING, STOPPING.
  ServiceNotifier notifier_;
  // The BPF tracker, when in use; else the loop runs on the scan triggers alone.
  std::unique_ptr<PlacementTracking> tracking_;
  std::string tracker_said_;  // the last fallback reason said (said once)
  std::set<std::string> untracked_said_;  // images whose untracked growth was said
  TrackerWindow tracker_window_;  // placed passes since the last summary line
  std::chrono::steady_clock::time_point tracker_summary_at_{};
  bool placed_unpublished_ = false;  // placed passes since the metrics were last published
  std::optional<PassLock> placed_lock_;  // held by placed passes until the next tick
  // --evict-when pressure: the gauge, its last reading, and when the last full pass under
  // pressure ran (they are rate-limited: the kept duplicates go first).
  std::optional<PressureGauge> gauge_;
  // The module's in-place hasher of guest RAM when it is loaded and can (else copies).
  std::unique_ptr<InPlaceHasher> in_place_;
  PressureReading need_;
  std::string gauge_error_;  // the last failure to read it, said once
  uint64_t pressure_steps_ = 0;
  std::chrono::steady_clock::time_point last_pressure_full_{};
};

}  // namespace singleton
