// Issue test 8: bad input to the `singleton` CLI gives one clear line on stderr and the
// documented exit code (0 done, 1 partial, 2 usage/configuration, 3 environment).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "tests/unit/cli_run.hpp"
#include "tests/unit/scrubber/temp_file.hpp"
#include "tests/unit/temp_dir.hpp"

namespace singleton {
namespace {

using testing::CliRun;
using testing::run_singleton;

size_t lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

void expect_error(const CliRun& run, int rc, const std::string& says) {
  EXPECT_EQ(run.rc, rc) << run.err;
  EXPECT_EQ(lines(run.err), 1u) << "not one line: " << run.err;
  EXPECT_EQ(run.err.rfind("singleton: ", 0), 0u) << run.err;
  EXPECT_NE(run.err.find(says), std::string::npos) << "expected '" << says << "' in: " << run.err;
  EXPECT_EQ(run.out, "");
}

class CliErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_FAIL() << "run as root: these checks run the CLI as root and as nobody";
    ::setenv("SINGLETON_LOCK_FILE", lock_.c_str(), 1);
  }
  std::string self() const { return std::to_string(::getpid()); }
  // The lock's directory must be private (PassLock refuses a world-writable one like /tmp).
  testing::TempDir temp_{"singleton-cli-test"};
  const std::filesystem::path lock_dir_{temp_.path()};
  const std::filesystem::path lock_ = lock_dir_ / "pass.lock";
};

TEST_F(CliErrorsTest, MissingImageIsAUsageError) {
  expect_error(run_singleton("scrub --pid " + self() + " --image /nonexistent/disk.img"), 2,
               "/nonexistent/disk.img");
}

TEST_F(CliErrorsTest, ImageThatCannotBeReadAsAFileIsAUsageError) {
  expect_error(run_singleton("scan --pid " + self() + " --image /var/tmp"), 2,
               "not a regular file");
}

TEST_F(CliErrorsTest, UnknownVmIsAUsageError) {
  // libvirt's built-in test driver: a real libvirt connection that needs no daemon.
  expect_error(run_singleton("scan --connect test:///default --vm no-such-vm-here"), 2,
               "--vm no-such-vm-here: no such VM");
}

TEST_F(CliErrorsTest, MalformedPidIsAUsageError) {
  for (const char* pid : {"12x", "-5", "0", "abc", "99999999999"}) {
    expect_error(run_singleton(std::string("scan --pid ") + pid + " --image /etc/hostname"), 2,
                 "--pid");
  }
}

TEST_F(CliErrorsTest, PidOfNoProcessIsAUsageError) {
  expect_error(run_singleton("scan --pid 2147483646 --image /etc/hostname"), 2, "no such process");
}

TEST_F(CliErrorsTest, NotRootIsAnEnvironmentError) {
  testing::TempFile image(1 << 20);
  ::chmod(image.path().c_str(), 0644);
  expect_error(run_singleton("scrub --pid 1 --image " + image.path(),
                             "setpriv --reuid=65534 --regid=65534 --clear-groups"),
               3, "needs CAP_SYS_PTRACE");
  expect_error(run_singleton("pagecache " + image.path(),
                             "setpriv --reuid=65534 --regid=65534 --clear-groups"),
               3, "needs CAP_SYS_ADMIN");
}

// `singleton trace`: a usage error before anything is loaded, and BPF refused to a process
// without CAP_BPF/CAP_PERFMON is exit 3 with the reason (no BPF is loaded in either case).
TEST_F(CliErrorsTest, TraceUsageAndEnvironmentErrors) {
  expect_error(run_singleton("trace"), 2, "no --pid given");
  expect_error(run_singleton("trace --pid 999999999"), 2, "no process 999999999");
  expect_error(run_singleton("trace --pid " + self() + " --seconds 0"), 2, "--seconds");
  expect_error(run_singleton("trace --pid 1", "setpriv --reuid=65534 --regid=65534 --clear-groups"),
               3, "trace needs CAP_BPF");
  expect_error(run_singleton("trace --pid 1", "setpriv --bounding-set=-bpf --inh-caps=-bpf"), 3,
               "trace needs CAP_BPF (loads the placement tracer (BPF))");
}

// Root is not enough: what counts is the capabilities a pass uses (a unit's
// CapabilityBoundingSet= may leave one out), and the error names the one that is missing.
TEST_F(CliErrorsTest, RootWithoutPtraceCapabilityIsAnEnvironmentError) {
  testing::TempFile image(1 << 20);
  expect_error(run_singleton("scrub --pid 1 --image " + image.path(),
                             "setpriv --bounding-set=-sys_ptrace --inh-caps=-sys_ptrace"),
               3,
               "needs CAP_SYS_PTRACE (reads the guests' memory in QEMU processes): run it as "
               "root with these capabilities in its bounding set");
}

