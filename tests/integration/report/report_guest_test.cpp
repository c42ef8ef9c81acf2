// `singleton report` against real guests (guest kit) and real libguestfs, through the CLI as an
// operator runs it. A guest reads /data/a.bin (64 MiB), the host alone reads the blocks of
// /data/b.bin (16 MiB): `report --explain --json` must attribute >= 95% of the image's
// double-cached bytes to /data/a.bin and >= 95% of b's blocks to host-only /data/b.bin, on raw
// ext4, on a qcow2 overlay (the files in its raw backing file), and on XFS in a GPT partition.
// Two guests holding the same 32 MiB count it as mergeable across VMs; a disk libguestfs cannot
// read, a qcow2 overlay whose backing file was deleted while the VM runs, and an encrypted qcow2
// disk are each an error of that image (exit 1) while the rest is reported.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/integration/eviction_evidence.hpp"
#include "tests/unit/cli_run.hpp"
#include "tests/vm/fixtures.hpp"
#include "tests/vm/guest.hpp"

namespace singleton {
namespace {

using guestkit::Guest;
using guestkit::GuestOptions;
using guestkit::ScratchDir;
using testing::run_singleton;
using testing::u64;

constexpr uint64_t kMiB = 1 << 20;

class ReportGuestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string problem = guestkit::kit_problem();
    ASSERT_EQ(problem, "") << problem;
    ::signal(SIGPIPE, SIG_IGN);
    // The product leaves the accelerator to libguestfs (and retries with TCG when a launch
    // fails); the tests say up front what the kit found, so no launch is wasted on a broken KVM.
    ::setenv("LIBGUESTFS_BACKEND", "direct", 1);
    if (guestkit::accelerator() == "tcg") ::setenv("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg", 1);
  }
};

const boost::json::object* image_entry(const boost::json::object& report, const std::string& path) {
  for (const auto& image : report.at("images").as_array()) {
    if (image.at("path").as_string() == path) return &image.as_object();
  }
  return nullptr;
}

struct FileFigures {
  uint64_t double_cached = 0;
  uint64_t host_only = 0;
};

FileFigures file_figures(const boost::json::object& image, const std::string& path) {
  FileFigures f;
  for (const auto& file : image.at("files").as_array()) {
    if (file.at("path").as_string() == path) {
      f.double_cached = u64(file.as_object(), "double_cached_bytes");
      f.host_only = u64(file.as_object(), "host_only_bytes");
    }
  }
  return f;
}

std::string promtool_check(const std::string& path) {
  return testing::shell_output("promtool check metrics < '" + path + "' 2>&1; echo rc=$?");
}

struct Layout {
  std::string fs = "ext4";
  bool partition = false;
  bool overlay = false;
  bool lvm = false;  // the guest kit has no LVM tools: the guest reads the file's blocks from
                     // its disk device instead of mounting (same content in its page cache)
};

// dd commands reading `pages` (ascending) of the guest's disk in runs.
std::string read_runs_script(const std::vector<uint64_t>& pages) {
  std::string script;
  for (size_t i = 0; i < pages.size();) {
    size_t j = i + 1;
    while (j < pages.size() && pages[j] == pages[j - 1] + 1) ++j;
    script += "dd if=/dev/sg/data of=/dev/null bs=4096 skip=" + std::to_string(pages[i]) +
              " count=" + std::to_string(j - i) + " 2>/dev/null\n";
    i = j;
  }
  return script;
}

