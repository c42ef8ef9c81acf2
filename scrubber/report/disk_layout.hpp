// What each byte of a virtual disk holds, as far as the guest's file systems say: a file's data,
// a file system's journal, its free space, its other blocks (metadata: superblocks, bitmaps,
// inode tables, directories, extent trees), or nothing any file system claims (partition table,
// LVM metadata, unpartitioned space, file systems singleton cannot read).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace singleton {

struct LayoutOwner {
  enum Kind { kFile, kJournal, kFreeSpace, kMetadata };
  Kind kind = kFile;
  std::string path;        // kFile: the file's path in its file system
  std::string filesystem;  // libguestfs's device name
};

class DiskLayout {
 public:
  uint32_t add_owner(LayoutOwner owner);
  // A run of disk bytes that `owner` holds. Files, journals and free space are looked up first;
  // a file system's whole extent (add_filesystem_span) is the fallback: its metadata.
  void add(uint64_t disk_offset, uint64_t length, uint32_t owner);
  void add_filesystem_span(uint64_t disk_offset, uint64_t length, uint32_t metadata_owner);
  void finish();  // sorts; call once after the last add

  static constexpr uint32_t kOutside = UINT32_MAX;
  // The owner of the disk byte at `offset`, or kOutside.
  uint32_t owner_at(uint64_t offset) const;
  const LayoutOwner& owner(uint32_t id) const { return owners_.at(id); }
  size_t owners() const { return owners_.size(); }
  size_t extents() const { return fine_.size(); }

 private:
  struct Extent {
    uint64_t offset;
    uint64_t length;
    uint32_t owner;
  };
  static uint32_t find(const std::vector<Extent>& extents, uint64_t offset);
  std::vector<LayoutOwner> owners_;
  std::vector<Extent> fine_;
  std::vector<Extent> spans_;
};

}  // namespace singleton
