#include "scrubber/watch/watch_signals.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

sigset_t watched_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

WatchSignals::WatchSignals() {
  const sigset_t set = watched_signals();
  if (::sigprocmask(SIG_BLOCK, &set, &previous_) != 0) throw_errno("sigprocmask");
  fd_ = UniqueFd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_.valid()) {
    const int err = errno;
    ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
    throw SystemError("signalfd", err);
  }
}

WatchSignals::~WatchSignals() {
  fd_.reset();
  ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
}

WatchSignals::Received WatchSignals::take() {
  Received received;
  signalfd_siginfo info{};
  while (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (info.ssi_signo == SIGHUP) {
      received.reload = true;
    } else if (received.stop_signal == 0) {
      received.stop_signal = static_cast<int>(info.ssi_signo);
    }
  }
  return received;
}

bool WatchSignals::stop_pending() {
  sigset_t pending;
  if (::sigpending(&pending) != 0) return false;
  return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1;
}

}  // namespace singleton
