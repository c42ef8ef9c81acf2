// `singleton watch` options from the command line and a real config file.
#include "scrubber/watch/watch_options.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "scrubber/pass/vm_selection.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

class WatchOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = "/tmp/singleton-watch-options-" + std::to_string(::getpid()) + ".conf";
    // Never the host's /etc/singleton.conf.
    ::setenv("SINGLETON_CONFIG", "/nonexistent/singleton.conf", 1);
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(WatchOptionsTest, DefaultsWithoutConfigFile) {
  const WatchOptions o = parse_watch_command_line({}).options;
  EXPECT_EQ(o.cpu_budget_percent, 10);
  EXPECT_EQ(o.config_path, "");
  EXPECT_EQ(o.verbosity, 1);
  EXPECT_FALSE(o.once);
  EXPECT_EQ(o.max_evict_pages, UINT64_MAX);
}

TEST_F(WatchOptionsTest, EveryKeyOfTheExampleConfigIsAFlag) {
  write(
      "cpu-budget = 25\nbackend = mincore\nshared-policy = any\nmax-evict = 64\ninterval = 0.5\n"
      "discover-interval = 2\nprometheus = /var/lib/prometheus/node-exporter/singleton.prom\n"
      "metrics-listen = 127.0.0.1:9477\nvm = web-*\nconnect = qemu:///system\nverbose = true\n"
      "once = false\n");
  const WatchOptions o = parse_watch_command_line({"--config", path_}).options;
  EXPECT_EQ(o.cpu_budget_percent, 25);
  EXPECT_EQ(o.backend, BackendChoice::kMincore);
  EXPECT_EQ(o.shared_policy, SharedPolicy::kAny);
  EXPECT_EQ(o.max_evict_pages, 64u * 256);
  EXPECT_EQ(o.interval_seconds, 0.5);
  EXPECT_EQ(o.discover_interval_seconds, 2);
  EXPECT_EQ(o.prometheus_path, "/var/lib/prometheus/node-exporter/singleton.prom");
  EXPECT_EQ(o.metrics_listen, "127.0.0.1:9477");
  EXPECT_EQ(o.selection.patterns, std::vector<std::string>{"web-*"});
  EXPECT_EQ(o.verbosity, 2);
  EXPECT_EQ(o.config_path, path_);
}

TEST_F(WatchOptionsTest, PressurePolicyFromTheFileAndItsDefaults) {
  const PressureSettings defaults = parse_watch_command_line({}).options.pressure;
  EXPECT_EQ(defaults.when, EvictWhen::kAlways);
  EXPECT_EQ(defaults.order, EvictOrder::kNewest);
  EXPECT_EQ(defaults.step_bytes, 16u << 20);
  write("evict-when = pressure\npressure-cgroup = machine.slice\npressure-headroom = 256\n"
        "pressure-available = 3\npressure-psi = 0\nevict-step = 32\nevict-order = oldest\n");
  const PressureSettings s = parse_watch_command_line({"--config", path_}).options.pressure;
  EXPECT_EQ(s.when, EvictWhen::kPressure);
  EXPECT_EQ(s.cgroup, "machine.slice");
  EXPECT_EQ(s.headroom_bytes, 256u << 20);
  EXPECT_EQ(s.available_percent, 3);
  EXPECT_EQ(s.psi_percent, 0);
  EXPECT_EQ(s.step_bytes, 32u << 20);
  EXPECT_EQ(s.order, EvictOrder::kOldest);
  write("evict-when = sometimes\n");
  try {
    parse_watch_command_line({"--config", path_});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find(":1:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_watch_command_line({"--evict-step", "0"}), Error);
}

TEST_F(WatchOptionsTest, CommandLineWinsOverTheFile) {
  write("cpu-budget = 25\n");
  EXPECT_EQ(
      parse_watch_command_line({"--config", path_, "--cpu-budget", "5"}).options.cpu_budget_percent,
      5);
}

TEST_F(WatchOptionsTest, DefaultPathIsReadWhenItExists) {
  write("cpu-budget = 7\n");
  ::setenv("SINGLETON_CONFIG", path_.c_str(), 1);
  EXPECT_EQ(parse_watch_command_line({}).options.cpu_budget_percent, 7);
}

TEST_F(WatchOptionsTest, BadLineIsAUsageErrorWithItsLineNumber) {
  write("# singleton\n\ncpu-budget = 5\nshared-policy = some\n");
  try {
    parse_watch_command_line({"--config", path_});
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_EQ(std::string(e.what()).rfind(path_ + ":4: shared-policy = some: ", 0), 0u) << e.what();
  }
}

TEST_F(WatchOptionsTest, MissingExplicitConfigIsAUsageError) {
  try {
    parse_watch_command_line({"--config", "/nonexistent/x.conf"});
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
  }
}

TEST_F(WatchOptionsTest, ContradictoryFlagsAreUsageErrors) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--quiet", "--verbose"},
        std::vector<std::string>{"--vm", "a", "--pid", "1", "--image", "/x"},
        std::vector<std::string>{"--pid", "1"}, std::vector<std::string>{"--cpu-budget", "0"},
        std::vector<std::string>{"--backend", "magic"}}) {
    try {
      parse_watch_command_line(args);
      ADD_FAILURE() << args[0] << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage) << args[0];
    }
  }
}

