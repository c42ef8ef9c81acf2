// The regular files a process has open, with the flags it opened them with: where a VMM's disk
// images are when its command line does not say, and whether it bypasses the host cache.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "snapshot/vm.hpp"

namespace singleton {

struct OpenFile {
  std::string path;
  dev_t device = 0;
  ino_t inode = 0;
  uint64_t size = 0;
  int flags = 0;  // open(2) flags from /proc/PID/fdinfo
};

// Regular files open in `pid`. Empty when the process is gone; fds closed meanwhile are skipped.
std::vector<OpenFile> open_regular_files(pid_t pid);

// O_DIRECT: none (O_DIRECT|O_DSYNC: directsync); O_DSYNC: writethrough; else writeback.
CacheMode cache_mode_from_open_flags(int flags);

// Open files that look like disk images: at least 1 MiB, not a library, log or system file.
bool looks_like_disk_image(const OpenFile& file);

// "qcow2", "vmdk", "vdi", "vhdx", "qed" by magic number, "raw" for anything else; "" when the
// file cannot be read.
std::string detect_image_format(const std::string& path);

}  // namespace singleton
