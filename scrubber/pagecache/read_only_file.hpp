// An image file opened for reading, by path, for the duration of a pass (RAII fd).
#pragma once

#include <cstdint>
#include <string>

#include "snapshot/base/page_size.hpp"

namespace singleton {

// Every PageCacheView works on an open file, never on a path: the path is resolved once, and
// the kernel module takes files by fd (it hashes only what the caller could read).
class ReadOnlyFile {
 public:
  // Resolves `path` (realpath: symlinks an operator gave are followed once, opening nothing), then
  // opens it O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY (O_NOATIME when allowed) only when it is a
  // regular file or a block device, checked before the open (snapshot/discovery/image_open.hpp): a FIFO, a
  // character device or a symlink to one is refused at once, never opened. Throws SystemError
  // naming the path (EACCES/EPERM map to ExitCode::kEnvironment, others to kPartial), Error(kUsage)
  // when it does not exist or is something else (a directory, ...).
  explicit ReadOnlyFile(const std::string& path);
  ~ReadOnlyFile();
  ReadOnlyFile(ReadOnlyFile&& other) noexcept;
  ReadOnlyFile& operator=(ReadOnlyFile&& other) noexcept;
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  uint64_t size_bytes() const { return size_bytes_; }
  // Pages of 4 KiB covering the file (the last one may be partial).
  uint64_t size_pages() const { return (size_bytes_ + kPageBytes - 1) / kPageBytes; }
  // Device and inode: two paths naming one file (a backing file reached from two overlays)
  // compare equal by these.
  uint64_t device() const { return device_; }
  uint64_t inode() const { return inode_; }

 private:
  int fd_ = -1;
  std::string path_;
  uint64_t size_bytes_ = 0;
  uint64_t device_ = 0;
  uint64_t inode_ = 0;
};

}  // namespace singleton
