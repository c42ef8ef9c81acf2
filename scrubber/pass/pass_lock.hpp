// One scrub pass at a time per host: an flock(2) on a lock file, held for the life of the object.
#pragma once

#include <string>

#include "snapshot/base/unique_fd.hpp"

namespace singleton {

// /run/singleton/pass.lock (SINGLETON_LOCK_FILE overrides it, for tests). /run/singleton is the
// root-only runtime directory (the units' RuntimeDirectory=, 0700; created when missing).
std::string default_pass_lock_path();

class PassLock {
 public:
  // Takes the lock without waiting. Throws Error(kEnvironment) when another process holds it
  // ("another singleton pass is running (pid N holds /run/singleton/pass.lock)"), or when the
  // lock could be planted or redirected by someone else: its directory must be owned by us and
  // writable by no one else, the lock a regular file of ours (never followed through a
  // symlink, never truncated). The kernel drops the lock when the process dies: no stale locks.
  explicit PassLock(const std::string& path = default_pass_lock_path());

 private:
  UniqueFd fd_;
};

}  // namespace singleton
