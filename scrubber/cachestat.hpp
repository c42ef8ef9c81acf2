// cachestat(2) (Linux 6.5+): exact page-cache counts of a file range, without mapping it.
#pragma once

#include <cstdint>
#include <optional>

#include "scrubber/page_cache_view.hpp"

namespace singleton {

// Counts of pages [first, first + count) of `fd` (count 0: to the end of the file). nullopt when
// the kernel has no cachestat (ENOSYS); throws SystemError naming `path` on other failures.
std::optional<CacheCounts> cachestat_pages(int fd, const std::string& path, uint64_t first,
                                           uint64_t count);

}  // namespace singleton
