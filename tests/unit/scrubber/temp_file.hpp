// A file of random content on the host's disk filesystem, removed at the end of the test, and
// the helpers the view tests need to put it into a known cache state.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace singleton::testing {

class TempFile {
 public:
  // `bytes` of seeded pseudo-random content, written and synced, then dropped from the cache.
  explicit TempFile(uint64_t bytes, uint32_t seed = 1) {
    char tmpl[] = "/var/tmp/singleton-test-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd < 0) std::abort();
    path_ = tmpl;
    std::mt19937_64 rng(seed);
    std::vector<uint64_t> chunk(1 << 17);  // 1 MiB
    for (uint64_t done = 0; done < bytes;) {
      for (auto& word : chunk) word = rng();
      const uint64_t n = std::min<uint64_t>(bytes - done, chunk.size() * 8);
      if (::pwrite(fd, chunk.data(), n, static_cast<off_t>(done)) != static_cast<ssize_t>(n)) {
        std::abort();
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
  // reported by mincore only once uptodate.
  void settle() const {
    const int fd = ::open(path_.c_str(), O_RDONLY);
    const uint64_t pages = (lseek(fd, 0, SEEK_END) + 4095) / 4096;
    std::vector<unsigned char> vec(pages);
    for (int i = 0; i < 100; ++i) {
      const size_t len = pages * 4096;
      void* map = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
      ::mincore(map, len, vec.data());
      ::munmap(map, len);
      uint64_t resident = 0;
      for (unsigned char v : vec) resident += v & 1;
      struct {
        uint64_t off, len;
      } range{0, 0};
      uint64_t stat[5] = {};
      ::syscall(451, fd, &range, stat, 0);
      if (stat[0] == resident) break;
      ::usleep(10000);
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
  std::string path_;
};

}  // namespace singleton::testing
