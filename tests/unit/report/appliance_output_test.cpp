// The parsers of the appliance tools' output, on output captured from the libguestfs appliance
// of Debian 12 (e2fsprogs 1.47, xfsprogs 6.1, dmsetup 1.02).
#include "scrubber/report/appliance_output.hpp"

#include <gtest/gtest.h>

namespace singleton {
namespace {

TEST(ParseFilefrag, ExtentsInBytesWithTheRootRemoved) {
  const char* text =
      "Filesystem type is: ef53\n"
      "File size of /sysroot/data/a.bin is 8388608 (2048 blocks of 4096 bytes)\n"
      " ext:     logical_offset:        physical_offset: length:   expected: flags:\n"
      "   0:        0..       8:         14..        22:      9:            \n"
      "   1:        9..      23:         24..        38:     15:         23:\n"
      "   2:       24..    2047:        728..      2751:   2024:         39: last,eof\n"
      "/sysroot/data/a.bin: 3 extents found\n"
      "File size of /sysroot/b c.txt is 16777216 (4096 blocks of 4096 bytes)\n"
      " ext:     logical_offset:        physical_offset: length:   expected: flags:\n"
      "   0:        0..    4095:      18541..     22636:   4096:             last,eof\n"
      "/sysroot/b c.txt: 1 extent found\n";
  const auto files = parse_filefrag(text);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path, "/data/a.bin");
  // 14..22 and 24..38 are not adjacent (23 is elsewhere): three ranges.
  ASSERT_EQ(files[0].extents.size(), 3u);
  EXPECT_EQ(files[0].extents[0], (ByteRange{14 * 4096, 9 * 4096}));
  EXPECT_EQ(files[0].extents[1], (ByteRange{24 * 4096, 15 * 4096}));
  EXPECT_EQ(files[0].extents[2], (ByteRange{728 * 4096, 2024 * 4096}));
  EXPECT_EQ(files[1].path, "/b c.txt");
  EXPECT_EQ(files[1].extents.at(0), (ByteRange{18541ull * 4096, 4096ull * 4096}));
}

TEST(ParseFilefrag, InlineAndDelallocExtentsAndGarbageAreLeftOut) {
  const char* text =
      "File size of /sysroot/small is 60 (1 block of 4096 bytes)\n"
      "   0:        0..       0:          0..         0:      1:             last,not_aligned,inline,eof\n"
      "File size of /sysroot/new is 8192 (2 blocks of 4096 bytes)\n"
      "   0:        0..       1:          0..         1:      2:             last,unknown_loc,delalloc,eof\n"
      "File size of /elsewhere/x is 4096 (1 blocks of 4096 bytes)\n"
      "   0:        0..       0:         99..        99:      1:             last,eof\n"
      "   7:  nonsense\n"
      "File size of /sysroot/ok is 4096 (1 blocks of 1024 bytes)\n"
      "   0:        0..       3:         40..        43:      4:             last,eof\n";
  const auto files = parse_filefrag(text);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].path, "/ok");
  EXPECT_EQ(files[0].extents.at(0), (ByteRange{40 * 1024, 4 * 1024}));
}

TEST(BlockTopology, PartitionsAndLinearDeviceMapperTargetsMapToTheDisk) {
  // A GPT disk sda: sda1 (XFS) and sda2 (an LVM PV holding vg0-lv0 at 1 MiB into the PV); sdb
  // is the appliance's own disk.
  const char* text =
      "B dm-0 253:0 - 163840 block\n"
      "B sda 8:0 - 1228800 block\n"
      "B sda1 8:1 2048 671744 sda\n"
      "B sda2 8:2 673792 552961 sda\n"
      "B sdb 8:16 - 8388608 block\n"
      "DM 253:0\n"
      "0 163840 linear 8:2 2048\n";
  const BlockTopology t = parse_block_topology(text);
  ASSERT_EQ(t.devices.size(), 5u);
  const auto part = spans_on_disk(t, "8:1", 4096, 8192);
  ASSERT_EQ(part.size(), 1u);
  EXPECT_EQ(part[0].disk_offset, 2048u * 512 + 4096);
  EXPECT_EQ(part[0].device_offset, 4096u);
  EXPECT_EQ(part[0].length, 8192u);
  const auto lv = spans_on_disk(t, "253:0", 0, 163840ull * 512);
  ASSERT_EQ(lv.size(), 1u);
  EXPECT_EQ(lv[0].disk_offset, (673792ull + 2048) * 512);
  EXPECT_EQ(lv[0].length, 163840ull * 512);
  EXPECT_EQ(spans_on_disk(t, "8:0", 0, 512).at(0).disk_offset, 0u);
  EXPECT_TRUE(spans_on_disk(t, "9:9", 0, 512).empty());
}

