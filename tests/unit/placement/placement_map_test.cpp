// The placement map: which records place which image pages (alignment, short reads, truncated
// iovecs) and the fd -> image resolution with real files and real fds of this process,
// including an fd number reused for another file.
#include "scrubber/placement/placement_map.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "tests/unit/temp_dir.hpp"

namespace singleton {
namespace {

struct OpenFile {
  int fd = -1;
  ImageFileId id;
  std::string path;
  OpenFile(const std::string& p, int want_fd = -1) : path(p) {
    fd = ::open(p.c_str(), O_RDWR | O_CREAT, 0600);
    if (want_fd >= 0 && fd != want_fd) {
      EXPECT_EQ(::dup2(fd, want_fd), want_fd);
      ::close(fd);
      fd = want_fd;
    }
    struct stat st {};
    ::fstat(fd, &st);
    id = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  }
  ~OpenFile() { ::close(fd); }
};

PlacementRecord record(const OpenFile& f, uint64_t offset, int64_t bytes,
                       std::vector<PlacementIov> iovs) {
  PlacementRecord r;
  r.pid = ::getpid();
  r.fd = f.fd;
  r.dev = f.id.dev;
  r.ino = f.id.ino;
  r.offset = offset;
  r.bytes = bytes;
  r.time_ns = 42;
  r.iov_total = static_cast<uint32_t>(iovs.size());
  r.iovs = std::move(iovs);
  return r;
}

TEST(PlacementMap, AlignedReadPlacesEveryPageAtItsAddress) {
  testing::TempDir dir;
  OpenFile f(dir / "disk.img");
  PlacementMap map;
  FdResolver files;
  // preadv at 64 KiB: 8 KiB into 0x7f0000010000, then 4 KiB into 0x7f0000200000.
  const auto placed =
      map.add(record(f, 65536, 12288, {{0x7f0000010000, 8192}, {0x7f0000200000, 4096}}), files);
  ASSERT_EQ(placed.size(), 3u);
  EXPECT_EQ(placed[0].page, 16u);
  EXPECT_EQ(placed[1].page, 17u);
  EXPECT_EQ(placed[2].page, 18u);
  EXPECT_EQ(placed[2].path, f.path);
  EXPECT_EQ(map.find(f.id, 16)->addr, 0x7f0000010000u);
  EXPECT_EQ(map.find(f.id, 17)->addr, 0x7f0000011000u);
  EXPECT_EQ(map.find(f.id, 18)->addr, 0x7f0000200000u);
  EXPECT_EQ(map.find(f.id, 18)->time_ns, 42u);
  EXPECT_EQ(map.find(f.id, 18)->pid, ::getpid());
  EXPECT_FALSE(map.find(f.id, 19));
  EXPECT_EQ(map.counts().pages_placed, 3u);
  EXPECT_EQ(map.counts().unaligned_bytes, 0u);
}

TEST(PlacementMap, UnalignedOffsetOrBufferPlacesNothingAndIsCounted) {
  testing::TempDir dir;
  OpenFile f(dir / "disk.img");
  PlacementMap map;
  FdResolver files;
  EXPECT_TRUE(map.add(record(f, 512, 4096, {{0x10000, 4096}}), files).empty());
  EXPECT_TRUE(map.add(record(f, 4096, 4096, {{0x10200, 4096}}), files).empty());
  EXPECT_EQ(map.counts().unaligned_bytes, 8192u);
  // An aligned segment followed by one its offset leaves unaligned: 6 KiB then 2 KiB.
  const auto placed = map.add(record(f, 0, 8192, {{0x20000, 6144}, {0x30000, 2048}}), files);
  ASSERT_EQ(placed.size(), 1u);  // page 0; 2 KiB of page 1 in the first, 2 KiB unaligned after
  EXPECT_EQ(map.counts().unaligned_bytes, 8192u + 2048 + 2048);
  EXPECT_EQ(map.size(), 1u);
}

TEST(PlacementMap, OnlyTheBytesDonePlacePages) {
  testing::TempDir dir;
  OpenFile f(dir / "disk.img");
  PlacementMap map;
  FdResolver files;
  // A short read: 16 KiB asked, 5 KiB done (end of file): page 0 placed, 1 KiB counted.
  const auto placed = map.add(record(f, 0, 5120, {{0x40000, 16384}}), files);
  EXPECT_EQ(placed.size(), 1u);
  EXPECT_EQ(map.counts().unaligned_bytes, 1024u);
}

TEST(PlacementMap, TruncatedRecordCountsTheBytesBeyondItsIovecs) {
  testing::TempDir dir;
  OpenFile f(dir / "disk.img");
  PlacementMap map;
  FdResolver files;
  PlacementRecord r = record(f, 0, 3 * 4096, {{0x50000, 4096}});
  r.truncated = true;
  r.iov_total = 3;
  EXPECT_EQ(map.add(r, files).size(), 1u);
  EXPECT_EQ(map.counts().truncated_bytes, 8192u);
}

TEST(PlacementMap, WritesArePlacedAsWrites) {
  testing::TempDir dir;
  OpenFile f(dir / "disk.img");
  PlacementMap map;
  FdResolver files;
  PlacementRecord r = record(f, 8192, 4096, {{0x60000, 4096}});
  r.op = PlacementOp::kWrite;
  map.add(r, files);
  EXPECT_EQ(map.find(f.id, 2)->op, PlacementOp::kWrite);
}

TEST(FdResolver, ResolvesRealFdsOnceAndAgainWhenTheFdIsReused) {
  testing::TempDir dir;
  FdResolver files;
  PlacementMap map;
  const int fd_number = 200;
  ImageFileId first_id;
  {
    OpenFile a(dir / "a.img", fd_number);
    first_id = a.id;
    ASSERT_EQ(map.add(record(a, 0, 4096, {{0x1000, 4096}}), files).at(0).path, a.path);
    ASSERT_EQ(map.add(record(a, 4096, 4096, {{0x2000, 4096}}), files).at(0).path, a.path);
    EXPECT_EQ(files.stats(), 1u);  // the second record of the same file: from the cache
  }
  OpenFile b(dir / "b.img", fd_number);  // the same fd number, another file
  ASSERT_NE(b.id, first_id);
  const auto placed = map.add(record(b, 0, 4096, {{0x3000, 4096}}), files);
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].path, b.path);
  EXPECT_EQ(placed[0].image, b.id);
  EXPECT_EQ(files.stats(), 2u);
  EXPECT_EQ(map.find(b.id, 0)->addr, 0x3000u);
  EXPECT_EQ(map.find(first_id, 0)->addr, 0x1000u);  // a's page 0 is a's, not b's

