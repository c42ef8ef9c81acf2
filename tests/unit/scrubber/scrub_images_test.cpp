// The pass engine on real host files and the real mincore view, with guest indices given
// directly (no snapshot: PassGuest::snapshot_now is false).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <optional>

#include "scrubber/pagecache/mincore_page_cache_view.hpp"
#include "scrubber/pass/pass_engine.hpp"
#include "tests/unit/scrubber/temp_file.hpp"

namespace singleton {
namespace {

using testing::TempFile;
constexpr uint64_t kMiB = 1 << 20;

// Hashes of the file's pages [first, first + count).
std::vector<uint64_t> page_hashes(const std::string& path, uint64_t first, uint64_t count) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  std::vector<uint64_t> hashes;
  unsigned char buf[kPageBytes];
  for (uint64_t i = first; i < first + count; ++i) {
    std::fill(std::begin(buf), std::end(buf), 0);
    if (::pread(fd, buf, kPageBytes, i * kPageBytes) <= 0) break;
    hashes.push_back(XXH64(buf, kPageBytes, 0));
  }
  ::close(fd);
  return hashes;
}

// Measured without the view: cachestat(2), or mincore() where the kernel has no cachestat.
uint64_t cached(const std::string& path, uint64_t first = 0, uint64_t count = 0) {
  return testing::cached_pages(path, first, count);
}

Vm vm_on(const std::string& name, const std::string& image) {
  Vm vm;
  vm.name = name;
  vm.pid = 1;
  vm.disks.push_back({image, "raw", CacheMode::kWriteback, {}});
  return vm;
}

class ScrubImagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_FAIL() << "run as root: the mincore backend needs root";
  }
  PassReport scrub(const std::vector<Vm>& vms, const std::vector<const PageIndex*>& indices,
                   bool evict = true, SharedPolicy policy = SharedPolicy::kAll,
                   uint64_t max_pages = UINT64_MAX) {
    ImageSet set = collect_images(vms);
    std::vector<std::optional<PageIndex>> held(vms.size());
    PassScope scope;
    scope.images = &set;
    for (size_t v = 0; v < vms.size(); ++v) {
      if (indices[v] != nullptr) held[v] = *indices[v];
      scope.guests.push_back({&vms[v], &held[v], false});
    }
    for (size_t i = 0; i < set.images.size(); ++i) scope.chosen_images.push_back(i);
    PassOptions options;
    options.evict = evict;
    options.shared_policy = policy;
    options.max_evict_pages = max_pages;
    KsmHashCache ksm;
    return run_pass(view_, scope, ksm, options);
  }
  MincorePageCacheView view_;
};

TEST_F(ScrubImagesTest, EvictsWhatTheGuestHoldsAndKeepsWhatItDoesNot) {
  TempFile image(32 * kMiB);
  image.read_all();
  const uint64_t pages = 32 * kMiB / kPageBytes;
  const PageIndex guest(page_hashes(image.path(), 0, pages / 2));  // the first half
  const PassReport report = scrub({vm_on("a", image.path())}, {&guest});
  ASSERT_EQ(report.images.size(), 1u);
  const PageCounts& c = report.images[0].counts;
  EXPECT_EQ(report.images[0].error, "");
  EXPECT_EQ(c.cached_pages_before, pages);
  EXPECT_EQ(c.double_cached_pages, pages / 2);
  // Folios are aligned and the half is at a 2 MiB boundary: everything held goes.
  EXPECT_EQ(c.evicted_pages + c.partial_folio_pages, pages / 2);
  EXPECT_GE(c.evicted_pages, pages / 2 * 9 / 10);
  EXPECT_EQ(cached(image.path(), pages / 2, pages / 2), pages / 2) << "evicted a page no guest has";
  EXPECT_EQ(c.cached_pages_after, cached(image.path()));
  EXPECT_EQ(c.cached_pages_after, pages - c.evicted_pages);
}

TEST_F(ScrubImagesTest, ADryRunChangesNothing) {
  TempFile image(16 * kMiB);
  image.read_all();
  const uint64_t pages = 16 * kMiB / kPageBytes;
  const PageIndex guest(page_hashes(image.path(), 0, pages));
  const PassReport report = scrub({vm_on("a", image.path())}, {&guest}, /*evict=*/false);
  EXPECT_EQ(report.totals.evicted_pages, pages);  // would evict
  EXPECT_EQ(report.totals.cached_pages_after, pages);
  EXPECT_EQ(cached(image.path()), pages);
}

