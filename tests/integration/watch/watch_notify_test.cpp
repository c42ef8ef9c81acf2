// The real `singleton watch` as systemd runs it (singleton-watch.service, Type=notify,
// WatchdogSec=): $NOTIFY_SOCKET and $WATCHDOG_USEC point it at a datagram socket the test
// binds. It must say READY=1 first, ping WATCHDOG=1 at a quarter of the interval for as long
// as it runs, set STATUS= after a pass, wrap a SIGHUP reload in RELOADING=1 ... READY=1 and say
// STOPPING=1, last, on SIGTERM. The "VM" is a process holding known pages in mergeable memory
// (as QEMU's guest RAM) and its image open, the image holding the same pages in the host cache:
// one real pass evicts them. Needs root; no guest.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/integration/watch/watch_process.hpp"
#include "tests/unit/memory_holder_process.hpp"
#include "tests/unit/temp_dir.hpp"
#include "tests/unit/watch/notify_socket.hpp"

namespace singleton {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::NotifySocket;
using testing::ScopedEnv;

constexpr size_t kPages = 256;
constexpr uint64_t kSeed = 11;

struct Received {
  Clock::time_point at;
  std::string message;
};

// Everything received within `duration` (or until a message matches `until`).
std::vector<Received> receive_for(NotifySocket& socket, std::chrono::milliseconds duration,
                                  const std::optional<std::regex>& until = std::nullopt) {
  std::vector<Received> out;
  const auto deadline = Clock::now() + duration;
  for (auto now = Clock::now(); now < deadline; now = Clock::now()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    auto message = socket.receive(std::max(left, 1ms));
    if (!message) continue;
    out.push_back({Clock::now(), std::move(*message)});
    if (until && std::regex_match(out.back().message, *until)) break;
  }
  return out;
}

std::vector<std::string> without_pings(const std::vector<Received>& received) {
  std::vector<std::string> out;
  for (const Received& r : received) {
    if (r.message != "WATCHDOG=1") out.push_back(r.message);
  }
  return out;
}

std::string dump(const std::vector<Received>& received) {
  std::string out;
  for (const Received& r : received) out += "[" + r.message + "] ";
  return out;
}

// A "VM" and its image in a private directory, and `singleton watch` on it told to notify the
// test's socket as systemd would tell it.
class NotifiedWatch {
 public:
  // `guest_pages` of guest RAM, the first kPages of which are the image's content.
  NotifiedWatch(size_t guest_pages, const std::string& watchdog_usec, const std::string& interval)
      : dir_("watch-notify"),
        paths_{{"SINGLETON_CONFIG", dir_ / "absent.conf"},
               {"SINGLETON_LOCK_FILE", dir_ / "pass.lock"}} {
    // The image: the guest's pages, written and synced (clean, so evictable), in the host cache.
    // Opened without O_CLOEXEC: the holder inherits it, holding its disk open as QEMU does.
    const std::string image = dir_ / "guest.img";
    const int fd = ::open(image.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) throw std::runtime_error("open " + image);
    std::vector<char> page(4096);
    for (size_t i = 0; i < kPages; ++i) {
      testing::fill_test_page(kSeed, i, 0, page.data());
      if (::write(fd, page.data(), page.size()) != 4096) throw std::runtime_error("write");
    }
    if (::fdatasync(fd) != 0) throw std::runtime_error("fdatasync");
    holder_.emplace(testing::MemoryHolderOptions{.pages = guest_pages, .seed = kSeed});
    ::close(fd);
    // As systemd sets them for a service's main process (WATCHDOG_PID left out: the child's
    // pid is not known before the fork, and without it the watchdog is the reader's).
    const ScopedEnv env{{"NOTIFY_SOCKET", socket_.path()},
                        {"WATCHDOG_USEC", watchdog_usec},
                        {"WATCHDOG_PID", std::nullopt}};
    watch_.emplace(
        std::vector<std::string>{"watch", "--backend", "mincore", "--interval", interval, "--pid",
                                 std::to_string(holder_->pid()), "--image", image},
        dir_ / "watch.log");
  }

  NotifySocket& socket() { return socket_; }
  testing::WatchProcess& process() { return *watch_; }

