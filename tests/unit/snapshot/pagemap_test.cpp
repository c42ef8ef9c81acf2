#include "snapshot/memory/pagemap.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vector>

#include "snapshot/memory/guest_snapshot.hpp"
#include "snapshot/memory/kpageflags.hpp"
#include "snapshot/memory/page_hash.hpp"
#include "tests/unit/kernel_features.hpp"
#include "tests/unit/memory_holder_process.hpp"
#include "snapshot/base/page_size.hpp"

namespace singleton {
namespace {

TEST(PagemapEntry, DecodesPresentPfnAndExclusiveBits) {
  PagemapEntry entry{(uint64_t{1} << 63) | (uint64_t{1} << 56) | 0x12345};
  EXPECT_TRUE(entry.present());
  EXPECT_TRUE(entry.exclusive());
  EXPECT_FALSE(entry.swapped());
  EXPECT_EQ(entry.pfn(), 0x12345u);
  PagemapEntry swapped{(uint64_t{1} << 62) | 0x777};
  EXPECT_FALSE(swapped.present());
  EXPECT_TRUE(swapped.swapped());
  EXPECT_EQ(swapped.pfn(), 0u);  // bits 0-54 of a swapped entry are the swap slot, not a frame
}

TEST(PagemapReader, TouchedPagesArePresentAndOthersNot) {
  constexpr size_t kPages = 64;
  auto* memory = static_cast<char*>(mmap(nullptr, kPages * kPageBytes, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(memory, MAP_FAILED);
  for (size_t i = 0; i < kPages; i += 2) memory[i * kPageBytes] = 1;
  PagemapReader reader(getpid());
  std::vector<PagemapEntry> entries(kPages);
  ASSERT_EQ(reader.read(reinterpret_cast<uint64_t>(memory), entries), kPages);
  for (size_t i = 0; i < kPages; ++i) {
    EXPECT_EQ(entries[i].present(), i % 2 == 0) << "page " << i;
    if (i % 2 == 0 && geteuid() == 0) {
      EXPECT_NE(entries[i].pfn(), 0u);
    }
  }
  munmap(memory, kPages * kPageBytes);
}

TEST(PagemapReader, MissingProcessIsAnErrorNamingThePid) {
  try {
    PagemapReader reader(999999999);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("999999999"), std::string::npos);
  }
}

// A page written in our own private, non-mergeable mapping is anonymous and neither KSM nor the
// zero page. Debian's 6.12 kernel nevertheless flags it KPF_KSM (kpageflags tests
// `mapping & PAGE_MAPPING_KSM`, true for every anonymous page; 6.1 and 6.18 do not). What
// singleton must do holds either way: exclusively owned pages are never taken for KSM pages.
TEST(Kpageflags, OwnAnonymousPageIsNeitherKsmNorZero) {
  if (geteuid() != 0) GTEST_FAIL() << "run as root: kpageflags and PFNs need root";
  auto* memory = static_cast<char*>(
      mmap(nullptr, kPageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  memory[0] = 1;
  std::vector<PagemapEntry> entry(1);
  PagemapReader(getpid()).read(reinterpret_cast<uint64_t>(memory), entry);
  ASSERT_TRUE(entry[0].present());
  EXPECT_TRUE(entry[0].exclusive());
  KpageflagsReader kpageflags;
  ASSERT_TRUE(kpageflags.valid());
  std::vector<uint64_t> pfns{entry[0].pfn()}, flags(1);
  kpageflags.read(pfns, flags);
  constexpr uint64_t kKpfAnon = uint64_t{1} << 12;
  EXPECT_NE(flags[0] & kKpfAnon, 0u);
  EXPECT_EQ(flags[0] & kKpfZeroPage, 0u);
  const bool ksm_flag_on_any_anon = flags[0] & kKpfKsm;
  testing::note_kernel_case(ksm_flag_on_any_anon
                                ? "KPF_KSM set on a plain anonymous page: the flag alone does not mean KSM here"
                                : "KPF_KSM not set on a plain anonymous page");
  munmap(memory, kPageBytes);
  // A process's own (exclusive) pages: read and indexed, never counted as KSM pages.
  testing::MemoryHolderProcess holder({.pages = 32, .seed = 5});
  Vm vm;
  vm.name = "holder";
  vm.pid = holder.pid();
  KsmHashCache ksm;
  const GuestSnapshot snapshot = snapshot_vm(vm, ksm);
  ASSERT_TRUE(snapshot.complete()) << snapshot.error;
  EXPECT_EQ(snapshot.counts.ksm_pages, 0u);
  EXPECT_EQ(snapshot.counts.indexed_pages, 32u);
  EXPECT_EQ(snapshot.counts.pages_read, 32u);
}

// A read fault in a fresh private anonymous mapping maps the shared zero page, which
// /proc/kpageflags flags KPF_ZERO_PAGE on most kernels but not on all (not on a 6.18.44 host:
// the page read as unflagged). What singleton must do holds either way: a snapshot counts such
// pages (those pagemap reports present) as zero pages and never indexes them, and skips reading
// only those the kernel flagged.
TEST(Kpageflags, ReadOnlyTouchedPagesAreZeroPagesOfASnapshotFlaggedOrNot) {
  if (geteuid() != 0) GTEST_FAIL() << "run as root: kpageflags and PFNs need root";
  constexpr size_t kPages = 16, kReadOnly = 8;
  auto* memory = static_cast<unsigned char*>(
      mmap(nullptr, kPages * kPageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(memory, MAP_FAILED);
  madvise(memory, kPages * kPageBytes, MADV_NOHUGEPAGE);
  // Marked like QEMU's guest RAM, so that the snapshot takes this region (and only this one).
  ASSERT_EQ(madvise(memory, kPages * kPageBytes, MADV_MERGEABLE), 0) << "no KSM in this kernel";
  for (size_t i = 0; i < kReadOnly; ++i) (void)*static_cast<volatile unsigned char*>(memory + i * kPageBytes);
  for (size_t i = kReadOnly; i < kPages; ++i) {
    for (size_t b = 0; b < kPageBytes; ++b) memory[i * kPageBytes + b] = static_cast<unsigned char>(i * 31 + b * 7 + 1);
  }
  // What the kernel mapped, read directly.
  std::vector<PagemapEntry> entries(kPages);
  PagemapReader(getpid()).read(reinterpret_cast<uint64_t>(memory), entries);
  std::vector<uint64_t> pfns;
  for (size_t i = 0; i < kPages; ++i) {
    if (i >= kReadOnly) {
      ASSERT_TRUE(entries[i].present()) << "written page " << i;
    } else if (entries[i].present()) {
      pfns.push_back(entries[i].pfn());
    }
  }
  const size_t present = pfns.size();
  std::vector<uint64_t> flags(present);
  KpageflagsReader().read(pfns, flags);
  size_t flagged = 0;
  for (uint64_t f : flags) flagged += (f & kKpfZeroPage) ? 1 : 0;
  testing::note_kernel_case(std::to_string(present) + " of " + std::to_string(kReadOnly) +
                            " read-faulted pages present, " + std::to_string(flagged) +
                            " flagged KPF_ZERO_PAGE");
  Vm self;
  self.name = "self";
  self.pid = getpid();
  KsmHashCache ksm;
  const GuestSnapshot snapshot = snapshot_vm(self, ksm);
  ASSERT_TRUE(snapshot.complete()) << snapshot.error;
  EXPECT_EQ(snapshot.counts.present_pages, kPages - kReadOnly + present);
  EXPECT_EQ(snapshot.counts.zero_pages, present);
  EXPECT_EQ(snapshot.counts.indexed_pages, kPages - kReadOnly);
  EXPECT_EQ(snapshot.counts.pages_read, kPages - kReadOnly + present - flagged)
      << "flagged zero pages are not read, the others are";
  EXPECT_FALSE(snapshot.contains(zero_page_hash()));
  for (size_t i = kReadOnly; i < kPages; ++i) {
    EXPECT_TRUE(snapshot.contains(hash_page(memory + i * kPageBytes))) << "page " << i;
  }
  munmap(memory, kPages * kPageBytes);
}

}  // namespace
}  // namespace singleton
