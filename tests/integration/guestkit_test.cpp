// The guest kit itself, with real guests: boot, read, pause, look from the host, power off;
// and a hanging guest is killed at its timeout with the console tail in the error.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <unordered_set>

#include "tests/vm/fixtures.hpp"
#include "tests/vm/guest.hpp"

namespace singleton::guestkit {
namespace {

constexpr uint64_t kFileBytes = 32ull << 20;

struct Launch {
  std::string kernel_line;
  bool libvirt;
};

void PrintTo(const Launch& l, std::ostream* os) {
  *os << l.kernel_line << (l.libvirt ? " via libvirt" : " via qemu");
}

class GuestReadsFile : public ::testing::TestWithParam<Launch> {};

TEST_P(GuestReadsFile, HostCacheAndGuestRamBothHoldTheFileWhilePaused) {
  const Launch launch = GetParam();
  std::unique_ptr<LibvirtDaemon> daemon;
  if (launch.libvirt) daemon = std::make_unique<LibvirtDaemon>();

  ScratchDir dir("kit");
  std::filesystem::create_directories(dir / "data");
  write_random_file(dir / "data/file32", kFileBytes, 32);
  const std::string image = dir / "data.img";
  make_image(dir / "data", image);
  const auto pages = file_pages_in_image(image, "/file32");
  ASSERT_EQ(pages.size(), kFileBytes / 4096);
  drop_from_host_cache(image);
  ASSERT_EQ(count_cached(image, pages), 0u) << "the image was still cached before the guest ran";

  GuestOptions opt;
  opt.kernel_line = launch.kernel_line;
  opt.libvirt = launch.libvirt;
  opt.disks.push_back({image, "raw", "writeback", "data", false});
  opt.script =
      "mount -o ro /dev/sg/data /mnt\n"
      "cat /mnt/file32 > /dev/null\n"
      "sg_wait read\n"
      "sg_result sha256 $(sha256sum /mnt/file32 | cut -d' ' -f1)\n";
  const auto started = std::chrono::steady_clock::now();
  Guest guest(opt);
  guest.wait_for_pause("read");

  // Host page cache: every page of the file's blocks in the image.
  const uint64_t cached = count_cached(image, pages);
  EXPECT_GE(cached, pages.size() * 99 / 100) << "host cache holds " << cached << " of "
                                              << pages.size() << " pages of the file";
  // Guest RAM (QEMU's mergeable anonymous memory) holds the same content.
  const auto guest_hashes = mergeable_page_hashes(guest.qemu_pid());
  const std::unordered_set<uint64_t> in_guest(guest_hashes.begin(), guest_hashes.end());
  uint64_t found = 0;
  for (uint64_t h : page_hashes(dir / "data/file32")) found += in_guest.count(h);
  EXPECT_GE(found, pages.size() * 99 / 100)
      << "guest RAM holds " << found << " of " << pages.size() << " pages of the file";

  guest.resume("read");
  const GuestResult result = guest.wait();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  RecordProperty("boot_to_poweroff_s", std::to_string(seconds));
  std::printf("boot-to-poweroff (%s, %s): %.1f s\n", launch.kernel_line.c_str(),
              launch.libvirt ? "libvirt" : "qemu", seconds);
  EXPECT_EQ(result.rc, 0) << result.output;
  EXPECT_EQ(result.results.count("sha256"), 1u) << result.output;
}

INSTANTIATE_TEST_SUITE_P(Kit, GuestReadsFile,
                         ::testing::Values(Launch{"6.1", false}, Launch{"6.12", false},
                                           Launch{"6.1", true}),
                         [](const auto& info) {
                           std::string name = info.param.kernel_line + (info.param.libvirt ? "_libvirt" : "_qemu");
                           for (auto& c : name)
                             if (c == '.') c = '_';
                           return name;
                         });

// The kit's timeout kills a guest whose script never ends, and its error carries the console
// tail. The timeout under test is started once the script has printed its marker: until then a
// generous one covers the boot, whose length is the host's load, not the kit's behaviour (a 15 s
// timeout counted from the start once expired before a loaded host had booted the guest, and the
// tail had no marker to show).
TEST(GuestTimeout, HangingGuestIsKilledAndTheErrorShowsTheConsoleTail) {
  constexpr std::chrono::seconds kTimeout{5};
  GuestOptions opt;
  opt.timeout = std::chrono::seconds(240);  // to boot and reach sg_wait (ctest allows 300 s)
  opt.script = "sg_result started 1\nsg_wait started\nsleep 100000\n";
  const auto booting = std::chrono::steady_clock::now();
  Guest guest(opt);
  const pid_t pid = guest.qemu_pid();
  ASSERT_GT(pid, 0);
  guest.wait_for_pause("started");
  std::printf("[ figures ] guest booted and reached its marker in %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - booting).count());
  guest.restart_timeout(kTimeout);
  const auto started = std::chrono::steady_clock::now();
  guest.resume("started");
  try {
    guest.wait();
    FAIL() << "a guest that sleeps forever returned from wait()";
  } catch (const GuestTimeout& e) {
    const double after =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("[ figures ] hanging guest killed %.1f s after its %lld s timeout started\n", after,
                static_cast<long long>(kTimeout.count()));
    EXPECT_GE(after, static_cast<double>(kTimeout.count())) << "killed before its timeout";
    EXPECT_NE(std::string(e.what()).find("script did not finish"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("@@SG-RESULT started=1@@"), std::string::npos)
        << "console tail missing from: " << e.what();
  }
  EXPECT_NE(kill(pid, 0), 0) << "QEMU " << pid << " still runs after the timeout";
}

}  // namespace
}  // namespace singleton::guestkit

namespace singleton::guestkit {
namespace {

TEST(GuestImages, TwoGuestsReadOneBackingFileThroughTheirOwnQcow2Overlays) {
  ScratchDir dir("overlay");
  std::filesystem::create_directories(dir / "data");
  write_random_file(dir / "data/shared", 8ull << 20, 7);
  make_image(dir / "data", dir / "base.qcow2", "qcow2");
  make_overlay(dir / "base.qcow2", dir / "a.qcow2");
  make_overlay(dir / "base.qcow2", dir / "b.qcow2");
  const std::string script =
      "mount -o ro /dev/sg/data /mnt\n"
      "sg_result sha256 $(sha256sum /mnt/shared | cut -d' ' -f1)\n";
  std::vector<std::unique_ptr<Guest>> guests;
  for (const char* overlay : {"a.qcow2", "b.qcow2"}) {
    GuestOptions opt;
    opt.disks.push_back({dir / overlay, "qcow2", "writeback", "data", false});
    opt.script = script;
    guests.push_back(std::make_unique<Guest>(opt));
  }
  const std::string expected = shell_output("sha256sum '" + (dir / "data/shared") + "' | cut -d' ' -f1");
  for (auto& g : guests) {
    const GuestResult r = g->wait();
    EXPECT_EQ(r.rc, 0) << r.output;
    EXPECT_EQ(r.results.count("sha256") ? r.results.at("sha256") : "", expected) << r.output;
  }
}

TEST(GuestImages, CacheNoneLeavesNothingOfTheFileInTheHostCache) {
  ScratchDir dir("direct");
  std::filesystem::create_directories(dir / "data");
  write_random_file(dir / "data/file", 8ull << 20, 9);
  const std::string image = dir / "data.img";
  make_image(dir / "data", image);
  const auto pages = file_pages_in_image(image, "/file");
  drop_from_host_cache(image);
  GuestOptions opt;
  opt.disks.push_back({image, "raw", "none", "data", false});
  opt.script = "mount -o ro /dev/sg/data /mnt\ncat /mnt/file > /dev/null\nsg_wait read\n";
  Guest guest(opt);
  guest.wait_for_pause("read");
  EXPECT_EQ(count_cached(image, pages), 0u) << "cache=none (O_DIRECT) still filled the host cache";
  guest.resume("read");
  EXPECT_EQ(guest.wait().rc, 0);
}

}  // namespace
}  // namespace singleton::guestkit

namespace singleton::guestkit {
namespace {

TEST(GuestConsole, LongOutputReachesTheHostWhole) {
  // An unread console socket once stalled the guest after a few hundred bytes.
  GuestOptions opt;
  opt.script =
      "i=0; while [ $i -lt 3000 ]; do echo \"line $i of a long console output\"; "
      "i=$((i+1)); done\n";
  Guest guest(opt);
  const GuestResult r = guest.wait();
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.output.find("line 2999 of a long console output"), std::string::npos)
      << "output ends with: " << r.output.substr(r.output.size() > 300 ? r.output.size() - 300 : 0);
}

}  // namespace
}  // namespace singleton::guestkit
