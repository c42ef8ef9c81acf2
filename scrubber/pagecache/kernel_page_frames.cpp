#include "scrubber/pagecache/kernel_page_frames.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "scrubber/pagecache/page_cache_view.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

UniqueFd open_proc(const char* path) {
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    throw Error(ExitCode::kEnvironment, std::string(path) + ": " + std::strerror(errno) +
                                            " (reading the host page cache's folios needs root)");
  }
  return fd;
}

void pread_all(int fd, const char* name, void* buf, size_t bytes, uint64_t offset) {
  auto* out = static_cast<char*>(buf);
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, out, bytes, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(std::string("read ") + name);
    if (n == 0) throw Error(ExitCode::kEnvironment, std::string("short read of ") + name);
    out += n;
    bytes -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

constexpr uint64_t kPagemapPresent = 1ull << 63;
constexpr uint64_t kPagemapPfnMask = (1ull << 55) - 1;

}  // namespace

KernelPageFrames::KernelPageFrames()
    : pagemap_(open_proc("/proc/self/pagemap")),
      kpageflags_(open_proc("/proc/kpageflags")),
      kpagecount_(open_proc("/proc/kpagecount")) {}

std::vector<PageFrame> KernelPageFrames::frames(const void* addr, size_t pages) const {
  std::vector<uint64_t> entries(pages);
  const uint64_t first = reinterpret_cast<uintptr_t>(addr) / kPageBytes;
  pread_all(pagemap_.get(), "/proc/self/pagemap", entries.data(), pages * 8, first * 8);
  std::vector<PageFrame> frames(pages);
  bool any_pfn = false;
  for (size_t i = 0; i < pages; ++i) {
    if (entries[i] & kPagemapPresent) frames[i].pfn = entries[i] & kPagemapPfnMask;
    any_pfn |= frames[i].pfn != 0;
    // Present but PFN 0: the kernel hides PFNs from us (no CAP_SYS_ADMIN).
    if ((entries[i] & kPagemapPresent) && frames[i].pfn == 0) {
      throw Error(ExitCode::kEnvironment,
                  "/proc/self/pagemap hides page frame numbers (needs CAP_SYS_ADMIN; run as root)");
    }
  }
  if (any_pfn) {
    read_by_pfn(kpageflags_, "/proc/kpageflags", frames, &PageFrame::kflags);
    read_by_pfn(kpagecount_, "/proc/kpagecount", frames, &PageFrame::mapcount);
  }
  return frames;
}

void KernelPageFrames::read_by_pfn(const UniqueFd& file, const char* name,
                                   std::span<PageFrame> frames, uint64_t PageFrame::*field) const {
  // Pages of one folio have consecutive PFNs, so runs are long and one pread serves each.
  std::vector<uint64_t> buf;
  size_t i = 0;
  while (i < frames.size()) {
    if (frames[i].pfn == 0) {
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < frames.size() && frames[j].pfn == frames[j - 1].pfn + 1) ++j;
    buf.resize(j - i);
    pread_all(file.get(), name, buf.data(), buf.size() * 8, frames[i].pfn * 8);
    for (size_t k = i; k < j; ++k) frames[k].*field = buf[k - i];
    i = j;
  }
}

}  // namespace singleton
