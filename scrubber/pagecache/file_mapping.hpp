// A read-only shared mapping of part of a file, unmapped by its destructor.
#pragma once

#include <cstddef>
#include <cstdint>

namespace singleton {

class FileMapping {
 public:
  // Maps `length` bytes of `fd` from `offset` (page aligned) PROT_READ, MAP_SHARED, and marks it
  // MADV_RANDOM: a fault then reads one page, never a readahead window, and unmapping does not
  // mark the pages accessed (vma_has_recency() is false for random-read mappings). Throws
  // SystemError naming `path`.
  FileMapping(int fd, const char* path, uint64_t offset, size_t length);
  ~FileMapping();
  FileMapping(const FileMapping&) = delete;
  FileMapping& operator=(const FileMapping&) = delete;

  const unsigned char* data() const { return data_; }
  size_t length() const { return length_; }

 private:
  const unsigned char* data_ = nullptr;
  size_t length_ = 0;
};

}  // namespace singleton
