#include "snapshot/discovery/image_open.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

// Reopens an O_PATH handle for reading. The magic link /proc/self/fd/N reaches the very inode of
// the handle, whatever happened to the path meanwhile.
UniqueFd reopen(const UniqueFd& handle, const std::string& path, const struct stat& checked,
                struct stat& st) {
  const std::string via = "/proc/self/fd/" + std::to_string(handle.get());
  constexpr int kFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  // O_NOATIME keeps a scan from dirtying the inode; only the owner or root may ask for it.
  UniqueFd fd(::open(via.c_str(), kFlags | O_NOATIME));
  if (!fd.valid() && errno == EPERM) fd = UniqueFd(::open(via.c_str(), kFlags));
  if (!fd.valid()) throw_errno("open " + path);
  if (::fstat(fd.get(), &st) != 0) throw_errno("fstat " + path);
  if (file_id(st) != file_id(checked) || (st.st_mode & S_IFMT) != (checked.st_mode & S_IFMT))
    throw Error(ExitCode::kPartial, "image " + path + ": changed while being opened");
  return fd;
}

void check_type(const struct stat& st, const std::string& path) {
  if (is_image_type(st.st_mode)) return;
  throw Error(ExitCode::kUsage, "image " + path + ": not a regular file or block device (" +
                                    file_type_name(st.st_mode) + ")");
}

}  // namespace

FileId file_id(const struct stat& st) {
  if (S_ISBLK(st.st_mode)) return {static_cast<uint64_t>(st.st_rdev), 0};
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

bool is_image_type(mode_t mode) { return S_ISREG(mode) || S_ISBLK(mode); }

const char* file_type_name(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "a regular file";
    case S_IFBLK:
      return "a block device";
    case S_IFCHR:
      return "a character device";
    case S_IFIFO:
      return "a FIFO";
    case S_IFSOCK:
      return "a socket";
    case S_IFDIR:
      return "a directory";
    case S_IFLNK:
      return "a symlink";
    default:
      return "an unknown file type";
  }
}

UniqueFd open_image(const std::string& path, struct stat& st) {
  UniqueFd handle(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!handle.valid()) throw_errno("open " + path);
  struct stat checked {};
  if (::fstat(handle.get(), &checked) != 0) throw_errno("fstat " + path);
  if (S_ISLNK(checked.st_mode))
    throw Error(ExitCode::kUsage, "image " + path + ": a symlink (name the file it points to)");
  check_type(checked, path);
  return reopen(handle, path, checked, st);
}

UniqueFd open_held_image(pid_t pid, int fd, const FileId& expected, struct stat& st) {
  const std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  // O_PATH on the magic link gives a handle on the process's open file itself.
  UniqueFd handle(::open(link.c_str(), O_PATH | O_CLOEXEC));
  if (!handle.valid()) throw_errno("open " + link);
  struct stat checked {};
  if (::fstat(handle.get(), &checked) != 0) throw_errno("fstat " + link);
  check_type(checked, link);
  if (file_id(checked) != expected)
    throw Error(ExitCode::kPartial, link + ": no longer the file discovery saw");
  return reopen(handle, link, checked, st);
}

}  // namespace singleton