  // A late record of a.img on that fd (read before the reuse): not placed on b.img.
  PlacementRecord late = record(b, 8192, 4096, {{0x4000, 4096}});
  late.dev = first_id.dev;
  late.ino = first_id.ino;
  EXPECT_TRUE(map.add(late, files).empty());
  EXPECT_EQ(map.counts().unresolved_records, 1u);
  EXPECT_FALSE(map.find(b.id, 2));
}

TEST(FdResolver, WithoutTheKernelsIdentityTheFdIsStatedEveryTime) {
  testing::TempDir dir;
  OpenFile a(dir / "a.img");
  FdResolver files;
  EXPECT_EQ(files.resolve(::getpid(), a.fd, 0, 0)->id, a.id);
  EXPECT_EQ(files.resolve(::getpid(), a.fd, 0, 0)->id, a.id);
  EXPECT_EQ(files.stats(), 2u);
}

TEST(FdResolver, ClosedFdIsUnresolved) {
  testing::TempDir dir;
  FdResolver files;
  int fd;
  ImageFileId id;
  {
    OpenFile a(dir / "a.img");
    fd = a.fd;
    id = a.id;
  }
  EXPECT_FALSE(files.resolve(::getpid(), fd, id.dev, id.ino));
}

}  // namespace
}  // namespace singleton
