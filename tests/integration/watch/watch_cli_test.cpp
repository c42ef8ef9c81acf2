// `singleton watch` through the CLI, without guests: a broken config line is exit 2 naming its
// line; --once on a host without a matching VM exits 0 and writes a textfile promtool accepts;
// SIGHUP reloads the config (a broken one is refused and the watcher goes on); SIGTERM exits 0.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/unit/cli_run.hpp"
#include "tests/integration/watch/watch_process.hpp"

namespace singleton {
namespace {

using testing::run_singleton;

class WatchCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/singleton-watch-cli-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
    ::setenv("SINGLETON_CONFIG", (dir_ + "/absent.conf").c_str(), 1);
    ::setenv("SINGLETON_LOCK_FILE", (dir_ + "/pass.lock").c_str(), 1);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(WatchCliTest, BrokenConfigLineExitsTwoNamingFileAndLine) {
  const std::string conf = dir_ + "/singleton.conf";
  std::ofstream(conf) << "# singleton\ncpu-budget = 10\nprometheus /var/lib/x.prom\n";
  const auto run = run_singleton("watch --config " + conf);
  EXPECT_EQ(run.rc, 2) << run.err;
  EXPECT_EQ(run.err, "singleton: " + conf +
                         ":3: expected 'key = value', got 'prometheus "
                         "/var/lib/x.prom'\n");
}

TEST_F(WatchCliTest, BadValueInTheDefaultConfigExitsTwo) {
  const std::string conf = dir_ + "/default.conf";
  std::ofstream(conf) << "\n\n\n\ncpu-budget = 1000\n";
  ::setenv("SINGLETON_CONFIG", conf.c_str(), 1);
  const auto run = run_singleton("watch --once");
  EXPECT_EQ(run.rc, 2) << run.err;
  EXPECT_NE(run.err.find(conf + ":5: cpu-budget = 1000"), std::string::npos) << run.err;
}

TEST_F(WatchCliTest, OnceWithoutMatchingVmExitsZeroAndWritesValidMetrics) {
  ASSERT_EQ(::geteuid(), 0u) << "watch needs root";
  const std::string prom = dir_ + "/singleton.prom";
  const auto run = run_singleton("watch --once --backend mincore --vm no-such-vm-" +
                                 std::to_string(::getpid()) + " --prometheus " + prom);
  EXPECT_EQ(run.rc, 0) << run.err;
  EXPECT_NE(run.err.find("no VM found"), std::string::npos) << run.err;
  ASSERT_TRUE(std::filesystem::exists(prom));
  const std::string check =
      testing::shell_output("promtool check metrics < " + prom + " 2>&1; echo rc=$?");
  EXPECT_EQ(check, "rc=0") << "promtool (Debian package prometheus) on " << prom;
}

TEST_F(WatchCliTest, NotRootIsEnvironmentError) {
  const auto run =
      run_singleton("watch --once", "setpriv --reuid=65534 --regid=65534 --clear-groups");
  EXPECT_EQ(run.rc, 3) << run.err;
  EXPECT_NE(run.err.find("root"), std::string::npos) << run.err;
}

TEST_F(WatchCliTest, SighupReloadsTheConfigAndRefusesABrokenOne) {
  ASSERT_EQ(::geteuid(), 0u) << "watch needs root";
  using namespace std::chrono_literals;
  const std::string conf = dir_ + "/watch.conf";
  std::ofstream(conf) << "vm = no-such-vm-a\ncpu-budget = 10\n";
  testing::WatchProcess watch({"watch", "--config", conf, "--backend", "mincore"},
                              dir_ + "/watch.log");
  ASSERT_TRUE(watch.wait_for_log("watching VMs named no-such-vm-a", 20s)) << watch.log();

  std::ofstream(conf) << "vm = no-such-vm-b\ncpu-budget = 20\n";
  ASSERT_EQ(::kill(watch.pid(), SIGHUP), 0);
  EXPECT_TRUE(watch.wait_for_log("configuration reloaded from " + conf, 20s)) << watch.log();

  std::ofstream(conf) << "vm = no-such-vm-c\n\ncpu-budget = 20 percent\n";
  ASSERT_EQ(::kill(watch.pid(), SIGHUP), 0);
  EXPECT_TRUE(watch.wait_for_log(
      "reload failed, keeping the running configuration: " + conf + ":3: cpu-budget = 20 percent",
      20s))
      << watch.log();
  EXPECT_FALSE(watch.exited()) << "a broken config on SIGHUP must not stop the watcher";

  ASSERT_EQ(::kill(watch.pid(), SIGTERM), 0);
  EXPECT_EQ(watch.wait_exit(20s), std::optional<int>(0)) << watch.log();
}

}  // namespace
}  // namespace singleton
