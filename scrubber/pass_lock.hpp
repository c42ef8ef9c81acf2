// One scrub pass at a time per host: an flock(2) on a lock file, held for the life of the object.
#pragma once

#include <string>

#include "snapshot/unique_fd.hpp"

namespace singleton {

// /run/lock/singleton.lock (SINGLETON_LOCK_FILE overrides it, for tests).
std::string default_pass_lock_path();

class PassLock {
 public:
  // Takes the lock without waiting. Throws Error(kEnvironment) when another process holds it
  // ("another singleton pass is running (pid N holds /run/lock/singleton.lock)") or the file
  // cannot be opened. The kernel drops the lock when the process dies: no stale locks.
  explicit PassLock(const std::string& path = default_pass_lock_path());

 private:
  UniqueFd fd_;
};

}  // namespace singleton
