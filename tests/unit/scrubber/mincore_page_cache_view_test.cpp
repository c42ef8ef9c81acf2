// The mincore backend on real files in $TMPDIR. Kernel-dependent cases are checked for what the
// kernel does, probed independently of the view (tests/unit/kernel_features.hpp, temp_file.hpp):
// cachestat(2) or not (Linux < 6.5: the view counts by mincore and kpageflags), large folios or
// not (ext4 caches in large folios only since Linux 6.16 or so; Debian's 6.1 and 6.12 do not).
#include "scrubber/pagecache/mincore_page_cache_view.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

#include <fstream>
#include <map>
#include <set>

#include "tests/unit/kernel_features.hpp"
#include "tests/unit/scrubber/temp_file.hpp"

namespace singleton {
namespace {

using testing::KernelFolio;
using testing::TempFile;

constexpr uint64_t kMiB = 1 << 20;

std::vector<CachedPage> scan_all(PageCacheView& view, const ReadOnlyFile& file,
                                 bool hashes = true) {
  std::vector<CachedPage> pages;
  for (uint64_t from = 0;;) {
    ScanBatch batch = view.scan(file, from, ScanOptions{hashes});
    pages.insert(pages.end(), batch.pages.begin(), batch.pages.end());
    if (batch.done) break;
    EXPECT_GT(batch.next_index, from);
    from = batch.next_index;
  }
  return pages;
}

// Measured without the view: cachestat(2), or mincore() where the kernel has no cachestat.
uint64_t cached(const ReadOnlyFile& file) { return testing::cached_pages(file.path()); }

class MincoreViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_FAIL() << "run as root: the mincore backend needs root (pagemap PFNs)";
  }
  MincorePageCacheView view_;
};

TEST_F(MincoreViewTest, ScanAddsNoPageToTheHostCache) {
  TempFile temp(64 * kMiB);
  temp.read_range(0, 24 * kMiB);
  temp.read_range(40 * kMiB, 3 * kMiB);
  ReadOnlyFile file(temp.path());
  const uint64_t before = cached(file);
  ASSERT_GT(before, 0u);
  const auto pages = scan_all(view_, file);
  EXPECT_EQ(pages.size(), before);
  EXPECT_EQ(cached(file), before);
  // And again: the scan itself left no readahead mark behind to trigger later.
  scan_all(view_, file);
  EXPECT_EQ(cached(file), before);
}

TEST_F(MincoreViewTest, HashesAreXxh64OfThePageContent) {
  TempFile temp(4 * kMiB + 1000);  // a partial last page: its tail reads as zeros
  temp.read_all();
  ReadOnlyFile file(temp.path());
  const auto pages = scan_all(view_, file);
  ASSERT_EQ(pages.size(), file.size_pages());
  const int fd = ::open(temp.path().c_str(), O_RDONLY);
  for (const CachedPage& page : pages) {
    unsigned char buf[kPageBytes] = {};
    ASSERT_GT(::pread(fd, buf, kPageBytes, page.index * kPageBytes), 0);
    ASSERT_TRUE(page.flags & kPageHashed);
    EXPECT_EQ(page.hash, XXH64(buf, kPageBytes, 0)) << "page " << page.index;
  }
  ::close(fd);
}

