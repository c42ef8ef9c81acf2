#include "scrubber/pagecache/cachestat_counts.hpp"

#include "snapshot/base/cachestat.hpp"

namespace singleton {

std::optional<CacheCounts> cachestat_counts(int fd, const std::string& path, uint64_t first,
                                            uint64_t count) {
  const auto pages = cachestat_pages(fd, path, first, count);
  if (!pages) return std::nullopt;
  return CacheCounts{pages->cached, pages->dirty, pages->writeback};
}

}  // namespace singleton
