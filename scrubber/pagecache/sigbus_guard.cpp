#include "scrubber/pagecache/sigbus_guard.hpp"

#include <signal.h>

#include <mutex>

namespace singleton {
namespace {

thread_local sigjmp_buf* armed = nullptr;
struct sigaction previous {};

void on_sigbus(int signo, siginfo_t* info, void* context) {
  if (armed != nullptr) {
    sigjmp_buf* env = armed;
    armed = nullptr;
    siglongjmp(*env, 1);
  }
  // Not ours: behave as before we were installed.
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction != nullptr) return previous.sa_sigaction(signo, info, context);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    return previous.sa_handler(signo);
  }
  signal(SIGBUS, SIG_DFL);
  raise(SIGBUS);
}

}  // namespace

SigbusGuard::SigbusGuard() {
  static std::once_flag installed;
  std::call_once(installed, [] {
    struct sigaction action {};
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &previous);
  });
}

void SigbusGuard::arm() { armed = &env; }

void SigbusGuard::disarm() {
  if (armed == &env) armed = nullptr;
}

void SigbusGuard::recover() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGBUS);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace singleton
