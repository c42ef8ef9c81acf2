#include "snapshot/base/small_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "snapshot/base/error.hpp"
#include "snapshot/base/unique_fd.hpp"

namespace singleton {

std::optional<SmallFile> read_small_regular_file(const std::string &path, uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
  // forever.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP) throw Error(ExitCode::kUsage, path + " is a symlink: not followed");
    throw_errno("open " + path);
  }
  SmallFile file;
  if (::fstat(fd.get(), &file.st) != 0) throw_errno("stat " + path);
  if (!S_ISREG(file.st.st_mode)) throw Error(ExitCode::kUsage, path + " is not a regular file");
  if (static_cast<uint64_t>(file.st.st_size) > max_bytes) {
    throw Error(ExitCode::kUsage,
                path + " is larger than " + std::to_string(max_bytes) + " bytes: not read");
  }
  // The size may grow while we read: read at most max_bytes + 1 and judge what
  // came.
  file.text.resize(max_bytes + 1);
  size_t done = 0;
  while (done < file.text.size()) {
    const ssize_t n = ::read(fd.get(), file.text.data() + done, file.text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read " + path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  if (done > max_bytes) {
    throw Error(ExitCode::kUsage, path + " grew past " + std::to_string(max_bytes) + " bytes");
  }
  file.text.resize(done);
  return file;
}

}  // namespace singleton
