// What `singleton watch` tells systemd when it runs as singleton-watch.service (Type=notify,
// WatchdogSec=, NotifyAccess=main), through sd_notify(3) of libsystemd: READY=1 once the loop is
// set up, STATUS= after each pass, WATCHDOG=1 from the loop, RELOADING=1 ... READY=1 around a
// SIGHUP reload, STOPPING=1 when it stops. Run by hand ($NOTIFY_SOCKET unset) every call is a
// no-op; without a watchdog ($WATCHDOG_USEC unset, or $WATCHDOG_PID naming another process)
// watchdog() is. A notification that cannot be sent is ignored: systemd then acts as it would
// for a process that said nothing (start timeout, watchdog).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>


namespace singleton {

class ServiceNotifier {
 public:
  using Clock = std::chrono::steady_clock;

  // Reads the watchdog interval once (sd_watchdog_enabled: $WATCHDOG_USEC, $WATCHDOG_PID).
  ServiceNotifier();
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  // The interval systemd kills us after without a ping; zero when there is no watchdog.
  std::chrono::microseconds watchdog_interval() const { return interval_; }

  // WATCHDOG=1 when the last ping is at least a quarter of the interval old (or there was none):
  // cheap, meant to be called from every point the loop passes regularly (each tick, between
  // two batches of a pass), so pings are at most WatchdogSec/4 apart plus the longest stretch
  // between two such points. `now` is for tests.
  void watchdog(Clock::time_point now = Clock::now());

  // STATUS=text: one short line for `systemctl status`.
  void status(const std::string& text);

  // READY=1 (with STATUS=status) when made, STOPPING=1 when destroyed: held for as long as the
  // loop runs, so every way out of it says STOPPING=1.
  class Running {
   public:
    ~Running();
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;

   private:
    friend class ServiceNotifier;
    explicit Running(ServiceNotifier& notifier) : notifier_(notifier) {}
    ServiceNotifier& notifier_;
  };
  [[nodiscard]] Running running(const std::string& status);

  // RELOADING=1 (with MONOTONIC_USEC=, which systemd 253 and later want with it) when made,
  // READY=1 when destroyed, whether the reload took effect or was refused.
  class Reloading {
   public:
    ~Reloading();
    Reloading(const Reloading&) = delete;
    Reloading& operator=(const Reloading&) = delete;

   private:
    friend class ServiceNotifier;
    explicit Reloading(ServiceNotifier& notifier) : notifier_(notifier) {}
    ServiceNotifier& notifier_;
  };
  [[nodiscard]] Reloading reloading();

 private:
  void send(const std::string& message);

  std::chrono::microseconds interval_{0};
  bool pinged_ = false;
  Clock::time_point last_ping_{};
};

}  // namespace singleton
