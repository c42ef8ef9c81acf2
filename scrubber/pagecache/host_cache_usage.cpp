#include "scrubber/pagecache/host_cache_usage.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "snapshot/base/cachestat.hpp"
#include "snapshot/base/error.hpp"
#include "snapshot/discovery/image_open.hpp"
#include "snapshot/memory/pagemap.hpp"
#include "snapshot/base/unique_fd.hpp"
#include "snapshot/base/page_size.hpp"

namespace singleton {
namespace {

class Mapping {
 public:
  Mapping(int fd, size_t length) : length_(length) {
    address_ = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
  }
  ~Mapping() {
    if (address_ != MAP_FAILED) ::munmap(address_, length_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  void* get() const { return address_ == MAP_FAILED ? nullptr : address_; }

 private:
  void* address_;
  size_t length_;
};

// Note: mincore reports every page resident to callers without write access who do not own the
// file (README.md, "Kernel facts"); as root that does not apply.
HostCacheUsage mincore_usage(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_errno("stat " + path);
  HostCacheUsage usage;
  if (st.st_size == 0) return usage;
  size_t length = static_cast<size_t>(st.st_size);
  Mapping mapping(fd, length);
  if (!mapping.get()) throw_errno("mmap " + path);
  ::madvise(mapping.get(), length, MADV_RANDOM);
  std::vector<unsigned char> resident((length + kPageBytes - 1) / kPageBytes);
  if (::mincore(mapping.get(), length, resident.data()) != 0) throw_errno("mincore " + path);
  for (unsigned char page : resident) usage.cached_bytes += (page & 1) ? kPageBytes : 0;
  return usage;
}

}  // namespace

HostCacheUsage host_cache_usage(const std::string& path) {
  // Discovery's paths are canonical (read from /proc/PID/fd): no symlink to follow, and a FIFO or
  // device put in an image's place is refused before it is opened.
  struct stat st {};
  UniqueFd fd = open_image(path, st);
  if (auto pages = cachestat_pages(fd.get(), path, 0, 0)) {
    return HostCacheUsage{pages->cached * kPageBytes, pages->dirty * kPageBytes, true};
  }
  return mincore_usage(fd.get(), path);
}

}  // namespace singleton
