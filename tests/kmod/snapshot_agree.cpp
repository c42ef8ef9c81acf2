// sg_backend_agree --snapshot: inside a guest with singleton_pcache loaded, a guest-like process
// (random pages, pages written with zeros, read-only zero-page mappings, two copies of the same
// pages, an untouched range) is snapshotted twice: hashed in place by the module (kmod) and
// copied out (process_vm_readv, /proc/PID/mem). Both must give the same index (the same hashes,
// the same count of each) and the same present, zero and indexed counts.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "scrubber/pagecache/kmod_process_pages.hpp"
#include "snapshot/memory/guest_snapshot.hpp"
#include "snapshot/memory/ksm_hash_cache.hpp"

namespace {

constexpr size_t kMiB = 1 << 20;

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
  const pid_t pid = guest_like_process();
  if (pid <= 0) {
    fail("no child");
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
  const singleton::GuestSnapshot a = singleton::snapshot_vm(vm, ksm_a, copy);
  const singleton::GuestSnapshot b = singleton::snapshot_vm(vm, ksm_b, in_place);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
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
  if (a.counts.indexed_pages < 20 * kMiB / 4096) fail("fewer pages indexed than the child wrote");
  if (a.index.size() != b.index.size()) fail("distinct hashes differ");
  // The same hashes: every hash of one is in the other.
  size_t missing = 0;
  for (uint64_t h : a.index.hashes()) missing += !b.index.contains(h);
  if (missing) fail(std::to_string(missing) + " hashes of the copied snapshot not in the kmod one");
  std::printf("%s snapshot-agree: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures;
}
