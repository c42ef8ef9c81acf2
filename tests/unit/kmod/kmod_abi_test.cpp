// The singleton_pcache ABI as userspace sees it, and the kmod backend on a host without the
// module (the host kernel of this project cannot load modules: the module itself is tested in
// guests by tests/kmod/).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstddef>
#include <set>

#include "kmod/include/uapi/singleton_pcache.h"
#include "scrubber/pagecache/page_cache_backends.hpp"
#include "scrubber/pagecache/page_cache_view.hpp"
#include "snapshot/base/error.hpp"

namespace {

bool device_present() {
  struct stat st;
  return ::stat(SG_PCACHE_DEVICE_PATH, &st) == 0;
}

TEST(KmodAbi, SizeFieldComesFirstInEveryArgument) {
  EXPECT_EQ(offsetof(sg_pcache_version, size), 0u);
  EXPECT_EQ(offsetof(sg_pcache_file_pages, size), 0u);
  EXPECT_EQ(offsetof(sg_pcache_evict, size), 0u);
}

TEST(KmodAbi, PointersAndWideFieldsAreEightByteAligned) {
  EXPECT_EQ(offsetof(sg_pcache_file_pages, start_index) % 8, 0u);
  EXPECT_EQ(offsetof(sg_pcache_file_pages, entries) % 8, 0u);
  EXPECT_EQ(offsetof(sg_pcache_evict, ranges) % 8, 0u);
  EXPECT_EQ(alignof(sg_pcache_page), 8u);
}

TEST(KmodAbi, IoctlNumbersAreDistinctAndCarryTheV1Sizes) {
  const std::set<unsigned long> numbers = {SG_PCACHE_IOC_VERSION, SG_PCACHE_IOC_FILE_PAGES,
                                           SG_PCACHE_IOC_EVICT};
  EXPECT_EQ(numbers.size(), 3u);
  EXPECT_EQ(_IOC_SIZE(SG_PCACHE_IOC_VERSION), sizeof(sg_pcache_version));
  EXPECT_EQ(_IOC_SIZE(SG_PCACHE_IOC_FILE_PAGES), sizeof(sg_pcache_file_pages));
  EXPECT_EQ(_IOC_SIZE(SG_PCACHE_IOC_EVICT), sizeof(sg_pcache_evict));
}

// kmod/ABI.md, "Retired": a retired number or feature bit is never given to anything again.
TEST(KmodAbi, RetiredNumbersAndFeatureBitsAreNotReused) {
  for (unsigned long number : {SG_PCACHE_IOC_VERSION, SG_PCACHE_IOC_FILE_PAGES,
                               SG_PCACHE_IOC_EVICT}) {
    EXPECT_NE(_IOC_NR(number), static_cast<unsigned>(SG_PCACHE_RETIRED_IOC_NR_LIST_INODES));
  }
  for (uint64_t bit : {SG_PCACHE_FEAT_FILE_PAGES, SG_PCACHE_FEAT_XXH64, SG_PCACHE_FEAT_EVICT,
                       SG_PCACHE_FEAT_FOLIO_ORDER}) {
    EXPECT_EQ(bit & SG_PCACHE_RETIRED_FEAT_LIST_INODES, 0u);
  }
}

TEST(KmodAbi, FolioOrderRoundTripsThroughTheFlags) {
  for (uint32_t order : {0u, 2u, 9u, 18u}) {
    const uint32_t flags = SG_PCACHE_PAGE_DIRTY | (order << SG_PCACHE_PAGE_ORDER_SHIFT);
    EXPECT_EQ(SG_PCACHE_PAGE_ORDER(flags), order);
  }
  // The order bits do not overlap any flag.
  EXPECT_EQ(SG_PCACHE_PAGE_ORDER_MASK & (SG_PCACHE_PAGE_SWAPBACKED * 2 - 1), 0u);
}

TEST(KmodBackend, ExplicitKmodWithoutTheDeviceSaysWhy) {
  if (device_present()) GTEST_SKIP() << SG_PCACHE_DEVICE_PATH << " exists here";
  try {
    singleton::make_page_cache_view(singleton::BackendChoice::kKmod);
    FAIL() << "kmod view made without " << SG_PCACHE_DEVICE_PATH;
  } catch (const singleton::Error& e) {
    EXPECT_EQ(e.code(), singleton::ExitCode::kEnvironment);
    EXPECT_NE(std::string(e.what()).find(SG_PCACHE_DEVICE_PATH), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not loaded"), std::string::npos) << e.what();
  }
}

TEST(KmodBackend, AutoFallsBackToMincoreAndSaysWhy) {
  if (device_present()) GTEST_SKIP() << SG_PCACHE_DEVICE_PATH << " exists here";
  singleton::ChosenView chosen;
  try {
    chosen = singleton::make_page_cache_view(singleton::BackendChoice::kAuto);
  } catch (const singleton::Error& e) {
    GTEST_FAIL() << "no backend works here (not root?): " << e.what();
  }
  EXPECT_EQ(chosen.view->name(), "mincore");
  EXPECT_NE(chosen.note.find("kmod: "), std::string::npos) << chosen.note;
  EXPECT_NE(chosen.note.find(SG_PCACHE_DEVICE_PATH), std::string::npos) << chosen.note;
  EXPECT_NE(chosen.note.find("using mincore"), std::string::npos) << chosen.note;
}

}  // namespace
