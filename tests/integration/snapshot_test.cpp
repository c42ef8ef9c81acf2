// snapshot/ against real guests from the guest kit: what a guest read is in its index; libvirt
// and /proc discovery find real QEMUs with the right disks and cache modes; a QEMU killed during
// a snapshot is marked vanished while the rest of the pass completes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>
#include <xxhash.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "snapshot/discovery/discovery.hpp"
#include "snapshot/memory/guest_snapshot.hpp"
#include "snapshot/base/proc_files.hpp"
#include "scrubber/cli/vms_command.hpp"
#include "tests/unit/memory_holder_process.hpp"
#include "tests/vm/fixtures.hpp"
#include "tests/vm/guest.hpp"

namespace singleton {
namespace {

using guestkit::Guest;
using guestkit::GuestOptions;
using guestkit::ScratchDir;
using guestkit::drop_from_host_cache;

constexpr uint64_t kFileBytes = 32ull << 20;

// A raw ext4 image holding `read.bin` (the guest reads it) and `unread.bin` (it does not).
struct DataImage {
  explicit DataImage(uint64_t read_bytes) : dir("snapshot") {
    std::filesystem::create_directories(dir / "data");
    guestkit::write_random_file(dir / "data/read.bin", read_bytes, 101);
    guestkit::write_random_file(dir / "data/unread.bin", 4ull << 20, 202);
    image = dir / "data.img";
    guestkit::make_image(dir / "data", image);
    drop_from_host_cache(image);
  }
  ScratchDir dir;
  std::string image;
};

const char* kReadScript =
    "mount -o ro /dev/sg/data /mnt\n"
    "cat /mnt/read.bin > /dev/null\n"
    "sg_wait read\n";

double fraction_indexed(const GuestSnapshot& snapshot, const std::string& file) {
  auto hashes = guestkit::page_hashes(file);
  size_t found = 0;
  for (uint64_t hash : hashes) found += snapshot.contains(hash);
  return hashes.empty() ? 0.0 : static_cast<double>(found) / static_cast<double>(hashes.size());
}

const Vm* find_pid(const std::vector<Vm>& vms, pid_t pid) {
  for (const auto& vm : vms)
    if (vm.pid == pid) return &vm;
  return nullptr;
}

TEST(GuestSnapshotWithRealGuest, FileTheGuestReadIsInItsIndex) {
  DataImage data(kFileBytes);
  GuestOptions options;
  options.disks.push_back({data.image, "raw", "writeback", "data", false});
  options.script = kReadScript;
  Guest guest(options);
  guest.wait_for_pause("read");

  Vm vm;
  vm.name = guest.name();
  vm.pid = guest.qemu_pid();
  KsmHashCache ksm;
  auto snapshots = snapshot_vms({vm}, ksm);
  const GuestSnapshot& snapshot = snapshots[0];
  ASSERT_TRUE(snapshot.complete()) << snapshot.error;
  double read = fraction_indexed(snapshot, data.dir / "data/read.bin");
  double unread = fraction_indexed(snapshot, data.dir / "data/unread.bin");
  std::printf("indexed %llu pages (%llu zero) in %.2f s; read file %.2f%%, unread file %.2f%%\n",
              static_cast<unsigned long long>(snapshot.counts.indexed_pages),
              static_cast<unsigned long long>(snapshot.counts.zero_pages), snapshot.counts.seconds,
              read * 100, unread * 100);
  EXPECT_GE(read, 0.99) << "pages of the 32 MiB file the guest read that are in its index";
  EXPECT_LE(unread, 0.10) << "an unread file should not be in guest memory";
  EXPECT_GE(snapshot.counts.indexed_pages, kFileBytes / 4096);
  EXPECT_LE(snapshot.index.memory_bytes(), snapshot.index.size() * 9 + 4);
  guest.resume("read");
  EXPECT_EQ(guest.wait().rc, 0);
}

TEST(GuestSnapshotWithRealGuest, KillingQemuMidSnapshotMarksItVanishedAndThePassCompletes) {
  DataImage data(8ull << 20);
  GuestOptions options;
  options.disks.push_back({data.image, "raw", "writeback", "data", false});
  options.script = kReadScript;
  Guest guest(options);
  guest.wait_for_pause("read");
  testing::MemoryHolderProcess other({.pages = 1024, .seed = 5});

  Vm qemu;
  qemu.name = guest.name();
  qemu.pid = guest.qemu_pid();
  Vm holder;
  holder.name = "holder";
  holder.pid = other.pid();
  SnapshotOptions snapshot_options;
  snapshot_options.read_batch_bytes = 256 * 1024;
  bool killed = false;
  snapshot_options.on_batch = [&](uint64_t) {
    if (killed) return;
    killed = true;
    ::kill(qemu.pid, SIGKILL);
    // Wait until the kernel has torn the process down (zombie or reaped).
    for (int i = 0; i < 5000 && process_alive(qemu.pid); ++i) usleep(1000);
  };
  KsmHashCache ksm;
  auto snapshots = snapshot_vms({qemu, holder}, ksm, snapshot_options);
  ASSERT_TRUE(killed) << "the snapshot never read a batch";
  EXPECT_TRUE(snapshots[0].vanished) << snapshots[0].error;
  EXPECT_NE(snapshots[0].error.find(std::to_string(qemu.pid)), std::string::npos)
      << snapshots[0].error;
  EXPECT_TRUE(snapshots[1].complete()) << snapshots[1].error;
  EXPECT_EQ(snapshots[1].counts.indexed_pages, 1024u);
  EXPECT_FALSE(process_alive(qemu.pid));
}

TEST(DiscoveryWithRealGuest, PlainQemuIsFoundThroughProc) {
  DataImage data(1ull << 20);
  GuestOptions options;
  options.disks.push_back({data.image, "raw", "writethrough", "data", false});
  options.script = kReadScript;
  Guest guest(options);
  guest.wait_for_pause("read");

  DiscoveryOptions discovery;
  discovery.use_libvirt = false;
  auto result = discover_vms(discovery);
  const Vm* vm = find_pid(result.vms, guest.qemu_pid());
  ASSERT_NE(vm, nullptr) << "QEMU pid " << guest.qemu_pid() << " not found through /proc";
  EXPECT_EQ(vm->source, VmSource::kProc);
  EXPECT_EQ(vm->name, guest.name());
  EXPECT_EQ(vm->ram_bytes, uint64_t(options.mem_mib) << 20);
  const VmDisk* disk = nullptr;
  for (const auto& d : vm->disks)
    if (d.path == data.image) disk = &d;
  ASSERT_NE(disk, nullptr) << "data image not among the disks";
  EXPECT_EQ(disk->cache, CacheMode::kWritethrough);
  EXPECT_EQ(disk->format, "raw");
  guest.resume("read");
  EXPECT_EQ(guest.wait().rc, 0);
}

TEST(DiscoveryWithRealGuest, LibvirtFindsTheDomainItsPidAndItsDisksCacheModes) {
  guestkit::LibvirtDaemon daemon;
  DataImage data(4ull << 20);
  DataImage direct(1ull << 20);
  GuestOptions options;
  options.libvirt = true;
  options.disks.push_back({data.image, "raw", "writeback", "data", false});
  options.disks.push_back({direct.image, "raw", "none", "direct", false});
  options.script = kReadScript;
  Guest guest(options);
  guest.wait_for_pause("read");

  auto result = discover_vms(DiscoveryOptions{});
  for (const auto& problem : result.problems) std::printf("problem: %s\n", problem.message.c_str());
  const Vm* vm = find_pid(result.vms, guest.qemu_pid());
  ASSERT_NE(vm, nullptr) << "domain " << guest.name() << " (pid " << guest.qemu_pid()
                         << ") not found";
  EXPECT_EQ(vm->source, VmSource::kLibvirt);
  EXPECT_EQ(vm->name, guest.name());
  EXPECT_FALSE(vm->uuid.empty());
  EXPECT_EQ(vm->ram_bytes, uint64_t(options.mem_mib) << 20);
  size_t listed = 0;
  for (const auto& other : result.vms) listed += other.pid == vm->pid;
  EXPECT_EQ(listed, 1u) << "the libvirt QEMU was listed again by the /proc scan";
  std::map<std::string, CacheMode> caches;
  for (const auto& disk : vm->disks) caches[disk.path] = disk.cache;
  ASSERT_TRUE(caches.count(data.image)) << "writeback disk missing";
  ASSERT_TRUE(caches.count(direct.image)) << "cache=none disk missing";
  EXPECT_EQ(caches[data.image], CacheMode::kWriteback);
  EXPECT_EQ(caches[direct.image], CacheMode::kNone);

  // The vms command, as JSON: the read disk has host-cached bytes, the direct one none.
  VmsCommandOptions command;
  command.json = true;
  std::ostringstream out, err;
  int rc = run_vms_command(command, out, err);
  EXPECT_NE(rc, static_cast<int>(ExitCode::kEnvironment)) << err.str();
  auto json = boost::json::parse(out.str()).as_array();
  bool seen = false;
  for (const auto& entry : json) {
    const auto& object = entry.as_object();
    if (object.at("pid").as_int64() != guest.qemu_pid()) continue;
    seen = true;
    EXPECT_EQ(object.at("source").as_string(), "libvirt");
    EXPECT_GT(object.at("resident_bytes").as_int64(), 0);
    for (const auto& disk_value : object.at("disks").as_array()) {
      const auto& disk = disk_value.as_object();
      if (disk.at("path").as_string() == data.image) {
        EXPECT_GE(disk.at("host_cached_bytes").as_int64(), 4 << 20) << out.str();
        EXPECT_EQ(disk.at("cache").as_string(), "writeback");
      }
      if (disk.at("path").as_string() == direct.image) {
        EXPECT_EQ(disk.at("cache").as_string(), "none");
        EXPECT_TRUE(disk.at("bypasses_host_cache").as_bool());
      }
    }
  }
  EXPECT_TRUE(seen) << out.str();
  guest.resume("read");
  EXPECT_EQ(guest.wait().rc, 0);
}

}  // namespace
}  // namespace singleton

