// The `singleton` CLI against fake QEMU processes (tests/unit/trust/fake_qemu.hpp): a local user
// cannot make root read a file through a process that looks like QEMU, special files given as
// --image are refused at once, and a VM beyond discovery's bounds is an error for that VM alone
// while a legitimate VM next to it is still found. Needs root (runs fakes as nobody); no VM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <thread>

#include "tests/unit/cli_run.hpp"
#include "tests/unit/finishes_within.hpp"
#include "tests/unit/open_watch.hpp"
#include "tests/unit/temp_dir.hpp"
#include "tests/unit/trust/fake_qemu.hpp"

namespace singleton {
namespace {

namespace fs = std::filesystem;
using testing::CliRun;
using testing::FakeQemu;
using testing::FakeQemuOptions;
using testing::OpenWatch;
using testing::run_singleton;

constexpr uid_t kNobody = 65534;

// The shared private TempDir, opened to 0755 so that nobody's fakes reach their own files in it.
class TempDir : public testing::TempDir {
 public:
  TempDir() : testing::TempDir("trust-cli") { ::chmod(path().c_str(), 0755); }
};

void write_file(const std::string& path, size_t bytes, mode_t mode) {
  std::ofstream(path, std::ios::binary) << std::string(bytes, 's');
  ::chmod(path.c_str(), mode);
}

void run(const std::string& command) { ASSERT_EQ(std::system(command.c_str()), 0) << command; }

// run_singleton() with a hang guard: `singleton ARGS` (shell words) in a process group of its own,
// killed when it has not ended within `limit` (testing::kHangLimit: a run takes well under a
// second on a quiet host and a few in a loaded TCG guest; a blocking open of a FIFO never ends).
struct BoundedRun {
  CliRun run;
  bool hung = false;
  double seconds = 0;      // wall time
  double cpu_seconds = 0;  // user + system time of singleton and the children it waited for
};
BoundedRun run_singleton_within(const std::string& args, const TempDir& dir,
                                std::chrono::seconds limit = testing::kHangLimit) {
  const std::string out = dir / "run.out", err = dir / "run.err";
  const std::string command = std::string("exec ") + SINGLETON_BIN + " " + args;
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    const int in = ::open("/dev/null", O_RDONLY);
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || o < 0 || e < 0 || ::dup2(in, 0) < 0 || ::dup2(o, 1) < 0 || ::dup2(e, 2) < 0)
      ::_exit(126);
    for (const int fd : {in, o, e})
      if (fd > 2) ::close(fd);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  BoundedRun result;
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return result;
  }
  ::setpgid(pid, pid);
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, WNOHANG, &usage) == 0) {
    if (std::chrono::steady_clock::now() - start > limit) {
      result.hung = true;
      ::kill(-pid, SIGKILL);
      ::wait4(pid, &status, 0, &usage);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  result.cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  result.run.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.run.out = testing::slurp(out);
  result.run.err = testing::slurp(err);
  return result;
}

// A root QEMU with its disk open, as a real one: must be discovered whatever else runs.
struct LegitVm {
  explicit LegitVm(const TempDir& dir)
      : image((write_file(dir / "legit.img", 2 << 20, 0600), dir / "legit.img")),
        qemu({.args = {"-name", "guest=legit", "-drive", "file=" + image + ",format=raw"},
              .hold = {image}}) {}
  std::string image;
  FakeQemu qemu;
};

bool lists_pid(const std::string& vms_json, pid_t pid) {
  const boost::json::value doc = boost::json::parse(vms_json);  // outlives the loop below
  for (const auto& vm : doc.as_array())
    if (vm.as_object().at("pid").as_int64() == pid) return true;
  return false;
}

void expect_absent(const std::string& text, const std::string& what, const char* where) {
  EXPECT_EQ(text.find(what), std::string::npos) << what << " appears in " << where << ": " << text;
}

class TrustCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_FAIL() << "run as root: fakes run as root and as nobody";
    ::setenv("SINGLETON_LOCK_FILE", lock_.c_str(), 1);
  }
  // The lock's directory must be private (PassLock refuses a world-writable one like /tmp).
  testing::TempDir lock_dir_{"singleton-trust-lock"};
  const fs::path lock_ = lock_dir_ / "pass.lock";
};

