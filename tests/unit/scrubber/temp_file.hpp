// A file of random content on the host's disk filesystem, removed at the end of the test, and
// the helpers the view tests need to put it into a known cache state.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/unit/kernel_features.hpp"

namespace singleton::testing {

// Cached pages [first, first + count) of `fd` (count 0: to the end of the file) by mincore() on
// a fresh mapping of our own (faults nothing in). Counts uptodate pages only.
inline uint64_t mincore_cached(int fd, uint64_t first, uint64_t count) {
  const uint64_t size = (static_cast<uint64_t>(::lseek(fd, 0, SEEK_END)) + 4095) / 4096;
  if (first >= size) return 0;
  if (count == 0 || count > size - first) count = size - first;
  void* map = ::mmap(nullptr, count * 4096, PROT_READ, MAP_SHARED, fd, first * 4096);
  if (map == MAP_FAILED) throw std::runtime_error(std::string("mmap: ") + std::strerror(errno));
  std::vector<unsigned char> vec(count);
  const int rc = ::mincore(map, count * 4096, vec.data());
  ::munmap(map, count * 4096);
  if (rc != 0) throw std::runtime_error(std::string("mincore: ") + std::strerror(errno));
  uint64_t resident = 0;
  for (unsigned char v : vec) resident += v & 1;
  return resident;
}

struct CachestatCounts {
  uint64_t cached = 0, dirty = 0, writeback = 0;
};

// cachestat(2) straight from the kernel; only where kernel_has_cachestat().
inline CachestatCounts cachestat_counts_of(int fd, uint64_t first, uint64_t count) {
  struct {
    uint64_t off, len;
  } range{first * 4096, count * 4096};
  uint64_t stat[5] = {};
  if (::syscall(451, fd, &range, stat, 0) != 0) {
    throw std::runtime_error(std::string("cachestat: ") + std::strerror(errno));
  }
  return {stat[0], stat[1], stat[2]};
}
inline uint64_t cachestat_cached(int fd, uint64_t first, uint64_t count) {
  return cachestat_counts_of(fd, first, count).cached;
}

class TempFile {
 public:
  // `bytes` of seeded pseudo-random content, written and synced, then dropped from the cache.
  // In $TMPDIR (default /var/tmp: a disk filesystem, where /tmp may be tmpfs). Throws
  // std::runtime_error naming the file when it cannot be created or written (the test fails
  // with that message).
  explicit TempFile(uint64_t bytes, uint32_t seed = 1) {
    const char* dir = std::getenv("TMPDIR");
    std::string tmpl = std::string(dir && *dir ? dir : "/var/tmp") + "/singleton-test-XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    if (fd < 0) fail("cannot create " + tmpl);
    path_ = tmpl;
    std::mt19937_64 rng(seed);
    std::vector<uint64_t> chunk(1 << 17);  // 1 MiB
    for (uint64_t done = 0; done < bytes;) {
      for (auto& word : chunk) word = rng();
      const uint64_t n = std::min<uint64_t>(bytes - done, chunk.size() * 8);
      if (::pwrite(fd, chunk.data(), n, static_cast<off_t>(done)) != static_cast<ssize_t>(n)) {
        const int err = errno;
        ::close(fd);
        ::unlink(path_.c_str());
        errno = err;
        fail("cannot write " + std::to_string(bytes) + " bytes to " + path_);
      }
      done += n;
    }
    ::fsync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

  // Reads [offset, offset + bytes) with plain read(): the kernel caches it in large folios
  // (readahead), as it does for a guest's reads through QEMU.
  void read_range(uint64_t offset, uint64_t bytes) const {
    const int fd = ::open(path_.c_str(), O_RDONLY);
    std::vector<char> buf(1 << 20);
    while (bytes > 0) {
      const size_t n = std::min<uint64_t>(bytes, buf.size());
      const ssize_t got = ::pread(fd, buf.data(), n, static_cast<off_t>(offset));
      if (got <= 0) break;
      offset += static_cast<uint64_t>(got);
      bytes -= static_cast<uint64_t>(got);
    }
    ::close(fd);
    settle();
  }
  void read_all() const { read_range(0, UINT64_MAX / 2); }

  // Waits for the readahead the reads started: pages in flight are counted by cachestat but
  // reported by mincore only once uptodate. Without cachestat (Linux < 6.5), until mincore's
  // count stays the same for 60 ms.
  void settle() const {
    const int fd = ::open(path_.c_str(), O_RDONLY);
    const bool cachestat = kernel_has_cachestat();
    uint64_t last = UINT64_MAX;
    int same = 0;
    for (int i = 0; i < 200; ++i) {
      const uint64_t resident = mincore_cached(fd, 0, 0);
      if (cachestat) {
        if (cachestat_cached(fd, 0, 0) == resident) break;
      } else {
        same = resident == last ? same + 1 : 0;
        if (same == 3) break;
        last = resident;
      }
      ::usleep(20000);
    }
    ::close(fd);
  }

  // Drops the whole file from the host cache.
  void drop() const {
    const int fd = ::open(path_.c_str(), O_RDONLY);
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw std::runtime_error("TempFile: " + what + ": " + std::strerror(errno) +
                             " (set TMPDIR to a writable disk filesystem)");
  }

  std::string path_;
};

// Cached pages of a file, measured independently of singleton's views: cachestat(2) where the
// kernel has it, mincore() on our own mapping where it does not (Linux < 6.5).
inline uint64_t cached_pages(const std::string& path, uint64_t first = 0, uint64_t count = 0) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  const uint64_t n = kernel_has_cachestat() ? cachestat_cached(fd, first, count)
                                            : mincore_cached(fd, first, count);
  ::close(fd);
  return n;
}

// The kernel's own view of a file's cached folios, read without singleton's code: the file is
// mapped (MADV_RANDOM), only the pages mincore() reports cached are touched (a minor fault, no
// I/O), and /proc/self/pagemap + /proc/kpageflags (root) give each page's frame and flags. A
// folio is a page that is no compound tail, with the tails at the following indices and frames.
struct KernelFolio {
  uint64_t first = 0;  // page index
  uint32_t pages = 1;
  bool dirty_or_writeback = false;  // of the head (a tail's own bits say nothing on 6.1)
};
inline std::vector<KernelFolio> kernel_folios(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  const uint64_t size = (static_cast<uint64_t>(::lseek(fd, 0, SEEK_END)) + 4095) / 4096;
  std::vector<KernelFolio> folios;
  if (size == 0) {
    ::close(fd);
    return folios;
  }
  auto* map = static_cast<const volatile unsigned char*>(
      ::mmap(nullptr, size * 4096, PROT_READ, MAP_SHARED, fd, 0));
  ::close(fd);
  if (map == MAP_FAILED) throw std::runtime_error("mmap " + path + ": " + std::strerror(errno));
  ::madvise(const_cast<unsigned char*>(map), size * 4096, MADV_RANDOM);
  std::vector<unsigned char> vec(size);
  ::mincore(const_cast<unsigned char*>(map), size * 4096, vec.data());
  for (uint64_t i = 0; i < size; ++i) {
    if (vec[i] & 1) (void)map[i * 4096];
  }
  std::vector<uint64_t> entries(size);
  const int pagemap = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  const int kpageflags = ::open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
  const bool readable =
      pagemap >= 0 && kpageflags >= 0 &&
      ::pread(pagemap, entries.data(), size * 8,
              static_cast<off_t>(reinterpret_cast<uintptr_t>(map) / 4096 * 8)) ==
          static_cast<ssize_t>(size * 8);
  if (!readable) {
    if (pagemap >= 0) ::close(pagemap);
    if (kpageflags >= 0) ::close(kpageflags);
    ::munmap(const_cast<unsigned char*>(map), size * 4096);
    throw std::runtime_error("/proc/self/pagemap or /proc/kpageflags unreadable (needs root)");
  }
  uint64_t prev_pfn = 0;
  for (uint64_t i = 0; i < size; ++i) {
    const uint64_t pfn = (entries[i] >> 63) ? entries[i] & ((1ull << 55) - 1) : 0;
    if (pfn == 0) {
      prev_pfn = 0;
      continue;
    }
    uint64_t flags = 0;
    ::pread(kpageflags, &flags, 8, static_cast<off_t>(pfn * 8));
    const bool tail = (flags >> 16) & 1;
    if (tail && prev_pfn != 0 && pfn == prev_pfn + 1 && !folios.empty() &&
        folios.back().first + folios.back().pages == i) {
      ++folios.back().pages;
    } else {
      folios.push_back({i, 1, ((flags >> 4) & 1) || ((flags >> 8) & 1)});
    }
    prev_pfn = pfn;
  }
  ::close(pagemap);
  ::close(kpageflags);
  ::munmap(const_cast<unsigned char*>(map), size * 4096);
  return folios;
}

inline bool any_large_folio(const std::vector<KernelFolio>& folios) {
  for (const KernelFolio& folio : folios) {
    if (folio.pages > 1) return true;
  }
  return false;
}

}  // namespace singleton::testing
