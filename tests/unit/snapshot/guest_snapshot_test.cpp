#include "snapshot/memory/guest_snapshot.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "snapshot/memory/page_hash.hpp"
#include "snapshot/memory/pagemap.hpp"
#include "tests/unit/memory_holder_process.hpp"
#include "snapshot/base/page_size.hpp"

namespace singleton {
namespace {

using testing::fill_test_page;
using testing::MemoryHolderOptions;
using testing::MemoryHolderProcess;

Vm vm_of(const MemoryHolderProcess& holder) {
  Vm vm;
  vm.name = "holder";
  vm.pid = holder.pid();
  return vm;
}

uint64_t expected_hash(const MemoryHolderOptions& options, size_t index) {
  std::array<unsigned char, kPageBytes> page;
  fill_test_page(options.seed, index, options.zero_every, page.data());
  return hash_page(page.data());
}

TEST(GuestSnapshot, IndexesEveryNonZeroPageOfTheMergeableRegionAndCountsZeroPages) {
  MemoryHolderOptions options{.pages = 1000, .seed = 3, .zero_every = 10, .mergeable = true};
  MemoryHolderProcess holder(options);
  KsmHashCache ksm;
  SnapshotOptions snapshot_options;
  snapshot_options.read_batch_bytes = 64 * kPageBytes;  // several batches
  auto snapshot = snapshot_vm(vm_of(holder), ksm, snapshot_options);
  ASSERT_TRUE(snapshot.complete()) << snapshot.error;
  EXPECT_EQ(snapshot.counts.regions, 1u);
  EXPECT_EQ(snapshot.counts.present_pages, 1000u);
  EXPECT_EQ(snapshot.counts.zero_pages, 100u);
  EXPECT_EQ(snapshot.counts.indexed_pages, 900u);
  EXPECT_EQ(snapshot.index.size(), 900u);
  for (size_t i = 0; i < options.pages; ++i) {
    if (i % 10 == 9) continue;
    ASSERT_TRUE(snapshot.contains(expected_hash(options, i))) << "page " << i;
  }
  EXPECT_FALSE(snapshot.contains(zero_page_hash()));
  MemoryHolderOptions other = options;
  other.seed = 4;
  EXPECT_FALSE(snapshot.contains(expected_hash(other, 0)));
}

TEST(GuestSnapshot, AnonymousSelectionFindsRamThatIsNotMarkedMergeable) {
  MemoryHolderOptions options{.pages = 300, .seed = 5, .zero_every = 0, .mergeable = false};
  MemoryHolderProcess holder(options);
  KsmHashCache ksm;
  auto mergeable_only = snapshot_vm(vm_of(holder), ksm);
  EXPECT_FALSE(mergeable_only.complete());
  EXPECT_NE(mergeable_only.error.find("--regions anon"), std::string::npos) << mergeable_only.error;

  SnapshotOptions anon;
  anon.regions = RegionSelection::kAnonymous;
  auto snapshot = snapshot_vm(vm_of(holder), ksm, anon);
  ASSERT_TRUE(snapshot.complete()) << snapshot.error;
  for (size_t i = 0; i < options.pages; ++i)
    ASSERT_TRUE(snapshot.contains(expected_hash(options, i))) << "page " << i;
}

TEST(GuestSnapshot, ProcessThatIsGoneIsMarkedVanishedNamingThePid) {
  MemoryHolderProcess holder({.pages = 16});
  Vm vm = vm_of(holder);
  holder.stop();
  KsmHashCache ksm;
  auto snapshot = snapshot_vm(vm, ksm);
  EXPECT_TRUE(snapshot.vanished);
  EXPECT_NE(snapshot.error.find(std::to_string(vm.pid)), std::string::npos) << snapshot.error;
}

TEST(GuestSnapshot, ProcessKilledMidSnapshotIsVanishedAndOthersComplete) {
  MemoryHolderOptions big{.pages = 4096, .seed = 8};
  MemoryHolderProcess victim(big);
  MemoryHolderProcess survivor({.pages = 512, .seed = 9});
  SnapshotOptions options;
  options.read_batch_bytes = 64 * kPageBytes;
  bool killed = false;
  options.on_batch = [&](uint64_t) {
    if (!killed && victim.pid() > 0) {
      killed = true;
      victim.stop();
    }
  };
  std::vector<Vm> vms{vm_of(victim), vm_of(survivor)};
  KsmHashCache ksm;
  auto snapshots = snapshot_vms(vms, ksm, options);
  ASSERT_EQ(snapshots.size(), 2u);
  EXPECT_TRUE(snapshots[0].vanished) << snapshots[0].error;
  EXPECT_LT(snapshots[0].counts.pages_read, big.pages);
  EXPECT_NE(snapshots[0].error.find(std::to_string(vms[0].pid)), std::string::npos);
  EXPECT_TRUE(snapshots[1].complete()) << snapshots[1].error;
  EXPECT_EQ(snapshots[1].counts.indexed_pages, 512u);
}

TEST(GuestSnapshot, MemoryUnmappedMidSnapshotIsVanished) {
  MemoryHolderProcess holder({.pages = 4096, .seed = 10});
  SnapshotOptions options;
  options.read_batch_bytes = 64 * kPageBytes;
  bool unmapped = false;
  options.on_batch = [&](uint64_t) {
    if (!unmapped) {
      unmapped = true;
      holder.unmap_memory();
    }
  };
  KsmHashCache ksm;
  auto snapshot = snapshot_vm(vm_of(holder), ksm, options);
  EXPECT_TRUE(snapshot.vanished);
  EXPECT_NE(snapshot.error.find("unmapped"), std::string::npos) << snapshot.error;
}

TEST(GuestSnapshot, UnprivilegedCallerGetsAnEnvironmentErrorNamingThePid) {
  if (geteuid() != 0) GTEST_FAIL() << "run as root: needs root to drop to another user";
  MemoryHolderProcess holder({.pages = 16});
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  pid_t child = fork();
  if (child == 0) {
    close(report[0]);
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(99);
    KsmHashCache ksm;
    auto snapshot = snapshot_vm(vm_of(holder), ksm);
    std::string line = std::to_string(static_cast<int>(snapshot.error_code)) + " " + snapshot.error;
    (void)!write(report[1], line.data(), line.size());
    _exit(0);
  }
  close(report[1]);
  std::string line;
  char buffer[512];
  ssize_t n;
  while ((n = read(report[0], buffer, sizeof buffer)) > 0) line.append(buffer, n);
  close(report[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  EXPECT_EQ(line.substr(0, 2), "3 ") << line;  // ExitCode::kEnvironment
  EXPECT_NE(line.find("pid " + std::to_string(holder.pid())), std::string::npos) << line;
}

// A pinned read (process_vm_readv) of a page that is not exclusively owned makes the kernel copy
// it ("unshare"); for KSM pages that undoes the merge. Shared pages must be read without a pin.
TEST(GuestSnapshot, SharedPagesAreReadWithoutBeingUnshared) {
  if (geteuid() != 0) GTEST_FAIL() << "run as root: PFNs in pagemap need root";
  MemoryHolderOptions options{.pages = 256, .seed = 12, .mergeable = true, .fork_sharer = true};
  MemoryHolderProcess holder(options);
  auto frames = [&] {
    std::vector<PagemapEntry> entries(options.pages);
    PagemapReader(holder.pid()).read(holder.address(), entries);
    return entries;
  };
  auto before = frames();
  for (const auto& entry : before) ASSERT_FALSE(entry.exclusive()) << "pages are not shared";
  KsmHashCache ksm;
  auto snapshot = snapshot_vm(vm_of(holder), ksm);
  ASSERT_TRUE(snapshot.complete()) << snapshot.error;
  EXPECT_EQ(snapshot.counts.indexed_pages, options.pages);
  for (size_t i = 0; i < options.pages; ++i)
    ASSERT_TRUE(snapshot.contains(expected_hash(options, i))) << "page " << i;
  auto after = frames();
  size_t unshared = 0;
  for (size_t i = 0; i < options.pages; ++i) unshared += after[i].pfn() != before[i].pfn();
  EXPECT_EQ(unshared, 0u) << "the snapshot copied shared pages";
}

TEST(GuestSnapshot, CountsRegionSizeAndResidentBytes) {
  MemoryHolderProcess holder({.pages = 256, .seed = 11});
  KsmHashCache ksm;
  auto snapshot = snapshot_vm(vm_of(holder), ksm);
  ASSERT_TRUE(snapshot.complete()) << snapshot.error;
  EXPECT_EQ(snapshot.counts.region_bytes, 256u * kPageBytes);
  EXPECT_EQ(snapshot.counts.resident_bytes, 256u * kPageBytes);
  EXPECT_EQ(snapshot.counts.pages_read, 256u);
  EXPECT_GT(snapshot.counts.seconds, 0.0);
}

// An in-place hasher that knows the holder's pages (the module is not on the host): it hashes
// pages below `refuse_from` and, like the module on a hugetlb mapping before Linux 6.6, stops
// before that address and refuses a call starting there with EOPNOTSUPP.
class RefusingHasher : public InPlaceHasher {
 public:
  RefusingHasher(const MemoryHolderProcess& holder, MemoryHolderOptions options, uint64_t refuse_from)
      : holder_(holder), options_(options), refuse_from_(refuse_from) {}
  std::string name() const override { return "fake"; }
  std::unique_ptr<InPlaceProcessPages> open(pid_t) const override {
    return std::make_unique<Process>(*this);
  }
  mutable uint64_t calls = 0;

 private:
  struct Process : InPlaceProcessPages {
    explicit Process(const RefusingHasher& h) : h(h) {}
    uint64_t describe(uint64_t start, uint64_t end, std::vector<InPlacePage>& out) override {
      h.calls++;
      if (start >= h.refuse_from_) throw SystemError("fake process pages", EOPNOTSUPP);
      uint64_t stop = std::min({end, h.refuse_from_, start + 64 * kPageBytes});
      out.clear();
      for (uint64_t a = start; a < stop; a += kPageBytes) {
        size_t index = (a - h.holder_.address()) / kPageBytes;
        out.push_back({expected_hash(h.options_, index), kInPlacePresent | kInPlaceHashed});
      }
      return stop;
    }
    const RefusingHasher& h;
  };
  const MemoryHolderProcess& holder_;
  MemoryHolderOptions options_;
  uint64_t refuse_from_;
};

TEST(GuestSnapshot, RegionTheInPlaceHasherRefusesIsCopiedInstead) {
  MemoryHolderOptions options{.pages = 1000, .seed = 13, .zero_every = 7, .mergeable = true};
  MemoryHolderProcess holder(options);
  RefusingHasher hasher(holder, options, holder.address() + 300 * kPageBytes);
  SnapshotOptions in_place;
  in_place.in_place = &hasher;
  in_place.read_batch_bytes = 64 * kPageBytes;
  KsmHashCache ksm_a, ksm_b;
  auto snapshot = snapshot_vm(vm_of(holder), ksm_a, in_place);
  ASSERT_TRUE(snapshot.complete()) << snapshot.error;
  auto copied = snapshot_vm(vm_of(holder), ksm_b);
  EXPECT_EQ(snapshot.reader, "fake");
  EXPECT_EQ(snapshot.counts.regions_copied, 1u);
  EXPECT_EQ(copied.counts.regions_copied, 0u);
  EXPECT_GT(hasher.calls, 1u);
  EXPECT_EQ(snapshot.counts.present_pages, options.pages);
  EXPECT_EQ(snapshot.counts.pages_read, options.pages);
  EXPECT_EQ(snapshot.counts.zero_pages, copied.counts.zero_pages);
  EXPECT_EQ(snapshot.counts.indexed_pages, copied.counts.indexed_pages);
  EXPECT_EQ(snapshot.index.size(), copied.index.size());
  for (size_t i = 0; i < options.pages; ++i) {
    if (i % 7 == 6) continue;
    ASSERT_TRUE(snapshot.contains(expected_hash(options, i))) << "page " << i;
  }
}

}  // namespace
}  // namespace singleton