// The attack of the issue: nobody runs "qemu-system-x86_64 -drive file=<root-only file>". It is not
// a VM: the file is never opened, and appears in no output, report or textfile.
TEST_F(TrustCliTest, FakeQemuOfNobodyNamingARootOnlyFileIsIgnoredAndTheFileNeverOpened) {
  TempDir dir;
  write_file(dir / "secret.img", 4 << 20, 0600);
  LegitVm legit(dir);
  FakeQemu sneaky(
      {.args = {"-name", "guest=sneaky", "-drive", "file=" + dir / "secret.img" + ",format=raw"},
       .uid = kNobody});
  OpenWatch watch(dir / "secret.img");

  const CliRun vms = run_singleton("vms --json");
  EXPECT_TRUE(vms.rc == 0 || vms.rc == 1) << vms.err;  // 1: other VMs on this host may fail
  EXPECT_TRUE(lists_pid(vms.out, legit.qemu.pid())) << vms.out;
  EXPECT_FALSE(lists_pid(vms.out, sneaky.pid())) << vms.out;
  // Passes run on the legitimate VM only: other VMs on this host (other tests' guests) are not
  // ours to scrub. The fake of nobody is not a VM to select either (the message lists the VMs).
  const CliRun pick = run_singleton("scan --vm sneaky");
  EXPECT_EQ(pick.rc, 2) << pick.err;
  EXPECT_NE(pick.err.find("--vm sneaky: no such VM (found: "), std::string::npos) << pick.err;
  EXPECT_NE(pick.err.find("legit"), std::string::npos) << pick.err;
  const std::string textfile = dir / "metrics.prom";
  const CliRun scan =
      run_singleton("scan --json --regions anon --vm legit --prometheus " + textfile);
  EXPECT_EQ(scan.rc, 0) << scan.err;
  EXPECT_NE(scan.out.find(legit.image), std::string::npos) << scan.out;
  EXPECT_NE(testing::slurp(textfile).find(legit.image), std::string::npos);
  const CliRun scrub = run_singleton("scrub --json --regions anon --vm legit");
  EXPECT_EQ(scrub.rc, 0) << scrub.err;

  for (const std::string& secret : {std::string("secret.img"), std::string("sneaky")}) {
    for (const CliRun* r : {&vms, &scan, &scrub}) {
      expect_absent(r->out, secret, "stdout");
      expect_absent(r->err, secret, "stderr");
    }
    expect_absent(testing::slurp(textfile), secret, "the textfile");
  }
  expect_absent(pick.err.substr(pick.err.find("found: ")), "sneaky", "the list of VMs");
  EXPECT_EQ(watch.events(), 0u) << "singleton opened or read the root-only file";
  // The watch sees opens at all: ours.
  { std::ifstream(dir / "secret.img").get(); }
  EXPECT_GT(watch.events(), 0u);
}

// nobody's own qcow2 naming a root-only backing file: qemu-img (as root, probing) once opened it.
// Now the process is not a VM, and even for a VM only held files are read.
TEST_F(TrustCliTest, FakeQemuOfNobodyWithARootOnlyBackingFileNeverGetsItOpened) {
  TempDir dir;
  write_file(dir / "secret.raw", 4 << 20, 0600);
  run("qemu-img create -q -u -f qcow2 -F raw -b " + dir / "secret.raw" + " " + dir / "user.qcow2" +
      " 4M && chown 65534:65534 " + dir / "user.qcow2");
  LegitVm legit(dir);
  FakeQemu sneaky({.args = {"-drive", "file=" + dir / "user.qcow2" + ",format=qcow2"},
                   .hold = {dir / "user.qcow2"},
                   .uid = kNobody});
  OpenWatch watch(dir / "secret.raw");
  const CliRun vms = run_singleton("vms --json");
  EXPECT_TRUE(lists_pid(vms.out, legit.qemu.pid())) << vms.out << vms.err;
  EXPECT_FALSE(lists_pid(vms.out, sneaky.pid())) << vms.out;
  const CliRun scan = run_singleton("scan --json --regions anon --vm legit");
  EXPECT_EQ(scan.rc, 0) << scan.err;
  for (const CliRun* r : {&vms, &scan}) {
    expect_absent(r->out, "secret.raw", "stdout");
    expect_absent(r->err, "secret.raw", "stderr");
  }
  EXPECT_EQ(watch.events(), 0u) << "singleton opened or read the root-only backing file";
}