 private:
  testing::TempDir dir_;
  ScopedEnv paths_;
  NotifySocket socket_;
  std::optional<testing::MemoryHolderProcess> holder_;
  std::optional<testing::WatchProcess> watch_;  // last: stopped before the rest goes
};

// The first pass's status. The pages it evicts are those of the image still cached when it
// runs: the host's DAMON pageout may have taken some of these cold pages first (CI saw 255 of
// 256), so the count is read, not assumed, and must be the image's at most.
const std::regex kPassStatus(
    R"(STATUS=pass 1 \(cache\): 1 VM indexed, 1 image scrubbed, evicted (\d+) pages \(.* MiB\))");

// Whether `message` is the first pass's status, with 1 to kPages pages evicted.
::testing::AssertionResult is_pass_status(const std::string& message) {
  std::smatch match;
  if (!std::regex_match(message, match, kPassStatus)) {
    return ::testing::AssertionFailure() << "not a pass status: " << message;
  }
  const unsigned long evicted = std::stoul(match[1]);
  if (evicted == 0 || evicted > kPages) {
    return ::testing::AssertionFailure() << "evicted " << evicted << " of the image's " << kPages
                                         << " pages: " << message;
  }
  return ::testing::AssertionSuccess();
}

TEST(WatchNotifyTest, ReadyThenWatchdogPingsStatusAfterAPassReloadAndStoppingOnSigterm) {
  ASSERT_EQ(::geteuid(), 0u) << "watch needs root";
  NotifiedWatch notified(kPages, "2000000", "0.05");
  NotifySocket& socket = notified.socket();
  testing::WatchProcess* watch = &notified.process();

  const auto ready = socket.receive(20s);
  ASSERT_TRUE(ready) << "no READY=1 in 20 s: " << watch->log();
  EXPECT_EQ(*ready, "READY=1\nSTATUS=no pass yet") << "READY=1 comes first";

  // 4 s of running: the first pass (the image's cache is new) and the watchdog pings.
  const std::vector<Received> running = receive_for(socket, 4000ms);
  std::vector<Clock::time_point> pings;
  for (const Received& r : running) {
    if (r.message == "WATCHDOG=1") pings.push_back(r.at);
  }
  // WATCHDOG_USEC=2 s: a ping every 0.5 s (a quarter), with ticks every 0.05 s.
  EXPECT_GE(pings.size(), 6u) << dump(running);
  EXPECT_LE(pings.size(), 9u) << dump(running);
  for (size_t k = 1; k < pings.size(); ++k) {
    const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(pings[k] - pings[k - 1]);
    EXPECT_GE(gap, 250ms) << "ping " << k << ": not a ping per tick";
    EXPECT_LE(gap, 1000ms) << "ping " << k << ": more than half of WatchdogSec apart";
  }
  const std::vector<std::string> said = without_pings(running);
  ASSERT_EQ(said.size(), 1u) << dump(running) << "\n" << watch->log();
  EXPECT_TRUE(is_pass_status(said[0])) << watch->log();
  std::printf("[ figures ] %zu WATCHDOG=1 in 4 s (WATCHDOG_USEC 2 s, --interval 0.05)\n",
              pings.size());

  ASSERT_EQ(::kill(watch->pid(), SIGHUP), 0);
  const std::vector<Received> reload = receive_for(socket, 20000ms, std::regex("READY=1"));
  const std::vector<std::string> reload_said = without_pings(reload);
  ASSERT_EQ(reload_said.size(), 2u) << dump(reload) << "\n" << watch->log();
  EXPECT_TRUE(std::regex_match(reload_said[0], std::regex("RELOADING=1\nMONOTONIC_USEC=\\d+")))
      << reload_said[0];
  EXPECT_EQ(reload_said[1], "READY=1");

  ASSERT_EQ(::kill(watch->pid(), SIGTERM), 0);
  EXPECT_EQ(watch->wait_exit(20s), std::optional<int>(0)) << watch->log();
  // Exited: everything it sent is queued.
  const std::vector<Received> stopping = receive_for(socket, 100ms);
  ASSERT_FALSE(stopping.empty()) << watch->log();
  EXPECT_EQ(stopping.back().message, "STOPPING=1") << dump(stopping);
  EXPECT_EQ(without_pings(stopping), std::vector<std::string>{"STOPPING=1"}) << dump(stopping);
}

// A pass is pinged through, not only the ticks around it: with --interval 60 the only tick ping
// is the first one (before its 60 s wait), SIGHUP ends that wait and the pass follows at once;
// a guest of 64 MiB is read in 64 batches of 1 MiB, and with pings allowed every 2 ms
// (WATCHDOG_USEC=8 ms) some must come between the reload's READY=1 and the pass's STATUS=.
TEST(WatchNotifyTest, WatchdogIsPingedBetweenTheBatchesOfAPass) {
  ASSERT_EQ(::geteuid(), 0u) << "watch needs root";
  NotifiedWatch notified(16384, "8000", "60");
  NotifySocket& socket = notified.socket();
  testing::WatchProcess* watch = &notified.process();
  const std::vector<Received> start = receive_for(socket, 20000ms, std::regex("WATCHDOG=1"));
  ASSERT_EQ(dump(start), "[READY=1\nSTATUS=no pass yet] [WATCHDOG=1] ") << watch->log();
  EXPECT_EQ(receive_for(socket, 300ms).size(), 0u) << "one tick ping, then the 60 s wait";

  ASSERT_EQ(::kill(watch->pid(), SIGHUP), 0);
  const std::vector<Received> pass = receive_for(socket, 30000ms, kPassStatus);
  ASSERT_FALSE(pass.empty()) << watch->log();
  ASSERT_TRUE(is_pass_status(pass.back().message)) << dump(pass) << "\n" << watch->log();
  size_t after_ready = pass.size();
  for (size_t k = 0; k < pass.size(); ++k) {
    if (pass[k].message == "READY=1") after_ready = k + 1;
  }
  ASSERT_LT(after_ready, pass.size()) << dump(pass);
  size_t pings = 0;
  for (size_t k = after_ready; k + 1 < pass.size(); ++k) pings += pass[k].message == "WATCHDOG=1";
  EXPECT_GE(pings, 3u) << "pings during the pass: " << dump(pass) << "\n" << watch->log();
  std::printf("[ figures ] %zu WATCHDOG=1 during a pass over 64 MiB of guest RAM\n", pings);

  ASSERT_EQ(::kill(watch->pid(), SIGTERM), 0);
  EXPECT_EQ(watch->wait_exit(20s), std::optional<int>(0)) << watch->log();
}

}  // namespace
}  // namespace singleton
