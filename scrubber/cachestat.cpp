#include "scrubber/cachestat.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "snapshot/error.hpp"

#ifndef __NR_cachestat
#define __NR_cachestat 451  // the same number on every architecture
#endif

namespace singleton {
namespace {

// Debian 12's glibc predates cachestat: the uapi structs, as in <linux/mman.h> of 6.5+.
struct CachestatRange {
  uint64_t off;
  uint64_t len;
};
struct Cachestat {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};

}  // namespace

std::optional<CacheCounts> cachestat_pages(int fd, const std::string& path, uint64_t first,
                                           uint64_t count) {
  CachestatRange range{first * kPageBytes, count * kPageBytes};
  Cachestat stat{};
  if (::syscall(__NR_cachestat, fd, &range, &stat, 0) != 0) {
    if (errno == ENOSYS) return std::nullopt;
    throw_errno("cachestat " + path);
  }
  return CacheCounts{stat.nr_cache, stat.nr_dirty, stat.nr_writeback};
}

}  // namespace singleton
