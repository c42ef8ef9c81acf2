#include "snapshot/base/cachestat.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "snapshot/base/error.hpp"
#include "snapshot/base/page_size.hpp"

#ifndef __NR_cachestat
#define __NR_cachestat 451  // the same number on every architecture
#endif

namespace singleton {
namespace {

// include/uapi/linux/mman.h of Linux 6.5.
struct CachestatRange {
  uint64_t off;
  uint64_t len;  // 0: to the end of the file
};
struct Cachestat {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};


}  // namespace

std::optional<CachestatPages> cachestat_pages(int fd, const std::string& path, uint64_t first_page,
                                              uint64_t pages) {
  CachestatRange range{first_page * kPageBytes, pages * kPageBytes};
  Cachestat stat{};
  if (::syscall(__NR_cachestat, fd, &range, &stat, 0) != 0) {
    if (errno == ENOSYS || errno == EOPNOTSUPP) return std::nullopt;
    throw_errno("cachestat " + path);
  }
  return CachestatPages{stat.nr_cache, stat.nr_dirty, stat.nr_writeback};
}

}  // namespace singleton
