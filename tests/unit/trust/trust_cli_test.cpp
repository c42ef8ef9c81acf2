// The `singleton` CLI against fake QEMU processes (tests/unit/trust/fake_qemu.hpp): a local user
// cannot make root read a file through a process that looks like QEMU, special files given as
// --image are refused at once, and a VM beyond discovery's bounds is an error for that VM alone
// while a legitimate VM next to it is still found. Needs root (runs fakes as nobody); no VM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/unit/cli_run.hpp"
#include "tests/unit/temp_dir.hpp"
#include "tests/unit/trust/fake_qemu.hpp"

namespace singleton {
namespace {

namespace fs = std::filesystem;
using testing::CliRun;
using testing::FakeQemu;
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

// Every open or read of a file from now on, by anyone: singleton must cause none.
class OpenWatch {
 public:
  explicit OpenWatch(const std::string& path) : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (fd_ < 0 || ::inotify_add_watch(fd_, path.c_str(), IN_OPEN | IN_ACCESS) < 0)
      throw std::runtime_error("inotify on " + path);
  }
  ~OpenWatch() { ::close(fd_); }
  size_t events() const {
    alignas(inotify_event) char buffer[4096];
    size_t count = 0;
    for (ssize_t n; (n = ::read(fd_, buffer, sizeof buffer)) > 0;)
      for (char* at = buffer; at < buffer + n;
           at += sizeof(inotify_event) + reinterpret_cast<inotify_event*>(at)->len)
        ++count;
    return count;
  }

 private:
  int fd_;
};

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

// A FIFO would block open(2) forever, /dev/zero is endless: refused before being opened.
TEST_F(TrustCliTest, FifoCharDeviceAndSymlinkToDevZeroAsImageAreUsageErrorsAtOnce) {
  TempDir dir;
  LegitVm legit(dir);
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  ASSERT_EQ(::symlink("/dev/zero", (dir / "zero").c_str()), 0);
  const std::string pid = std::to_string(legit.qemu.pid());
  for (const std::string& image : {dir / "fifo", dir / "zero", std::string("/dev/null")}) {
    for (const char* command : {"scan", "scrub", "vms"}) {
      const auto start = std::chrono::steady_clock::now();
      const CliRun r = run_singleton(std::string(command) + " --pid " + pid + " --image " + image);
      const double took =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      EXPECT_EQ(r.rc, 2) << command << " " << image << ": " << r.err;
      EXPECT_NE(r.err.find("not a regular file or block device"), std::string::npos) << r.err;
      EXPECT_LT(took, 1.0) << command << " " << image;
      std::printf("[ figures ] %s --image %s: exit %d in %.3f s\n", command, image.c_str(), r.rc,
                  took);
    }
  }
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
// and the pid, the legitimate VM listed. Returns the seconds `vms` took.
double expect_bounded(pid_t bad, pid_t legit, const std::string& bound) {
  const auto start = std::chrono::steady_clock::now();
  const CliRun vms = run_singleton("vms --json");
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(vms.rc, 1) << vms.err;
  EXPECT_TRUE(lists_pid(vms.out, legit)) << vms.err;
  EXPECT_FALSE(lists_pid(vms.out, bad));
  EXPECT_NE(vms.err.find("pid " + std::to_string(bad)), std::string::npos) << vms.err;
  EXPECT_NE(vms.err.find(bound), std::string::npos) << vms.err;
  return took;
}

TEST_F(TrustCliTest, ElevenHundredDrivesAreAnErrorForThatVmAlone) {
  TempDir dir;
  LegitVm legit(dir);
  std::vector<std::string> args{"-name", "guest=many"};
  for (int i = 0; i < 1100; ++i) {
    args.push_back("-drive");
    args.push_back("file=" + dir / ("d" + std::to_string(i)) + ".raw,format=raw");
  }
  FakeQemu many({.args = args});
  const double took = expect_bounded(many.pid(), legit.qemu.pid(), "more than 256 disks");
  EXPECT_LT(took, 2.0);
  std::printf("[ figures ] vms with 1100 drives on one VM: %.3f s\n", took);
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
  FakeQemu deep({.args = {"-drive", "file=" + name(400) + ",format=qcow2"}, .hold = hold});
  const double took = expect_bounded(deep.pid(), legit.qemu.pid(), "deeper than 32");
  EXPECT_LT(took, 2.0);
  std::printf("[ figures ] vms with a 400-deep held qcow2 chain: %.3f s\n", took);
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
  FakeQemu nodes({.args = args});
  const double took = expect_bounded(nodes.pid(), legit.qemu.pid(), "-blockdev nodes");
  // The whole `vms` run (start, libvirt attempt, every VM on this host); the parse itself is
  // asserted under 1 s in trust_unit_tests.
  EXPECT_LT(took, 2.0);
  std::printf("[ figures ] vms with 100000 -blockdev nodes on one VM: %.3f s\n", took);
}

}  // namespace
}  // namespace singleton
