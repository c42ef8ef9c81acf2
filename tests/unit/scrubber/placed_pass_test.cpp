// PlacedScrubber (scrubbing from the placement map) on real parts: a real image file in the host
// cache, the mincore view, and real processes (tests/unit/memory_holder_process.hpp) whose
// anonymous memory holds the image's blocks at known addresses, as QEMU's guest RAM does after
// a pread into it. The records are built here as the BPF tracer would deliver them (its own
// tests cover the kernel side).
#include "scrubber/pass/placed_pass.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "scrubber/pagecache/mincore_page_cache_view.hpp"
#include "tests/unit/memory_holder_process.hpp"
#include "tests/unit/scrubber/temp_file.hpp"

namespace singleton {
namespace {

using testing::MemoryHolderOptions;
using testing::MemoryHolderProcess;

constexpr size_t kPages = 512;
constexpr uint64_t kSeed = 77;

// An image whose page i is page i of a memory holder made with kSeed; open (read-only) while
// the test runs, so holders forked afterwards inherit the fd the records name.
class HeldImage {
 public:
  HeldImage() {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir && *dir ? dir : "/var/tmp") + "/singleton-placed-XXXXXX";
    const int fd = ::mkstemp(path_.data());
    if (fd < 0) throw std::runtime_error("mkstemp " + path_);
    std::vector<unsigned char> page(4096);
    for (size_t i = 0; i < kPages; ++i) {
      testing::fill_test_page(kSeed, i, 0, page.data());
      if (::pwrite(fd, page.data(), 4096, static_cast<off_t>(i * 4096)) != 4096)
        throw std::runtime_error("write " + path_);
    }
    ::fsync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    ::fstat(fd_, &st);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
  ~HeldImage() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }

  // Reads the whole file into the host cache (plain reads: readahead folios, as QEMU's reads).
  void cache_all() const {
    std::vector<char> buf(1 << 20);
    // Until all of it is resident: readahead in flight is not yet, and other evictors (DAMON
    // pageout here) may take a page meanwhile.
    for (int attempt = 0; attempt < 100 && testing::cached_pages(path_) < kPages; ++attempt) {
      for (off_t at = 0; ::pread(fd_, buf.data(), buf.size(), at) > 0; at += buf.size()) {
      }
      ::usleep(20000);
    }
  }

