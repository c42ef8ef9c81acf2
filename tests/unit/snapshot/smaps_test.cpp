#include "snapshot/memory/smaps.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

constexpr const char* kQemuLikeSmaps =
    "55d0c0000000-55d0c0100000 r-xp 00000000 08:01 1234                       "
    "/usr/bin/qemu-system-x86_64\n"
    "Size:               1024 kB\n"
    "Rss:                 512 kB\n"
    "VmFlags: rd ex mr mw me\n"
    "7f0000000000-7f0020000000 rw-p 00000000 00:00 0 \n"
    "Size:             524288 kB\n"
    "KernelPageSize:        4 kB\n"
    "Rss:              131072 kB\n"
    "THPeligible:    1\n"
    "VmFlags: rd wr mr mw me ac sd mg\n"
    "7f0030000000-7f0030200000 rw-s 00000000 00:01 77                         /memfd:guest ram "
    "(deleted)\n"
    "Rss:                   8 kB\n"
    "VmFlags: rd wr sh mr mw me ms sd\n"
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
    "Rss:                  16 kB\n"
    "VmFlags: rd wr mr mw me gd ac\n";

TEST(Smaps, ParsesRangesRssPathsAndFlags) {
  auto regions = parse_smaps(kQemuLikeSmaps, "test");
  ASSERT_EQ(regions.size(), 4u);
  EXPECT_EQ(regions[0].pathname, "/usr/bin/qemu-system-x86_64");
  EXPECT_EQ(regions[0].inode, 1234u);
  EXPECT_EQ(regions[1].start, 0x7f0000000000u);
  EXPECT_EQ(regions[1].size(), 512u << 20);
  EXPECT_EQ(regions[1].rss_bytes, 131072u * 1024);
  EXPECT_EQ(regions[1].pathname, "");
  EXPECT_TRUE(regions[1].mergeable());
  EXPECT_FALSE(regions[0].mergeable());
  EXPECT_EQ(regions[2].pathname, "/memfd:guest ram (deleted)");
}

TEST(Smaps, MergeableSelectionTakesOnlyMgRegions) {
  auto selected = select_regions(parse_smaps(kQemuLikeSmaps, "test"), RegionSelection::kMergeable);
  ASSERT_EQ(selected.size(), 1u);
  EXPECT_EQ(selected[0].start, 0x7f0000000000u);
}

TEST(Smaps, AnonymousSelectionTakesAnonAndMemfdButNotFilesOrStack) {
  auto selected = select_regions(parse_smaps(kQemuLikeSmaps, "test"), RegionSelection::kAnonymous);
  ASSERT_EQ(selected.size(), 2u);
  EXPECT_EQ(selected[0].start, 0x7f0000000000u);
  EXPECT_EQ(selected[1].pathname, "/memfd:guest ram (deleted)");
}

TEST(Smaps, MalformedRegionLineIsAnErrorNamingTheOrigin) {
  try {
    parse_smaps("7f00-zz00 rw-p 00000000 00:00 0\n", "/proc/42/smaps");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/42/smaps:1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_smaps("7f00-7e00 rw-p 00000000 00:00 0\n", "x"), Error);  // end < start
  EXPECT_THROW(parse_smaps("7f00-7f10 rw-p\n", "x"), Error);                   // truncated
  EXPECT_THROW(parse_smaps("Rss: 4 kB\n", "x"), Error);                        // no region yet
}

TEST(Smaps, EmptyInputHasNoRegions) { EXPECT_TRUE(parse_smaps("", "x").empty()); }

TEST(Smaps, RegionSelectionNames) {
  EXPECT_EQ(region_selection_from_string("anon"), RegionSelection::kAnonymous);
  EXPECT_EQ(region_selection_from_string("mergeable"), RegionSelection::kMergeable);
  try {
    region_selection_from_string("heap");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
  }
}

TEST(Smaps, ReadsOwnProcessAndSeesAMergeableMapping) {
  size_t bytes = 1 << 20;
  void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(memory, MAP_FAILED);
  ASSERT_EQ(madvise(memory, bytes, MADV_MERGEABLE), 0);
  auto regions = select_regions(read_smaps(getpid()), RegionSelection::kMergeable);
  bool found = false;
  for (const auto& region : regions)
    found |= region.start <= reinterpret_cast<uint64_t>(memory) &&
             reinterpret_cast<uint64_t>(memory) + bytes <= region.end;
  munmap(memory, bytes);
  EXPECT_TRUE(found);
}

TEST(Smaps, MissingProcessIsASystemErrorNamingThePid) {
  try {
    read_smaps(999999999);
    FAIL() << "no error";
  } catch (const SystemError& e) {
    EXPECT_NE(std::string(e.what()).find("999999999"), std::string::npos);
  }
}

}  // namespace
}  // namespace singleton