TEST(BlockTopology, SegmentsSplitAndOtherTargetsMapNothing) {
  const char* text =
      "B sda 8:0 - 100000 block\n"
      "B dm-1 253:1 - 300 block\n"
      "DM 253:1\n"
      "0 100 linear 8:0 1000\n"
      "100 100 striped 2 128 8:0 0 8:16 0\n"
      "200 100 linear 8:0 5000\n";
  const BlockTopology t = parse_block_topology(text);
  const auto spans = spans_on_disk(t, "253:1", 0, 300 * 512);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].disk_offset, 1000u * 512);
  EXPECT_EQ(spans[0].length, 100u * 512);
  EXPECT_EQ(spans[1].device_offset, 200u * 512);
  EXPECT_EQ(spans[1].disk_offset, 5000u * 512);
}

TEST(ParseDumpe2fs, FreeBlocksOfEveryGroupAndTheJournalInode) {
  const char* text =
      "Block size:               4096\n"
      "Journal inode:            8\n"
      "  Free blocks: 2324-16383, 18432-20479\n"
      "  Free blocks: \n"
      "  Free blocks: 40000\n";
  const Ext4Facts f = parse_dumpe2fs(text);
  EXPECT_EQ(f.block_size, 4096u);
  ASSERT_TRUE(f.journal_inode);
  EXPECT_EQ(*f.journal_inode, 8u);
  ASSERT_EQ(f.free.size(), 3u);
  EXPECT_EQ(f.free[0], (ByteRange{2324ull * 4096, (16383ull - 2324 + 1) * 4096}));
  EXPECT_EQ(f.free[2], (ByteRange{40000ull * 4096, 4096}));
  EXPECT_EQ(parse_block_list("17 18 19 1324 1325\n", 4096),
            (std::vector<ByteRange>{{17 * 4096, 3 * 4096}, {1324 * 4096, 2 * 4096}}));
}

TEST(ParseXfsDb, FreeExtentsPerAllocationGroupAndTheInternalLog) {
  const char* sb =
      "blocksize = 4096\nagblocks = 20992\nagblklog = 15\nlogstart = 65542\nlogblocks = 1368\n";
  const char* freesp =
      "    agno    agbno      len\n"
      "       0        6        1\n"
      "       0     2072    18920\n"
      "       1       10    20982\n"
      "   from      to extents  blocks    pct\n"
      "      1       1      16      16   0.02\n"
      "  16384   20992       3   60884  92.95\n";
  const XfsFacts f = parse_xfs_db(sb, freesp);
  ASSERT_EQ(f.free.size(), 3u);
  EXPECT_EQ(f.free[0], (ByteRange{6 * 4096, 4096}));
  EXPECT_EQ(f.free[2], (ByteRange{(20992ull + 10) * 4096, 20982ull * 4096}));
  const auto log = f.log();
  ASSERT_TRUE(log);
  // logstart 65542 = AG 2 (65542 >> 15), block 6 in it.
  EXPECT_EQ(log->offset, (2ull * 20992 + 6) * 4096);
  EXPECT_EQ(log->length, 1368ull * 4096);
}

}  // namespace
}  // namespace singleton

namespace singleton {
namespace {

TEST(SplitSections, EachMarkerStartsASection) {
  const auto s = split_sections("ignored\n@@DEVICE\n8:1 4096 /dev/sda1\n@@FILES\na\nb\n@@EMPTY\n");
  EXPECT_EQ(s.at("DEVICE"), "8:1 4096 /dev/sda1\n");
  EXPECT_EQ(s.at("FILES"), "a\nb\n");
  EXPECT_EQ(s.at("EMPTY"), "");
  EXPECT_EQ(s.count("ignored"), 0u);
}

}  // namespace
}  // namespace singleton