TEST_F(ScrubImagesTest, SharedImageAllNeedsEveryVmAnyNeedsOne) {
  TempFile image(16 * kMiB);
  const uint64_t pages = 16 * kMiB / kPageBytes;
  const PageIndex everything(page_hashes(image.path(), 0, pages));
  const PageIndex first_quarter(page_hashes(image.path(), 0, pages / 4));
  const std::vector<Vm> vms{vm_on("a", image.path()), vm_on("b", image.path())};

  image.read_all();
  PassReport all = scrub(vms, {&everything, &first_quarter}, true, SharedPolicy::kAll);
  ASSERT_EQ(all.images.size(), 1u);  // one file, two VMs
  EXPECT_EQ(all.images[0].vms.size(), 2u);
  EXPECT_EQ(all.totals.double_cached_pages, pages / 4);
  EXPECT_LE(all.totals.evicted_pages, pages / 4);
  EXPECT_EQ(cached(image.path(), pages / 4, pages - pages / 4), pages - pages / 4);

  image.read_all();
  PassReport any = scrub(vms, {&everything, &first_quarter}, true, SharedPolicy::kAny);
  EXPECT_EQ(any.totals.double_cached_pages, pages);
  EXPECT_EQ(any.totals.evicted_pages, pages);
  EXPECT_EQ(cached(image.path()), 0u);
}

TEST_F(ScrubImagesTest, AVmWithoutSnapshotBlocksItsSharedImageUnderAll) {
  TempFile image(8 * kMiB);
  image.read_all();
  const uint64_t pages = 8 * kMiB / kPageBytes;
  const PageIndex everything(page_hashes(image.path(), 0, pages));
  const std::vector<Vm> vms{vm_on("a", image.path()), vm_on("b", image.path())};
  PassReport all = scrub(vms, {&everything, nullptr}, true, SharedPolicy::kAll);
  EXPECT_NE(all.images[0].error, "");
  EXPECT_EQ(all.exit_code(), ExitCode::kPartial);
  EXPECT_EQ(cached(image.path()), pages);
  PassReport any = scrub(vms, {&everything, nullptr}, true, SharedPolicy::kAny);
  EXPECT_EQ(any.images[0].error, "");
  EXPECT_EQ(cached(image.path()), 0u);
}

TEST_F(ScrubImagesTest, DirtyPagesStayCachedAndAreCountedAsSkipped) {
  TempFile image(8 * kMiB);
  image.read_all();
  const uint64_t pages = 8 * kMiB / kPageBytes;
  const int fd = ::open(image.path().c_str(), O_WRONLY);
  std::vector<unsigned char> data(kPageBytes, 7);
  ASSERT_EQ(::pwrite(fd, data.data(), kPageBytes, 5 * kPageBytes), ssize_t(kPageBytes));
  const PageIndex guest(page_hashes(image.path(), 0, pages));  // includes the new content
  const PassReport report = scrub({vm_on("a", image.path())}, {&guest});
  EXPECT_GT(
      report.totals.skipped[SkipReason::kDirty] + report.totals.skipped[SkipReason::kWriteback],
      0u);
  EXPECT_EQ(cached(image.path(), 5, 1), 1u);
  EXPECT_GT(report.totals.evicted_pages, pages / 2);
  ::fsync(fd);
  ::close(fd);
}

TEST_F(ScrubImagesTest, MaxEvictCapsOnePass) {
  TempFile image(16 * kMiB);
  image.read_all();
  const uint64_t pages = 16 * kMiB / kPageBytes;
  const PageIndex guest(page_hashes(image.path(), 0, pages));
  const PassReport report =
      scrub({vm_on("a", image.path())}, {&guest}, true, SharedPolicy::kAll, /*max_pages=*/1024);
  EXPECT_LE(report.totals.evicted_pages, 1024u);
  EXPECT_GT(report.totals.skipped[SkipReason::kLimit], 0u);
  EXPECT_GE(cached(image.path()), pages - 1024);
}