// The main test on one disk layout.
void explain_test(const Layout& layout) {
  ScratchDir dir("report");
  std::filesystem::create_directories(dir / "src/data");
  guestkit::write_random_file(dir / "src/data/a.bin", 64 * kMiB, 101);
  guestkit::write_random_file(dir / "src/data/b.bin", 16 * kMiB, 102);
  const std::string base = dir / "base.img";
  guestkit::make_image(dir / "src", base, "raw", layout.fs, layout.partition, layout.lvm);
  const auto a_pages = guestkit::pages_holding(base, dir / "src/data/a.bin");
  const auto b_pages = guestkit::pages_holding(base, dir / "src/data/b.bin");
  ASSERT_EQ(a_pages.size(), 64 * kMiB / 4096);
  ASSERT_EQ(b_pages.size(), 16 * kMiB / 4096);
  std::string disk = base, format = "raw";
  if (layout.overlay) {
    disk = dir / "overlay.qcow2";
    format = "qcow2";
    guestkit::make_overlay(base, disk);
  }
  guestkit::drop_from_host_cache(base);

  GuestOptions opt;
  opt.mem_mib = 384;
  opt.disks.push_back({disk, format, "writeback", "data", false});
  const std::string device = layout.partition ? "$(readlink -f /dev/sg/data)1" : "/dev/sg/data";
  opt.script = layout.lvm ? read_runs_script(a_pages) + "sg_wait report\n"
                         : "mount -t " + layout.fs + " -o ro " + device + " /mnt\n" +
                               "cat /mnt/data/a.bin > /dev/null\n"
                               "sg_wait report\n";
  opt.timeout = std::chrono::seconds(400);
  Guest guest(opt);
  guest.wait_for_pause("report");
  guestkit::host_read_pages(base, b_pages);
  ::usleep(300 * 1000);  // the readahead those reads started
  // Other evictors take cold page cache on their own (eviction_evidence.hpp): put back what left.
  std::printf("re-read before the report: a %zu, b %zu pages\n",
              testing::reread_missing(base, a_pages), testing::reread_missing(base, b_pages));
  ::usleep(300 * 1000);
  const uint64_t cached_before = [&] {
    uint64_t n = 0;
    for (bool c : testing::resident_pages(base)) n += c;
    return n;
  }();

  const std::string prom = dir / "report.prom";
  const auto start = std::chrono::steady_clock::now();
  const auto run = run_singleton("report --explain --json --backend mincore --prometheus " + prom +
                                 " --pid " + std::to_string(guest.qemu_pid()) + " --image " +
                                 disk);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t cached_after = 0;
  for (bool c : testing::resident_pages(base)) cached_after += c;
  ASSERT_EQ(run.rc, 0) << run.err << run.out;
  const auto report = run.json();
  const boost::json::object* image = image_entry(report, base);
  ASSERT_NE(image, nullptr) << run.out;
  ASSERT_TRUE(image->at("explain_error").is_null()) << run.out;
  const uint64_t double_bytes = u64(*image, "double_cached_pages") * 4096;
  const FileFigures a = file_figures(*image, "/data/a.bin");
  const FileFigures b = file_figures(*image, "/data/b.bin");
  const auto& explain = report.at("explain").as_object();
  std::printf(
      "%s%s%s%s: report %.1f s (appliance %.1f s, explain %.1f s); image double-cached %.1f MiB, "
      "/data/a.bin double %.1f MiB host-only %.1f MiB, /data/b.bin double %.1f MiB host-only "
      "%.1f MiB; image cache %llu pages before the report, %llu after\n",
      layout.fs.c_str(), layout.partition ? " partitioned" : "",
      layout.overlay ? " qcow2 overlay" : "", layout.lvm ? " on LVM" : "", seconds,
      boost::json::value_to<double>(explain.at("appliance_s")),
      boost::json::value_to<double>(explain.at("seconds")), double_bytes / 1048576.0,
      a.double_cached / 1048576.0, a.host_only / 1048576.0, b.double_cached / 1048576.0,
      b.host_only / 1048576.0, (unsigned long long)cached_before,
      (unsigned long long)cached_after);
  ::testing::Test::RecordProperty("report_seconds", std::to_string(seconds));
  // The figures.
  EXPECT_GE(double_bytes, 60 * kMiB) << "the guest's file is not double-cached: " << run.out;
  EXPECT_GE(a.double_cached * 100, double_bytes * 95) << run.out;
  EXPECT_GE(b.host_only * 100, b_pages.size() * 4096 * 95) << run.out;
  EXPECT_EQ(b.double_cached, 0u) << "the guest never read /data/b.bin";
  // A dry run: the appliance and the image reads went around the host cache (O_DIRECT).
  EXPECT_LE(cached_after, cached_before + 256) << "the report grew the image's host cache";
  EXPECT_EQ(promtool_check(prom).substr(promtool_check(prom).rfind("rc=")), "rc=0")
      << promtool_check(prom);
  guest.kill();
}

TEST_F(ReportGuestTest, RawExt4_FilesNamedWithTheirDoubleCachedAndHostOnlyBytes) {
  explain_test({"ext4", false, false});
}

