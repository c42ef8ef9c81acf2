#include "scrubber/pass/pass_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

constexpr const char* kRuntimeDir = "/run/singleton";

// A directory an unprivileged user could write to would let them plant the lock (and block
// every pass) or swap it for a link: refuse it instead of trusting what is there.
UniqueFd open_private_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) throw_errno("lock directory " + dir);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno("stat lock directory " + dir);
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    throw Error(ExitCode::kEnvironment,
                "lock directory " + dir + " (owner uid " + std::to_string(st.st_uid) + ", mode " +
                    mode + ") is not private: it must be owned by uid " +
                    std::to_string(::geteuid()) + " and writable by no one else");
  }
  return fd;
}

}  // namespace

std::string default_pass_lock_path() {
  if (const char* path = std::getenv("SINGLETON_LOCK_FILE"); path != nullptr && *path != 0) {
    return path;
  }
  return std::string(kRuntimeDir) + "/pass.lock";
}

PassLock::PassLock(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty()) throw Error(ExitCode::kUsage, "lock file " + path + " names a directory");
  // The runtime directory of the units; made here when singleton runs outside systemd.
  if (dir == kRuntimeDir && ::mkdir(kRuntimeDir, 0700) != 0 && errno != EEXIST) {
    throw_errno(std::string("create ") + kRuntimeDir);
  }
  const UniqueFd dir_fd = open_private_dir(dir);
  fd_ = UniqueFd(::openat(dir_fd.get(), name.c_str(),
                          O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
  if (!fd_.valid()) throw_errno("open lock file " + path);
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) throw_errno("stat lock file " + path);
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    throw Error(ExitCode::kEnvironment, "lock file " + path + " is not a regular file of uid " +
                                            std::to_string(::geteuid()));
  }
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) throw_errno("flock " + path);
    char holder[32] = {};
    const ssize_t n = ::pread(fd_.get(), holder, sizeof(holder) - 1, 0);
    std::string who = n > 0 ? std::string(holder, static_cast<size_t>(n)) : std::string();
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    while (!who.empty() && who.front() == ' ') who.erase(0, 1);
    throw Error(ExitCode::kEnvironment, "another singleton pass is running (" +
                                            (who.empty() ? "" : "pid " + who + " ") + "holds " +
                                            path + "); try again when it is done");
  }
  // Who holds it, for the message above (informational: the flock is the lock). A fixed width
  // overwrites the last holder's pid whole, without truncating the file.
  char pid[16];
  const int len = std::snprintf(pid, sizeof pid, "%10d\n", static_cast<int>(::getpid()));
  [[maybe_unused]] ssize_t written = ::pwrite(fd_.get(), pid, static_cast<size_t>(len), 0);
}

}  // namespace singleton
