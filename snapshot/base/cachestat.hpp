// cachestat(2) (Linux 6.5+): exact page-cache counts of a file range, without mapping or
// reading the file. The one wrapper of the syscall (Debian 12's glibc and headers predate it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace singleton {

struct CachestatPages {
  uint64_t cached = 0;
  uint64_t dirty = 0;
  uint64_t writeback = 0;
};

// Counts of pages [first_page, first_page + pages) of `fd` (pages 0: to the end of the file).
// nullopt when this kernel or filesystem has no cachestat (ENOSYS, EOPNOTSUPP): callers fall
// back to mincore. Throws SystemError naming `path` on any other failure.
std::optional<CachestatPages> cachestat_pages(int fd, const std::string& path, uint64_t first_page,
                                              uint64_t pages);

}  // namespace singleton