// A FIFO would block open(2) forever, /dev/zero is endless: refused before being opened. What is
// asserted is that neither is opened or read (inotify on the FIFO and on a private node of
// /dev/zero's device, which no other process opens), not how long a run takes; a run that hangs
// all the same is killed at the hang guard and fails.
TEST_F(TrustCliTest, FifoCharDeviceAndSymlinkToDevZeroAsImageAreUsageErrorsAtOnce) {
  TempDir dir;
  LegitVm legit(dir);
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  ASSERT_TRUE(testing::make_zero_device_node(dir / "zero-node")) << std::strerror(errno);
  ASSERT_EQ(::symlink((dir / "zero-node").c_str(), (dir / "zero").c_str()), 0);
  const OpenWatch fifo_opens(dir / "fifo");
  const OpenWatch zero_opens(dir / "zero-node");
  const std::string pid = std::to_string(legit.qemu.pid());
  for (const std::string& image : {dir / "fifo", dir / "zero", std::string("/dev/null")}) {
    for (const char* command : {"scan", "scrub", "vms"}) {
      const BoundedRun b =
          run_singleton_within(std::string(command) + " --pid " + pid + " --image " + image, dir);
      const CliRun& r = b.run;
      EXPECT_FALSE(b.hung) << command << " --image " << image << " still ran after "
                           << testing::kHangLimit.count() << " s";
      EXPECT_EQ(r.rc, 2) << command << " " << image << ": " << r.err;
      EXPECT_NE(r.err.find("not a regular file or block device"), std::string::npos) << r.err;
      EXPECT_EQ(fifo_opens.events(), 0u) << command << " --image " << image << " opened the FIFO";
      EXPECT_EQ(zero_opens.events(), 0u)
          << command << " --image " << image << " opened the character device";
      std::printf("[ figures ] %s --image %s: exit %d in %.3f s\n", command, image.c_str(), r.rc,
                  b.seconds);
    }
  }
  // The watches see opens at all: ours.
  ::close(::open((dir / "fifo").c_str(), O_RDONLY | O_NONBLOCK));
  ::close(::open((dir / "zero").c_str(), O_RDONLY));
  EXPECT_GT(fifo_opens.events(), 0u);
  EXPECT_GT(zero_opens.events(), 0u);
}

TEST_F(TrustCliTest, ImageTheProcessDoesNotHoldOpenIsAUsageErrorSayingSo) {
  TempDir dir;
  LegitVm legit(dir);
  write_file(dir / "other.img", 1 << 20, 0644);
  const CliRun r = run_singleton("scan --pid " + std::to_string(legit.qemu.pid()) + " --image " +
                                 dir / "other.img");
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find("does not hold this file open"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(dir / "other.img"), std::string::npos) << r.err;
  // The image it holds: accepted.
  const CliRun ok = run_singleton("scan --json --regions anon --pid " +
                                  std::to_string(legit.qemu.pid()) + " --image " + legit.image);
  EXPECT_EQ(ok.rc, 0) << ok.err;
}

// A VM name or image path with control bytes reaches no terminal raw: the name is shown escaped
// beside its pid and source, the path is refused (it would be a report line and a label value).
TEST_F(TrustCliTest, ControlBytesInNamesAndPathsAreEscapedAndSuchPathsRefused) {
  TempDir dir;
  const std::string bad_path = dir / "bad\nname\x1b[2J.img";
  write_file(bad_path, 1 << 20, 0600);
  write_file(dir / "good.img", 1 << 20, 0600);
  FakeQemu evil(
      {.args = {"-name", "guest=evil\x1b[2J\nname", "-drive", "file=" + bad_path + ",format=raw",
                "-drive", "file=" + dir / "good.img" + ",format=raw"},
       .hold = {bad_path, dir / "good.img"}});
  const CliRun vms = run_singleton("vms");
  for (const std::string* text : {&vms.out, &vms.err})
    EXPECT_EQ(text->find('\x1b'), std::string::npos) << "raw ESC in: " << *text;
  const std::string pid = std::to_string(evil.pid());
  EXPECT_NE(vms.out.find("evil\\x1b[2J\\x0aname"), std::string::npos) << vms.out;
  EXPECT_NE(vms.out.find(dir / "good.img"), std::string::npos) << vms.out;
  EXPECT_NE(vms.err.find("VM 'evil\\x1b[2J\\x0aname' (pid " + pid + ", proc)"), std::string::npos)
      << vms.err;
  EXPECT_NE(vms.err.find("bad\\x0aname\\x1b[2J.img"), std::string::npos) << vms.err;
  EXPECT_NE(vms.err.find("refused"), std::string::npos) << vms.err;
}

// `vms --json` with one VM beyond a bound and a legitimate one: exit 1, an error naming the bound
// and the pid, the legitimate VM listed.
// The bad VMs' command lines end with this name: discovery stops reading at the bound, so the
// error names the VM otherwise.
const std::vector<std::string> kPastTheBound{"-name", "guest=past-the-bound"};

