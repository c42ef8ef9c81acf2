#include "scrubber/watch/service_notifier.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdio>

namespace singleton {

ServiceNotifier::ServiceNotifier() {
  uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) > 0) interval_ = std::chrono::microseconds(usec);
}

void ServiceNotifier::send(const std::string& message) {
  // 0: keeps $NOTIFY_SOCKET, so every later message reaches systemd too. Without it: returns 0.
  (void)::sd_notify(0, message.c_str());
}

void ServiceNotifier::watchdog(Clock::time_point now) {
  if (interval_.count() == 0) return;
  if (pinged_ && now - last_ping_ < interval_ / 4) return;
  pinged_ = true;
  last_ping_ = now;
  send("WATCHDOG=1");
}

void ServiceNotifier::status(const std::string& text) { send("STATUS=" + text); }

ServiceNotifier::Running ServiceNotifier::running(const std::string& status) {
  send("READY=1\nSTATUS=" + status);
  return Running(*this);
}

ServiceNotifier::Running::~Running() { notifier_.send("STOPPING=1"); }

ServiceNotifier::Reloading ServiceNotifier::reloading() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
  return Reloading(*this);
}

ServiceNotifier::Reloading::~Reloading() { notifier_.send("READY=1"); }

}  // namespace singleton