TEST_F(ScrubImagesTest, AMissingImageIsAnImageErrorNotAFailedPass) {
  TempFile image(4 * kMiB);
  image.read_all();
  const PageIndex guest(page_hashes(image.path(), 0, 1024));
  const std::vector<Vm> vms{vm_on("a", "/nonexistent/disk.img"), vm_on("b", image.path())};
  const PassReport report = scrub(vms, {&guest, &guest});
  ASSERT_EQ(report.images.size(), 2u);
  EXPECT_NE(report.images[0].error.find("/nonexistent/disk.img"), std::string::npos);
  EXPECT_EQ(report.images[1].error, "");
  EXPECT_GT(report.images[1].counts.evicted_pages, 0u);
  EXPECT_EQ(report.exit_code(), ExitCode::kPartial);
}

}  // namespace
}  // namespace singleton

namespace singleton {
namespace {

// A guest that is gone when its snapshot starts: nothing is evicted on its behalf, only the chosen
// images are looked at; for scan and scrub the pass is done in part, under a watch it is not.
class PassEngineTest : public ::testing::TestWithParam<bool> {};

TEST_P(PassEngineTest, AGuestThatExitedGetsNothingEvictedAndOnlyChosenImagesAreLookedAt) {
  if (::geteuid() != 0) GTEST_FAIL() << "run as root: the mincore backend needs root";
  const bool failure = GetParam();
  TempFile gone_image(4 * kMiB);
  TempFile other_image(4 * kMiB);
  TempFile unchosen_image(4 * kMiB);
  gone_image.read_all();
  other_image.read_all();
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);

  std::vector<Vm> vms{vm_on("gone", gone_image.path()), vm_on("held", other_image.path()),
                      vm_on("unchosen", unchosen_image.path())};
  vms[0].pid = child;  // reaped: no such process
  ImageSet set = collect_images(vms);
  ASSERT_EQ(set.images.size(), 3u);
  const uint64_t pages = 4 * kMiB / kPageBytes;
  std::vector<std::optional<PageIndex>> held(3);
  held[1] = PageIndex(page_hashes(other_image.path(), 0, pages));
  PassScope scope;
  scope.images = &set;
  scope.guests = {
      {&vms[0], &held[0], true}, {&vms[1], &held[1], false}, {&vms[2], &held[2], false}};
  scope.chosen_images = {0, 1};
  MincorePageCacheView view;
  KsmHashCache ksm;
  PassOptions options;
  options.evict = true;
  options.exited_guest_is_failure = failure;
  const PassReport report = run_pass(view, scope, ksm, options);

  EXPECT_TRUE(scope.guests[0].exited);
  ASSERT_EQ(report.vms.size(), 1u) << "only the guest with snapshot_now is snapshotted";
  EXPECT_TRUE(report.vms[0].exited);
  ASSERT_EQ(report.images.size(), 2u) << "only the chosen images";
  EXPECT_EQ(report.images[0].path, gone_image.path());
  EXPECT_EQ(report.images[0].counts.evicted_pages, 0u);
  EXPECT_EQ(cached(gone_image.path()), pages) << "evicted on behalf of a guest that exited";
  EXPECT_EQ(report.images[1].path, other_image.path());
  EXPECT_GT(report.images[1].counts.evicted_pages, 0u);
  if (failure) {
    EXPECT_NE(report.vms[0].error, "");
    EXPECT_NE(report.images[0].error, "");
    EXPECT_EQ(report.images[0].left_alone, "");
    EXPECT_EQ(report.exit_code(), ExitCode::kPartial);
  } else {
    EXPECT_EQ(report.vms[0].error, "");
    EXPECT_EQ(report.images[0].error, "");
    EXPECT_NE(report.images[0].left_alone, "");
    EXPECT_EQ(report.exit_code(), ExitCode::kDone);
  }
}

INSTANTIATE_TEST_SUITE_P(ScanScrubAndWatch, PassEngineTest, ::testing::Values(true, false),
                         [](const auto& info) {
                           return info.param ? "ExitedIsAFailure" : "ExitedIsBeingStopped";
                         });

}  // namespace
}  // namespace singleton
