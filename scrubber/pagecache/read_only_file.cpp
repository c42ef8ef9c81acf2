#include "scrubber/pagecache/read_only_file.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "snapshot/base/error.hpp"
#include "snapshot/discovery/image_open.hpp"

namespace singleton {

ReadOnlyFile::ReadOnlyFile(const std::string& path) : path_(path) {
  // An operator's symlink (/var/lib/libvirt/images/x.img -> an LVM volume) is resolved here, once,
  // by realpath (which opens nothing); the resolved path is then opened with O_NOFOLLOW, its type
  // checked before the open (see open_image). A symlink to /dev/zero resolves to a character device
  // and is refused like one.
  char resolved[PATH_MAX];
  if (!::realpath(path.c_str(), resolved)) {
    if (errno == ENOENT || errno == ENOTDIR)
      throw Error(ExitCode::kUsage, "image " + path + ": no such file");
    throw_errno("resolve " + path);
  }
  struct stat st {};
  UniqueFd fd;
  try {
    fd = open_image(resolved, st);
  } catch (const Error& e) {
    // Name the file as the user did, and what it resolved to when that differs.
    std::string said = e.what();
    const size_t at = said.find(resolved);
    if (path != resolved && at != std::string::npos)
      said.replace(at, std::strlen(resolved), path + " (" + resolved + ")");
    throw Error(e.code(), said);
  }
  if (S_ISBLK(st.st_mode)) {
    // A VM disk on a block device (LVM, loop, ...): with cache=writeback its data goes through
    // the device's own page cache, which the views see like a file's.
    uint64_t bytes = 0;
    if (::ioctl(fd.get(), BLKGETSIZE64, &bytes) != 0) throw_errno("BLKGETSIZE64 " + path);
    size_bytes_ = bytes;
  } else if (S_ISREG(st.st_mode)) {
    size_bytes_ = static_cast<uint64_t>(st.st_size);
  }
  // A block device is identified by the device it is, not by its node in /dev.
  device_ = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
  inode_ = S_ISBLK(st.st_mode) ? 0 : st.st_ino;
  fd_ = fd.release();
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