TEST_F(ReportGuestTest, Qcow2OverlayOnRawBacking_TheBackingFilesFilesAreNamed) {
  explain_test({"ext4", false, true});
}

TEST_F(ReportGuestTest, XfsInAGptPartition_FilesNamed) { explain_test({"xfs", true, false}); }

TEST_F(ReportGuestTest, Ext4OnAnLvmLogicalVolume_FilesNamed) {
  explain_test({"ext4", false, false, true});
}

// Two guests with the same 32 MiB in their page caches: each counts it as identical to a page
// of the other VM (what KSM could merge), and the disk-block figure sees the guest's file.
TEST_F(ReportGuestTest, TwoGuestsHoldingTheSameContent_CountItAsMergeableAcrossVms) {
  ScratchDir dir("report-ksm");
  std::vector<std::string> images;
  for (const char* name : {"one", "two"}) {
    std::filesystem::create_directories(dir / (std::string(name) + "/data"));
    guestkit::write_random_file(dir / (std::string(name) + "/data/same.bin"), 32 * kMiB, 7);
    images.push_back(dir / (std::string(name) + ".img"));
    guestkit::make_image(dir / name, images.back());
  }
  auto options = [&](const std::string& image) {
    GuestOptions opt;
    opt.mem_mib = 256;
    opt.disks.push_back({image, "raw", "writeback", "data", false});
    opt.script = "mount -o ro /dev/sg/data /mnt\ncat /mnt/data/same.bin > /dev/null\nsg_wait report\n";
    opt.timeout = std::chrono::seconds(300);
    return opt;
  };
  Guest one(options(images[0]));
  Guest two(options(images[1]));
  one.wait_for_pause("report");
  two.wait_for_pause("report");
  const auto run = run_singleton(
      "report --json --backend mincore --pid " + std::to_string(one.qemu_pid()) + " --image " +
      images[0] + " --pid " + std::to_string(two.qemu_pid()) + " --image " + images[1]);
  ASSERT_EQ(run.rc, 0) << run.err << run.out;
  const auto report = run.json();
  const auto& vms = report.at("vms").as_array();
  ASSERT_EQ(vms.size(), 2u);
  for (const auto& vm : vms) {
    const auto& v = vm.as_object();
    std::printf("%s: resident %llu, zero %llu, same-VM %llu, other-VM %llu, KSM %llu, disk "
                "blocks %llu pages; compression %.2fx on %llu pages\n",
                std::string(v.at("name").as_string()).c_str(),
                (unsigned long long)u64(v, "resident_pages"), (unsigned long long)u64(v, "zero_pages"),
                (unsigned long long)u64(v, "same_vm_identical_pages"),
                (unsigned long long)u64(v, "other_vm_identical_pages"),
                (unsigned long long)u64(v, "ksm_pages"),
                (unsigned long long)u64(v, "image_block_pages"),
                boost::json::value_to<double>(v.at("compression").at("ratio")),
                (unsigned long long)u64(v.at("compression").as_object(), "sample_pages"));
    EXPECT_GE(u64(v, "other_vm_identical_pages"), 32 * kMiB / 4096 * 95 / 100);
    EXPECT_GE(u64(v, "image_block_pages"), 32 * kMiB / 4096 * 95 / 100);
    EXPECT_GT(u64(v, "resident_pages"), u64(v, "other_vm_identical_pages"));
    EXPECT_GT(u64(v.at("compression").as_object(), "sample_pages"), 0u);
  }
}

