// What the running kernel can do, probed directly (never through singleton's own code), for tests
// whose expectations depend on it: they assert singleton's behaviour in each case instead of
// assuming the kernel of the machine they were written on.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <iostream>
#include <string>

namespace singleton::testing {

// cachestat(2) (Linux 6.5+; Debian 12's 6.1 has none: ENOSYS). Probed with a bad fd: EBADF
// where the system call exists.
inline bool kernel_has_cachestat() {
  struct {
    uint64_t off, len;
  } range{0, 0};
  uint64_t stat[5] = {};
  const long rc = ::syscall(451, -1, &range, stat, 0);
  return !(rc != 0 && errno == ENOSYS);
}

// One line in the test's output saying which case of a kernel-dependent test ran, so a log
// shows what was proven on this machine (and nothing passes unnoticed by a branch).
inline void note_kernel_case(const std::string& what) {
  std::cout << "[ KERNEL   ] " << what << std::endl;
}

}  // namespace singleton::testing
