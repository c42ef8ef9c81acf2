// snapshot_kmod_bench DIR [PROCESS_MIB=256] [FILE_MIB=128] [REPS=3]: inside a guest with
// singleton_pcache loaded, how fast a guest's RAM is indexed when the module hashes it in place
// (PROCESS_PAGES) and when it is copied out (process_vm_readv), against plain XXH64 of the same
// number of bytes in this process, in one run (medians, interleaved). Also a full dry-run pass
// (the RAM indexed, the cached image scanned and matched) over a process of PROCESS_MIB and
// FILE_MIB of its content cached as a file, against XXH64 of PROCESS_MIB + FILE_MIB. Run in a
// guest by `bench/kmod-bench --process`.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "scrubber/pagecache/kmod_process_pages.hpp"
#include "scrubber/pagecache/page_cache_view.hpp"
#include "scrubber/pass/pass_engine.hpp"
#include "snapshot/base/error.hpp"
#include "snapshot/memory/guest_snapshot.hpp"
#include "snapshot/memory/ksm_hash_cache.hpp"
#include "snapshot/memory/smaps.hpp"

namespace {

constexpr size_t kMiB = 1 << 20;

void fill(unsigned char* p, size_t bytes) {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < bytes; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(p + i, &x, 8);
  }
}

double seconds(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A QEMU-like process: `bytes` of content in a mergeable anonymous mapping (guest RAM).
pid_t holder(size_t bytes) {
  int p[2];
  if (::pipe(p) != 0) singleton::throw_errno("pipe");
  const pid_t pid = ::fork();
  if (pid < 0) singleton::throw_errno("fork");
  if (pid == 0) {
    auto* ram = static_cast<unsigned char*>(::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (ram == MAP_FAILED || ::madvise(ram, bytes, MADV_MERGEABLE) != 0) ::_exit(1);
    fill(ram, bytes);
    if (::write(p[1], "x", 1) != 1) ::_exit(1);
    for (;;) ::pause();
  }
  ::close(p[1]);
  char c;
  if (::read(p[0], &c, 1) != 1) throw singleton::Error(singleton::ExitCode::kEnvironment, "holder");
  ::close(p[0]);
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: snapshot_kmod_bench DIR [PROCESS_MIB=256] [FILE_MIB=128] [REPS=3]\n");
    return 2;
  }
  const std::string path = std::string(argv[1]) + "/snapshot-bench.img";
  const size_t process_bytes = (argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 256) * kMiB;
  const size_t file_bytes = (argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 128) * kMiB;
  const int reps = argc > 4 ? std::atoi(argv[4]) : 3;
  pid_t pid = -1;
  try {
    // The same bytes here, for the XXH64 baseline, and the first FILE_MIB of them as the image.
    std::vector<unsigned char> mine(process_bytes);
    fill(mine.data(), mine.size());
    {
      const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) singleton::throw_errno("open " + path);
      if (::pwrite(fd, mine.data(), file_bytes, 0) != static_cast<ssize_t>(file_bytes))
        singleton::throw_errno("pwrite");
      ::fsync(fd);
      ::close(fd);
    }
    pid = holder(process_bytes);
    const auto kmod = std::make_unique<singleton::KmodProcessPages>();
    auto view = singleton::make_page_cache_view(singleton::BackendChoice::kKmod).view;
    singleton::Vm vm;
    vm.name = "bench";
    vm.pid = pid;
    vm.disks.push_back({path, "raw", singleton::CacheMode::kWriteback, {}, {}});

    uint64_t sink = 0;
    auto xxh = [&](size_t bytes) {
      for (size_t off = 0; off < bytes; off += 4096) {
        sink += XXH64(mine.data() + off % mine.size(), 4096, 0);
      }
    };
    uint64_t indexed_kmod = 0, indexed_copy = 0, double_cached = 0;
    auto snapshot = [&](const singleton::InPlaceHasher* in_place, uint64_t* indexed) {
      singleton::SnapshotOptions o;
      o.in_place = in_place;
      singleton::KsmHashCache ksm;
      const singleton::GuestSnapshot s = singleton::snapshot_vm(vm, ksm, o);
      if (!s.complete()) throw singleton::Error(singleton::ExitCode::kPartial, s.error);
      *indexed = s.counts.indexed_pages;
    };
    auto pass = [&](const singleton::InPlaceHasher* in_place) {
      singleton::PassOptions o;
      o.evict = false;
      o.snapshot.in_place = in_place;
      const singleton::PassReport r = singleton::run_pass(*view, {vm}, o);
      double_cached = r.totals.double_cached_pages;
    };
    // The image's pages in the host cache, for every pass below.
    {
      const int fd = ::open(path.c_str(), O_RDONLY);
      std::vector<char> buf(kMiB);
      while (::read(fd, buf.data(), buf.size()) > 0) {
      }
      ::close(fd);
    }
    // The ioctl alone over the holder's RAM (what the snapshot adds on top: the index).
    const std::vector<singleton::MemoryRegion> regions =
        singleton::select_regions(singleton::read_smaps(pid), singleton::RegionSelection::kMergeable);
    auto ioctl_only = [&] {
      std::vector<singleton::InPlacePage> pages;
      auto process = kmod->open(pid);
      for (const auto& region : regions) {
        for (uint64_t a = region.start; a < region.end;) {
          a = process->describe(a, region.end, pages);
          for (const auto& p : pages) sink += p.hash;
        }
      }
    };
    std::vector<double> x1, sk, sc, x2, pk, pc, io;
    for (int r = 0; r < reps; ++r) {
      x1.push_back(seconds([&] { xxh(process_bytes); }));
      sk.push_back(seconds([&] { snapshot(kmod.get(), &indexed_kmod); }));
      io.push_back(seconds(ioctl_only));
      sc.push_back(seconds([&] { snapshot(nullptr, &indexed_copy); }));
      x2.push_back(seconds([&] { xxh(process_bytes + file_bytes); }));
      pk.push_back(seconds([&] { pass(kmod.get()); }));
      pc.push_back(seconds([&] { pass(nullptr); }));
    }
    const double X1 = median(x1), SK = median(sk), SC = median(sc), X2 = median(x2),
                 PK = median(pk), PC = median(pc);
    std::printf("snapshot_kmod_bench: %zu MiB process, %zu MiB cached image, median of %d "
                "(sink %llu)\n",
                process_bytes / kMiB, file_bytes / kMiB, reps, (unsigned long long)(sink & 1));
    std::printf("  XXH64 of %zu MiB: %.3f s (%.2f GB/s)\n", process_bytes / kMiB, X1,
                process_bytes / X1 / 1e9);
    std::printf("  snapshot, kmod in place: %.3f s, %llu pages indexed: %.2f of XXH64's speed\n",
                SK, (unsigned long long)indexed_kmod, X1 / SK);
    std::printf("  PROCESS_PAGES ioctls alone: %.3f s: %.2f of XXH64's speed\n", median(io),
                X1 / median(io));
    std::printf("  snapshot, process_vm_readv: %.3f s, %llu pages indexed: %.2f of XXH64's speed\n",
                SC, (unsigned long long)indexed_copy, X1 / SC);
    std::printf("  dry-run pass (%llu double-cached pages): kmod %.3f s = %.2fx XXH64 of %zu MiB "
                "(%.3f s); process_vm_readv %.3f s = %.2fx\n",
                (unsigned long long)double_cached, PK, PK / X2,
                (process_bytes + file_bytes) / kMiB, X2, PC, PC / X2);
    std::printf("@@SG-RESULT snapshot_kmod_vs_xxh64=%.2f pass_kmod_over_xxh64=%.2f@@\n", X1 / SK,
                PK / X2);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::unlink(path.c_str());
  } catch (const singleton::Error& e) {
    std::fprintf(stderr, "snapshot_kmod_bench: %s\n", e.what());
    if (pid > 0) ::kill(pid, SIGKILL);
    ::unlink(path.c_str());
    return 1;
  }
  return 0;
}
