#include "snapshot/pagemap.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vector>

#include "snapshot/kpageflags.hpp"

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
  auto* memory = static_cast<char*>(mmap(nullptr, kPages * kPageSize, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(memory, MAP_FAILED);
  for (size_t i = 0; i < kPages; i += 2) memory[i * kPageSize] = 1;
  PagemapReader reader(getpid());
  std::vector<PagemapEntry> entries(kPages);
  ASSERT_EQ(reader.read(reinterpret_cast<uint64_t>(memory), entries), kPages);
  for (size_t i = 0; i < kPages; ++i) {
    EXPECT_EQ(entries[i].present(), i % 2 == 0) << "page " << i;
    if (i % 2 == 0 && geteuid() == 0) {
      EXPECT_NE(entries[i].pfn(), 0u);
    }
  }
  munmap(memory, kPages * kPageSize);
}

TEST(PagemapReader, MissingProcessIsAnErrorNamingThePid) {
  try {
    PagemapReader reader(999999999);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("999999999"), std::string::npos);
  }
}

TEST(Kpageflags, OwnAnonymousPageIsNeitherKsmNorZero) {
  if (geteuid() != 0) GTEST_FAIL() << "run as root: kpageflags and PFNs need root";
  auto* memory = static_cast<char*>(
      mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  memory[0] = 1;
  std::vector<PagemapEntry> entry(1);
  PagemapReader(getpid()).read(reinterpret_cast<uint64_t>(memory), entry);
  KpageflagsReader kpageflags;
  ASSERT_TRUE(kpageflags.valid());
  std::vector<uint64_t> pfns{entry[0].pfn()}, flags(1);
  kpageflags.read(pfns, flags);
  EXPECT_NE(flags[0], 0u);  // at least the LRU/ANON bits
  EXPECT_EQ(flags[0] & (kKpfKsm | kKpfZeroPage), 0u);
  munmap(memory, kPageSize);
}

TEST(Kpageflags, ReadOnlyTouchedPageMapsTheZeroPage) {
  if (geteuid() != 0) GTEST_FAIL() << "run as root: kpageflags and PFNs need root";
  auto* memory = static_cast<volatile char*>(
      mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  madvise(const_cast<char*>(memory), kPageSize, MADV_NOHUGEPAGE);
  (void)memory[0];  // a read fault maps the shared zero page
  std::vector<PagemapEntry> entry(1);
  PagemapReader(getpid()).read(reinterpret_cast<uint64_t>(memory), entry);
  ASSERT_TRUE(entry[0].present());
  std::vector<uint64_t> pfns{entry[0].pfn()}, flags(1);
  KpageflagsReader().read(pfns, flags);
  EXPECT_NE(flags[0] & kKpfZeroPage, 0u);
  munmap(const_cast<char*>(memory), kPageSize);
}

}  // namespace
}  // namespace singleton