// The line of `err` about process `pid` ("VM 'name' (pid N, proc): ..."), "" when none is. Checks
// look at that line only: other tests on this host may run fake QEMUs beyond the bounds too.
std::string line_about(const std::string& err, pid_t pid) {
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);)
    if (line.find("(pid " + std::to_string(pid) + ",") != std::string::npos) return line;
  return "";
}

void expect_bounded(const CliRun& vms, pid_t bad, pid_t legit, const std::string& bound) {
  EXPECT_EQ(vms.rc, 1) << vms.err;
  EXPECT_TRUE(lists_pid(vms.out, legit)) << vms.err;
  EXPECT_FALSE(lists_pid(vms.out, bad));
  const std::string line = line_about(vms.err, bad);
  EXPECT_NE(line.find(bound), std::string::npos) << vms.err;
  EXPECT_EQ(line.find("past-the-bound"), std::string::npos)
      << "the command line was read past the bound: " << line;
}

// What a VM beyond a bound costs a `vms` run, as a ratio to what its twin within the bounds costs:
// that the bound cuts the work short is asserted by what is read (above, and the files of a chain
// below); this is a coarse guard against work per disk, node or layer that leaves no such trace (a
// qemu-img run per disk made it 19). The twin has the same command line size and the same open
// files, only no bound is crossed (its -drive options are -device options, its chain is one file
// deep), so both runs read as much of /proc. CPU time of the whole run (singleton and the children
// it waited for), not wall time, the fastest of 3 runs each, in turns: load slows both sides alike
// and the minimum drops its bursts. Within the bounds the ratio is about 1 (0.83-1.19 on this host,
// quiet or loaded), but in TCG guests on a loaded host it ranged over 0.36-1.90 (a guest's CPU time
// counts what the host took from it); the bound of 5 is well above that and far below the 19.
struct VmCost {
  double bad = 1e9, twin = 1e9;            // CPU seconds
  double bad_wall = 1e9, twin_wall = 1e9;  // for the figures
  double ratio() const { return bad / twin; }
};
VmCost cost_of_vm(const std::function<std::unique_ptr<FakeQemu>()>& make_bad,
                  const std::function<std::unique_ptr<FakeQemu>()>& make_twin, pid_t legit,
                  const std::string& bound, const TempDir& dir) {
  VmCost cost;
  for (int turn = 0; turn < 3; ++turn) {
    {
      const std::unique_ptr<FakeQemu> twin = make_twin();
      const BoundedRun t = run_singleton_within("vms --json", dir);
      EXPECT_FALSE(t.hung) << "vms with the twin VM hung";
      EXPECT_TRUE(lists_pid(t.run.out, legit)) << t.run.err;
      EXPECT_EQ(line_about(t.run.err, twin->pid()), "") << "the twin crosses a bound";
      cost.twin = std::min(cost.twin, t.cpu_seconds);
      cost.twin_wall = std::min(cost.twin_wall, t.seconds);
    }
    const std::unique_ptr<FakeQemu> bad = make_bad();
    const BoundedRun b = run_singleton_within("vms --json", dir);
    EXPECT_FALSE(b.hung) << "vms with the bad VM hung";
    expect_bounded(b.run, bad->pid(), legit, bound);
    cost.bad = std::min(cost.bad, b.cpu_seconds);
    cost.bad_wall = std::min(cost.bad_wall, b.seconds);
  }
  return cost;
}

void print_cost(const char* what, const VmCost& cost) {
  std::printf(
      "[ figures ] vms with %s: %.3f s (CPU %.3f s), with its twin: %.3f s (CPU %.3f s); "
      "CPU ratio %.2f\n",
      what, cost.bad_wall, cost.bad, cost.twin_wall, cost.twin, cost.ratio());
}

// The most a VM beyond a bound may cost, as a ratio to its twin (see VmCost).
constexpr double kBoundedVmCost = 5.0;

// The options of `args` that discovery reads (-drive, -blockdev) renamed -device, which it skips:
// the same command line size, no bound crossed.
std::vector<std::string> as_devices(std::vector<std::string> args) {
  for (std::string& arg : args)
    if (arg == "-drive" || arg == "-blockdev") arg = "-device";
  return args;
}

