// The signals the watch loop acts on, received through a signalfd so the loop can wait for
// them, the metrics socket and its next tick in one poll(): SIGTERM and SIGINT stop it (the
// current step is finished or abandoned at a batch boundary, then exit 0), SIGHUP reloads the
// configuration.
#pragma once

#include <signal.h>

#include "snapshot/base/unique_fd.hpp"

namespace singleton {

class WatchSignals {
 public:
  // Blocks SIGTERM, SIGINT and SIGHUP for the process and opens a signalfd for them. The
  // destructor restores the previous mask.
  WatchSignals();
  ~WatchSignals();
  WatchSignals(const WatchSignals&) = delete;
  WatchSignals& operator=(const WatchSignals&) = delete;

  int fd() const { return fd_.get(); }

  struct Received {
    int stop_signal = 0;  // SIGTERM or SIGINT when one arrived
    bool reload = false;  // SIGHUP arrived
  };
  // Consumes what arrived (never blocks).
  Received take();

  // True when SIGTERM or SIGINT is pending, without consuming it: checked between the batches
  // of a long step.
  static bool stop_pending();

 private:
  sigset_t previous_{};
  UniqueFd fd_;
};

}  // namespace singleton