// ScanOptions::end (the placement tracker's scans): exactly the folios holding a page of
// [from, end), whole, hashed; nothing outside them, and no page added to the cache.
TEST_F(MincoreViewTest, ABoundedScanReturnsExactlyTheFoliosOfItsRangeHashed) {
  TempFile temp(8 * kMiB);
  temp.read_all();
  ReadOnlyFile file(temp.path());
  const auto all = scan_all(view_, file, false);
  ASSERT_EQ(all.size(), 8 * kMiB / kPageBytes);
  const uint64_t before = cached(file);
  const int fd = ::open(temp.path().c_str(), O_RDONLY);
  // Ranges at and across the edges of 16-, 128- and 512-page blocks, where the view widens its
  // window in steps when a large folio crosses one (whatever folio sizes this kernel made).
  std::vector<std::pair<uint64_t, uint64_t>> ranges = {{100, 101}, {511, 513}, {0, 1},
                                                       {1000, 1300}, {2047, 2048}};
  for (const uint64_t edge : {16, 128, 512, 1024, 1536}) {
    for (const auto& [before, after] : {std::pair<uint64_t, uint64_t>{1, 1}, {0, 1}, {1, 0},
                                        {3, 20}, {17, 0}, {0, 130}}) {
      ranges.emplace_back(edge - before, edge + after);
    }
  }
  for (uint64_t from = 5; from < 2048; from += 97) ranges.emplace_back(from, from + 1 + from % 7);
  std::map<uint32_t, size_t> folio_sizes;
  for (const CachedPage& p : all) ++folio_sizes[p.folio_pages];
  for (const auto& [pages, count] : folio_sizes) {
    std::printf("[ KERNEL ] folios of %u pages: %zu pages\n", pages, count);
  }
  for (const auto& [from, end] : ranges) {
    const ScanBatch batch = view_.scan(file, from, ScanOptions{.hashes = true, .end = end});
    EXPECT_TRUE(batch.done);
    std::set<uint64_t> want;
    for (const CachedPage& p : all) {
      if (p.folio_first < end && p.folio_first + p.folio_pages > from) want.insert(p.index);
    }
    std::set<uint64_t> got;
    for (const CachedPage& p : batch.pages) {
      got.insert(p.index);
      ASSERT_TRUE(p.flags & kPageHashed) << "page " << p.index;
      char buf[kPageBytes];
      ASSERT_EQ(::pread(fd, buf, kPageBytes, static_cast<off_t>(p.index * kPageBytes)),
                static_cast<ssize_t>(kPageBytes));
      EXPECT_EQ(p.hash, XXH64(buf, kPageBytes, 0)) << "page " << p.index;
    }
    EXPECT_EQ(got, want) << "range [" << from << ", " << end << ")";
  }
  // hash_folio: only the folios it accepts are hashed; the others come back whole, unhashed.
  ScanOptions every_other{.hashes = true, .end = 2048};
  size_t asked = 0;
  every_other.hash_folio = [&](std::span<const CachedPage> folio) {
    EXPECT_EQ(folio.size(), folio.front().folio_pages);
    return asked++ % 2 == 0;
  };
  const ScanBatch batch = view_.scan(file, 0, every_other);
  size_t folio = 0;
  for (size_t a = 0; a < batch.pages.size(); ++folio) {
    size_t b = a + 1;
    while (b < batch.pages.size() && batch.pages[b].folio_first == batch.pages[a].folio_first) ++b;
    for (size_t k = a; k < b; ++k) {
      EXPECT_EQ(static_cast<bool>(batch.pages[k].flags & kPageHashed), folio % 2 == 0)
          << "page " << batch.pages[k].index;
    }
    a = b;
  }
  EXPECT_EQ(folio, asked);
  EXPECT_GT(asked, 1u);
  ::close(fd);
  EXPECT_EQ(cached(file), before);
}