// A disk of random bytes beside a good one: its explanation is an error naming it (exit 1), the
// good disk is explained, the figures of both are there.
TEST_F(ReportGuestTest, ADiskLibguestfsCannotRead_IsAnErrorOfThatImageAndTheRestIsDone) {
  ScratchDir dir("report-bad");
  std::filesystem::create_directories(dir / "src/data");
  guestkit::write_random_file(dir / "src/data/a.bin", 16 * kMiB, 5);
  const std::string good = dir / "good.img", junk = dir / "junk.img";
  guestkit::make_image(dir / "src", good);
  guestkit::write_random_file(junk, 32 * kMiB, 6);
  GuestOptions opt;
  opt.mem_mib = 256;
  opt.disks.push_back({good, "raw", "writeback", "data", false});
  opt.disks.push_back({junk, "raw", "writeback", "junk", false});
  opt.script =
      "mount -o ro /dev/sg/data /mnt\ncat /mnt/data/a.bin > /dev/null\n"
      "dd if=/dev/sg/junk of=/dev/null bs=1M count=8 2>/dev/null\nsg_wait report\n";
  opt.timeout = std::chrono::seconds(400);
  Guest guest(opt);
  guest.wait_for_pause("report");
  const std::string pid = std::to_string(guest.qemu_pid());
  const auto run = run_singleton("report --explain --json --backend mincore --pid " + pid +
                                 " --image " + good + " --image " + junk);
  ASSERT_EQ(run.rc, 1) << run.err << run.out;
  const auto report = run.json();
  const boost::json::object* bad = image_entry(report, junk);
  const boost::json::object* ok = image_entry(report, good);
  ASSERT_NE(bad, nullptr);
  ASSERT_NE(ok, nullptr) << run.out;
  ASSERT_FALSE(bad->at("explain_error").is_null()) << run.out;
  EXPECT_NE(std::string(bad->at("explain_error").as_string()).find("no ext2/3/4 or XFS"),
            std::string::npos)
      << run.out;
  EXPECT_GT(u64(*bad, "cached_pages"), 0u) << "the junk disk's figures are still reported";
  EXPECT_NE(run.err.find(junk), std::string::npos) << "stderr names the image: " << run.err;
  ASSERT_TRUE(ok->at("explain_error").is_null()) << run.out;
  EXPECT_GE(file_figures(*ok, "/data/a.bin").double_cached, 15 * kMiB) << run.out;
}

// A VM on a qcow2 overlay whose raw base is deleted while the VM runs (QEMU still holds it:
// /proc/PID/fd names it "... (deleted)", and singleton reads only files it can reopen), beside a
// good disk: the overlay's error names the missing backing file, its disk is not explained (no
// appliance on the cut chain, which would read zeros where the base is), the good disk is; exit 1.
TEST_F(ReportGuestTest, ABackingFileDeletedWhileTheVmRuns_IsAnErrorOfTheOverlayAndTheRestIsDone) {
  ScratchDir dir("report-cut");
  std::filesystem::create_directories(dir / "src/data");
  std::filesystem::create_directories(dir / "other/data");
  guestkit::write_random_file(dir / "src/data/a.bin", 16 * kMiB, 11);
  guestkit::write_random_file(dir / "other/data/c.bin", 16 * kMiB, 12);
  const std::string base = dir / "base.img", overlay = dir / "overlay.qcow2",
                    good = dir / "good.img";
  guestkit::make_image(dir / "src", base);
  guestkit::make_overlay(base, overlay);
  guestkit::make_image(dir / "other", good);
  GuestOptions opt;
  opt.mem_mib = 256;
  opt.disks.push_back({overlay, "qcow2", "writeback", "data", false});
  opt.disks.push_back({good, "raw", "writeback", "good", false});
  opt.script =
      "mount -o ro /dev/sg/data /mnt\ncat /mnt/data/a.bin > /dev/null\n"
      "mkdir -p /good\nmount -o ro /dev/sg/good /good\ncat /good/data/c.bin > /dev/null\n"
      "sg_wait report\n";
  opt.timeout = std::chrono::seconds(400);
  Guest guest(opt);
  guest.wait_for_pause("report");
  ASSERT_EQ(::unlink(base.c_str()), 0);
  const std::string pid = std::to_string(guest.qemu_pid());
  ASSERT_NE(testing::shell_output("ls -l /proc/" + pid + "/fd").find(base + " (deleted)"),
            std::string::npos)
      << "QEMU does not hold the deleted base";
  const auto run = run_singleton("report --explain --json --backend mincore --pid " + pid +
                                 " --image " + overlay + " --image " + good);
  ASSERT_EQ(run.rc, 1) << run.err << run.out;
  const auto report = run.json();
  const boost::json::object* cut = image_entry(report, overlay);
  const boost::json::object* ok = image_entry(report, good);
  ASSERT_NE(cut, nullptr) << run.out;
  ASSERT_NE(ok, nullptr) << run.out;
  EXPECT_EQ(image_entry(report, base), nullptr) << "a deleted file is never reopened: " << run.out;
  ASSERT_TRUE(cut->at("error").is_string()) << run.out;
  const std::string error(cut->at("error").as_string());
  std::printf("overlay's error: %s\nexplain error: %s\n", error.c_str(),
              boost::json::serialize(cut->at("explain_error")).c_str());
  EXPECT_NE(error.find("backing file " + base + " missing"), std::string::npos) << error;
  EXPECT_NE(error.find("holds a deleted file of that name"), std::string::npos) << error;
  ASSERT_TRUE(cut->at("explain_error").is_string()) << run.out;
  EXPECT_NE(std::string(cut->at("explain_error").as_string()).find("cut"), std::string::npos)
      << run.out;
  EXPECT_NE(run.err.find(overlay), std::string::npos) << "stderr names the image: " << run.err;
  // The rest is done: the good disk's figures and files.
  EXPECT_TRUE(ok->at("error").is_null()) << run.out;
  ASSERT_TRUE(ok->at("explain_error").is_null()) << run.out;
  EXPECT_GE(file_figures(*ok, "/data/c.bin").double_cached, 15 * kMiB) << run.out;
  guest.kill();
}

