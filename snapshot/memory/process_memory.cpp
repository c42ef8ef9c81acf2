#include "snapshot/memory/process_memory.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <string>

#include "snapshot/base/error.hpp"
#include "snapshot/memory/pagemap.hpp"
#include "snapshot/base/page_size.hpp"

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
      while (next + run < vaddrs.size() && vaddrs[next + run] == start + run * kPageBytes) ++run;
      remote[count++] = iovec{reinterpret_cast<void*>(start), run * kPageBytes};
      next += run;
    }
    size_t wanted = (next - first) * kPageBytes;
    iovec local{buffer + first * kPageBytes, wanted};
    ssize_t n;
    do {
      n = ::process_vm_readv(pid, &local, 1, remote.data(), count, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      result.err = errno;
      return result;
    }
    result.pages += static_cast<size_t>(n) / kPageBytes;
    if (static_cast<size_t>(n) < wanted) {
      // A partial copy stops at the first address that could not be read: it was unmapped.
      result.err = EFAULT;
      return result;
    }
  }
  return result;
}

ProcessMemFile::ProcessMemFile(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/mem";
  fd_ = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_.valid()) throw_errno("open " + path + " (pid " + std::to_string(pid) + ")");
}

PageReadResult ProcessMemFile::read_pages(std::span<const uint64_t> vaddrs,
                                          std::byte* buffer) const {
  PageReadResult result;
  size_t next = 0;
  while (next < vaddrs.size()) {
    size_t run = 1;
    while (next + run < vaddrs.size() && vaddrs[next + run] == vaddrs[next] + run * kPageBytes)
      ++run;
    size_t wanted = run * kPageBytes;
    size_t done = 0;
    while (done < wanted) {
      ssize_t n = ::pread(fd_.get(), buffer + next * kPageBytes + done, wanted - done,
                          static_cast<off_t>(vaddrs[next] + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        result.pages += done / kPageBytes;
        // 0: the process has no address space any more; EIO: the address is not mapped.
        result.err = n == 0 ? ESRCH : (errno == EIO ? EFAULT : errno);
        return result;
      }
      done += static_cast<size_t>(n);
    }
    result.pages += run;
    next += run;
  }
  return result;
}

}  // namespace singleton
