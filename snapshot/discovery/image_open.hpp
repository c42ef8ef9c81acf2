// Opening a disk image by path without letting the path steer the opener: the file type is checked
// before the open (a FIFO would block it, a character device is not an image), the last component
// is never followed as a symlink, and the open never blocks or takes a controlling tty.
#pragma once

#include <sys/stat.h>

#include <string>

#include "snapshot/base/unique_fd.hpp"
#include "snapshot/discovery/vm.hpp"

namespace singleton {

// The identity of a stat'ed regular file or block device (see FileId).
FileId file_id(const struct stat& st);

// True for the two kinds of file a VM disk can be.
bool is_image_type(mode_t mode);

// "a FIFO", "a directory", ... for messages.
const char* file_type_name(mode_t mode);

// Opens `path` O_RDONLY (O_NOATIME when allowed) when its last component is a regular file or a
// block device, and nothing else. It is first opened O_PATH|O_NOFOLLOW (which opens nothing: no
// FIFO can block it, no device driver runs), its type checked on that handle, then reopened through
// /proc/self/fd with O_NONBLOCK|O_NOCTTY, and the (device, inode) compared, so what is read is the
// file that was checked. `st` receives its stat. Throws SystemError (errno of the failed call,
// ENOENT included) naming the path, Error(kUsage) for a symlink or a file of another type.
UniqueFd open_image(const std::string& path, struct stat& st);

// open_image() for a file another process holds open, through /proc/PID/fd/N: the same checks, and
// the result must be the file `expected` (the fd may have been closed and reused).
UniqueFd open_held_image(pid_t pid, int fd, const FileId& expected, struct stat& st);

}  // namespace singleton
