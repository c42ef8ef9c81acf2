#include "scrubber/watch/watch_loop.hpp"

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "scrubber/metrics/metrics_http_server.hpp"
#include "scrubber/metrics/textfile.hpp"
#include "scrubber/pagecache/kmod_process_pages.hpp"
#include "scrubber/pagecache/readahead_window.hpp"
#include "scrubber/pass/pass_lock.hpp"
#include "scrubber/pass/pass_report_output.hpp"
#include "scrubber/pass/vm_selection.hpp"
#include "scrubber/watch/guest_io_counter.hpp"
#include "scrubber/watch/pass_log_line.hpp"
#include "scrubber/watch/watch_signals.hpp"
#include "snapshot/base/capabilities.hpp"
#include "snapshot/discovery/discovery.hpp"
#include "snapshot/base/error.hpp"
#include "snapshot/memory/guest_snapshot.hpp"
#include "snapshot/base/proc_files.hpp"

namespace singleton {
namespace {

// Thrown from the batch callbacks of a step when SIGTERM/SIGINT is pending: unwinds the step
// between two batches (after an eviction, never inside one).
struct WatchStopRequested {};

// Cache growth of an image the BPF tracker need not explain beyond the readahead it accounts
// for (4 MiB).
constexpr uint64_t kUntrackedSlackPages = 1024;

// --evict-when pressure: a full pass (every VM's RAM indexed) for memory that is needed, when
// the kept duplicates did not cover it, at most this often (bpf tracker; the scan tracker's
// I/O-triggered passes take only the images that grew).
constexpr double kPressureSweepSeconds = 30;

// --evict-when pressure: placed passes per step over the kept duplicates, each taking as many
// as the step still wants (some are gone already: the guest or the kernel dropped them).
constexpr int kPressureRounds = 4;

// Seconds of wall time whose CPU credit a quiet loop can save up: a guest's first read after a
// quiet spell is indexed at once instead of waiting for the budget to refill.
constexpr double kBurstSeconds = 20;

double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

double unix_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

std::chrono::steady_clock::duration steady_duration(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
}

double seconds_between(std::chrono::steady_clock::time_point a,
                       std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string vm_key(const Vm& vm) {
  std::string key = std::to_string(vm.pid) + "\t" + vm.name;
  for (const VmDisk& disk : vm.disks) {
    key += "\t" + disk.path + "|" + to_string(disk.cache);
    for (const std::string& backing : disk.backing) key += "<" + backing;
  }
  return key;
}

void check_stop() {
  if (WatchSignals::stop_pending()) throw WatchStopRequested{};
}

double budget_fraction(const WatchOptions& options, PressureLevel level) {
  return std::min(1.0, options.cpu_budget_percent / 100 * response_to(level).budget_factor);
}

}  // namespace

WatchLoop::WatchLoop(WatchOptions options, std::function<WatchOptions()> reload, std::ostream& log)
    : reload_(std::move(reload)),
      log_(log),
      budget_(budget_fraction(options, PressureLevel::kNone), kBurstSeconds) {
  require_capabilities("watch", {kCapSysPtrace, kCapSysAdmin, kCapDacReadSearch});
  apply_options(options, true);
}

WatchLoop::~WatchLoop() = default;

void WatchLoop::say(int level, const std::string& line) {
  if (options_.verbosity >= level) log_ << "singleton: " << line << std::endl;
}

void WatchLoop::apply_options(const WatchOptions& options, bool first) {
  const bool backend_changed = first || options.backend != options_.backend;
  const bool listen_changed = first || options.metrics_listen != options_.metrics_listen;
  const bool audit_changed = first || options.audit_path != options_.audit_path;
  if (first || options.selection != options_.selection) rediscover_now_ = true;
  // Checks the selection now: a typo in a pid is a usage error, not an empty watch.
  check_vm_selection(options.selection);
  std::unique_ptr<PageCacheView> view;
  std::string note;
  if (backend_changed) {
    ChosenView chosen = make_page_cache_view(options.backend);
    view = std::move(chosen.view);
    note = chosen.note;
  }
  std::unique_ptr<EvictionAudit> audit;
  if (audit_changed && !options.audit_path.empty()) {
    audit = std::make_unique<EvictionAudit>(options.audit_path);
  }
  std::unique_ptr<MetricsHttpServer> server;
  if (listen_changed && !options.metrics_listen.empty()) {
    server = std::make_unique<MetricsHttpServer>(options.metrics_listen);
  }
  // The BPF tracker: --once is one full pass and needs none; bpf that cannot load is an error
  // (exit 3 at start; on a reload the running configuration stays), auto falls back to scan.
  const bool tracker_changed = first || options.tracker != options_.tracker ||
                               options.kernel_btf != options_.kernel_btf;
  std::unique_ptr<PlacementTracking> tracking;
  std::string tracker_note;
  if (tracker_changed && !options.once && options.tracker != TrackerChoice::kScan) {
    try {
      tracking = std::make_unique<PlacementTracking>(options.kernel_btf);
    } catch (const TracerUnavailable& e) {
      if (options.tracker == TrackerChoice::kBpf) throw;
      tracker_note = std::string(e.what()) + "; using --tracker scan (the guests' RAM is indexed "
                     "after they read)";
    }
  }
  // --evict-when pressure: a --pressure-cgroup that is not a memory cgroup is a usage error.
  std::optional<PressureGauge> gauge;
  if (options.pressure.when == EvictWhen::kPressure) gauge.emplace(options.pressure);
  // Nothing above threw: the new options take effect as a whole.
  options_ = options;
  if (gauge) {
    say(first ? 2 : 1, std::string("evicting duplicates when memory is needed (") +
                           (gauge->cgroup_path().empty()
                                ? std::string("no cgroup")
                                : "cgroup v" + std::to_string(gauge->cgroup_version()) + " " +
                                      gauge->cgroup_path()) +
                           ", step " + std::to_string(options.pressure.step_bytes >> 20) +
                           " MiB, order " + to_string(options.pressure.order) + ")");
  }
  gauge_ = std::move(gauge);
  if (!gauge_) need_ = PressureReading{};
  if (tracker_changed) {
    tracking_ = std::move(tracking);
    if (tracking_) {
      tracking_->set_vms(vm_list_, images_);
      tracker_said_.clear();
    } else if (!tracker_note.empty() && tracker_note != tracker_said_) {
      say(0, tracker_note);  // once, and again only when the reason changes
      tracker_said_ = tracker_note;
    }
  }
  if (view) {
    view_ = std::move(view);
    // Looked for again with the backend: a module loaded since is used from then on.
    in_place_ = make_kmod_process_pages();
  }
  if (audit_changed) audit_ = std::move(audit);
  view_->set_audit(audit_.get());  // the current audit, on a new view too
  if (listen_changed) server_ = std::move(server);
  if (!note.empty()) say(1, note);
  budget_.set_fraction(budget_fraction(options_, pressure_.level));
}

void WatchLoop::rediscover() {
  last_discovery_ = std::chrono::steady_clock::now();
  rediscover_now_ = false;
  const DiscoveryOptions discovery = discovery_options(options_.selection);
  DiscoveryResult found = discover_vms(discovery);
  // Each problem is said once, when it appears, not at every discovery.
  std::set<std::string> problems;
  for (const DiscoveryProblem& problem : found.problems) {
    problems.insert(problem.message);
    if (!last_problems_.contains(problem.message)) {
      say(problem.warning ? 2 : 0, (problem.warning ? "warning: " : "") + problem.message);
    }
  }
  last_problems_ = std::move(problems);
  std::vector<Vm> wanted;
  for (Vm& vm : found.vms) {
    if (vm_name_selected(options_.selection.patterns, vm.name)) wanted.push_back(std::move(vm));
  }
  set_vms(std::move(wanted));
}

void WatchLoop::set_vms(std::vector<Vm> found) {
  std::vector<std::string> keys;
  for (const Vm& vm : found) keys.push_back(vm_key(vm));
  std::vector<std::string> current;
  for (const TrackedVm& tracked : vms_) current.push_back(vm_key(tracked.vm));
  if (keys == current) return;

  std::map<std::string, TrackedVm> old;
  for (TrackedVm& tracked : vms_) old.emplace(vm_key(tracked.vm), std::move(tracked));
  std::vector<TrackedVm> next;
  for (size_t k = 0; k < found.size(); ++k) {
    auto it = old.find(keys[k]);
    if (it != old.end()) {
      next.push_back(std::move(it->second));
      old.erase(it);
    } else {
      say(1, "VM found: " + found[k].name + " (pid " + std::to_string(found[k].pid) + ", " +
                 std::to_string(found[k].disks.size()) + " disks)");
      next.push_back(TrackedVm{found[k], std::nullopt, std::nullopt, 0, true});
    }
  }
  for (const auto& [key, gone] : old) {
    say(1, "VM gone: " + gone.vm.name + " (pid " + std::to_string(gone.vm.pid) + ")");
  }
  vms_ = std::move(next);
  vm_list_.clear();
  for (const TrackedVm& tracked : vms_) vm_list_.push_back(tracked.vm);

  std::map<std::string, TrackedImage> old_images;
  for (size_t i = 0; i < images_.images.size(); ++i) {
    old_images[images_.images[i].path] = image_state_[i];
  }
  images_ = collect_images(vm_list_);
  image_state_.assign(images_.images.size(), TrackedImage{});
  std::set<std::string> paths;
  std::set<std::string> names;
  for (size_t i = 0; i < images_.images.size(); ++i) {
    const Image& image = images_.images[i];
    paths.insert(image.path);
    auto it = old_images.find(image.path);
    if (it != old_images.end()) image_state_[i] = it->second;
    if (image.file) image_state_[i].readahead_pages = readahead_window_pages(image.file->device());
    if (!image.file) say(0, image.path + ": " + image.error);
  }
  for (const Vm& vm : vm_list_) names.insert(vm.name);
  metrics_.forget_absent(paths, names);
  if (tracking_) {
    try {
      tracking_->set_vms(vm_list_, images_);
    } catch (const Error& e) {
      say(0, std::string("tracker: ") + e.what());
    }
  }
}

void WatchLoop::look_at_triggers() {
  for (TrackedVm& tracked : vms_) {
    const auto reads = read_process_reads(tracked.vm.pid);
    if (!reads) {
      rediscover_now_ = true;  // gone: drop it at once, not at the next discovery
      continue;
    }
    if (tracked.reads) tracked.read_since_snapshot += guest_read_bytes(*tracked.reads, *reads);
    tracked.reads = reads;
    // Under the BPF tracker a read is followed block by block; no re-index for it.
    if (!tracking_ && tracked.read_since_snapshot >= kGuestReadTriggerBytes &&
        !tracked.needs_snapshot) {
      tracked.needs_snapshot = true;
      say(2, "trigger: " + tracked.vm.name + " read " +
                 std::to_string(tracked.read_since_snapshot) + " bytes");
    }
  }
  for (size_t i = 0; i < images_.images.size(); ++i) {
    const Image& image = images_.images[i];
    TrackedImage& state = image_state_[i];
    if (!image.file) continue;
    try {
      state.cached_now = view_->count(*image.file, {}).cached_pages;
    } catch (const Error& e) {
      say(0, image.path + ": " + e.what());
      continue;
    }
    if (tracking_) {
      // Growth the tracker explains (pages it placed on this image, as much again of host
      // readahead, and up to two readahead windows ahead of a sequential reader) is being
      // handled by placed passes; more than that is I/O it cannot see (io_uring, linux-aio,
      // another process reading the image): the VMs on it are indexed in full.
      const uint64_t placed = tracking_->take_placed_on(i);
      const uint64_t grown = state.cached_now > state.cached_at_last_look
                                 ? state.cached_now - state.cached_at_last_look
                                 : 0;
      if (grown <= 2 * placed + 2 * state.readahead_pages + kUntrackedSlackPages) {
        state.cached_at_last_look = state.cached_now;
        continue;
      }
      if (untracked_said_.insert(image.path).second) {
        say(1, "tracker: " + image.path + " cache grew by " + std::to_string(grown) +
                   " pages, the tracker placed " + std::to_string(placed) +
                   " (I/O that bypasses pread/preadv: io_uring, linux-aio, or another process); "
                   "indexing its VMs' RAM for it");
      }
    }
    if (state.cached_now > state.cached_at_last_look) {
      if (!state.changed) {
        say(2, "trigger: " + image.path + " cache grew by " +
                   std::to_string(state.cached_now - state.cached_at_last_look) + " pages");
      }
      state.changed = true;
      for (size_t v : image.vms) vms_[v].needs_snapshot = true;
    } else {
      // Shrunk (reclaim, someone else evicted) or steady: nothing new to look at.
      state.cached_at_last_look = state.cached_now;
      if (state.cached_now == 0) state.changed = false;
    }
  }
}

WatchLoop::StepChoice WatchLoop::choose_step(bool sweep) const {
  StepChoice choice;
  std::set<size_t> vms;
  bool grown = false;
  for (size_t i = 0; i < images_.images.size(); ++i) {
    const Image& image = images_.images[i];
    const TrackedImage& state = image_state_[i];
    if (!image.file || (state.cached_now == 0 && !sweep)) continue;
    bool wanted = sweep || state.changed;
    for (size_t v : image.vms) wanted = wanted || vms_[v].needs_snapshot;
    if (!wanted) continue;
    grown = grown || state.changed;
    choice.images.push_back(i);
    for (size_t v : image.vms) {
      if (sweep || vms_[v].needs_snapshot || !vms_[v].index) vms.insert(v);
    }
  }
  choice.vms.assign(vms.begin(), vms.end());
  choice.trigger = sweep ? "sweep" : grown ? "cache" : "io";
  return choice;
}

std::optional<PassLock> WatchLoop::take_pass_lock(bool blocking) {
  std::optional<PassLock> lock;
  try {
    lock.emplace();
  } catch (const Error& e) {
    if (blocking) throw;
    if (!lock_busy_said_) say(1, std::string("waiting: ") + e.what());
    lock_busy_said_ = true;
    return std::nullopt;
  }
  lock_busy_said_ = false;
  return lock;
}

PassOptions WatchLoop::pass_options() {
  PassOptions pass;
  // --evict-when pressure: a dry run while memory is free (the duplicates are found, counted in
  // the reports and the metrics, and kept); while it is needed, at most the step's bytes.
  pass.evict = !keeping_duplicates();
  pass.shared_policy = options_.shared_policy;
  pass.max_evict_pages = options_.max_evict_pages;
  if (gauge_ && need_.needed) {
    pass.max_evict_pages = std::min(pass.max_evict_pages, need_.evict_bytes / kPageBytes);
  }
  pass.exited_guest_is_failure = false;  // VMs come and go under a watch
  pass.snapshot.in_place = in_place_.get();
  // Between two batches of the snapshots and of the scan (the engines call on_progress): a stop
  // request is honoured there, and the watchdog is pinged from inside a long pass.
  pass.on_progress = [this](const PassProgress&) {
    check_stop();
    notifier_.watchdog();
  };
  return pass;
}

bool WatchLoop::run_step(const StepChoice& choice, bool blocking_lock, int* exit_code) {
  const std::optional<PassLock> lock = take_pass_lock(blocking_lock);
  if (!lock) return false;
  const PassOptions pass = pass_options();

  PassScope scope;
  scope.images = &images_;
  scope.chosen_images = choice.images;
  for (TrackedVm& tracked : vms_) scope.guests.push_back({&tracked.vm, &tracked.index, false});
  for (size_t v : choice.vms) {
    TrackedVm& tracked = vms_[v];
    scope.guests[v].snapshot_now = true;
    // Counted from before the snapshot: a read during it triggers the next pass, so a page the
    // snapshot missed is looked at again.
    if (const auto reads = read_process_reads(tracked.vm.pid)) tracked.reads = reads;
    tracked.read_since_snapshot = 0;
  }
  PassReport report = run_pass(*view_, scope, ksm_, pass);
  for (size_t v : choice.vms) {
    TrackedVm& tracked = vms_[v];
    tracked.needs_snapshot = !tracked.index.has_value();
    if (scope.guests[v].exited) say(2, "VM " + tracked.vm.name + " exited during its snapshot");
    // An incomplete snapshot (the VM exited, or its memory could not be read): look again now.
    if (tracked.needs_snapshot) rediscover_now_ = true;
  }
  for (size_t k = 0; k < choice.images.size(); ++k) {
    TrackedImage& state = image_state_[choice.images[k]];
    const ImageReport& image = report.images[k];
    state.cached_at_last_look = image.error.empty() && image.left_alone.empty()
                                    ? image.counts.cached_pages_after
                                    : state.cached_now;
    state.cached_now = state.cached_at_last_look;
    // Left alone (a VM on it exited), or cut short by the step's limit while memory is needed
    // (--evict-when pressure): looked at again at the next tick, with the indexes it has.
    state.changed = !image.left_alone.empty() ||
                    (gauge_ && need_.needed && image.counts.skipped[SkipReason::kLimit] > 0);
  }

  ++passes_;
  metrics_.add_pass(report, unix_now());
  say(1, pass_log_line(passes_, choice.trigger, report));
  notifier_.status(pass_status_text(passes_, choice.trigger, report));
  if (options_.json) {
    std::cout << boost::json::serialize(pass_report_json(report)) << std::endl;
  }
  for (const VmReport& vm : report.vms) {
    if (!vm.error.empty()) say(0, vm.error);
  }
  for (const ImageReport& image : report.images) {
    if (!image.error.empty()) say(0, image.path + ": " + image.error);
  }
  if (exit_code != nullptr) *exit_code = static_cast<int>(report.exit_code());
  publish_metrics();
  return true;
}

std::string WatchLoop::watch_metrics_text() {
  if (tracking_) {
    metrics_.set_tracker_state({tracking_->map().size(), tracking_->counts().records,
                                tracking_->drops().total(),
                                tracking_->map().counts().dropped_pages});
  }
  if (gauge_) {
    std::optional<uint64_t> headroom;
    if (need_.cgroup) headroom = need_.cgroup->headroom_bytes();
    metrics_.set_policy_state({need_.needed, pressure_steps_, headroom,
                               tracking_ ? tracking_->candidates() : 0});
  }
  metrics_.set_watch_state(process_cpu_seconds(), budget_.fraction() * 100,
                           static_cast<int>(pressure_.level), pressure_.psi_some_avg10,
                           pressure_.mem_available_bytes);
  return metrics_.prometheus_text();
}

void WatchLoop::publish_metrics() {
  // --once has no watch state (CPU, budget, pressure of a running watcher) to report.
  const std::string text = options_.once ? metrics_.prometheus_text() : watch_metrics_text();
  if (server_) server_->publish(text);
  if (options_.prometheus_path.empty()) return;
  try {
    write_file_atomically(options_.prometheus_path, text);
  } catch (const Error& e) {
    say(0, std::string("--prometheus: ") + e.what());
  }
}

bool WatchLoop::run_placed_step() {
  // Kept from one placed pass to the next until the next tick: a burst of placed passes takes
  // it once, and another singleton (or a full pass) waits one tick at most.
  if (!placed_lock_) placed_lock_ = take_pass_lock(false);
  if (!placed_lock_) return false;
  report_placed(tracking_->scrub(*view_, images_, vm_list_, pass_options()), "placed");
  return true;
}

bool WatchLoop::run_pressure_step() {
  if (!placed_lock_) placed_lock_ = take_pass_lock(false);
  if (!placed_lock_) return false;
  const PassOptions pass = pass_options();
  uint64_t wanted = pass.max_evict_pages;
  for (int round = 0; round < kPressureRounds && wanted > 0 && tracking_->candidates() > 0;
       ++round) {
    PassOptions step = pass;
    step.max_evict_pages = wanted;
    const PassReport report = tracking_->scrub_candidates(*view_, images_, vm_list_, step,
                                                          options_.pressure.order, wanted);
    wanted -= std::min(wanted, report.totals.evicted_pages);
    report_placed(report, "pressure");
  }
  ++pressure_steps_;
  publish_metrics();
  return true;
}

void WatchLoop::report_placed(const PassReport& report, const char* trigger) {
  ++passes_;
  metrics_.add_pass(report, unix_now());
  tracker_window_ += report;
  // Many a second under steady I/O: one line each at -v 2, a summary a minute at -v 1.
  say(2, pass_log_line(passes_, trigger, report));
  if (options_.json) {
    std::cout << boost::json::serialize(pass_report_json(report)) << std::endl;
  }
  for (const ImageReport& image : report.images) {
    if (!image.error.empty()) say(0, image.path + ": " + image.error);
  }
  placed_unpublished_ = true;
}

void WatchLoop::read_pressure_gauge() {
  const bool was = need_.needed;
  try {
    need_ = gauge_->read();
    gauge_error_.clear();
  } catch (const Error& e) {
    // The cgroup went away (removed, renamed): no signal from it, said once, not every tick;
    // the other signals cannot be read without it either, so nothing is evicted meanwhile.
    if (gauge_error_ != e.what()) say(0, std::string("memory pressure: ") + e.what());
    gauge_error_ = e.what();
    need_ = PressureReading{};
  }
  if (need_.needed && !was) {
    say(1, "memory needed (" + need_.reason + "): evicting duplicates, up to " +
               std::to_string(need_.evict_bytes >> 20) + " MiB a step");
  } else if (!need_.needed && was) {
    say(1, "memory no longer needed: duplicates kept after " + std::to_string(pressure_steps_) +
               " steps");
  }
}

void WatchLoop::tracker_summary(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!tracking_ || (!force && now - tracker_summary_at_ < std::chrono::seconds(60))) return;
  tracker_summary_at_ = now;
  if (tracker_window_.placed_passes == 0 && !force) return;
  say(1, tracker_summary_line(tracker_window_, tracking_->map().size(), tracking_->drops().total()));
  tracker_window_ = TrackerWindow{};
}

void WatchLoop::tick(std::chrono::steady_clock::time_point now) {
  placed_lock_.reset();
  if (seconds_between(last_pressure_, now) >= 1) {
    last_pressure_ = now;
    const PressureLevel before = pressure_.level;
    pressure_ = read_memory_pressure();
    budget_.set_fraction(budget_fraction(options_, pressure_.level));
    if (pressure_.level != before) {
      say(1, std::string("memory pressure ") + to_string(pressure_.level) +
                 ": cpu budget now " + std::to_string(budget_.fraction() * 100) + "%");
    }
  }
  if (rediscover_now_ ||
      seconds_between(last_discovery_, now) >= options_.discover_interval_seconds) {
    rediscover();
  }
  look_at_triggers();
  if (placed_unpublished_) {  // the --prometheus file, at most once a tick
    placed_unpublished_ = false;
    publish_metrics();
  }
  if (tracking_) {
    // Placements re-read round robin: the whole map once per reconcile interval.
    const double ticks = options_.reconcile_interval_seconds / options_.interval_seconds;
    const size_t n = static_cast<size_t>(static_cast<double>(tracking_->map().size()) / ticks) + 1;
    if (tracking_->map().size() > 0) tracking_->reverify(n);
    tracker_summary(false);
  }
  const double sweep_every = response_to(pressure_.level).sweep_seconds;
  const bool sweep = sweep_every > 0 && seconds_between(last_sweep_, now) >= sweep_every;
  // Under the tracker, one full pass every --reconcile-interval catches what it missed.
  const bool reconcile =
      tracking_ && seconds_between(last_sweep_, now) >= options_.reconcile_interval_seconds;
  if (gauge_) read_pressure_gauge();
  if (!budget_.allows_work()) return;
  // Memory needed: the duplicates the tracker kept go first, in --evict-order.
  if (gauge_ && need_.needed && tracking_ && tracking_->candidates() > 0) {
    run_pressure_step();
    return;
  }
  // Under --evict-when pressure a full pass triggered by I/O runs only when memory is needed
  // (while it is free the triggers accumulate: the images that grew are taken then); under the
  // bpf tracker, with no kept duplicate left, it is a sweep of every VM, rate-limited.
  bool pressure_pass = false;
  if (gauge_ && !sweep && !reconcile) {
    if (!need_.needed) return;
    if (tracking_ && seconds_between(last_pressure_full_, now) < kPressureSweepSeconds) return;
    pressure_pass = true;
  }
  StepChoice choice = choose_step(sweep || reconcile || (pressure_pass && tracking_));
  if (choice.images.empty()) return;
  if (reconcile && !sweep) choice.trigger = "reconcile";
  if (pressure_pass) {
    choice.trigger = "pressure";
    last_pressure_full_ = now;
    ++pressure_steps_;
  }
  if (run_step(choice, false, nullptr) && (sweep || reconcile)) last_sweep_ = now;
}

int WatchLoop::run() {
  WatchSignals signals;
  {
    std::string what = options_.selection.pids.empty() ? "every VM" : "the VMs of --pid";
    if (!options_.selection.patterns.empty()) {
      what = "VMs named";
      for (const std::string& p : options_.selection.patterns) what += " " + p;
    }
    char budget[64];
    std::snprintf(budget, sizeof budget, "%.3g%%", options_.cpu_budget_percent);
    say(1, "watching " + what + " (backend " + view_->name() + ", tracker " +
               (tracking_ ? "bpf" : "scan") + ", evict-when " + to_string(options_.pressure.when) +
               ", cpu budget " + budget + ", config " +
               (options_.config_path.empty() ? "none" : options_.config_path) +
               (server_ ? ", metrics on 127.0.0.1 port " + std::to_string(server_->port()) : "") +
               ")");
  }
  // Ready: the config is read and valid, root's capabilities checked, the page-cache backend
  // open, the /metrics listener bound and the signals taken: whatever makes `singleton watch`
  // fail at start has been checked. Discovery and passes come with the ticks, their failures
  // are said per tick and never stop the loop, so READY=1 does not wait for them.
  // STOPPING=1 when run() returns, whichever way.
  const ServiceNotifier::Running running = notifier_.running("no pass yet");
  auto last_tick = std::chrono::steady_clock::now();
  auto last_account = last_tick;
  double last_cpu = process_cpu_seconds();
  last_sweep_ = last_tick;
  tracker_summary_at_ = last_tick;
  // A placed pass that could not run (budget spent, lock busy) is tried again this much later,
  // not in a busy loop; and one that ran is followed by the next no sooner: under steady I/O
  // (hundreds of guest reads a second) the blocks are taken 20 times a second, which bounds
  // the passes' fixed cost (lock, scans, /proc/PID/mem, eviction: ~2 ms each on a TCG host)
  // without delaying a read that comes alone.
  constexpr auto kPlacedBackoff = std::chrono::milliseconds(50);
  auto placed_not_before = last_tick;
  // Queued placed pages are looked at --merge-delay after the first of them, and no sooner
  // than placed_not_before.
  const auto placed_due = [&] {
    return std::max(placed_not_before,
                    tracking_->pending_since() + steady_duration(options_.merge_delay_seconds));
  };
  if (server_) server_->publish(watch_metrics_text());  // scrapes before the first tick
  try {
    for (;;) {
      // Before every wait (rate-limited to WatchdogSec/4 by the notifier): at most --interval
      // (60 s) plus one tick's work apart.
      notifier_.watchdog();
      // Until the next tick, or until the placed pages are due.
      auto wake = last_tick + steady_duration(options_.interval_seconds);
      if (tracking_ && tracking_->has_pending()) wake = std::min(wake, placed_due());
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
          wake - std::chrono::steady_clock::now());
      // The ring buffer wakes us for the first record only: once pages are queued, the records
      // that follow within the merge delay are taken together when it ends (one wakeup per
      // placed pass, not one per record: at 300 guest IOPS that halved the watch's CPU).
      const bool wake_on_records = tracking_ && !tracking_->has_pending();
      pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {wake_on_records ? tracking_->fd() : -1, POLLIN, 0}};
      // Rounded up: a wait of 0.4 ms must not spin.
      ::poll(fds, wake_on_records ? 2 : 1,
             wait.count() < 0 ? 0 : static_cast<int>(wait.count()) + 1);
      const WatchSignals::Received received = signals.take();
      if (received.stop_signal != 0) {
        tracker_summary(true);
        say(1, std::string("stopping on ") + ::sigabbrev_np(received.stop_signal) + " after " +
                   std::to_string(passes_) + " passes");
        return 0;
      }
      if (received.reload) {
        const ServiceNotifier::Reloading reloading = notifier_.reloading();  // READY=1 after
        try {
          apply_options(reload_(), false);
          say(1, "configuration reloaded" +
                     (options_.config_path.empty() ? "" : " from " + options_.config_path));
        } catch (const Error& e) {
          say(0, std::string("reload failed, keeping the running configuration: ") + e.what());
        }
      }

      const auto now = std::chrono::steady_clock::now();
      const double cpu = process_cpu_seconds();
      budget_.account(seconds_between(last_account, now), cpu - last_cpu);
      last_account = now;
      last_cpu = cpu;
      try {
        if (tracking_) {
          tracking_->drain();
          tracking_->requeue_due_retries(now);
          if (gauge_) {
            // --evict-when pressure: kept, with their time; the pressure steps of tick() take
            // them in --evict-order when memory is needed.
            tracking_->hold_pending();
          } else if (tracking_->has_pending() && now >= placed_due()) {
            const bool ran = budget_.allows_work() && run_placed_step();
            placed_not_before = (ran ? std::chrono::steady_clock::now() : now) + kPlacedBackoff;
          }
        }
        // A reload (SIGHUP) ends the wait and looks at once with the new settings.
        if (received.reload || now - last_tick >= steady_duration(options_.interval_seconds)) {
          last_tick = now;
          // Scrapes are answered by the server's own threads, from the text published here
          // once a tick: a client, however slow, never holds this loop.
          if (server_) server_->publish(watch_metrics_text());
          tick(now);
        }
      } catch (const Error& e) {
        // One failed tick (discovery, a view error) is said and the loop goes on.
        say(0, e.what());
      }
    }
  } catch (const WatchStopRequested&) {
    // Consumed here: still pending when the mask is restored, it would kill the process.
    const int signal = signals.take().stop_signal;
    say(1, std::string("stopping on ") + (signal ? ::sigabbrev_np(signal) : "a signal") +
               ": the pass under way was abandoned between two batches, after " +
               std::to_string(passes_) + " passes");
    return 0;
  }
}

int WatchLoop::run_once() {
  WatchSignals signals;
  try {
    metrics_.resume_counters_from(read_file_if_exists(options_.prometheus_path));
    rediscover();
    if (vms_.empty()) {
      say(1, "no VM found: nothing to do");
      publish_metrics();
      return 0;
    }
    look_at_triggers();
    if (gauge_) read_pressure_gauge();
    int exit_code = 0;
    try {
      run_step(choose_step(true), true, &exit_code);
    } catch (const Error& e) {
      metrics_.add_failed_pass(unix_now());
      publish_metrics();
      throw;
    }
    return exit_code;
  } catch (const WatchStopRequested&) {
    signals.take();  // consumed: still pending when the mask is restored, it would kill us
    say(1, "stopping on a signal: the pass was abandoned between two batches");
    return 0;
  }
}

}  // namespace singleton
