// The page size everything here counts in: 4 KiB, the base page of x86-64 (and of the kernels
// singleton supports). pagemap and kpageflags entries, cachestat/mincore page counts, the
// module's indices, the page index's hashes and the audit's page numbers are all 4 KiB units; a
// host with another base page size is refused at start (scrubber/cli/main.cpp).
#pragma once

#include <cstdint>

namespace singleton {

inline constexpr uint64_t kPageBytes = 4096;

}  // namespace singleton
