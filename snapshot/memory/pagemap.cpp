#include "snapshot/memory/pagemap.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "snapshot/base/error.hpp"
#include "snapshot/base/page_size.hpp"

namespace singleton {

PagemapReader::PagemapReader(pid_t pid) : pid_(pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
  fd_ = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_.valid()) throw_errno("open " + path + " (pid " + std::to_string(pid) + ")");
}

size_t PagemapReader::read(uint64_t vaddr, std::span<PagemapEntry> entries) const {
  auto* bytes = reinterpret_cast<char*>(entries.data());
  size_t wanted = entries.size_bytes();
  off_t offset = static_cast<off_t>(vaddr / kPageBytes * sizeof(PagemapEntry));
  size_t done = 0;
  while (done < wanted) {
    ssize_t n = ::pread(fd_.get(), bytes + done, wanted - done, offset + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ESRCH) break;  // the process exited under us
      throw_errno("read /proc/" + std::to_string(pid_) + "/pagemap");
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done / sizeof(PagemapEntry);
}

}  // namespace singleton
