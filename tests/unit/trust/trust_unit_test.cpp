// The parts of the trust boundary that need no CLI: printable names, the qcow2 header reader,
// command line bounds, the image opener's refusals, and which processes /proc discovery takes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "scrubber/pass/image_set.hpp"
#include "snapshot/base/error.hpp"
#include "snapshot/base/printable.hpp"
#include "snapshot/base/proc_files.hpp"
#include "snapshot/discovery/discovery.hpp"
#include "snapshot/discovery/discovery_limits.hpp"
#include "snapshot/discovery/image_open.hpp"
#include "snapshot/discovery/process_trust.hpp"
#include "snapshot/discovery/qcow2_header.hpp"
#include "snapshot/discovery/qemu_cmdline.hpp"
#include "tests/unit/open_watch.hpp"
#include "tests/unit/temp_dir.hpp"
#include "tests/unit/trust/fake_qemu.hpp"

namespace singleton {
namespace {

namespace fs = std::filesystem;

void write_file(const std::string& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  out << std::string(bytes, 'x');
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(Printable, EscapesControlBytesAndBrokenUtf8AndKeepsTheRest) {
  EXPECT_EQ(printable("web-01"), "web-01");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x9c\x93"),
            "caf\xc3\xa9 \xe2\x9c\x93");  // é ✓
  EXPECT_EQ(printable("a\nb"), "a\\x0ab");
  EXPECT_EQ(printable("\x1b[2Jgone"), "\\x1b[2Jgone");
  EXPECT_EQ(printable("x\x7fy"), "x\\x7fy");
  EXPECT_EQ(printable("\xc2\x85"),
            "\\xc2\\x85");  // C1 NEL, valid UTF-8 yet a control
  EXPECT_EQ(printable("bad\xff\xc3"), "bad\\xff\\xc3");
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");  // overlong '/'
  EXPECT_EQ(printable(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_TRUE(is_printable("/var/lib/libvirt/images/a b.qcow2"));
  EXPECT_FALSE(is_printable("evil\r.img"));
}

TEST(Qcow2Header, ReadsTheBackingNameOfARealImageAndRejectsJunk) {
  testing::TempDir dir{"trust-test"};
  ASSERT_EQ(
      std::system(("qemu-img create -q -f raw " + dir / "base.raw" +
                   " 1M && qemu-img create -q -f qcow2 -F raw -b base.raw " + dir / "top.qcow2" +
                   " && qemu-img create -q -f qcow2 " + dir / "alone.qcow2" + " 1M")
                      .c_str()),
      0);
  auto name_of = [&](const std::string& file) {
    UniqueFd fd(::open((dir / file).c_str(), O_RDONLY));
    return qcow2_backing_name(fd.get(), file);
  };
  EXPECT_EQ(name_of("top.qcow2"), std::optional<std::string>("base.raw"));
  EXPECT_EQ(name_of("alone.qcow2"), std::nullopt);
  EXPECT_THROW(name_of("base.raw"), Error);
  // A header claiming a 64 KiB backing name: refused, not read.
  std::string header = std::string("QFI\xfb", 4) + std::string(4, '\0') +
                       std::string("\0\0\0\0\0\0\0\x20", 8) + std::string("\0\1\0\0", 4);
  std::ofstream(dir / "huge.qcow2", std::ios::binary) << header << std::string(64, 'y');
  EXPECT_THROW(name_of("huge.qcow2"), Error);
}

TEST(QemuCmdline, TooManyDrivesStopsParsingWithAReason) {
  std::vector<std::string> argv{"qemu-system-x86_64"};
  for (int i = 0; i < 1100; ++i) {
    argv.push_back("-drive");
    argv.push_back("file=/img/d" + std::to_string(i) + ".raw,format=raw");
  }
  QemuCommandLine cmdline = parse_qemu_cmdline(argv);
  EXPECT_NE(cmdline.too_much.find("more than 256 disks"), std::string::npos) << cmdline.too_much;
  EXPECT_LE(cmdline.disks.size(), kMaxDisksPerVm);
}

// -blockdev argv of `disks` disks, each a qcow2 node over a file node (its "file" child, so that
// every node is looked up in the graph), then `tail` (options after the nodes).
std::vector<std::string> blockdev_argv(size_t disks, const std::vector<std::string>& tail = {}) {
  std::vector<std::string> argv{"qemu-system-x86_64"};
  for (size_t i = 0; i < disks; ++i) {
    const std::string n = std::to_string(i);
    argv.insert(argv.end(), {"-blockdev", "driver=file,node-name=p" + n + ",filename=/img/" + n,
                             "-blockdev", "driver=qcow2,node-name=f" + n + ",file=p" + n});
  }
  argv.insert(argv.end(), tail.begin(), tail.end());
  return argv;
}

// Seconds `times` parses of `argv` take together.
double parse_seconds(const std::vector<std::string>& argv, int times) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < times; ++i) parse_qemu_cmdline(argv);
  return seconds_since(start);
}

// 100,000 -blockdev nodes once took 4.5 s per discovery (all parsed, then a quadratic lookup): now
// the parse stops at the bound. Proved by what it read, not by how long it took: an option after
// the nodes is never seen. And its cost is that of a command line at the bound whatever follows,
// as a ratio: one parse of the 100,000 nodes against 4 parses of 1,000 (as many nodes as the
// bound, 4096; so both sides take as long, and load slows them alike), the fastest of 5 turns
// each. Stopping at the bound makes that ratio about 1 (0.8-1.0 on this host, quiet or loaded,
// 0.6-0.9 in TCG guests on a loaded host); parsing every node, even in linear time, made it 62
// here, the old quadratic lookup thousands. The bound of 5 is far from both.
TEST(QemuCmdline, HundredThousandBlockdevNodesStopTheParseAtTheBound) {
  const std::vector<std::string> many = blockdev_argv(50000, {"-name", "guest=after-the-nodes"});
  const QemuCommandLine cmdline = parse_qemu_cmdline(many);
  EXPECT_NE(cmdline.too_much.find("-blockdev nodes"), std::string::npos) << cmdline.too_much;
  EXPECT_EQ(cmdline.name, "") << "options after the bound were parsed";

  const std::vector<std::string> few = blockdev_argv(500);
  ASSERT_EQ(parse_qemu_cmdline(few).too_much, "more than 256 disks");  // parsed to the end
  double t_many = 1e9, t_few = 1e9;
  for (int turn = 0; turn < 5; ++turn) {
    t_few = std::min(t_few, parse_seconds(few, 4));
    t_many = std::min(t_many, parse_seconds(many, 1));
  }
  std::printf(
      "[ figures ] parse of 100000 -blockdev nodes: %.4f s, of 4 x 1000: %.4f s "
      "(ratio %.2f)\n",
      t_many, t_few, t_many / t_few);
  EXPECT_LT(t_many / t_few, 5.0) << "100000 nodes cost as much as parsing them all";

  // Just under the bound, all top nodes: every one is a disk, too many of them.
  std::vector<std::string> tops{"qemu-system-x86_64"};
  for (size_t i = 0; i < kMaxBlockdevNodes; ++i)
    tops.insert(tops.end(), {"-blockdev", "driver=file,node-name=n" + std::to_string(i) +
                                              ",filename=/img/" + std::to_string(i)});
  const QemuCommandLine at_bound = parse_qemu_cmdline(tops);
  EXPECT_NE(at_bound.too_much.find("more than 256 disks"), std::string::npos) << at_bound.too_much;
}

// A FIFO would block open(2) until a writer comes, a character device runs its driver: open_image
// refuses both, symlinks and directories too, without opening any (it opens O_PATH, which opens
// nothing). Checked by what happened, not by how long it took: inotify sees every open or read of
// the FIFO and of a private node of /dev/zero's device, and the FIFO has a writer (this test), so
// that even a blocking open would return at once, be seen, and not hang the test.
TEST(ImageOpen, RefusesFifoCharDeviceSymlinkAndDirectoryWithoutOpeningThem) {
  testing::TempDir dir{"trust-test"};
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  const UniqueFd writer(::open((dir / "fifo").c_str(), O_RDWR | O_CLOEXEC));  // never blocks
  ASSERT_TRUE(writer.valid());
  ASSERT_TRUE(testing::make_zero_device_node(dir / "zero-node")) << std::strerror(errno);
  ASSERT_EQ(::symlink("/dev/zero", (dir / "zero-link").c_str()), 0);
  write_file(dir / "file.img", 8192);
  ASSERT_EQ(::symlink((dir / "file.img").c_str(), (dir / "file-link").c_str()), 0);
  const testing::OpenWatch fifo_opens(dir / "fifo");
  const testing::OpenWatch node_opens(dir / "zero-node");
  for (const std::string& path : {dir / "fifo", dir / "zero-node", std::string("/dev/zero"),
                                  dir / "zero-link", dir / "file-link", dir.path()}) {
    struct stat st {};
    try {
      open_image(path, st);
      ADD_FAILURE() << path << " was opened";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage) << path << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(fifo_opens.events(), 0u) << "the FIFO was opened";
  EXPECT_EQ(node_opens.events(), 0u) << "the character device was opened";
  // The watches see opens at all: ours.
  { const UniqueFd reader(::open((dir / "fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)); }
  { const UniqueFd zero(::open((dir / "zero-node").c_str(), O_RDONLY | O_CLOEXEC)); }
  EXPECT_GT(fifo_opens.events(), 0u);
  EXPECT_GT(node_opens.events(), 0u);

  struct stat st {};
  UniqueFd fd = open_image(dir / "file.img", st);
  EXPECT_TRUE(fd.valid());
  EXPECT_EQ(st.st_size, 8192);
  EXPECT_FALSE(is_image_type(S_IFCHR));
  EXPECT_TRUE(is_image_type(S_IFBLK));
}

// A path discovery matched to a held file, renamed over before the pass opens it: the pass must
// not read the file now at that path.
TEST(ImageSet, AFileReplacedSinceDiscoveryIsNotRead) {
  testing::TempDir dir{"trust-test"};
  write_file(dir / "disk.img", 8192);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "disk.img").c_str(), &st), 0);
  Vm vm;
  vm.name = "vm";
  vm.disks.push_back({dir / "disk.img", "raw", CacheMode::kWriteback, {}, {file_id(st)}});
  ImageSet same = collect_images({vm});
  ASSERT_EQ(same.images.size(), 1u);
  EXPECT_TRUE(same.images[0].file.has_value()) << same.images[0].error;

  write_file(dir / "other.img", 8192);
  ASSERT_EQ(::rename((dir / "other.img").c_str(), (dir / "disk.img").c_str()), 0);
  ImageSet replaced = collect_images({vm});
  ASSERT_EQ(replaced.images.size(), 1u);
  EXPECT_FALSE(replaced.images[0].file.has_value());
  EXPECT_NE(replaced.images[0].error.find("replaced since discovery"), std::string::npos)
      << replaced.images[0].error;
}

TEST(ProcessTrust, DefaultUsersResolveAndNumericUidsAreTaken) {
  const std::set<uid_t> uids = resolve_vm_users(kDefaultVmUsers);
  EXPECT_TRUE(uids.count(0));
  EXPECT_EQ(resolve_vm_users({"1234", "no-such-user-here"}), std::set<uid_t>{1234});
}

TEST(ProcessTrust, OnlyProcessesOfVmUsersRunningRootOwnedExecutablesAreTrusted) {
  testing::FakeQemu as_root({.args = {"-name", "guest=trusted"}});
  testing::FakeQemu as_nobody({.args = {"-name", "guest=untrusted"}, .uid = 65534});
  const std::set<uid_t> root_only{0};
  EXPECT_EQ(why_not_trusted(as_root.pid(), root_only), std::nullopt);
  auto why = why_not_trusted(as_nobody.pid(), root_only);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("uid 65534"), std::string::npos) << *why;
  // nobody taken as a VM user: then its executable (/bin/bash, root's, 0755) passes too.
  EXPECT_EQ(why_not_trusted(as_nobody.pid(), {0, 65534}), std::nullopt);
}

TEST(ProcessTrust, AnExecutableOthersMayWriteIsNotTrusted) {
  testing::TempDir dir{"trust-test"};
  // A copy of bash (not of sleep: where sleep is a busybox applet, busybox named
  // qemu-system-x86_64 exits at once, and a dead process would fail the check for another reason);
  // "; true" keeps bash from exec'ing sleep in its place.
  ASSERT_EQ(std::system(("cp -L /bin/bash " + dir / "qemu-system-x86_64" + " && chmod 0777 " +
                         dir / "qemu-system-x86_64")
                            .c_str()),
            0);
  pid_t child = ::fork();
  if (child == 0) {
    ::execl((dir / "qemu-system-x86_64").c_str(), "qemu-system-x86_64", "-c", "sleep 60; true",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Until it runs as itself (exec done), and it must still run when it is judged.
  for (int i = 0; i < 500 && read_link("/proc/" + std::to_string(child) + "/exe") !=
                                 dir / "qemu-system-x86_64";
       ++i) {
    ::usleep(10 * 1000);
  }
  auto why = why_not_trusted(child, {0});
  EXPECT_EQ(::waitpid(child, nullptr, WNOHANG), 0) << "the copy of bash did not keep running";
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("is not a root-owned file closed to writes by others"), std::string::npos)
      << *why;
}

// /proc discovery with a process of nobody naming a file: the process is not a VM, a debug note
// says so, and nothing of it is looked at.
TEST(ProcDiscovery, ProcessOfAnotherUserIsIgnoredWithADebugNote) {
  testing::TempDir dir{"trust-test"};
  write_file(dir / "secret.img", 2 << 20);
  ::chmod((dir / "secret.img").c_str(), 0600);
  testing::FakeQemu fake(
      {.args = {"-name", "guest=sneaky", "-drive", "file=" + dir / "secret.img" + ",format=raw"},
       .uid = 65534});
  DiscoveryOptions options;
  options.use_libvirt = false;
  auto result = discover_vms(options);
  for (const Vm& vm : result.vms) EXPECT_NE(vm.pid, fake.pid());
  bool noted = false;
  for (const auto& problem : result.problems) {
    if (problem.pid != fake.pid()) continue;
    noted = true;
    EXPECT_TRUE(problem.debug && problem.warning) << problem.message;
    EXPECT_EQ(problem.message.find("secret"), std::string::npos) << problem.message;
  }
  EXPECT_TRUE(noted);
}

}  // namespace
}  // namespace singleton