TEST_F(CliErrorsTest, ASecondPassWhileTheLockIsHeldIsAnEnvironmentError) {
  const int fd = ::open(lock_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ASSERT_EQ(::pwrite(fd, "4242\n", 5, 0), 5);
  expect_error(run_singleton("scrub --pid " + self() + " --image /etc/hostname"), 3,
               "another singleton pass is running (pid 4242");
  ::close(fd);
}

// A config file anyone could have written is refused before anything runs.
TEST_F(CliErrorsTest, AConfigFileWritableByOthersIsAUsageError) {
  const std::string config = (lock_dir_ / "singleton.conf").string();
  std::ofstream(config) << "backend = mincore\n";
  ASSERT_EQ(::chmod(config.c_str(), 0666), 0);
  expect_error(run_singleton("watch --once --config " + config), 2,
               "is writable by everyone (mode 0666): refusing it");
}

TEST_F(CliErrorsTest, UnknownOptionsAndValuesAreUsageErrors) {
  expect_error(run_singleton("scan --frobnicate"), 2, "frobnicate");
  expect_error(run_singleton("scan --backend turbo --pid 1 --image /etc/hostname"), 2, "turbo");
  expect_error(run_singleton("scan --shared-policy most --pid 1 --image /etc/hostname"), 2, "most");
  expect_error(run_singleton("scan --max-evict lots --pid 1 --image /etc/hostname"), 2,
               "max-evict");
  expect_error(run_singleton("scan --image /etc/hostname"), 2, "--image needs --pid");
  expect_error(run_singleton("defrag"), 2, "unknown command");
  expect_error(run_singleton("pagecache /nonexistent/file"), 2, "/nonexistent/file");
}

// Every numeric option of every command, through the real binary: a negative, non-numeric,
// trailing-garbage, NaN/inf or out-of-range value is exit 2 with one line naming the option and
// its range (no wrap-around of -1 to 2^64-1). `timeout`: a watch that wrongly accepted would run.
TEST_F(CliErrorsTest, BadNumericOptionValuesAreUsageErrorsNamingTheRange) {
  const std::string env = "timeout 20 env SINGLETON_CONFIG=/nonexistent/singleton.conf";
  const std::string vm = " --pid " + self() + " --image /etc/hostname";
  const std::string evict = "from 1 to 1073741824 MiB";
  for (const char* command : {"scan", "scrub", "watch"}) {
    for (const char* value :
         {"-1", "0", "1073741825", "18446744073709551615", "5MiB", "1e3", "0x10"}) {
      expect_error(run_singleton(std::string(command) + " --max-evict " + value + vm, env), 2,
                   std::string("--max-evict ") + value + ": expected a whole number " + evict);
    }
  }
  for (const char* value : {"nan", "inf", "-5", "0", "101", "10%"}) {
    expect_error(run_singleton(std::string("watch --cpu-budget ") + value, env), 2,
                 std::string("--cpu-budget ") + value +
                     ": expected a number from 0.1 to 100 percent of one core");
  }
  for (const char* value : {"0", "-0.25", "1e6", "nan", "0.5s"}) {
    expect_error(run_singleton(std::string("watch --interval ") + value, env), 2,
                 std::string("--interval ") + value + ": expected a number from 0.01 to 60 s");
    expect_error(
        run_singleton(std::string("watch --discover-interval ") + value, env), 2,
        std::string("--discover-interval ") + value + ": expected a number from 0.1 to 3600 s");
  }
  for (const char* value : {"65536", "-1", "80x", "99999999999"}) {
    expect_error(run_singleton(std::string("watch --metrics-listen 127.0.0.1:") + value, env), 2,
                 "PORT from 1 to 65535");
  }
  for (const char* command : {"scan", "vms", "watch"}) {
    expect_error(run_singleton(std::string(command) + " --pid -1 --image /etc/hostname", env), 2,
                 "--pid '-1': expected a process id, a whole number from 1 to 2147483647");
  }
}

TEST_F(CliErrorsTest, BadNumberInTheConfigFileIsAUsageErrorWithItsLine) {
  const std::string conf = lock_.string() + ".conf";
  for (const char* line :
       {"max-evict = -1", "cpu-budget = inf", "interval = 0", "discover-interval = 5 minutes"}) {
    std::ofstream(conf) << "# singleton\n\n" << line << "\n";
    expect_error(run_singleton("watch --once --config " + conf, "timeout 20"), 2,
                 conf + ":3: " + line + ": --");
  }
  std::filesystem::remove(conf);
}

TEST_F(CliErrorsTest, KmodBackendWithoutTheModuleIsAnEnvironmentError) {
  if (std::filesystem::exists("/dev/singleton_pcache")) GTEST_SKIP() << "the module is loaded";
  expect_error(run_singleton("pagecache --backend kmod /etc/hostname"), 3, "singleton_pcache");
}

TEST_F(CliErrorsTest, HelpDocumentsExitCodesAndTheSharedPolicy) {
  const CliRun help = run_singleton("--help");
  EXPECT_EQ(help.rc, 0);
  for (const char* text : {"scan", "scrub", "pagecache", "Exit codes", "0  done", "1  done in part",
                           "2  usage", "3  environment", "--shared-policy all"}) {
    EXPECT_NE(help.out.find(text), std::string::npos) << text;
  }
  const CliRun scrub_help = run_singleton("scrub --help");
  EXPECT_EQ(scrub_help.rc, 0);
  for (const char* text : {"--max-evict", "--backend", "--vm", "--pid", "--connect",
                           "EVERY VM attached", "Exit codes"}) {
    EXPECT_NE(scrub_help.out.find(text), std::string::npos) << text;
  }
  const CliRun version = run_singleton("--version");
  EXPECT_EQ(version.rc, 0);
  EXPECT_EQ(version.out.rfind("singleton ", 0), 0u);
}

TEST_F(CliErrorsTest, PagecacheJsonHasTheDocumentedKeysAndAddsNoPage) {
  testing::TempFile file(8 << 20);
  file.read_range(0, 2 << 20);  // plus whatever readahead the kernel adds
  auto cached = [&] {
    const CliRun run = run_singleton("pagecache --json " + file.path());
    EXPECT_EQ(run.rc, 0) << run.err;
    return testing::u64(run.json().at("files").as_array().at(0).as_object(), "cached_pages");
  };
  const uint64_t before = cached();
  ASSERT_GE(before, 512u);
  const CliRun run = run_singleton("pagecache --json --pages " + file.path());
  ASSERT_EQ(run.rc, 0) << run.err;
  const auto doc = run.json();
  const auto& f = doc.at("files").as_array().at(0).as_object();
  EXPECT_EQ(f.at("path").as_string(), file.path());
  EXPECT_EQ(testing::u64(f, "size_pages"), 2048u);
  EXPECT_EQ(testing::u64(f, "cached_pages"), before);
  EXPECT_EQ(testing::u64(f, "dirty_pages"), 0u);
  const auto& pages = f.at("pages").as_array();
  ASSERT_EQ(pages.size(), before);
  const auto& first = pages.at(0).as_object();
  EXPECT_EQ(testing::u64(first, "index"), 0u);
  EXPECT_EQ(first.at("hash").as_string().size(), 16u);
  EXPECT_TRUE(first.at("flags").is_array());
  EXPECT_EQ(cached(), before) << "pagecache --pages changed the cache it looked at";
}

}  // namespace
}  // namespace singleton