  // A record as the tracer emits it: `holder` read pages [first, first + n) into its memory at
  // the same page offsets.
  PlacementRecord read_by(const MemoryHolderProcess& holder, uint64_t first, uint64_t n) const {
    PlacementRecord r;
    r.pid = holder.pid();
    r.tid = holder.pid();
    r.fd = fd_;
    r.offset = first * 4096;
    r.bytes = static_cast<int64_t>(n * 4096);
    r.dev = dev_;
    r.ino = ino_;
    r.iov_total = 1;
    r.iovs.push_back({holder.address() + first * 4096, n * 4096});
    return r;
  }
  ImageFileId id() const { return {dev_, ino_}; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t dev_ = 0, ino_ = 0;
};

Vm vm_of(const MemoryHolderProcess& holder, const std::string& name, const std::string& image) {
  Vm vm;
  vm.name = name;
  vm.pid = holder.pid();
  vm.disks.push_back({image, "raw", CacheMode::kWriteback, {}});
  return vm;
}

std::vector<bool> resident(const std::string& path) {
  std::vector<bool> out(kPages);
  for (size_t i = 0; i < kPages; ++i) out[i] = testing::cached_pages(path, i, 1) == 1;
  return out;
}

// The folio of every cached page, as the view sees it before the pass.
std::vector<CachedPage> folios(PageCacheView& view, const ReadOnlyFile& file) {
  std::vector<CachedPage> pages;
  for (uint64_t from = 0;;) {
    ScanBatch batch = view.scan(file, from, ScanOptions{.hashes = false});
    pages.insert(pages.end(), batch.pages.begin(), batch.pages.end());
    if (batch.done) break;
    from = batch.next_index;
  }
  return pages;
}

// Overwrites one page of a holder's memory through /proc/PID/mem (a guest reusing its RAM).
void overwrite(const MemoryHolderProcess& holder, size_t page) {
  const int fd = ::open(("/proc/" + std::to_string(holder.pid()) + "/mem").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  std::vector<char> zeros(4096, 0x5a);
  ASSERT_EQ(::pwrite(fd, zeros.data(), 4096, static_cast<off_t>(holder.address() + page * 4096)),
            4096);
  ::close(fd);
}

class PlacedPassTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_FAIL() << "run as root: the mincore backend needs root";
  }
  PassReport run(std::vector<Vm>& vms, PendingPages pending, SharedPolicy policy,
                 PendingPages* retry_out = nullptr) {
    ImageSet images = collect_images(vms);
    EXPECT_EQ(images.images.size(), 1u);
    PendingPages retry;
    PassOptions options;
    options.evict = true;
    options.shared_policy = policy;
    PassReport report = scrubber_.run(view_, images, vms, pending, retry, options);
    if (retry_out) *retry_out = retry;
    return report;
  }
  static PendingPages pages(uint64_t first, uint64_t n) {
    PendingPages p;
    for (uint64_t i = first; i < first + n; ++i) p[0].insert(i);
    return p;
  }
  MincorePageCacheView view_;
  PlacementMap map_;
  FdResolver files_;
  PlacedScrubber scrubber_{map_};
};

TEST_F(PlacedPassTest, EvictsTheHeldFoliosHashingOnlyThemAndKeepsTheRest) {
  HeldImage image;
  MemoryHolderProcess holder({.pages = kPages, .seed = kSeed});
  image.cache_all();
  ReadOnlyFile file(image.path());
  const std::vector<CachedPage> before = folios(view_, file);
  ASSERT_EQ(before.size(), kPages) << "the whole file should be cached";
  // The guest read the first half.
  ASSERT_EQ(map_.add(image.read_by(holder, 0, kPages / 2), files_).size(), kPages / 2);
  std::vector<Vm> vms{vm_of(holder, "a", image.path())};
  const PassReport report = run(vms, pages(0, kPages / 2), SharedPolicy::kAll);

  // Expected from the folios: those wholly in the first half go, a folio across the middle
  // stays (its other pages are not held), everything of the second half stays.
  uint64_t evictable = 0;
  for (const CachedPage& p : before) {
    if (p.folio_first + p.folio_pages <= kPages / 2) ++evictable;
  }
  ASSERT_GE(evictable, kPages / 4) << "folios larger than the test's half file";
  EXPECT_EQ(report.tracker, "bpf");
  EXPECT_EQ(report.totals.evicted_pages, evictable);
  EXPECT_EQ(report.tracked.placed_pages, kPages / 2);
  // Hashed: only the folios that could go (all their pages placed), once, host and guest.
  EXPECT_EQ(report.tracked.host_pages_hashed, evictable);
  EXPECT_EQ(report.tracked.guest_pages_hashed, evictable);
  EXPECT_EQ(report.tracked.guest_pages_matched, evictable);
  EXPECT_EQ(report.tracked.incomplete_folio_pages, kPages / 2 - evictable);
  const std::vector<bool> now = resident(image.path());
  for (const CachedPage& p : before) {
    const bool gone = p.folio_first + p.folio_pages <= kPages / 2;
    EXPECT_EQ(now[p.index], !gone) << "page " << p.index;
  }
  // The placements stay, verified: the guest still holds those blocks.
  EXPECT_TRUE(map_.holders(image.id(), 7).at(0).verified);
}

TEST_F(PlacedPassTest, AGuestPageThatChangedDropsItsPlacementAndKeepsItsFolio) {
  HeldImage image;
  MemoryHolderProcess holder({.pages = kPages, .seed = kSeed});
  image.cache_all();
  ReadOnlyFile file(image.path());
  const std::vector<CachedPage> before = folios(view_, file);
  map_.add(image.read_by(holder, 0, kPages), files_);
  overwrite(holder, 200);
  std::vector<Vm> vms{vm_of(holder, "a", image.path())};
  const PassReport report = run(vms, pages(0, kPages), SharedPolicy::kAll);
  EXPECT_EQ(report.tracked.stale_placements, 1u);
  EXPECT_TRUE(map_.holders(image.id(), 200).empty());
  EXPECT_EQ(map_.holders(image.id(), 201).size(), 1u);
  const CachedPage& of200 = before.at(200);
  EXPECT_EQ(report.totals.evicted_pages, kPages - of200.folio_pages);
  const std::vector<bool> now = resident(image.path());
  for (uint64_t i = of200.folio_first; i < of200.folio_first + of200.folio_pages; ++i) {
    EXPECT_TRUE(now[i]) << "page " << i << " shares a folio with a page the guest lost";
  }
}

TEST_F(PlacedPassTest, AnAddressOutsideGuestRamHoldsNothing) {
  HeldImage image;
  // Same content, but not marked mergeable: not the guest RAM the snapshot indexes (QEMU's own
  // buffers, a block job's bounce buffer).
  MemoryHolderProcess holder({.pages = kPages, .seed = kSeed, .mergeable = false});
  image.cache_all();
  map_.add(image.read_by(holder, 0, 64), files_);
  std::vector<Vm> vms{vm_of(holder, "a", image.path())};
  const PassReport report = run(vms, pages(0, 64), SharedPolicy::kAll);
  EXPECT_EQ(report.totals.evicted_pages, 0u);
  EXPECT_EQ(report.tracked.outside_guest_ram, 64u);
  EXPECT_EQ(report.tracked.guest_pages_hashed, 0u);
  EXPECT_EQ(testing::cached_pages(image.path()), kPages);
}

TEST_F(PlacedPassTest, AHeldDirtyFolioIsRetriedAndEvictedOnceWrittenBack) {
  HeldImage image;
  MemoryHolderProcess holder({.pages = kPages, .seed = kSeed});
  image.cache_all();
  // The guest wrote page 10 (the content it holds): the host folio holding it is dirty.
  {
    const int fd = ::open(image.path().c_str(), O_WRONLY);
    std::vector<unsigned char> page(4096);
    testing::fill_test_page(kSeed, 10, 0, page.data());
    ASSERT_EQ(::pwrite(fd, page.data(), 4096, 10 * 4096), 4096);
    ::close(fd);
  }
  ReadOnlyFile file(image.path());
  const CachedPage folio = folios(view_, file).at(10);
  ASSERT_TRUE(folio.flags & kPageDirty);
  // Every page of that folio is placed (the guest holds them all).
  map_.add(image.read_by(holder, folio.folio_first, folio.folio_pages), files_);
  std::vector<Vm> vms{vm_of(holder, "a", image.path())};
  PendingPages retry;
  PassReport report =
      run(vms, pages(folio.folio_first, folio.folio_pages), SharedPolicy::kAll, &retry);
  EXPECT_EQ(report.totals.evicted_pages, 0u);
  EXPECT_EQ(report.totals.skipped[SkipReason::kDirty], folio.folio_pages);
  EXPECT_EQ(report.tracked.retry_pages, folio.folio_pages);
  ASSERT_TRUE(retry[0].contains(10));
  EXPECT_EQ(testing::cached_pages(image.path(), 10, 1), 1u);

  ASSERT_EQ(::fsync(image.fd()), 0);  // written back
  report = run(vms, retry, SharedPolicy::kAll);
  EXPECT_EQ(report.totals.evicted_pages, folio.folio_pages);
  EXPECT_EQ(report.tracked.retry_pages, 0u);
  EXPECT_EQ(testing::cached_pages(image.path(), 10, 1), 0u);
}

TEST_F(PlacedPassTest, ASharedImageUnderAllNeedsEveryVmUnderAnyOne) {
  HeldImage image;
  MemoryHolderProcess a({.pages = kPages, .seed = kSeed});
  MemoryHolderProcess b({.pages = kPages, .seed = kSeed});
  std::vector<Vm> vms{vm_of(a, "a", image.path()), vm_of(b, "b", image.path())};
  image.cache_all();
  map_.add(image.read_by(a, 0, kPages), files_);
  PassReport report = run(vms, pages(0, kPages), SharedPolicy::kAll);
  EXPECT_EQ(report.totals.evicted_pages, 0u) << "only a holds the blocks";
  EXPECT_EQ(report.totals.double_cached_pages, 0u);
  EXPECT_EQ(testing::cached_pages(image.path()), kPages);

  map_.add(image.read_by(b, 0, kPages), files_);
  report = run(vms, pages(0, kPages), SharedPolicy::kAll);
  EXPECT_EQ(report.totals.evicted_pages, kPages) << "both hold every block";

  image.cache_all();
  PlacementMap only_a;
  PlacedScrubber any_scrubber(only_a);
  only_a.add(image.read_by(a, 0, kPages), files_);
  ImageSet images = collect_images(vms);
  PendingPages pending = pages(0, kPages), retry;
  PassOptions options;
  options.evict = true;
  options.shared_policy = SharedPolicy::kAny;
  report = any_scrubber.run(view_, images, vms, pending, retry, options);
  EXPECT_EQ(report.totals.evicted_pages, kPages) << "under any, a alone decides";
}

TEST_F(PlacedPassTest, ReverifyDropsPlacementsWhoseGuestPageChanged) {
  HeldImage image;
  MemoryHolderProcess holder({.pages = kPages, .seed = kSeed});
  image.cache_all();
  map_.add(image.read_by(holder, 0, 32), files_);
  std::vector<Vm> vms{vm_of(holder, "a", image.path())};
  run(vms, pages(0, 32), SharedPolicy::kAll);
  ASSERT_EQ(map_.size(), 32u);
  EXPECT_EQ(scrubber_.reverify(1000), 0u) << "nothing changed yet";
  overwrite(holder, 3);
  overwrite(holder, 17);
  EXPECT_EQ(scrubber_.reverify(1000), 2u);
  EXPECT_EQ(map_.size(), 30u);
  EXPECT_TRUE(map_.holders(image.id(), 3).empty());
  // A block the host no longer caches: its placement is recorded as the guest page is (the
  // block QEMU just read), and dropped as well once the guest reuses the page.
  ::posix_fadvise(image.fd(), 0, 0, POSIX_FADV_DONTNEED);
  ASSERT_EQ(testing::cached_pages(image.path(), 100, 10), 0u);
  map_.add(image.read_by(holder, 100, 10), files_);
  const PassReport uncached = run(vms, pages(100, 10), SharedPolicy::kAll);
  EXPECT_EQ(uncached.tracked.host_pages_hashed, 0u);
  EXPECT_EQ(uncached.tracked.guest_pages_hashed, 10u);
  EXPECT_TRUE(map_.holders(image.id(), 104).at(0).verified);
  overwrite(holder, 104);
  EXPECT_EQ(scrubber_.reverify(1000), 1u);
  EXPECT_EQ(map_.size(), 39u);
  // A VM that went away takes its placements with it.
  scrubber_.forget(holder.pid());
  EXPECT_EQ(map_.size(), 0u);
}

}  // namespace
}  // namespace singleton
