#include "scrubber/pagecache/eviction_audit.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstring>

#include "scrubber/pagecache/read_only_file.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {

EvictionAudit::EvictionAudit(const std::string& path) : path_(path) {
  // O_NONBLOCK: a FIFO planted at the path must not hang the agent (it is refused below).
  const int fd = ::open(path.c_str(),
                        O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    throw Error(ExitCode::kUsage, "--audit " + path + ": " + std::strerror(err) +
                                      (err == ELOOP ? " (a symlink: give the file itself)" : ""));
  }
  fd_ = UniqueFd(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(ExitCode::kUsage, "--audit " + path + ": not a regular file");
  }
}

void EvictionAudit::record(const ReadOnlyFile& file, uint64_t first_page, uint64_t pages,
                           const char* call) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  boost::json::object line;
  line["time"] = now;
  line["image"] = file.path();
  line["dev"] = file.device();
  line["ino"] = file.inode();
  line["first_page"] = first_page;
  line["pages"] = pages;
  // Every range singleton evicts is made of whole folios whose every page a guest holds.
  line["reason"] = "double-cached";
  line["call"] = call;
  const std::string text = boost::json::serialize(line) + "\n";
  const ssize_t n = ::write(fd_.get(), text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size())) {
    throw SystemError("write to the eviction audit " + path_, n < 0 ? errno : EIO);
  }
}

}  // namespace singleton