TEST_F(MincoreViewTest, FolioExtentsAreAlignedPowersOfTwoCoveringTheirPages) {
  TempFile temp(64 * kMiB);
  temp.read_all();
  ReadOnlyFile file(temp.path());
  const auto pages = scan_all(view_, file);
  ASSERT_EQ(pages.size(), file.size_pages());
  std::map<uint64_t, uint32_t> folios;  // first -> pages
  std::map<uint64_t, uint32_t> members;
  for (const CachedPage& page : pages) {
    ASSERT_LE(page.folio_first, page.index);
    ASSERT_LT(page.index, page.folio_first + page.folio_pages);
    folios[page.folio_first] = page.folio_pages;
    ++members[page.folio_first];
  }
  bool any_large = false;
  for (const auto& [first, count] : folios) {
    EXPECT_EQ(count & (count - 1), 0u) << "folio at " << first << " of " << count << " pages";
    EXPECT_EQ(first % count, 0u) << "folio at " << first << " is not naturally aligned";
    EXPECT_EQ(members[first], count);
    any_large |= count > 1;
  }
  // The same folios as the kernel's page frames say, read without the view: large ones where
  // this kernel caches the file in large folios, single pages where it does not.
  const std::vector<KernelFolio> kernel = testing::kernel_folios(temp.path());
  const bool kernel_large = testing::any_large_folio(kernel);
  testing::note_kernel_case(kernel_large ? "large folios in the page cache of $TMPDIR's filesystem"
                                         : "no large folios in the page cache of $TMPDIR's "
                                           "filesystem: every folio is one page");
  EXPECT_EQ(any_large, kernel_large);
  ASSERT_EQ(folios.size(), kernel.size());
  for (const KernelFolio& folio : kernel) {
    ASSERT_TRUE(folios.count(folio.first)) << "the kernel has a folio at " << folio.first;
    EXPECT_EQ(folios[folio.first], folio.pages) << "folio at " << folio.first;
  }
}

TEST_F(MincoreViewTest, EvictingHalfOfALargeFolioEvictsNothingAndAllOfItEvictsIt) {
  TempFile temp(64 * kMiB);
  temp.read_all();
  ReadOnlyFile file(temp.path());
  const auto pages = scan_all(view_, file);
  const CachedPage* large = nullptr;
  for (const CachedPage& page : pages) {
    if (page.folio_pages >= 16) {
      large = &page;
      break;
    }
  }
  if (large == nullptr) {
    // Without large folios (checked without the view), a run of 16 pages is 16 folios: evicting
    // half of it evicts exactly that half, and the rest stays.
    ASSERT_FALSE(testing::any_large_folio(testing::kernel_folios(temp.path())))
        << "the kernel caches this file in large folios but the view saw none of 16+ pages";
    testing::note_kernel_case("no large folios: evicting half of 16 single-page folios");
    ASSERT_GE(pages.size(), 32u);
    const PageRange run{16, 16};
    const PageRange half{run.first, run.count / 2};
    const EvictResult partial = view_.evict(file, std::span(&half, 1));
    EXPECT_EQ(partial.requested_pages, half.count);
    EXPECT_EQ(partial.evicted_pages, half.count);
    EXPECT_EQ(partial.skipped.total(), 0u);
    EXPECT_EQ(view_.count(file, half).cached_pages, 0u);
    EXPECT_EQ(view_.count(file, run).cached_pages, run.count - half.count);
    EXPECT_EQ(testing::cached_pages(temp.path(), run.first, run.count), run.count - half.count);
    return;
  }
  testing::note_kernel_case("large folios: evicting half of a folio of " +
                            std::to_string(large->folio_pages) + " pages");
  const PageRange folio{large->folio_first, large->folio_pages};
  const PageRange half{folio.first, folio.count / 2};
  const EvictResult partial = view_.evict(file, std::span(&half, 1));
  EXPECT_EQ(partial.evicted_pages, 0u);
  EXPECT_EQ(partial.skipped[SkipReason::kBusy], half.count);
  EXPECT_EQ(view_.count(file, folio).cached_pages, folio.count);
  const EvictResult whole = view_.evict(file, std::span(&folio, 1));
  EXPECT_EQ(whole.evicted_pages, folio.count);
  EXPECT_EQ(whole.skipped.total(), 0u);
  EXPECT_EQ(view_.count(file, folio).cached_pages, 0u);
}

