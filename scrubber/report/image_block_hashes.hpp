// The content hashes of every 4 KiB block of an image file (its data extents; holes read as
// zeros and are skipped), read with O_DIRECT so the host cache does not grow: what a guest page
// is compared with to say "this page holds a block of its disk".
#pragma once

#include <string>

#include "scrubber/pagecache/read_only_file.hpp"
#include "snapshot/memory/page_index.hpp"

namespace singleton {

// Throws SystemError naming the image (O_DIRECT refused, read error).
PageIndex image_block_hashes(const ReadOnlyFile& file);

}  // namespace singleton
