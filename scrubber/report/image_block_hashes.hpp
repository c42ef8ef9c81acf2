// The content hashes of every 4 KiB block of an image file (its data extents; holes read as
// zeros and are skipped), read with O_DIRECT so the host cache does not grow: what a guest page
// is compared with to say "this page holds a block of its disk".
#pragma once

#include <string>

#include "scrubber/pagecache/read_only_file.hpp"
#include "scrubber/report/image_cache_classes.hpp"
#include "snapshot/memory/page_index.hpp"

namespace singleton {

// `cached`: the image's cached pages with their hashes from the cache scan (nullptr: none), so
// a stretch the host caches whole is not read again (a double-cached image mostly is).
// Throws SystemError naming the image (O_DIRECT refused, read error).
PageIndex image_block_hashes(const ReadOnlyFile& file, const ImageCacheClasses* cached);

}  // namespace singleton
