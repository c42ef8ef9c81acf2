#include "scrubber/report/image_block_hashes.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "scrubber/report/direct_reader.hpp"
#include "snapshot/base/error.hpp"
#include "snapshot/memory/page_hash.hpp"

namespace singleton {

PageIndex image_block_hashes(const ReadOnlyFile& file) {
  DirectReader reader(file.fd(), file.path());
  std::vector<uint64_t> hashes;
  const uint64_t size = file.size_bytes();
  uint64_t at = 0;
  while (at < size) {
    // Only the data extents: a sparse image's holes are zeros, never indexed.
    off_t data = ::lseek(reader.fd(), static_cast<off_t>(at), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // no data after `at`
      data = static_cast<off_t>(at);  // SEEK_DATA unsupported: read everything
    }
    off_t hole = ::lseek(reader.fd(), data, SEEK_HOLE);
    if (hole < 0) hole = static_cast<off_t>(size);
    uint64_t from = static_cast<uint64_t>(data) / kPageBytes * kPageBytes;
    const uint64_t to = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    while (from < to) {
      const size_t want = std::min<uint64_t>(DirectReader::buffer_bytes(),
                                             (to - from + kPageBytes - 1) / kPageBytes * kPageBytes);
      const size_t got = reader.read_aligned(from, want);
      if (got == 0) break;
      const size_t pages = (got + kPageBytes - 1) / kPageBytes;
      std::byte* buffer = reader.data();
      if (got % kPageBytes != 0) std::memset(buffer + got, 0, pages * kPageBytes - got);
      for (size_t i = 0; i < pages; ++i) {
        const std::byte* page = buffer + i * kPageBytes;
        const uint64_t hash = hash_page(page);
        if (!is_zero_page(page, hash)) hashes.push_back(hash);
      }
      from += pages * kPageBytes;
      if (got < want) break;
    }
    at = std::max<uint64_t>(to, at + kPageBytes);
  }
  return PageIndex(std::move(hashes));
}

}  // namespace singleton