// An encrypted (LUKS) qcow2 disk beside a good one: the host caches its ciphertext, which is
// never a guest page (nothing double-cached) and maps to no guest file; its explanation is an
// error naming the encryption (exit 1), the good disk is explained.
TEST_F(ReportGuestTest, AnEncryptedQcow2Disk_IsAnErrorOfThatImageAndTheRestIsDone) {
  ScratchDir dir("report-luks");
  std::filesystem::create_directories(dir / "src/data");
  guestkit::write_random_file(dir / "src/data/a.bin", 16 * kMiB, 13);
  const std::string good = dir / "good.img", encrypted = dir / "encrypted.qcow2";
  guestkit::make_image(dir / "src", good);
  ASSERT_EQ(guestkit::shell_output(
                "qemu-img create -q -f qcow2 -o encrypt.format=luks,encrypt.key-secret=sec0 "
                "--object secret,id=sec0,data=abc '" +
                encrypted + "' 64M && echo ok"),
            "ok");
  GuestOptions opt;
  opt.mem_mib = 256;
  opt.disks.push_back({good, "raw", "writeback", "data", false});
  opt.disks.push_back({encrypted, "qcow2", "writeback", "luks", false, "abc"});
  opt.script =
      "mount -o ro /dev/sg/data /mnt\ncat /mnt/data/a.bin > /dev/null\n"
      "dd if=/dev/urandom of=/dev/sg/luks bs=1M count=8 2>/dev/null\nsync\n"
      "sg_wait report\n";
  opt.timeout = std::chrono::seconds(400);
  Guest guest(opt);
  guest.wait_for_pause("report");
  const auto run = run_singleton("report --explain --json --backend mincore --pid " +
                                 std::to_string(guest.qemu_pid()) + " --image " + good +
                                 " --image " + encrypted);
  ASSERT_EQ(run.rc, 1) << run.err << run.out;
  const auto report = run.json();
  const boost::json::object* bad = image_entry(report, encrypted);
  const boost::json::object* ok = image_entry(report, good);
  ASSERT_NE(bad, nullptr) << run.out;
  ASSERT_NE(ok, nullptr) << run.out;
  ASSERT_TRUE(bad->at("explain_error").is_string()) << run.out;
  const std::string error(bad->at("explain_error").as_string());
  std::printf("encrypted image: %llu pages cached, %llu double-cached; explain error: %s\n",
              (unsigned long long)u64(*bad, "cached_pages"),
              (unsigned long long)u64(*bad, "double_cached_pages"), error.c_str());
  EXPECT_NE(error.find("encrypted"), std::string::npos) << error;
  EXPECT_EQ(bad->at("format").as_string(), "qcow2");
  EXPECT_GT(u64(*bad, "cached_pages"), 0u) << "the guest's writes are in the host cache";
  EXPECT_EQ(u64(*bad, "double_cached_pages"), 0u) << "ciphertext is no guest page";
  EXPECT_NE(run.err.find(encrypted), std::string::npos) << "stderr names the image: " << run.err;
  ASSERT_TRUE(ok->at("explain_error").is_null()) << run.out;
  EXPECT_GE(file_figures(*ok, "/data/a.bin").double_cached, 15 * kMiB) << run.out;
  guest.kill();
}

}  // namespace
}  // namespace singleton