// Every numeric option of watch refuses what is not a number in its range, naming the option
// and the range, on the command line and in the config file (with the line).
TEST_F(WatchOptionsTest, NumericOptionsRefuseBadValuesNamingTheirRange) {
  struct Case {
    const char* option;
    const char* value;
    const char* range;
  };
  for (const Case& c :
       std::vector<Case>{{"max-evict", "-1", "from 1 to 1073741824 MiB"},
                         {"max-evict", "0", "from 1 to 1073741824 MiB"},
                         {"max-evict", "1073741825", "from 1 to 1073741824 MiB"},
                         {"max-evict", "18446744073709551615", "from 1 to 1073741824 MiB"},
                         {"max-evict", "12abc", "from 1 to 1073741824 MiB"},
                         {"cpu-budget", "nan", "from 0.1 to 100 percent of one core"},
                         {"cpu-budget", "inf", "from 0.1 to 100 percent of one core"},
                         {"cpu-budget", "-5", "from 0.1 to 100 percent of one core"},
                         {"cpu-budget", "10%", "from 0.1 to 100 percent of one core"},
                         {"interval", "0", "from 0.01 to 60 s"},
                         {"interval", "1e9", "from 0.01 to 60 s"},
                         {"interval", "0.5s", "from 0.01 to 60 s"},
                         {"discover-interval", "0", "from 0.1 to 3600 s"},
                         {"discover-interval", "NaN", "from 0.1 to 3600 s"},
                         {"metrics-listen", "127.0.0.1:70000", "PORT from 1 to 65535"},
                         {"metrics-listen", "127.0.0.1:-1", "PORT from 1 to 65535"},
                         {"pid", "-1", "from 1 to 2147483647"}}) {
    const std::string what = std::string("--") + c.option + " " + c.value;
    try {
      std::vector<std::string> args{std::string("--") + c.option, c.value};
      if (std::string(c.option) == "pid") args.insert(args.end(), {"--image", "/etc/hostname"});
      const WatchCommandLine parsed = parse_watch_command_line(args);
      (void)parsed;
      ADD_FAILURE() << what << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage) << what;
      EXPECT_NE(std::string(e.what()).find(std::string("--") + c.option), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find(c.range), std::string::npos) << e.what();
    }
    if (std::string(c.option) == "pid") continue;  // not checked when the file is read
    write(std::string("# x\n") + c.option + " = " + c.value + "\n");
    try {
      parse_watch_command_line({"--config", path_});
      ADD_FAILURE() << what << " accepted in the config file";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage) << what;
      EXPECT_EQ(std::string(e.what()).rfind(path_ + ":2: " + c.option + " = " + c.value, 0), 0u)
          << e.what();
      EXPECT_NE(std::string(e.what()).find(c.range), std::string::npos) << e.what();
    }
  }
}

TEST_F(WatchOptionsTest, NumericOptionsAcceptTheirBounds) {
  const WatchOptions o = parse_watch_command_line({"--max-evict", "1073741824", "--cpu-budget",
                                                   "0.1", "--interval", "60", "--discover-interval",
                                                   "3600", "--metrics-listen", "127.0.0.1:65535"})
                             .options;
  EXPECT_EQ(o.max_evict_pages, (uint64_t{1} << 30) * 256);
  EXPECT_EQ(o.cpu_budget_percent, 0.1);
  EXPECT_EQ(o.interval_seconds, 60);
  EXPECT_EQ(o.discover_interval_seconds, 3600);
}

}  // namespace
}  // namespace singleton