namespace singleton {
namespace {

// Not an error case, but the same harness: a real pass over this test process (its anonymous
// memory holds a copy of the file's first 2 MiB) with --regions anon and --prometheus.
TEST_F(CliErrorsTest, ScrubWithRegionsAnonEvictsAndWritesAPrometheusTextfile) {
  constexpr size_t kCopy = 2 << 20;
  testing::TempFile file(8 << 20, 7);
  void* copy = ::mmap(nullptr, kCopy, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(copy, MAP_FAILED);
  const int fd = ::open(file.path().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_EQ(::pread(fd, copy, kCopy, 0), static_cast<ssize_t>(kCopy));
  const std::string textfile = lock_.string() + ".prom";
  // Held open during the pass, as a VM holds its disk: singleton only scrubs a file the VM has
  // open.
  const CliRun run = run_singleton("scrub --json --regions anon --pid " + self() + " --image " +
                                   file.path() + " --prometheus " + textfile);
  ::close(fd);
  ::munmap(copy, kCopy);
  ASSERT_EQ(run.rc, 0) << run.err;
  const auto doc = run.json();
  const auto& totals = doc.at("totals").as_object();
  EXPECT_GE(testing::u64(totals, "double_cached_pages"), kCopy / 4096);
  EXPECT_GT(testing::u64(totals, "evicted_pages"), 0u);
  ASSERT_TRUE(std::filesystem::exists(textfile)) << "no textfile written";
  ASSERT_EQ(std::system("command -v promtool >/dev/null"), 0)
      << "promtool (Debian package prometheus) is needed to check the textfile";
  EXPECT_EQ(std::system(("promtool check metrics < " + textfile).c_str()), 0);
  std::filesystem::remove(textfile);
}

}  // namespace
}  // namespace singleton
