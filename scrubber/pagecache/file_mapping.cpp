#include "scrubber/pagecache/file_mapping.hpp"

#include <sys/mman.h>

#include <string>

#include "snapshot/base/error.hpp"

namespace singleton {

FileMapping::FileMapping(int fd, const char* path, uint64_t offset, size_t length)
    : length_(length) {
  void* addr = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (addr == MAP_FAILED) throw_errno(std::string("mmap ") + path);
  data_ = static_cast<const unsigned char*>(addr);
  if (::madvise(addr, length, MADV_RANDOM) != 0) {
    const int err = errno;
    ::munmap(addr, length);
    throw SystemError(std::string("madvise ") + path, err);
  }
}

FileMapping::~FileMapping() {
  if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), length_);
}

}  // namespace singleton