TEST_F(MincoreViewTest, EvictByFoliosDropsExactlyThoseFolios) {
  TempFile temp(32 * kMiB);
  temp.read_all();
  ReadOnlyFile file(temp.path());
  const auto pages = scan_all(view_, file);
  // Every other folio.
  std::vector<PageRange> ranges;
  std::set<uint64_t> chosen;
  bool take = true;
  for (const CachedPage& page : pages) {
    if (page.index != page.folio_first) continue;
    if (take) {
      ranges.push_back({page.folio_first, page.folio_pages});
      chosen.insert(page.folio_first);
    }
    take = !take;
  }
  uint64_t want = 0;
  for (const auto& range : ranges) want += range.count;
  const uint64_t before = cached(file);
  const EvictResult result = view_.evict(file, ranges);
  EXPECT_EQ(result.evicted_pages, want);
  EXPECT_EQ(cached(file), before - want);
  for (const CachedPage& page : scan_all(view_, file, false)) {
    EXPECT_FALSE(chosen.count(page.folio_first)) << "folio " << page.folio_first << " survived";
  }
}

// Whether this process maps `path` (its lines in /proc/self/maps).
bool maps_file(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.size() >= path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0) {
      return true;
    }
  }
  return false;
}

// KeptMapping (the placement tracker's runs of bounded scans): the same pages, flags and hashes
// as scans that map per call, pages the kept mapping touched are not counted as mapped by
// someone else, evict() is not defeated by it, and nothing stays mapped once it ends.
TEST_F(MincoreViewTest, BoundedScansUnderAKeptMappingSeeTheSameAndEvictionStillWorks) {
  TempFile temp(8 * kMiB);
  temp.read_all();
  ReadOnlyFile file(temp.path());
  const std::vector<std::pair<uint64_t, uint64_t>> ranges = {{3, 4}, {15, 17}, {100, 140},
                                                             {130, 131}, {1500, 1600}, {2040, 2048}};
  auto scan_ranges = [&] {
    std::vector<CachedPage> out;
    for (const auto& [from, end] : ranges) {
      const ScanBatch batch = view_.scan(file, from, ScanOptions{.hashes = true, .end = end});
      out.insert(out.end(), batch.pages.begin(), batch.pages.end());
    }
    return out;
  };
  const std::vector<CachedPage> plain = scan_ranges();
  EXPECT_FALSE(maps_file(temp.path()));
  std::vector<CachedPage> kept_scans;
  {
    const PageCacheView::KeptMapping kept(view_);
    kept_scans = scan_ranges();
    kept_scans = scan_ranges();  // again: pages the kept mapping already maps
    EXPECT_TRUE(maps_file(temp.path()));
    ASSERT_EQ(kept_scans.size(), plain.size());
    for (size_t k = 0; k < plain.size(); ++k) {
      EXPECT_EQ(kept_scans[k].index, plain[k].index);
      EXPECT_EQ(kept_scans[k].folio_first, plain[k].folio_first);
      EXPECT_EQ(kept_scans[k].folio_pages, plain[k].folio_pages);
      // The bits that decide eviction (LRU bits such as referenced change with every touch on 6.1).
      constexpr uint32_t kDecides = kPageNeverEvict | kPageHashed;
      EXPECT_EQ(kept_scans[k].flags & kDecides, plain[k].flags & kDecides) << "page " << plain[k].index;
      EXPECT_EQ(kept_scans[k].hash, plain[k].hash) << "page " << plain[k].index;
      EXPECT_FALSE(kept_scans[k].flags & kPageMapped) << "page " << plain[k].index;
    }
    // Evicting while it lives: the view lets go of its mapping first.
    const CachedPage& folio = kept_scans.back();
    const PageRange range{folio.folio_first, folio.folio_pages};
    const uint64_t before = cached(file);
    const EvictResult result = view_.evict(file, std::span<const PageRange>(&range, 1));
    EXPECT_EQ(result.evicted_pages, folio.folio_pages);
    EXPECT_EQ(cached(file), before - folio.folio_pages);
    view_.scan(file, 1500, ScanOptions{.hashes = true, .end = 1600});  // mapped again
  }
  EXPECT_FALSE(maps_file(temp.path()));
}

