#include "scrubber/report/direct_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "snapshot/base/error.hpp"
#include "snapshot/base/page_size.hpp"

namespace singleton {

void DirectReader::FreeAligned::operator()(std::byte* p) const { std::free(p); }

DirectReader::DirectReader(int fd, const std::string& path) : path_(path) {
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  fd_ = UniqueFd(::open(self.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC | O_NOCTTY));
  if (!fd_.valid()) throw_errno("open " + path + " with O_DIRECT");
  buffer_.reset(static_cast<std::byte*>(std::aligned_alloc(kPageBytes, buffer_bytes())));
  if (!buffer_) throw SystemError("buffer for " + path, ENOMEM);
}

size_t DirectReader::read_aligned(uint64_t offset, size_t length) {
  length = std::min(length, buffer_bytes());
  size_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd_.get(), buffer_.get() + done, length - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read " + path_ + " at " + std::to_string(offset + done));
    if (n == 0) break;
    done += static_cast<size_t>(n);
    if (done % kPageBytes != 0) break;  // a short read ends at the end of the file
  }
  return done;
}

void DirectReader::read(uint64_t offset, size_t length, std::string& out) {
  out.clear();
  uint64_t at = offset / kPageBytes * kPageBytes;
  const uint64_t end = offset + length;
  while (at < end) {
    const size_t want = std::min<uint64_t>(buffer_bytes(), (end - at + kPageBytes - 1) /
                                                               kPageBytes * kPageBytes);
    const size_t got = read_aligned(at, want);
    const uint64_t from = std::max(at, offset);
    const uint64_t to = std::min<uint64_t>(at + got, end);
    if (to > from)
      out.append(reinterpret_cast<const char*>(data()) + (from - at), to - from);
    if (got < want) break;
    at += got;
  }
}

}  // namespace singleton
