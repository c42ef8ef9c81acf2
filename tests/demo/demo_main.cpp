// `make demo`: two small guests whose disks share a backing file read their data; the host
// shows what it caches twice (`singleton scan`), which guest files those pages are (`singleton
// report --explain`), evicts them (`singleton scrub`), and the guests
// then read everything back from disk and check it. Exit status 0 only when every checksum
// matches and the scrub evicted something.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/vm/fixtures.hpp"
#include "tests/vm/guest.hpp"

namespace {

using singleton::guestkit::Guest;
using singleton::guestkit::GuestOptions;
using singleton::guestkit::ScratchDir;
using singleton::guestkit::shell_output;
using singleton::guestkit::drop_from_host_cache;

std::string singleton_bin;

void banner(const std::string& text) { std::printf("\n\033[1m== %s\033[0m\n", text.c_str()); }

int run(const std::string& command) {
  std::printf("$ %s\n", command.c_str());
  std::fflush(stdout);
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int demo() {
  const auto start = std::chrono::steady_clock::now();
  ScratchDir dir("demo");
  banner("Disks: one shared base image (ext4, 4 KiB blocks), a qcow2 overlay per guest");
  std::filesystem::create_directories(dir / "data");
  const std::vector<std::pair<std::string, uint64_t>> files{
      {"common.bin", 32}, {"only-a.bin", 16}, {"only-b.bin", 16}};
  for (size_t i = 0; i < files.size(); ++i) {
    singleton::guestkit::write_random_file(dir / ("data/" + files[i].first), files[i].second << 20,
                                           7 + i);
  }
  const std::string base = dir / "base.img";
  const std::string disk_a = dir / "guest-a.qcow2";
  const std::string disk_b = dir / "guest-b.qcow2";
  singleton::guestkit::make_image(dir / "data", base);
  singleton::guestkit::make_overlay(base, disk_a);
  singleton::guestkit::make_overlay(base, disk_b);
  drop_from_host_cache(base);
  std::printf("base %s: common.bin 32 MiB, only-a.bin 16 MiB, only-b.bin 16 MiB\n", base.c_str());

  auto guest_options = [&](const std::string& disk, const std::string& own) {
    GuestOptions opt;
    opt.mem_mib = 256;
    opt.disks.push_back({disk, "qcow2", "writeback", "data", false});
    opt.script =
        "mount -o ro /dev/sg/data /mnt\n"
        "cat /mnt/common.bin /mnt/" +
        own +
        " > /dev/null\n"
        "sg_wait scrub\n"
        "echo 3 > /proc/sys/vm/drop_caches\n"  // read everything again, from the disk
        // One short result line: the kit's console drops long output at poweroff (see notes).
        "sg_result sums $(cd /mnt && sha256sum common.bin only-a.bin only-b.bin | cut -c1-16 |"
        " tr '\\n' ,)\n"
        "sleep 1\n";
    return opt;
  };
  banner("Booting two guests; each reads common.bin and its own file");
  Guest a(guest_options(disk_a, "only-a.bin"));
  Guest b(guest_options(disk_b, "only-b.bin"));
  a.wait_for_pause("scrub");
  b.wait_for_pause("scrub");
  std::printf("guest a: QEMU pid %d, guest b: QEMU pid %d (both paused after reading)\n",
              a.qemu_pid(), b.qemu_pid());
  const std::string vms = "--pid " + std::to_string(a.qemu_pid()) + " --image " + disk_a +
                          " --pid " + std::to_string(b.qemu_pid()) + " --image " + disk_b;

  auto cached_pages = [&](const std::string& path) {
    const auto doc = boost::json::parse(shell_output(singleton_bin + " pagecache --json " + path));
    return boost::json::value_to<uint64_t>(
        doc.at("files").as_array().at(0).as_object().at("cached_pages"));
  };
  banner("Host page cache of the base image (what QEMU read through it)");
  run(singleton_bin + " pagecache " + base);
  const uint64_t before = cached_pages(base);
  banner("singleton scan: what is cached twice (dry run, evicts nothing)");
  run(singleton_bin + " scan --backend mincore " + vms);
  std::printf(
      "\ncommon.bin is in both guests; only-a.bin / only-b.bin in one each: the default\n"
      "--shared-policy all evicts only what every guest on the shared base holds.\n");
  banner("singleton report --explain: which guest files the cached image pages are (libguestfs)");
  // libguestfs picks its accelerator (and retries with TCG when a launch fails); the kit already
  // knows whether KVM works here, so the demo says so up front and wastes no launch.
  if (singleton::guestkit::accelerator() == "tcg")
    ::setenv("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg", 1);
  const int report_rc = run(singleton_bin + " report --explain --top 5 --backend mincore " + vms);
  std::printf(
      "\ncommon.bin is double-cached (both guests hold it); only-a.bin / only-b.bin are cached\n"
      "on the host for one guest each: under --shared-policy all they count as host-only.\n");
  banner("singleton scrub: evict the host copies");
  const int scrub_rc = run(singleton_bin + " scrub --backend mincore " + vms);
  banner("Host page cache of the base image after the scrub");
  run(singleton_bin + " pagecache " + base);
  const uint64_t after = cached_pages(base);
  std::printf("base image: %.1f MiB cached before, %.1f MiB after\n", before / 256.0,
              after / 256.0);

  banner("Guests drop their caches, re-read every file from disk and checksum it");
  a.resume("scrub");
  b.resume("scrub");
  const auto ra = a.wait();
  const auto rb = b.wait();
  int bad = 0;
  std::string want;
  for (const auto& [name, mib] : files) {
    want += shell_output("sha256sum '" + (dir / ("data/" + name)) + "' | cut -c1-16") + ",";
  }
  for (const auto* result : {&ra, &rb}) {
    const auto it = result->results.find("sums");
    const std::string got = it == result->results.end() ? "(none)" : it->second;
    const bool ok = got == want;
    std::printf("guest %c: sha256 of common.bin, only-a.bin, only-b.bin: %s %s\n",
                result == &ra ? 'a' : 'b', got.c_str(),
                ok ? "OK (match the host's files)" : ("MISMATCH, want " + want).c_str());
    bad += !ok;
  }
  const bool evicted = scrub_rc == 0 && after + 4096 < before;  // at least 16 MiB went
  if (report_rc != 0) std::printf("singleton report failed (exit %d)\n", report_rc);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  banner(bad == 0 ? "All checksums match" : "CHECKSUM MISMATCH");
  std::printf("demo took %.0f s\n", seconds);
  return bad == 0 && evicted && report_rc == 0 && ra.rc == 0 && rb.rc == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: singleton-demo PATH_TO_SINGLETON\n");
    return 2;
  }
  singleton_bin = argv[1];
  // A broken console or libvirt socket must end in an error and the guests' destructors, not in
  // a SIGPIPE that leaves QEMU running.
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return demo();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "singleton-demo: %s\n", e.what());
    return 1;
  }
}
