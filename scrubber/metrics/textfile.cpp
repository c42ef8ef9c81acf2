#include "scrubber/metrics/textfile.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "snapshot/base/error.hpp"
#include "snapshot/base/small_file.hpp"
#include "snapshot/base/unique_fd.hpp"

namespace singleton {

void write_file_atomically(const std::string& path, const std::string& content) {
  // node_exporter ignores files not ending in .prom, so a temporary name ending in ".tmp" in
  // the same directory is never read half-written.
  std::string temp = path + ".XXXXXX.tmp";
  std::vector<char> name(temp.begin(), temp.end());
  name.push_back('\0');
  UniqueFd fd(::mkstemps(name.data(), 4));
  if (!fd.valid()) throw_errno("create a temporary file beside " + path);
  temp.assign(name.data());
  const char* data = content.data();
  size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd.get(), data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::unlink(temp.c_str());
      throw SystemError("write " + temp, err);
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), 0644) != 0 || ::fsync(fd.get()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw SystemError("write " + temp, err);
  }
  fd.reset();
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw SystemError("rename " + temp + " to " + path, err);
  }
}

std::string read_file_if_exists(const std::string& path) {
  try {
    const auto file = read_small_regular_file(path, 1 << 20);
    return file ? file->text : "";
  } catch (const Error&) {
    return "";
  }
}

}  // namespace singleton
