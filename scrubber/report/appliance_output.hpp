// Parsers of what the tools in the libguestfs appliance print (filefrag, dumpe2fs, debugfs,
// xfs_db, dmsetup, sysfs): pure functions, so each is tested on captured output. Malformed
// lines are skipped, never fatal: a name the parser cannot read loses that file, not the report.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace singleton {

// The sections of one appliance script's output: a line "@@NAME" starts section NAME.
std::map<std::string, std::string> split_sections(std::string_view text);

// A run of a file system's bytes, [offset, offset + length).
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool operator==(const ByteRange&) const = default;
};

struct FileExtents {
  std::string path;  // in the guest's file system (the appliance's /sysroot prefix removed)
  std::vector<ByteRange> extents;
};

// `filefrag -e FILE...` output. Extents flagged inline, unknown, delalloc or encoded hold no
// block of their own and are left out. A file name holding a newline cannot be told apart from
// the next line: such a file is lost (never misattributed: its lines do not parse).
std::vector<FileExtents> parse_filefrag(std::string_view text, std::string_view root = "/sysroot");

// A block device of the appliance, from /sys/class/block.
struct BlockDevice {
  std::string name;    // sda1, dm-0
  std::string number;  // major:minor, decimal
  std::optional<uint64_t> start_sector;  // partitions: their first 512-byte sector on `parent`
  uint64_t sectors = 0;
  std::string parent;  // the disk of a partition ("block" for disks and dm devices)
};

// One line of a device-mapper table: [start, start + sectors) of the device maps to `under`
// from `under_sector` on (linear targets; other targets keep their name and map nothing).
struct DmSegment {
  uint64_t start = 0;
  uint64_t sectors = 0;
  std::string target;
  std::string under;  // major:minor
  uint64_t under_sector = 0;
};

struct BlockTopology {
  std::vector<BlockDevice> devices;
  std::map<std::string, std::vector<DmSegment>> dm;  // by major:minor
};

// Lines "B NAME MAJ:MIN START|- SECTORS PARENT" and "DM MAJ:MIN" followed by that device's
// `dmsetup table` lines.
BlockTopology parse_block_topology(std::string_view text);

// Where [offset, offset + length) of device `number` lies on a whole disk: byte runs of the
// disk, in device order (through partitions and linear device-mapper targets). Parts that map
// to nothing (other dm targets) are left out.
struct DiskSpan {
  uint64_t device_offset = 0;
  uint64_t disk_offset = 0;
  uint64_t length = 0;
};
std::vector<DiskSpan> spans_on_disk(const BlockTopology& topology, const std::string& number,
                                    uint64_t offset, uint64_t length);

// ext2/3/4: `dumpe2fs` lines "Block size:", "Journal inode:", "  Free blocks: a-b, c".
struct Ext4Facts {
  uint64_t block_size = 0;
  std::optional<uint64_t> journal_inode;
  std::vector<ByteRange> free;  // bytes
};
Ext4Facts parse_dumpe2fs(std::string_view text);

// `debugfs -R 'blocks <INODE>'`: block numbers, as byte ranges (adjacent blocks merged).
std::vector<ByteRange> parse_block_list(std::string_view text, uint64_t block_size);

// XFS: `xfs_db -r -c 'sb 0' -c 'p blocksize agblocks agblklog logstart logblocks'` and
// `xfs_db -r -c 'freesp -d'` ("agno agbno len" lines).
struct XfsFacts {
  uint64_t block_size = 0;
  uint64_t ag_blocks = 0;
  uint64_t ag_block_log = 0;
  uint64_t log_start = 0;  // a file-system block number (AG number << agblklog | block in AG)
  uint64_t log_blocks = 0;
  std::vector<ByteRange> free;
  std::optional<ByteRange> log() const;  // the internal log, in bytes
};
XfsFacts parse_xfs_db(std::string_view superblock, std::string_view freesp);

}  // namespace singleton
