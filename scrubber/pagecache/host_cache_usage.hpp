// How much of a file the host page cache holds right now.
#pragma once

#include <cstdint>
#include <string>

namespace singleton {

struct HostCacheUsage {
  uint64_t cached_bytes = 0;
  uint64_t dirty_bytes = 0;  // known with cachestat only (0 with the mincore fallback)
  bool from_cachestat = false;
};

// cachestat(2) (Linux 6.5+) over the whole file, or mmap + mincore where it is missing. Neither
// reads the file nor changes the cache. The file is opened as open_image() does: a symlink, a FIFO
// or a device other than a block device is refused unopened. Throws SystemError naming the path,
// Error(kUsage) for a file of the wrong type.
HostCacheUsage host_cache_usage(const std::string& path);

}  // namespace singleton
