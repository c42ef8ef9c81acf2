// The regular files a process has open, with the flags it opened them with: where a VMM's disk
// images are when its command line does not say, and whether it bypasses the host cache.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "snapshot/discovery/vm.hpp"

namespace singleton {

struct OpenFile {
  std::string path;  // the kernel's name for it (readlink of /proc/PID/fd/N)
  int fd = -1;       // N
  dev_t device = 0;  // st_dev, st_ino of the file (of the node, for a block device)
  ino_t inode = 0;
  FileId id;  // see FileId: what disks are matched by
  bool block_device = false;
  uint64_t size = 0;
  int flags = 0;  // open(2) flags from /proc/PID/fdinfo
};

struct OpenFiles {
  std::vector<OpenFile> files;
  // More fds than `max_fds`: the list stops there (a process holding that many is not looked at
  // further; see discovery_limits.hpp).
  bool truncated = false;
};

// Regular files and block devices open in `pid`, at most `max_fds` fds looked at. Each fd is
// stat'ed through /proc/PID/fd/N, never opened. Empty when the process is gone; fds closed
// meanwhile are skipped.
OpenFiles open_image_files(pid_t pid, size_t max_fds);

// Regular files open in `pid` (open_image_files without block devices, without a bound).
std::vector<OpenFile> open_regular_files(pid_t pid);

// O_DIRECT: none (O_DIRECT|O_DSYNC: directsync); O_DSYNC: writethrough; else writeback.
CacheMode cache_mode_from_open_flags(int flags);

// Open files that look like disk images: at least 1 MiB, not a library, log or system file.
bool looks_like_disk_image(const OpenFile& file);

// "qcow2", "vmdk", "vdi", "vhdx", "qed" by magic number, "raw" for anything else; "" when the file
// cannot be read. The path is opened as open_image() does (no symlink, FIFO or character device is
// opened).
std::string detect_image_format(const std::string& path);
std::string detect_image_format(int fd);

}  // namespace singleton
