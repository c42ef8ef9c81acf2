// Turns a SIGBUS raised while reading a file through a mapping (the file was truncated under us)
// into an error instead of a crash.
#pragma once

#include <csetjmp>

namespace singleton {

// Usage, in the one function that touches the mapping:
//   SigbusGuard guard;
//   if (sigsetjmp(guard.env, 0) != 0) { guard.recover(); throw ...; }
//   guard.arm();  ... read through the mapping (only trivially destructible locals) ...
//   guard.disarm();
// sigsetjmp must be called by the function that reads, so the jump lands in a live frame; the
// code between arm() and disarm() must not create objects with non-trivial destructors (a
// longjmp skips them).
class SigbusGuard {
 public:
  SigbusGuard();  // installs the process's SIGBUS handler once
  ~SigbusGuard() { disarm(); }
  SigbusGuard(const SigbusGuard&) = delete;
  SigbusGuard& operator=(const SigbusGuard&) = delete;

  void arm();
  void disarm();
  // After the jump: unblocks SIGBUS again (the handler left through siglongjmp without restoring
  // the signal mask, which sigsetjmp(env, 0) does not save: saving it costs a system call).
  void recover();

  sigjmp_buf env;
};

}  // namespace singleton
