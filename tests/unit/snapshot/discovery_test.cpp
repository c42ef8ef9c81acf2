// Discovery on this host, with real processes: explicit VMs, a fake "QEMU" found through /proc,
// qemu-img on a real qcow2 chain, and host cache usage of a real file.
#include "snapshot/discovery/discovery.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "snapshot/discovery/backing_chain.hpp"
#include "scrubber/pagecache/host_cache_usage.hpp"
#include "snapshot/discovery/open_files.hpp"
#include "scrubber/cli/vms_command.hpp"
#include "tests/unit/kernel_features.hpp"
#include "tests/unit/memory_holder_process.hpp"
#include "tests/unit/temp_dir.hpp"

namespace singleton {
namespace {

namespace fs = std::filesystem;

void write_file(const std::string& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  std::string block(4096, 'x');
  for (size_t done = 0; done < bytes; done += block.size()) out.write(block.data(), block.size());
}

// Opens `path` without O_CLOEXEC: a child forked afterwards (a MemoryHolderProcess) holds it open
// too, as a VMM holds its disk. Closed here when the returned object goes away.
struct HeldOpen {
  explicit HeldOpen(const std::string& path, int flags = O_RDONLY)
      : fd(::open(path.c_str(), flags)) {}
  ~HeldOpen() {
    if (fd >= 0) ::close(fd);
  }
  int fd;
};

TEST(HostCacheUsage, SeesAFileJustWrittenAndNothingAfterDropping) {
  testing::TempDir dir{"snapshot-test"};
  write_file(dir / "f", 4 << 20);
  auto usage = host_cache_usage(dir / "f");
  // cachestat(2) where the kernel has it (6.5+), mincore where it does not: the same bytes.
  const bool cachestat = testing::kernel_has_cachestat();
  testing::note_kernel_case(cachestat ? "cachestat(2)" : "no cachestat(2): mincore fallback");
  EXPECT_EQ(usage.from_cachestat, cachestat);
  EXPECT_EQ(usage.cached_bytes, 4u << 20);
  if (!cachestat) {
    EXPECT_EQ(usage.dirty_bytes, 0u) << "mincore cannot tell dirty pages";
  }
  int fd = open((dir / "f").c_str(), O_RDONLY);
  fdatasync(fd);
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
  EXPECT_EQ(host_cache_usage(dir / "f").cached_bytes, 0u);
  EXPECT_THROW(host_cache_usage(dir / "missing"), SystemError);
}

TEST(OpenFiles, CacheModeFollowsOpenFlags) {
  EXPECT_EQ(cache_mode_from_open_flags(O_RDWR | O_DIRECT), CacheMode::kNone);
  EXPECT_EQ(cache_mode_from_open_flags(O_RDWR | O_DIRECT | O_DSYNC), CacheMode::kDirectsync);
  EXPECT_EQ(cache_mode_from_open_flags(O_RDWR | O_DSYNC), CacheMode::kWritethrough);
  EXPECT_EQ(cache_mode_from_open_flags(O_RDWR), CacheMode::kWriteback);
}

TEST(BackingChain, QemuImgReportsARealQcow2Chain) {
  testing::TempDir dir{"snapshot-test"};
  auto run = [](const std::string& command) {
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  };
  run("qemu-img create -q -f raw " + dir / "base.raw" + " 8M");
  run("qemu-img create -q -f qcow2 -F raw -b " + dir / "base.raw" + " " + dir / "mid.qcow2");
  run("qemu-img create -q -f qcow2 -F qcow2 -b " + dir / "mid.qcow2" + " " + dir / "top.qcow2");
  // qemu-img runs as nobody: it reads what nobody may read, here all of it.
  run("chmod 0755 " + dir.path() + " && chmod 0644 " + dir / "*");
  EXPECT_EQ(query_backing_chain(dir / "top.qcow2", "qcow2"),
            (std::vector<std::string>{dir / "mid.qcow2", dir / "base.raw"}));
  EXPECT_EQ(detect_image_format(dir / "top.qcow2"), "qcow2");
  EXPECT_EQ(detect_image_format(dir / "base.raw"), "raw");
  try {
    query_backing_chain(dir / "nothing.qcow2", "qcow2");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nothing.qcow2"), std::string::npos) << e.what();
  }
  // Never probed: without a format it does not run at all.
  try {
    query_backing_chain(dir / "top.qcow2", "");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage) << e.what();
  }
  // As nobody it cannot read a root-only image (where it once read anything as root).
  run("chmod 0600 " + dir / "mid.qcow2");
  EXPECT_THROW(query_backing_chain(dir / "top.qcow2", "qcow2"), Error);
}

// The chain discovery reports comes from the qcow2 headers of the files the VM holds open: all
// three held, all three reported; the base not held, the chain stops above it.
TEST(Discovery, BackingChainIsReadFromHeadersOfTheFilesTheVmHoldsOpen) {
  testing::TempDir dir{"snapshot-test"};
  auto run = [](const std::string& command) {
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  };
  run("qemu-img create -q -f raw " + dir / "base.raw" + " 8M");
  run("qemu-img create -q -f qcow2 -F raw -b base.raw " + dir / "mid.qcow2");  // relative name
  run("qemu-img create -q -f qcow2 -F qcow2 -b " + dir / "mid.qcow2" + " " + dir / "top.qcow2");
  // The VM: a process forked while the files are open, so it holds what is open then.
  auto discover_top = [&] {
    testing::MemoryHolderProcess holder({.pages = 16});
    DiscoveryOptions options;
    options.explicit_vms = {{holder.pid(), {dir / "top.qcow2"}}};
    return discover_vms(options);
  };
  {
    HeldOpen top(dir / "top.qcow2"), mid(dir / "mid.qcow2"), base(dir / "base.raw");
    auto result = discover_top();
    ASSERT_EQ(result.vms.size(), 1u);
    ASSERT_EQ(result.vms[0].disks.size(), 1u);
    EXPECT_EQ(result.vms[0].disks[0].format, "qcow2");
    EXPECT_EQ(result.vms[0].disks[0].backing,
              (std::vector<std::string>{dir / "mid.qcow2", dir / "base.raw"}));
    EXPECT_EQ(result.vms[0].disks[0].held.size(), 3u);
    EXPECT_EQ(result.exit_code(), ExitCode::kDone);
    EXPECT_EQ(result.vms[0].disks[0].backing_missing, "");
  }
  {
    HeldOpen top(dir / "top.qcow2"), mid(dir / "mid.qcow2");
    auto result = discover_top();
    ASSERT_EQ(result.vms.size(), 1u);
    ASSERT_EQ(result.vms[0].disks.size(), 1u);
    EXPECT_EQ(result.vms[0].disks[0].backing, (std::vector<std::string>{dir / "mid.qcow2"}));
    ASSERT_EQ(result.problems.size(), 1u);
    EXPECT_TRUE(result.problems[0].warning);
    EXPECT_NE(result.problems[0].message.find("does not hold this file open"), std::string::npos)
        << result.problems[0].message;
    // The cut is on the disk, for whoever must not read the chain as whole (report --explain).
    const std::string& cut = result.vms[0].disks[0].backing_missing;
    EXPECT_NE(cut.find(dir / "base.raw" + " not held by the VM"), std::string::npos) << cut;
  }
  {
    // The base deleted while the VM holds it: /proc/PID/fd names it "PATH (deleted)".
    HeldOpen top(dir / "top.qcow2"), mid(dir / "mid.qcow2"), base(dir / "base.raw");
    ASSERT_EQ(::unlink((dir / "base.raw").c_str()), 0);
    auto result = discover_top();
    ASSERT_EQ(result.vms.size(), 1u);
    ASSERT_EQ(result.vms[0].disks.size(), 1u);
    EXPECT_EQ(result.vms[0].disks[0].backing, (std::vector<std::string>{dir / "mid.qcow2"}));
    const std::string& cut = result.vms[0].disks[0].backing_missing;
    EXPECT_NE(cut.find(dir / "base.raw" + " missing"), std::string::npos) << cut;
    EXPECT_NE(cut.find("holds a deleted file of that name"), std::string::npos) << cut;
    ASSERT_EQ(result.problems.size(), 1u);
    EXPECT_TRUE(result.problems[0].warning);
  }
}

TEST(Discovery, ExplicitVmGetsItsImageWithTheCacheModeItOpenedItWith) {
  testing::TempDir dir{"snapshot-test"};
  write_file(dir / "disk.raw", 2 << 20);
  HeldOpen image(dir / "disk.raw", O_RDWR | O_DSYNC);
  testing::MemoryHolderProcess holder({.pages = 64});  // holds the image open, O_DSYNC
  DiscoveryOptions options;
  options.explicit_vms = {{holder.pid(), {dir / "disk.raw"}}};
  auto result = discover_vms(options);
  ASSERT_EQ(result.vms.size(), 1u);
  EXPECT_EQ(result.exit_code(), ExitCode::kDone);
  const Vm& vm = result.vms[0];
  EXPECT_EQ(vm.source, VmSource::kExplicit);
  EXPECT_EQ(vm.pid, holder.pid());
  ASSERT_EQ(vm.disks.size(), 1u);
  EXPECT_EQ(vm.disks[0].path, dir / "disk.raw");
  EXPECT_EQ(vm.disks[0].format, "raw");
  EXPECT_EQ(vm.disks[0].cache, CacheMode::kWritethrough);
}

// An --image the process does not hold open is not one of its disks: a usage error saying so, and
// the file is not read (the process could not have read it either).
TEST(Discovery, ExplicitImageTheProcessDoesNotHoldIsAUsageError) {
  testing::TempDir dir{"snapshot-test"};
  write_file(dir / "disk.raw", 2 << 20);
  testing::MemoryHolderProcess holder({.pages = 16});
  DiscoveryOptions options;
  options.explicit_vms = {{holder.pid(), {dir / "disk.raw"}}};
  auto result = discover_vms(options);
  EXPECT_EQ(result.exit_code(), ExitCode::kUsage);
  ASSERT_EQ(result.problems.size(), 1u);
  EXPECT_NE(result.problems[0].message.find(dir / "disk.raw"), std::string::npos);
  EXPECT_NE(result.problems[0].message.find("does not hold this file open"), std::string::npos)
      << result.problems[0].message;
  ASSERT_EQ(result.vms.size(), 1u);
  EXPECT_TRUE(result.vms[0].disks.empty());
}

TEST(Discovery, ExplicitMissingPidAndImageAreUsageErrorsNamingThem) {
  testing::MemoryHolderProcess holder({.pages = 16});
  DiscoveryOptions options;
  options.explicit_vms = {{999999999, {}}, {holder.pid(), {"/nonexistent/disk.img"}}};
  auto result = discover_vms(options);
  EXPECT_EQ(result.vms.size(), 1u);
  EXPECT_EQ(result.exit_code(), ExitCode::kUsage);
  ASSERT_EQ(result.problems.size(), 2u);
  EXPECT_NE(result.problems[0].message.find("999999999"), std::string::npos);
  EXPECT_NE(result.problems[1].message.find("/nonexistent/disk.img"), std::string::npos);
}

// A process whose argv[0] says qemu-system-x86_64: /proc discovery must find it with its -drive.
TEST(Discovery, ProcessWithAQemuCommandLineIsFoundThroughProc) {
  testing::TempDir dir{"snapshot-test"};
  write_file(dir / "plain.raw", 2 << 20);
  write_file(dir / "not-held.raw", 2 << 20);
  pid_t child = fork();
  if (child == 0) {
    ::setpgid(0, 0);  // bash and its sleep are killed together (sleep would hold ctest's pipe)
    (void)!::chdir(dir.path().c_str());
    // QEMU holds its disks open; discovery accepts only those it does.
    if (::open("plain.raw", O_RDWR | O_DSYNC) < 0) _exit(126);
    // bash runs the command string and keeps the rest as positional parameters: its cmdline is a
    // QEMU command line ("; true" stops bash from exec'ing sleep in its place).
    execl("/bin/bash", "qemu-system-x86_64", "-c", "sleep 60; true", "-name", "guest=fakeqemu",
          "-m", "64", "-drive", "file=plain.raw,format=raw,cache=writethrough", "-drive",
          "file=not-held.raw,format=raw", static_cast<char*>(nullptr));
    _exit(127);
  }
  ::setpgid(child, child);  // also here: whichever runs first
  usleep(100 * 1000);
  DiscoveryOptions options;
  options.use_libvirt = false;
  auto result = discover_vms(options);
  kill(-child, SIGKILL);
  waitpid(child, nullptr, 0);
  const Vm* found = nullptr;
  for (const auto& vm : result.vms)
    if (vm.pid == child) found = &vm;
  ASSERT_NE(found, nullptr) << "pid " << child << " not discovered";
  EXPECT_EQ(found->name, "fakeqemu");
  EXPECT_EQ(found->source, VmSource::kProc);
  EXPECT_EQ(found->ram_bytes, 64u << 20);
  ASSERT_EQ(found->disks.size(), 1u);
  EXPECT_EQ(found->disks[0].path, dir / "plain.raw");  // relative to QEMU's cwd
  EXPECT_EQ(found->disks[0].cache, CacheMode::kWritethrough);
  // The -drive it does not hold: skipped, with a warning naming it and the pid.
  bool warned = false;
  for (const auto& problem : result.problems)
    if (problem.message.find(dir / "not-held.raw") != std::string::npos) {
      warned = true;
      EXPECT_TRUE(problem.warning);
      EXPECT_NE(problem.message.find("pid " + std::to_string(child)), std::string::npos);
    }
  EXPECT_TRUE(warned);
}

// No -drive on the command line (disks passed as fds, say): the open image files are the disks,
// and an O_DIRECT open means cache=none.
TEST(Discovery, QemuWithoutDrivesOnItsCommandLineGetsDisksFromItsOpenFiles) {
  testing::TempDir dir{"snapshot-test"};
  write_file(dir / "fd-disk.raw", 2 << 20);
  write_file(dir / "small.txt", 4096);  // too small to be a disk image
  pid_t child = fork();
  if (child == 0) {
    ::setpgid(0, 0);
    int disk = ::open((dir / "fd-disk.raw").c_str(), O_RDWR | O_DIRECT);
    int small = ::open((dir / "small.txt").c_str(), O_RDONLY);
    if (disk < 0 || small < 0 || ::dup2(disk, 7) < 0 || ::dup2(small, 8) < 0) _exit(126);
    execl("/bin/bash", "qemu-system-x86_64", "-c", "sleep 60; true", "-name", "guest=fdqemu",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  ::setpgid(child, child);
  usleep(100 * 1000);
  DiscoveryOptions options;
  options.use_libvirt = false;
  auto result = discover_vms(options);
  kill(-child, SIGKILL);
  waitpid(child, nullptr, 0);
  const Vm* found = nullptr;
  for (const auto& vm : result.vms)
    if (vm.pid == child) found = &vm;
  ASSERT_NE(found, nullptr) << "pid " << child << " not discovered";
  std::string paths;
  for (const auto& disk : found->disks) paths += disk.path + " ";
  ASSERT_EQ(found->disks.size(), 1u) << paths;
  EXPECT_EQ(found->disks[0].path, dir / "fd-disk.raw");
  EXPECT_EQ(found->disks[0].format, "raw");
  EXPECT_EQ(found->disks[0].cache, CacheMode::kNone);
}

TEST(VmsCommand, JsonListsAnExplicitVmWithItsDiskAndCachedBytes) {
  testing::TempDir dir{"snapshot-test"};
  write_file(dir / "disk.raw", 3 << 20);
  HeldOpen image(dir / "disk.raw");
  testing::MemoryHolderProcess holder({.pages = 128});
  VmsCommandOptions options;
  options.discovery.explicit_vms = {{holder.pid(), {dir / "disk.raw"}}};
  options.json = true;
  std::ostringstream out, err;
  EXPECT_EQ(run_vms_command(options, out, err), 0) << err.str();
  std::string json = out.str();
  EXPECT_NE(json.find("\"pid\":" + std::to_string(holder.pid())), std::string::npos) << json;
  EXPECT_NE(json.find("\"source\":\"explicit\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"resident_bytes\":" + std::to_string(128 * 4096)), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"host_cached_bytes\":" + std::to_string(3 << 20)), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"format\":\"raw\""), std::string::npos) << json;

  options.json = false;
  std::ostringstream table, table_err;
  EXPECT_EQ(run_vms_command(options, table, table_err), 0);
  EXPECT_NE(table.str().find("explicit"), std::string::npos) << table.str();
  EXPECT_NE(table.str().find(dir / "disk.raw"), std::string::npos) << table.str();
}

TEST(VmsCommand, UnreachableLibvirtUriGivenByTheUserIsAnEnvironmentError) {
  VmsCommandOptions options;
  options.discovery.libvirt_uri = "qemu+unix:///system?socket=/nonexistent/libvirt-sock";
  options.discovery.libvirt_uri_given = true;
  options.discovery.scan_proc = false;
  std::ostringstream out, err;
  EXPECT_EQ(run_vms_command(options, out, err), 3) << err.str();
  EXPECT_NE(err.str().find("/nonexistent/libvirt-sock"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace singleton
