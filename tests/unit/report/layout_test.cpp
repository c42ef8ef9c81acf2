// The disk layout lookup and the attribution of classified cache pages to its owners.
#include <gtest/gtest.h>

#include "scrubber/report/cache_attribution.hpp"
#include "scrubber/report/disk_layout.hpp"
#include "scrubber/report/memory_figures.hpp"

namespace singleton {
namespace {

constexpr uint64_t kPage = 4096;

DiskLayout sample_layout() {
  // A file system at 1 MiB of the disk (4 MiB long): /a at its pages 10-19, /b at 30-31,
  // free space at 40-99; the rest of it metadata.
  DiskLayout layout;
  const uint64_t fs = 1 << 20;
  const uint32_t meta = layout.add_owner({LayoutOwner::kMetadata, "(metadata)", "/dev/sda1"});
  const uint32_t a = layout.add_owner({LayoutOwner::kFile, "/a", "/dev/sda1"});
  const uint32_t b = layout.add_owner({LayoutOwner::kFile, "/b", "/dev/sda1"});
  const uint32_t free = layout.add_owner({LayoutOwner::kFreeSpace, "(free space)", "/dev/sda1"});
  layout.add_filesystem_span(fs, 4 << 20, meta);
  layout.add(fs + 30 * kPage, 2 * kPage, b);
  layout.add(fs + 10 * kPage, 10 * kPage, a);
  layout.add(fs + 40 * kPage, 60 * kPage, free);
  layout.finish();
  return layout;
}

TEST(DiskLayout, FilesFirstThenTheFileSystemThenOutside) {
  const DiskLayout layout = sample_layout();
  const uint64_t fs = 1 << 20;
  EXPECT_EQ(layout.owner(layout.owner_at(fs + 10 * kPage)).path, "/a");
  EXPECT_EQ(layout.owner(layout.owner_at(fs + 20 * kPage - 1)).path, "/a");
  EXPECT_EQ(layout.owner(layout.owner_at(fs + 20 * kPage)).path, "(metadata)");
  EXPECT_EQ(layout.owner(layout.owner_at(fs + 31 * kPage)).path, "/b");
  EXPECT_EQ(layout.owner(layout.owner_at(fs + 50 * kPage)).path, "(free space)");
  EXPECT_EQ(layout.owner_at(0), DiskLayout::kOutside);
  EXPECT_EQ(layout.owner_at(fs + (4 << 20)), DiskLayout::kOutside);
}

TEST(CacheAttribution, RawImagePagesGoToTheirFilesAndKinds) {
  const DiskLayout layout = sample_layout();
  const uint64_t fs_page = (1 << 20) / kPage;
  ImageCacheClasses classes;
  for (uint64_t p = 10; p < 20; ++p) classes.pages.push_back({fs_page + p, true});  // /a held
  classes.pages.push_back({fs_page + 30, false});                                  // /b host-only
  classes.pages.push_back({fs_page + 31, true});
  classes.pages.push_back({fs_page + 50, false});  // free space (readahead)
  classes.pages.push_back({0, false});             // partition table
  const ImageExplanation e = attribute_cache(classes, nullptr, layout, 1, "disk.img");
  ASSERT_EQ(e.files.size(), 1u);  // top 1
  EXPECT_EQ(e.files[0].path, "/a");
  EXPECT_EQ(e.files[0].double_cached_bytes, 10 * kPage);
  EXPECT_EQ(e.files[0].host_only_bytes, 0u);
  EXPECT_EQ(e.other_files.double_cached_bytes, kPage);  // /b
  EXPECT_EQ(e.other_files.host_only_bytes, kPage);
  uint64_t free = 0, outside = 0;
  for (const CacheShare& s : e.other) {
    if (s.path == "(free space)") free += s.host_only_bytes;
    if (s.path == kOutsideFilesystems) outside += s.host_only_bytes;
  }
  EXPECT_EQ(free, kPage);
  EXPECT_EQ(outside, kPage);
}

TEST(CacheAttribution, Qcow2PagesGoThroughTheClusterMap) {
  const DiskLayout layout = sample_layout();
  // 64 KiB clusters: host cluster at 0x50000 holds virtual 1 MiB + 0 (pages 0-15 of the fs).
  // Virtual (1 MiB + 10 pages) is host 0x50000 + 10 pages; host 0 is the header.
  const Qcow2ClusterMap map(16, {0x50000}, {1 << 20});
  ImageCacheClasses classes;
  classes.pages.push_back({0x50000 / kPage + 10, true});
  classes.pages.push_back({0, false});
  const ImageExplanation e = attribute_cache(classes, &map, layout, 10, "o.qcow2");
  ASSERT_EQ(e.files.size(), 1u);
  EXPECT_EQ(e.files[0].path, "/a");
  ASSERT_EQ(e.other.size(), 1u);
  EXPECT_EQ(e.other[0].path, kImageFormatMetadata);
  EXPECT_EQ(map.virtual_offset(0x50000 + 5), std::optional<uint64_t>((1 << 20) + 5));
  EXPECT_EQ(map.virtual_offset(0x60000), std::nullopt);
}

TEST(MemoryFigures, PagesWithATwinCountEveryMemberOfAGroup) {
  const std::vector<uint64_t> hashes{1, 2, 2, 3, 3, 3, 4};
  EXPECT_EQ(pages_with_a_twin(hashes), 5u);
  EXPECT_EQ(pages_with_a_twin({}), 0u);
}

}  // namespace
}  // namespace singleton
