// Reads a virtual disk's layout with libguestfs, read-only: its file systems (on the whole
// disk, on partitions, on LVM logical volumes), every regular file's extents (filefrag -e:
// FIEMAP, ext2/3/4 and XFS alike), each file system's free space and journal, all mapped to
// byte offsets of the virtual disk.
#pragma once

#include <string>
#include <vector>

#include "scrubber/report/disk_layout.hpp"
#include "scrubber/report/readonly_overlay.hpp"

namespace singleton {

struct DiskInspection {
  DiskLayout layout;
  double launch_seconds = 0;
  double seconds = 0;
  std::string how;                 // libguestfs backend and accelerator choice
  std::vector<std::string> notes;  // file systems skipped, and why
};

// Throws Error(kPartial) when libguestfs cannot open or read the disk.
DiskInspection inspect_disk(const std::vector<ChainFile>& chain, uint64_t virtual_size);

}  // namespace singleton