TEST_F(TrustCliTest, ElevenHundredDrivesAreAnErrorForThatVmAlone) {
  TempDir dir;
  LegitVm legit(dir);
  std::vector<std::string> args{"-name", "guest=many"};
  for (int i = 0; i < 1100; ++i) {
    args.push_back("-drive");
    args.push_back("file=" + dir / ("d" + std::to_string(i)) + ".raw,format=raw");
  }
  args.insert(args.end(), kPastTheBound.begin(), kPastTheBound.end());
  const VmCost cost = cost_of_vm(
      [&] { return std::make_unique<FakeQemu>(FakeQemuOptions{.args = args}); },
      [&] { return std::make_unique<FakeQemu>(FakeQemuOptions{.args = as_devices(args)}); },
      legit.qemu.pid(), "more than 256 disks", dir);
  print_cost("1100 drives on one VM", cost);
  EXPECT_LT(cost.ratio(), kBoundedVmCost);
}

// 400 qcow2 images each backed by the previous one, all held open. The first two overlays come from
// qemu-img create; the others are copies of the second with the backing name rewritten in place
// (same length), which is what qemu-img create -F qcow2 -b would write (400 qemu-img runs take a
// minute on a loaded host).
TEST_F(TrustCliTest, FourHundredDeepChainIsAnErrorForThatVmAlone) {
  TempDir dir;
  LegitVm legit(dir);
  auto name = [&](int i) {
    char n[16];
    std::snprintf(n, sizeof n, "c%03d", i);
    return dir / n;
  };
  run("qemu-img create -q -f raw " + name(0) + " 1M && qemu-img create -q -u -f qcow2 -F raw -b " +
      name(0) + " " + name(1) + " 1M && qemu-img create -q -u -f qcow2 -F qcow2 -b " + name(1) +
      " " + name(2) + " 1M");
  std::string templ = testing::slurp(name(2));
  const size_t at = templ.find(name(1));
  ASSERT_NE(at, std::string::npos);
  for (int i = 3; i <= 400; ++i) {
    std::string copy = templ;
    copy.replace(at, name(i - 1).size(), name(i - 1));
    std::ofstream(name(i), std::ios::binary) << copy;
  }
  std::vector<std::string> hold;
  for (int i = 0; i <= 400; ++i) hold.push_back(name(i));
  {
    // Discovery reads the chain down to the bound and no further: no file more than 33 layers
    // below the top (c366 and deeper) is opened (watched once the fake has opened them all).
    FakeQemu deep({.args = {"-drive", "file=" + name(400) + ",format=qcow2"}, .hold = hold});
    const OpenWatch opens(dir.path());
    const BoundedRun b = run_singleton_within("vms --json", dir);
    EXPECT_FALSE(b.hung);
    expect_bounded(b.run, deep.pid(), legit.qemu.pid(), "deeper than 32");
    int deepest = -1;  // the lowest cNNN opened
    for (const std::string& file : opens.names())
      if (file.size() == 4 && file[0] == 'c')
        deepest =
            deepest < 0 ? std::stoi(file.substr(1)) : std::min(deepest, std::stoi(file.substr(1)));
    EXPECT_GE(deepest, 0) << "no layer opened at all";
    EXPECT_GT(deepest, 400 - 34) << name(deepest)
                                 << " was opened: the chain was read past the bound";
  }
  const VmCost cost = cost_of_vm(
      [&] {
        return std::make_unique<FakeQemu>(FakeQemuOptions{
            .args = {"-drive", "file=" + name(400) + ",format=qcow2"}, .hold = hold});
      },
      [&] {
        return std::make_unique<FakeQemu>(
            FakeQemuOptions{.args = {"-drive", "file=" + name(0) + ",format=raw"}, .hold = hold});
      },
      legit.qemu.pid(), "deeper than 32", dir);
  print_cost("a 400-deep held qcow2 chain", cost);
  EXPECT_LT(cost.ratio(), kBoundedVmCost);
}

TEST_F(TrustCliTest, HundredThousandBlockdevNodesAreAnErrorForThatVmAloneInBoundedTime) {
  TempDir dir;
  LegitVm legit(dir);
  std::vector<std::string> args;
  // Short nodes: the kernel caps a command line at 6 MiB.
  for (int i = 0; i < 100000; ++i) {
    args.push_back("-blockdev");
    args.push_back("file,node-name=n" + std::to_string(i));
  }
  args.insert(args.end(), kPastTheBound.begin(), kPastTheBound.end());
  const VmCost cost = cost_of_vm(
      [&] { return std::make_unique<FakeQemu>(FakeQemuOptions{.args = args}); },
      [&] { return std::make_unique<FakeQemu>(FakeQemuOptions{.args = as_devices(args)}); },
      legit.qemu.pid(), "-blockdev nodes", dir);
  print_cost("100000 -blockdev nodes on one VM", cost);
  EXPECT_LT(cost.ratio(), kBoundedVmCost);
}

}  // namespace
}  // namespace singleton