namespace singleton {
namespace {

// Sets KSM's knobs for a test and puts the old values back (KSM is host-wide).
class KsmSettings {
 public:
  KsmSettings() {
    for (const char* knob : {"run", "pages_to_scan", "sleep_millisecs"}) {
      auto value = try_read_text_file(path(knob));
      if (!value) throw std::runtime_error("KSM is not available: no " + path(knob));
      saved_.emplace_back(knob, *value);
    }
  }
  ~KsmSettings() {
    // Restored in reverse (run last): stopping KSM keeps merged pages merged; we do not write
    // run=2, which would unmerge every page of every VM on the host.
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) write(it->first, it->second);
  }
  static void write(const std::string& knob, const std::string& value) {
    int fd = open(path(knob).c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open " + path(knob));
    bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
    close(fd);
    if (!ok) throw std::runtime_error("cannot write " + value + " to " + path(knob));
  }

 private:
  static std::string path(const std::string& knob) { return "/sys/kernel/mm/ksm/" + knob; }
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST(GuestSnapshotWithKsm, MergedFrameIsHashedOnceAndKeptAcrossPasses) {
  constexpr size_t kPages = 2048;
  testing::MemoryHolderProcess first({.pages = kPages, .seed = 77});
  testing::MemoryHolderProcess second({.pages = kPages, .seed = 77});  // same content
  Vm a{.name = "a", .pid = first.pid()};
  Vm b{.name = "b", .pid = second.pid()};
  {
    KsmSettings ksm_settings;
    KsmSettings::write("pages_to_scan", "10000");
    KsmSettings::write("sleep_millisecs", "10");
    KsmSettings::write("run", "1");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      KsmHashCache probe;
      auto snapshot = snapshot_vm(a, probe);
      if (snapshot.counts.ksm_pages >= kPages * 95 / 100) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "KSM merged only " << snapshot.counts.ksm_pages << " of " << kPages << " pages";
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }  // KSM stopped again: the merged frames stay as they are

  KsmHashCache ksm;
  auto pass1 = snapshot_vms({a, b}, ksm);
  ASSERT_TRUE(pass1[0].complete() && pass1[1].complete()) << pass1[0].error << pass1[1].error;
  for (const auto& s : pass1)
    std::printf("pass 1, %s: present %llu, ksm %llu, reused %llu, read %llu\n", s.vm.name.c_str(),
                (unsigned long long)s.counts.present_pages, (unsigned long long)s.counts.ksm_pages,
                (unsigned long long)s.counts.ksm_hashes_reused,
                (unsigned long long)s.counts.pages_read);
  uint64_t merged = pass1[1].counts.ksm_pages;
  EXPECT_GE(merged, kPages * 95 / 100);
  // The first VM reads each merged frame; the second finds every one of them in the cache.
  EXPECT_EQ(pass1[1].counts.ksm_hashes_reused, merged);
  EXPECT_EQ(pass1[1].counts.pages_read, kPages - merged);
  EXPECT_EQ(pass1[0].counts.indexed_pages, kPages);
  EXPECT_EQ(pass1[1].counts.indexed_pages, kPages);
  EXPECT_TRUE(std::equal(pass1[0].index.hashes().begin(), pass1[0].index.hashes().end(),
                         pass1[1].index.hashes().begin(), pass1[1].index.hashes().end()));

  // Reading must not have undone the merge (a pinned read of a KSM page unshares it).
  KsmHashCache fresh;
  EXPECT_EQ(snapshot_vm(a, fresh).counts.ksm_pages, pass1[0].counts.ksm_pages)
      << "the snapshot unmerged KSM pages";

  // Next pass: merged frames keep their hashes, nobody reads them again.
  auto pass2 = snapshot_vms({a, b}, ksm);
  EXPECT_EQ(pass2[0].counts.ksm_hashes_reused, pass2[0].counts.ksm_pages);
  EXPECT_EQ(pass2[0].counts.pages_read + pass2[1].counts.pages_read,
            2 * kPages - pass2[0].counts.ksm_pages - pass2[1].counts.ksm_pages);
  EXPECT_EQ(pass2[0].index.size(), kPages);
  for (size_t i = 0; i < kPages; i += 7) {
    std::array<unsigned char, 4096> page;
    testing::fill_test_page(77, i, 0, page.data());
    ASSERT_TRUE(pass2[0].contains(XXH64(page.data(), page.size(), 0))) << "page " << i;
  }
}

}  // namespace
}  // namespace singleton
