// What the watch tells systemd, received on a real AF_UNIX datagram socket the test binds and
// points $NOTIFY_SOCKET at: the exact messages, the watchdog's cadence and when it is off, and
// nothing at all without $NOTIFY_SOCKET. The STATUS= line after a pass.
#include "scrubber/watch/service_notifier.hpp"

#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <regex>

#include "scrubber/watch/pass_log_line.hpp"
#include "tests/unit/watch/notify_socket.hpp"

namespace singleton {
namespace {

using namespace std::chrono_literals;
using testing::NotifySocket;
using testing::ScopedEnv;

uint64_t monotonic_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

TEST(ServiceNotifier, SaysReadyStatusReloadingReadyAndStoppingExactly) {
  NotifySocket socket;
  ScopedEnv env{{"NOTIFY_SOCKET", socket.path()},
                {"WATCHDOG_USEC", std::nullopt},
                {"WATCHDOG_PID", std::nullopt}};
  ServiceNotifier notifier;
  {
    const ServiceNotifier::Running running = notifier.running("no pass yet");
    EXPECT_EQ(socket.receive_now(), "READY=1\nSTATUS=no pass yet");
    notifier.status("pass 1 (io): 1 VM indexed");
    EXPECT_EQ(socket.receive_now(), "STATUS=pass 1 (io): 1 VM indexed");
    {
      const uint64_t before = monotonic_usec();
      const ServiceNotifier::Reloading reloading = notifier.reloading();
      const uint64_t after = monotonic_usec();
      const std::optional<std::string> message = socket.receive_now();
      ASSERT_TRUE(message);
      std::smatch match;
      ASSERT_TRUE(
          std::regex_match(*message, match, std::regex("RELOADING=1\nMONOTONIC_USEC=(\\d+)")))
          << *message;
      const uint64_t usec = std::stoull(match[1]);
      EXPECT_GE(usec, before);
      EXPECT_LE(usec, after);
      EXPECT_EQ(socket.receive_now(), std::nullopt) << "READY=1 only when the reload is over";
    }
    EXPECT_EQ(socket.receive_now(), "READY=1");
    EXPECT_EQ(socket.receive_now(), std::nullopt) << "STOPPING=1 only when the loop ends";
  }
  EXPECT_EQ(socket.receive_now(), "STOPPING=1");
  EXPECT_EQ(socket.receive_now(), std::nullopt);
}

TEST(ServiceNotifier, WatchdogPingsAtMostEveryQuarterOfItsInterval) {
  NotifySocket socket;
  ScopedEnv env{{"NOTIFY_SOCKET", socket.path()},
                {"WATCHDOG_USEC", "2000000"},
                {"WATCHDOG_PID", std::to_string(::getpid())}};
  ServiceNotifier notifier;
  EXPECT_EQ(notifier.watchdog_interval(), 2s);

  const auto t0 = ServiceNotifier::Clock::now();
  notifier.watchdog(t0);
  EXPECT_EQ(socket.receive_now(), "WATCHDOG=1") << "the first call pings at once";
  notifier.watchdog(t0 + 499ms);
  EXPECT_EQ(socket.receive_now(), std::nullopt) << "less than a quarter of 2 s later";
  notifier.watchdog(t0 + 500ms);
  EXPECT_EQ(socket.receive_now(), "WATCHDOG=1");

  // Called every 10 ms for 4 s: one ping per 500 ms, never more, never further apart.
  std::vector<std::chrono::milliseconds> pinged_at;
  for (auto t = 510ms; t <= 4500ms; t += 10ms) {
    notifier.watchdog(t0 + t);
    if (const auto message = socket.receive_now()) {
      EXPECT_EQ(*message, "WATCHDOG=1");
      pinged_at.push_back(t);
    }
  }
  const std::vector<std::chrono::milliseconds> expected{1000ms, 1500ms, 2000ms, 2500ms,
                                                        3000ms, 3500ms, 4000ms, 4500ms};
  EXPECT_EQ(pinged_at, expected);

  // A loop that was away longer than that (a long wait) pings as soon as it is back.
  notifier.watchdog(t0 + 5900ms);
  EXPECT_EQ(socket.receive_now(), "WATCHDOG=1");
  notifier.watchdog(t0 + 6000ms);
  EXPECT_EQ(socket.receive_now(), std::nullopt);
}

TEST(ServiceNotifier, NoWatchdogWhenItIsForAnotherProcessOrNotSet) {
  NotifySocket socket;
  for (const std::optional<std::string>& usec :
       {std::optional<std::string>("2000000"), std::optional<std::string>()}) {
    // systemd sets WATCHDOG_PID to its main process: a child that inherited it must not ping.
    ScopedEnv env{
        {"NOTIFY_SOCKET", socket.path()},
        {"WATCHDOG_USEC", usec},
        {"WATCHDOG_PID", usec ? std::to_string(::getppid()) : std::to_string(::getpid())}};
    ServiceNotifier notifier;
    EXPECT_EQ(notifier.watchdog_interval(), 0us);
    notifier.watchdog();
    EXPECT_EQ(socket.receive_now(), std::nullopt);
    notifier.status("still here");
    EXPECT_EQ(socket.receive_now(), "STATUS=still here") << "the socket itself works";
  }
}

TEST(ServiceNotifier, RunByHandEverythingIsANoOp) {
  NotifySocket socket;  // bound, but nobody is told where
  ScopedEnv env{{"NOTIFY_SOCKET", std::nullopt},
                {"WATCHDOG_USEC", "2000000"},
                {"WATCHDOG_PID", std::to_string(::getpid())}};
  ServiceNotifier notifier;
  {
    const ServiceNotifier::Running running = notifier.running("no pass yet");
    notifier.watchdog();
    notifier.status("pass 1");
    const ServiceNotifier::Reloading reloading = notifier.reloading();
  }
  EXPECT_EQ(socket.receive(100ms), std::nullopt);
}

TEST(PassStatusText, SaysThePassShortly) {
  PassReport report;
  report.dry_run = false;
  report.vms.push_back(VmReport{"web-1", 42, 30465, 0.08, ""});
  report.vms.push_back(VmReport{"web-2", 43, 100, 0.01, ""});
  report.images.resize(3);
  report.totals.evicted_pages = 1234;
  EXPECT_EQ(pass_status_text(12, "io", report),
            "pass 12 (io): 2 VMs indexed, 3 images scrubbed, evicted 1234 pages (4.8 MiB)");
  report.vms.pop_back();
  report.images.resize(1);
  report.images[0].error = "gone";
  report.totals.evicted_pages = 1;
  EXPECT_EQ(pass_status_text(13, "cache", report),
            "pass 13 (cache): 1 VM indexed, 1 image scrubbed, evicted 1 page (0.0 MiB); 1 failed");
}

}  // namespace
}  // namespace singleton
