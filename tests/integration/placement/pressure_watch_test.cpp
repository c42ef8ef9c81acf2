// `singleton watch --evict-when pressure` against a real guest and a real memory cgroup (v1 or
// v2, the test's own; its limit is what the watch reads through --pressure-cgroup, the only
// pressure signal enabled): a guest reads a file; while the cgroup is far from its limit the
// watch keeps the duplicates (nothing evicted, the tracker's kept candidates count them); once
// the limit is close, it evicts them and never a page of a host-only file. With both trackers:
// bpf (the kept placed pages go first) and scan (a full pass when memory is needed). A
// --pressure-cgroup that is not a memory cgroup is exit 2, for watch and scrub.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "tests/integration/eviction_evidence.hpp"
#include "tests/integration/memory_cgroup.hpp"
#include "tests/integration/placement/tracker_helpers.hpp"
#include "tests/integration/watch/watch_process.hpp"
#include "tests/vm/fixtures.hpp"
#include "tests/vm/guest.hpp"

namespace singleton {
namespace {

using guestkit::Guest;
using guestkit::GuestOptions;
using guestkit::ScratchDir;
using testing::kMiB;
using testing::WatchProcess;
using namespace std::chrono_literals;

// Pages of `pages` inside a range the watch's audit says it evicted.
size_t audited(const std::vector<testing::AuditedRange>& ranges, const std::vector<uint64_t>& pages) {
  size_t n = 0;
  for (uint64_t page : pages) {
    for (const testing::AuditedRange& r : ranges) {
      if (r.contains(page)) {
        ++n;
        break;
      }
    }
  }
  return n;
}

class WatchPressureGuest : public ::testing::TestWithParam<std::string> {};

TEST_P(WatchPressureGuest, KeepsDuplicatesFarFromTheLimitAndEvictsThemNearItNeverAHostOnlyPage) {
  const std::string tracker = GetParam();
  const std::string problem = guestkit::kit_problem();
  ASSERT_EQ(problem, "") << problem;
  ScratchDir dir("pressure-" + tracker);
  testing::use_own_lock_and_config(dir);
  std::filesystem::create_directories(dir / "data");
  guestkit::write_random_file(dir / "data/guest32", 36 * kMiB, 1303);  // 32 MiB + guards
  guestkit::write_random_file(dir / "data/hostonly", 8 * kMiB, 1304);
  const std::string data = dir / "data.img";
  guestkit::make_image(dir / "data", data);
  const auto guest_pages = testing::measured_pages(data, "/guest32");
  const auto host_pages = guestkit::file_pages_in_image(data, "/hostonly");
  guestkit::drop_from_host_cache(data);

  const testing::MemoryCgroup cgroup("sg-pressure-" + std::to_string(::getpid()));
  cgroup.set_limit(uint64_t{8} << 30);  // far: 8 GiB above an empty cgroup's usage

  GuestOptions opt;
  opt.name = "sg-pressure-" + tracker + "-" + std::to_string(::getpid());
  opt.mem_mib = 384;
  opt.disks.push_back({data, "raw", "writeback", "data", false});
  opt.script =
      "mount -o ro /dev/sg/data /mnt\n"
      "sg_wait start\n"
      "cat /mnt/guest32 > /dev/null\n"
      "sg_wait read\n";
  opt.timeout = 300s;
  Guest guest(opt);
  guest.wait_for_pause("start");
  guestkit::host_read_pages(data, host_pages);

  const std::string audit = dir / "audit.jsonl";
  WatchProcess watch({"watch", "--vm", opt.name, "--tracker", tracker, "--backend", "mincore",
                      "--evict-when", "pressure", "--pressure-cgroup", cgroup.path(),
                      "--pressure-headroom", "64", "--pressure-available", "0", "--pressure-psi",
                      "0", "--discover-interval", "1", "--audit", audit, "--json", "--verbose",
                      "--metrics-listen", "127.0.0.1:0"},
                     dir / "watch.log", dir / "reports.jsonl");
  ASSERT_TRUE(watch.wait_for_log("VM found: " + opt.name, 30s)) << watch.log();
  ASSERT_NE(watch.log().find("tracker " + tracker), std::string::npos) << watch.log();
  const int port = testing::metrics_port(watch.log());
  ASSERT_GT(port, 0) << watch.log();

  const std::vector<bool> cached_before = testing::resident_pages(data);
  const auto others_before = testing::OutsideReclaim::now();
  guest.resume("start");
  guest.wait_for_pause("read");

  // Far from the limit: duplicates kept. Under bpf the tracker holds them as candidates.
  if (tracker == "bpf") {
    double kept = 0;
    for (auto until = std::chrono::steady_clock::now() + 20s;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(200ms)) {
      kept = testing::metric(port, "singleton_kept_duplicate_candidate_pages");
      if (kept >= 0.98 * static_cast<double>(guest_pages.size())) break;
    }
    EXPECT_GE(kept, 0.98 * static_cast<double>(guest_pages.size())) << watch.log();
  }
  std::this_thread::sleep_for(3s);  // a dozen ticks: time to evict, were it to
  EXPECT_EQ(testing::read_audit(audit, data).size(), 0u) << watch.log();
  EXPECT_EQ(testing::metric(port, "singleton_memory_needed"), 0);
  EXPECT_EQ(testing::metric(port, "singleton_evicted_bytes_total"), 0);
  const size_t cached_far = guestkit::count_cached(data, guest_pages);
  // What DAMON paged out meanwhile is read back: still blocks the guest holds, so duplicates the
  // watch must evict once memory is needed.
  testing::reread_missing(data, guest_pages);

  // Near the limit: 16 MiB of headroom left, 64 wanted: 48 MiB short, evicted a step (16 MiB by
  // default) each tick.
  cgroup.set_limit(16 * kMiB);
  const auto near = std::chrono::steady_clock::now();
  size_t evicted = 0;
  double seconds = -1;
  while (std::chrono::steady_clock::now() - near < 60s) {
    evicted = audited(testing::read_audit(audit, data), guest_pages);
    if (evicted * 100 >= guest_pages.size() * 98) {
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - near).count();
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  std::printf("tracker %s: far from the limit %zu of %zu pages cached, none evicted; near it "
              "%zu evicted in %.2f s\n",
              tracker.c_str(), cached_far, guest_pages.size(), evicted, seconds);
  EXPECT_GE(seconds, 0) << "not evicted near the limit:\n" << watch.log();
  EXPECT_EQ(testing::metric(port, "singleton_memory_needed"), 1);
  EXPECT_GE(testing::metric(port, "singleton_pressure_steps_total"), 1);
  const auto verdict = testing::host_only_verdict(
      testing::read_audit(audit, data), host_pages, cached_before, testing::resident_pages(data),
      others_before, testing::OutsideReclaim::now());
  std::printf("host-only pages: %s\n", verdict.summary().c_str());
  EXPECT_EQ(verdict.failure(), "") << watch.log();
  EXPECT_NE(watch.log().find("memory needed (cgroup"), std::string::npos) << watch.log();

  guest.resume("read");
  EXPECT_EQ(guest.wait().rc, 0);
  ASSERT_EQ(::kill(watch.pid(), SIGTERM), 0);
  EXPECT_EQ(watch.wait_exit(10s), std::optional<int>(0)) << watch.log();
}

INSTANTIATE_TEST_SUITE_P(Trackers, WatchPressureGuest, ::testing::Values("bpf", "scan"),
                         [](const auto& info) { return info.param; });

// Issue test: a --pressure-cgroup that is not a memory cgroup is a usage error (exit 2) naming
// it, at start, for watch and for scrub.
TEST(WatchPressure, ABrokenCgroupPathIsExitTwo) {
  ScratchDir dir("pressure-broken");
  testing::use_own_lock_and_config(dir);
  const std::string bogus = "/sys/fs/cgroup/memory/sg-no-such-group-" + std::to_string(::getpid());
  for (const char* command : {"watch", "scrub"}) {
    WatchProcess run({command, "--vm", "sg-pressure-none-*", "--evict-when", "pressure",
                      "--pressure-cgroup", bogus},
                     dir / (std::string(command) + ".log"));
    EXPECT_EQ(run.wait_exit(20s), std::optional<int>(2)) << command << ": " << run.log();
    EXPECT_NE(run.log().find("--pressure-cgroup " + bogus + ": not a memory cgroup"),
              std::string::npos)
        << run.log();
  }
}

}  // namespace
}  // namespace singleton
