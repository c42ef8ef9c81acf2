// Reads an image without adding it to the host page cache: a second open of the same file with
// O_DIRECT (through /proc/self/fd, so it is the very file already open, not whatever the path
// names now). A report is a dry run; reading an image the normal way would grow the cache it
// measures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "snapshot/base/unique_fd.hpp"

namespace singleton {

class DirectReader {
 public:
  // Throws SystemError naming `path` when O_DIRECT is refused (tmpfs, some FUSE file systems).
  DirectReader(int fd, const std::string& path);

  // Reads [offset, offset + length) into `out` (which gets exactly the bytes that exist: short at
  // the end of the file). Any alignment; read in 4 KiB-aligned pieces underneath.
  void read(uint64_t offset, size_t length, std::string& out);

  // Reads up to `length` bytes at the 4 KiB-aligned `offset` into the internal buffer; returns
  // the bytes read (0 at the end of the file). `length` at most buffer_bytes().
  size_t read_aligned(uint64_t offset, size_t length);
  const std::byte* data() const { return buffer_.get(); }
  std::byte* data() { return buffer_.get(); }
  static constexpr size_t buffer_bytes() { return size_t{1} << 20; }

  int fd() const { return fd_.get(); }

 private:
  struct FreeAligned {
    void operator()(std::byte* p) const;
  };
  UniqueFd fd_;
  std::string path_;
  std::unique_ptr<std::byte, FreeAligned> buffer_;
};

}  // namespace singleton
