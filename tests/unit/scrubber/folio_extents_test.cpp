// Folio extents and folio-wide flags from kpageflags frames, as the 6.1 and 6.12+ kernels
// report them (no kernel needed: frames are given).
#include "scrubber/pagecache/folio_extents.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace singleton {
namespace {

constexpr uint64_t kHead = 1ull << kpf::kCompoundHead;
constexpr uint64_t kTail = 1ull << kpf::kCompoundTail;
constexpr uint64_t kDirtyBit = 1ull << kpf::kDirty;
constexpr uint64_t kUptodateBit = 1ull << kpf::kUptodate;

std::vector<CachedPage> pages_at(uint64_t first, size_t n) {
  std::vector<CachedPage> pages(n);
  for (size_t i = 0; i < n; ++i) pages[i].index = first + i;
  return pages;
}

TEST(FolioFlags, TailsOfA61FolioTakeDirtyAndUptodateFromTheHead) {
  // 6.1: the head carries the folio's flags, the tails report their own unused bits (zero).
  auto pages = pages_at(8, 4);
  std::vector<PageFrame> frames = {{100, kHead | kDirtyBit | kUptodateBit, 1},
                                   {101, kTail, 1},
                                   {102, kTail, 1},
                                   {103, kTail, 1}};
  for (size_t i = 0; i < pages.size(); ++i) pages[i].flags = page_flags_from_frame(frames[i], 1);
  assign_folio_extents(pages, frames);
  inherit_folio_flags(pages);
  for (const auto& p : pages) {
    EXPECT_EQ(p.folio_first, 8u);
    EXPECT_EQ(p.folio_pages, 4u);
    EXPECT_TRUE(p.flags & kPageDirty) << "page " << p.index;
    EXPECT_TRUE(p.flags & kPageUptodate) << "page " << p.index;
  }
}

TEST(FolioFlags, MappedStaysPerPageAndARunWithoutItsHeadKeepsItsOwnFlags) {
  auto pages = pages_at(3, 2);
  // The run starts at a tail (its head was not seen): nothing to inherit from.
  std::vector<PageFrame> frames = {{51, kTail, 1}, {52, kTail | (1ull << kpf::kMmap), 3}};
  for (size_t i = 0; i < pages.size(); ++i) pages[i].flags = page_flags_from_frame(frames[i], 1);
  assign_folio_extents(pages, frames);
  inherit_folio_flags(pages);
  EXPECT_EQ(pages[0].folio_first, 3u);
  EXPECT_FALSE(pages[0].flags & kPageMapped);
  EXPECT_TRUE(pages[1].flags & kPageMapped);
  EXPECT_FALSE(pages[1].flags & kPageUptodate);
}

TEST(FolioFlags, SmallFoliosAreUntouched) {
  auto pages = pages_at(0, 2);
  std::vector<PageFrame> frames = {{7, kUptodateBit, 1}, {9, kDirtyBit, 1}};
  for (size_t i = 0; i < pages.size(); ++i) pages[i].flags = page_flags_from_frame(frames[i], 1);
  assign_folio_extents(pages, frames);
  inherit_folio_flags(pages);
  EXPECT_EQ(pages[1].folio_first, 1u);
  EXPECT_FALSE(pages[0].flags & kPageDirty);
  EXPECT_TRUE(pages[1].flags & kPageDirty);
  EXPECT_FALSE(pages[1].flags & kPageUptodate);
}

}  // namespace
}  // namespace singleton
