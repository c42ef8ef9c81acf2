#include "scrubber/read_only_file.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "snapshot/error.hpp"

namespace singleton {

ReadOnlyFile::ReadOnlyFile(const std::string& path) : path_(path) {
  // O_NOATIME keeps a scan from dirtying the inode; only the owner or root may ask for it.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME);
  if (fd_ < 0 && errno == EPERM) fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    if (errno == ENOENT) throw Error(ExitCode::kUsage, "image " + path + ": no such file");
    throw_errno("open " + path);
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    throw SystemError("fstat " + path, err);
  }
  if (S_ISBLK(st.st_mode)) {
    // A VM disk on a block device (LVM, loop, ...): with cache=writeback its data goes through
    // the device's own page cache, which the views see like a file's.
    uint64_t bytes = 0;
    if (::ioctl(fd_, BLKGETSIZE64, &bytes) != 0) {
      const int err = errno;
      ::close(fd_);
      throw SystemError("BLKGETSIZE64 " + path, err);
    }
    size_bytes_ = bytes;
  } else if (S_ISREG(st.st_mode)) {
    size_bytes_ = static_cast<uint64_t>(st.st_size);
  } else {
    ::close(fd_);
    throw Error(ExitCode::kUsage, "image " + path + ": not a regular file or block device");
  }
  // A block device is identified by the device it is, not by its node in /dev.
  device_ = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
  inode_ = S_ISBLK(st.st_mode) ? 0 : st.st_ino;
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

ReadOnlyFile::ReadOnlyFile(ReadOnlyFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      size_bytes_(other.size_bytes_),
      device_(other.device_),
      inode_(other.inode_) {}

ReadOnlyFile& ReadOnlyFile::operator=(ReadOnlyFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    size_bytes_ = other.size_bytes_;
    device_ = other.device_;
    inode_ = other.inode_;
  }
  return *this;
}

}  // namespace singleton
