#include "scrubber/watch/watch_loop.hpp"

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "scrubber/metrics/metrics_http_server.hpp"
#include "scrubber/metrics/textfile.hpp"
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
  // Nothing above threw: the new options take effect as a whole.
  options_ = options;
  if (view) view_ = std::move(view);
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
    if (!image.file) say(0, image.path + ": " + image.error);
  }
  for (const Vm& vm : vm_list_) names.insert(vm.name);
  metrics_.forget_absent(paths, names);
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
    if (tracked.read_since_snapshot >= kGuestReadTriggerBytes && !tracked.needs_snapshot) {
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

bool WatchLoop::run_step(const StepChoice& choice, bool blocking_lock, int* exit_code) {
  std::optional<PassLock> lock;
  try {
    lock.emplace();
  } catch (const Error& e) {
    if (blocking_lock) throw;
    if (!lock_busy_said_) say(1, std::string("waiting: ") + e.what());
    lock_busy_said_ = true;
    return false;
  }
  lock_busy_said_ = false;

  PassOptions pass;
  pass.evict = true;
  pass.shared_policy = options_.shared_policy;
  pass.max_evict_pages = options_.max_evict_pages;
  pass.exited_guest_is_failure = false;  // VMs come and go under a watch
  // Between two batches of the snapshots and of the scan (the engine calls on_progress for
  // both): a stop request is honoured there, and the watchdog is pinged from inside a long pass.
  pass.on_progress = [this](const PassProgress&) {
    check_stop();
    notifier_.watchdog();
  };

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
    state.changed = !image.left_alone.empty();
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
    say(1, "watching " + what + " (backend " + view_->name() + ", cpu budget " + budget +
               ", config " + (options_.config_path.empty() ? "none" : options_.config_path) +
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
  double last_cpu = process_cpu_seconds();
  last_sweep_ = last_tick;
  try {
    for (;;) {
      notifier_.watchdog();  // once a tick: at most --interval (60 s) plus one tick's work apart
      // Scrapes are answered by the server's own threads, from the text published here once a
      // tick: a client, however slow, never holds this loop.
      if (server_) server_->publish(watch_metrics_text());
      pollfd signal_fd{signals.fd(), POLLIN, 0};
      ::poll(&signal_fd, 1, static_cast<int>(options_.interval_seconds * 1000));
      const WatchSignals::Received received = signals.take();
      if (received.stop_signal != 0) {
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
      budget_.account(seconds_between(last_tick, now), cpu - last_cpu);
      last_tick = now;
      last_cpu = cpu;
      try {
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
        const double sweep_every = response_to(pressure_.level).sweep_seconds;
        const bool sweep = sweep_every > 0 && seconds_between(last_sweep_, now) >= sweep_every;
        if (!budget_.allows_work()) continue;
        const StepChoice choice = choose_step(sweep);
        if (choice.images.empty()) continue;
        if (run_step(choice, false, nullptr) && sweep) last_sweep_ = now;
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
