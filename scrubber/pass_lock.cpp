#include "scrubber/pass_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "snapshot/error.hpp"

namespace singleton {

std::string default_pass_lock_path() {
  if (const char* path = std::getenv("SINGLETON_LOCK_FILE"); path != nullptr && *path != 0) {
    return path;
  }
  return "/run/lock/singleton.lock";
}

PassLock::PassLock(const std::string& path)
    : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
  if (!fd_.valid()) throw_errno("open lock file " + path);
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) throw_errno("flock " + path);
    char holder[32] = {};
    const ssize_t n = ::pread(fd_.get(), holder, sizeof(holder) - 1, 0);
    std::string who = n > 0 ? std::string(holder, static_cast<size_t>(n)) : std::string();
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    throw Error(ExitCode::kEnvironment, "another singleton pass is running (" +
                                            (who.empty() ? "" : "pid " + who + " ") + "holds " +
                                            path + "); try again when it is done");
  }
  // Who holds it, for the message above (informational: the flock is the lock).
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_.get(), 0) == 0) {
    [[maybe_unused]] ssize_t written = ::pwrite(fd_.get(), pid.data(), pid.size(), 0);
  }
}

}  // namespace singleton