TEST_F(MincoreViewTest, DirtyPagesAreFlaggedAndNeverEvicted) {
  TempFile temp(8 * kMiB);
  temp.read_all();
  ReadOnlyFile file(temp.path());
  // Dirty two pages through a separate fd (no fsync).
  const int fd = ::open(temp.path().c_str(), O_WRONLY);
  const char data[kPageBytes] = {1, 2, 3};
  ASSERT_EQ(::pwrite(fd, data, kPageBytes, 100 * kPageBytes), ssize_t(kPageBytes));
  ASSERT_EQ(::pwrite(fd, data, kPageBytes, 1000 * kPageBytes), ssize_t(kPageBytes));
  const auto pages = scan_all(view_, file);
  std::vector<PageRange> everything;
  uint64_t dirty_seen = 0;
  for (const CachedPage& page : pages) {
    if (page.index == 100 || page.index == 1000) {
      EXPECT_TRUE(page.flags & kPageDirty) << "page " << page.index;
      ++dirty_seen;
    }
    if (page.index == page.folio_first) everything.push_back({page.folio_first, page.folio_pages});
  }
  EXPECT_EQ(dirty_seen, 2u);
  const EvictResult result = view_.evict(file, everything);
  EXPECT_GE(result.skipped[SkipReason::kDirty] + result.skipped[SkipReason::kWriteback], 2u);
  const CacheCounts after = view_.count(file, {});
  EXPECT_GE(after.cached_pages, 2u);
  EXPECT_EQ(after.cached_pages, testing::cached_pages(temp.path()));
  // Dirty and writeback pages as the view counts them (cachestat, or kpageflags without it)
  // against the kernel's own numbers read without the view: only the two written pages' folios.
  uint64_t unclean = 0;
  if (testing::kernel_has_cachestat()) {
    const testing::CachestatCounts stat = testing::cachestat_counts_of(file.fd(), 0, 0);
    unclean = stat.dirty + stat.writeback;
  } else {
    for (const KernelFolio& folio : testing::kernel_folios(temp.path())) {
      if (folio.dirty_or_writeback) unclean += folio.pages;
    }
  }
  EXPECT_EQ(after.dirty_pages + after.writeback_pages, unclean);
  EXPECT_GE(unclean, 2u);
  // The dirty pages are still cached, with what was written.
  EXPECT_EQ(view_.count(file, {100, 1}).cached_pages, 1u);
  EXPECT_EQ(view_.count(file, {1000, 1}).cached_pages, 1u);
  // The clean folios around them went.
  EXPECT_GT(result.evicted_pages, 0u);
  ::fsync(fd);
  ::close(fd);
}

TEST_F(MincoreViewTest, PagesMappedByAnotherMappingAreFlaggedMapped) {
  TempFile temp(2 * kMiB);
  temp.read_all();
  ReadOnlyFile file(temp.path());
  void* other = ::mmap(nullptr, 2 * kMiB, PROT_READ, MAP_SHARED, file.fd(), 0);
  ASSERT_NE(other, MAP_FAILED);
  const uint64_t byte = *static_cast<volatile unsigned char*>(other);  // map page 0
  (void)byte;
  const auto pages = scan_all(view_, file);
  ASSERT_FALSE(pages.empty());
  EXPECT_TRUE(pages[0].flags & kPageMapped);
  const PageRange folio{pages[0].folio_first, pages[0].folio_pages};
  EXPECT_EQ(view_.evict(file, std::span(&folio, 1)).evicted_pages, 0u);
  ::munmap(other, 2 * kMiB);
}

TEST_F(MincoreViewTest, ScanOfAnUncachedFileFindsNothing) {
  TempFile temp(16 * kMiB);
  ReadOnlyFile file(temp.path());
  const ScanBatch batch = view_.scan(file, 0, {});
  EXPECT_TRUE(batch.done);
  EXPECT_TRUE(batch.pages.empty());
  EXPECT_EQ(cached(file), 0u);
}

}  // namespace
}  // namespace singleton
