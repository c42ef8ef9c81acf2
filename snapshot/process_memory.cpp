#include "snapshot/process_memory.hpp"

#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <climits>

#include "snapshot/pagemap.hpp"

namespace singleton {

PageReadResult read_process_pages(pid_t pid, std::span<const uint64_t> vaddrs, std::byte* buffer) {
  PageReadResult result;
  std::array<iovec, IOV_MAX> remote;
  size_t next = 0;
  while (next < vaddrs.size()) {
    // Build up to IOV_MAX remote iovecs of runs of adjacent pages.
    size_t count = 0;
    size_t first = next;
    while (next < vaddrs.size() && count < remote.size()) {
      uint64_t start = vaddrs[next];
      size_t run = 1;
      while (next + run < vaddrs.size() && vaddrs[next + run] == start + run * kPageSize) ++run;
      remote[count++] = iovec{reinterpret_cast<void*>(start), run * kPageSize};
      next += run;
    }
    size_t wanted = (next - first) * kPageSize;
    iovec local{buffer + first * kPageSize, wanted};
    ssize_t n;
    do {
      n = ::process_vm_readv(pid, &local, 1, remote.data(), count, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      result.err = errno;
      return result;
    }
    result.pages += static_cast<size_t>(n) / kPageSize;
    if (static_cast<size_t>(n) < wanted) {
      // A partial copy stops at the first address that could not be read: it was unmapped.
      result.err = EFAULT;
      return result;
    }
  }
  return result;
}

}  // namespace singleton
