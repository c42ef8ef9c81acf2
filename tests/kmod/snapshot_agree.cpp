// sg_backend_agree --snapshot: inside a guest with singleton_pcache loaded, a guest-like process
// (random pages, pages written with zeros, read-only zero-page mappings, two copies of the same
// pages, an untouched range, and hugetlb guest RAM as QEMU's memory-backend-memfd hugetlb=on
// maps it: a MFD_HUGETLB memfd, one huge page written, three never touched) is snapshotted
// twice: hashed in place by the module (kmod) and copied out (process_vm_readv, /proc/PID/mem).
// Both must give the same index (the same hashes, the same count of each) and the same present,
// zero and indexed counts. Before Linux 6.6 the module refuses hugetlb memory (it would be
// faulted in): the kmod snapshot must then copy that region out instead, and on every kernel
// no never-touched huge page may be allocated (HugePages_Free unchanged). guest-tests.sh sets
// vm.nr_hugepages.
#include <signal.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "scrubber/pagecache/kmod_process_pages.hpp"
#include "snapshot/memory/guest_snapshot.hpp"
#include "snapshot/memory/ksm_hash_cache.hpp"

namespace {

constexpr size_t kMiB = 1 << 20;
constexpr size_t kHugePages = 4;  // in the child's hugetlb memfd; the first one written

long meminfo(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string name;
  long value;
  while (in >> name >> value) {
    if (name == key + ":") return value;
    in.ignore(256, '\n');
  }
  return -1;
}

bool kernel_before_6_6() {
  utsname u{};
  int major = 0, minor = 0;
  if (::uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major < 6 || (major == 6 && minor < 6);
}

// A child that maps and fills its memory, says so through a pipe, and waits to be killed.
pid_t guest_like_process() {
  int p[2];
  if (::pipe(p) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid != 0) {
    ::close(p[1]);
    char c;
    if (::read(p[0], &c, 1) != 1) return -1;
    ::close(p[0]);
    return pid;
  }
  auto map = [](size_t bytes) {
    return static_cast<unsigned char*>(::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  };
  unsigned char* random = map(16 * kMiB);
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < 16 * kMiB; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(random + i, &x, 8);
  }
  unsigned char* twice = map(4 * kMiB);
  std::memcpy(twice, random, 2 * kMiB);
  std::memcpy(twice + 2 * kMiB, random, 2 * kMiB);
  unsigned char* zeros = map(4 * kMiB);
  std::memset(zeros, 0, 4 * kMiB);
  unsigned char* read_only = map(4 * kMiB);
  volatile unsigned char sink = 0;
  for (size_t i = 0; i < 4 * kMiB; i += 4096) sink = sink + read_only[i];
  map(8 * kMiB);  // never touched
  // Hugetlb guest RAM: one huge page written (content of its own), the others never touched.
  const int huge_fd = ::memfd_create("guest-ram-huge", MFD_HUGETLB);
  if (huge_fd < 0 || ::ftruncate(huge_fd, kHugePages * 2 * kMiB) != 0) ::_exit(2);
  auto* huge = static_cast<unsigned char*>(::mmap(nullptr, kHugePages * 2 * kMiB,
                                                  PROT_READ | PROT_WRITE, MAP_SHARED, huge_fd, 0));
  if (huge == MAP_FAILED) ::_exit(3);
  for (size_t i = 0; i < 2 * kMiB; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(huge + i, &x, 8);
  }
  if (::write(p[1], "x", 1) != 1) ::_exit(1);
  for (;;) ::pause();
}

}  // namespace

int snapshot_agree() {
  int failures = 0;
  auto fail = [&](const std::string& what) {
    std::printf("FAIL snapshot-agree: %s\n", what.c_str());
    ++failures;
  };
  std::string why;
  const auto kmod = singleton::make_kmod_process_pages(&why);
  if (!kmod) {
    fail("the module cannot hash process pages: " + why);
    return failures;
  }
  if (meminfo("HugePages_Free") < static_cast<long>(kHugePages) || meminfo("Hugepagesize") != 2048) {
    fail("needs " + std::to_string(kHugePages) + " free 2 MiB huge pages (guest-tests.sh sets "
         "vm.nr_hugepages): " + std::to_string(meminfo("HugePages_Free")) + " free");
    return failures;
  }
  const pid_t pid = guest_like_process();
  if (pid <= 0) {
    fail("no child (no hugetlb memfd?)");
    return failures;
  }
  singleton::Vm vm;
  vm.name = "agree";
  vm.pid = pid;
  singleton::SnapshotOptions copy;
  copy.regions = singleton::RegionSelection::kAnonymous;
  singleton::SnapshotOptions in_place = copy;
  in_place.in_place = kmod.get();
  singleton::KsmHashCache ksm_a, ksm_b;
  const long huge_free_before = meminfo("HugePages_Free");
  const singleton::GuestSnapshot a = singleton::snapshot_vm(vm, ksm_a, copy);
  const singleton::GuestSnapshot b = singleton::snapshot_vm(vm, ksm_b, in_place);
  const long huge_free_after = meminfo("HugePages_Free");
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  const uint64_t want_copied = kernel_before_6_6() ? 1 : 0;
  std::printf("snapshot-agree: hugetlb region: %llu region(s) copied by the kmod snapshot (%llu "
              "expected on this kernel); HugePages_Free %ld before, %ld after\n",
              (unsigned long long)b.counts.regions_copied, (unsigned long long)want_copied,
              huge_free_before, huge_free_after);
  if (b.counts.regions_copied != want_copied) fail("regions copied by the kmod snapshot");
  if (a.counts.regions_copied != 0) fail("the copied snapshot counts regions copied");
  if (huge_free_after != huge_free_before) fail("the snapshots faulted never-touched huge pages in");
  std::printf("snapshot-agree: %s: %llu present, %llu zero, %llu indexed in %.3f s; %s: %llu "
              "present, %llu zero, %llu indexed in %.3f s\n",
              a.reader.c_str(), (unsigned long long)a.counts.present_pages,
              (unsigned long long)a.counts.zero_pages, (unsigned long long)a.counts.indexed_pages,
              a.counts.seconds, b.reader.c_str(), (unsigned long long)b.counts.present_pages,
              (unsigned long long)b.counts.zero_pages, (unsigned long long)b.counts.indexed_pages,
              b.counts.seconds);
  if (!a.complete() || !b.complete()) fail("incomplete: '" + a.error + "' '" + b.error + "'");
  if (a.reader != "process_vm_readv" || b.reader != "kmod") fail("readers " + a.reader + ", " + b.reader);
  if (a.counts.present_pages != b.counts.present_pages) fail("present pages differ");
  if (a.counts.zero_pages != b.counts.zero_pages) fail("zero pages differ");
  if (a.counts.indexed_pages != b.counts.indexed_pages) fail("indexed pages differ");
  if (a.counts.indexed_pages < 22 * kMiB / 4096) fail("fewer pages indexed than the child wrote");
  if (a.index.size() != b.index.size()) fail("distinct hashes differ");
  // The same hashes: every hash of one is in the other.
  size_t missing = 0;
  for (uint64_t h : a.index.hashes()) missing += !b.index.contains(h);
  if (missing) fail(std::to_string(missing) + " hashes of the copied snapshot not in the kmod one");
  std::printf("%s snapshot-agree: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures;
}
