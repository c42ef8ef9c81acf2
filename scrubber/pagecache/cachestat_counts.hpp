// cachestat(2) counts of a file range as the views' CacheCounts (the syscall itself is wrapped
// once, in snapshot/base/cachestat.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "scrubber/pagecache/page_cache_view.hpp"

namespace singleton {

// Counts of pages [first, first + count) of `fd` (count 0: to the end of the file). nullopt when
// the kernel has no cachestat; throws SystemError naming `path` on other failures.
std::optional<CacheCounts> cachestat_counts(int fd, const std::string& path, uint64_t first,
                                            uint64_t count);

}  // namespace singleton
