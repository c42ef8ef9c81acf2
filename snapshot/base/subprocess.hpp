// Runs a program without a shell and collects what it prints.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace singleton {

struct ProgramOutput {
  int exit_status = -1;  // exit code, or 128 + signal
  std::string out;
  std::string err;
  bool timed_out = false;  // killed (SIGKILL) when the timeout passed
};

// How a program that reads untrusted input is run: without root, with bounded memory, CPU time and
// fds, killed when it takes too long.
struct Confinement {
  bool as_nobody = true;  // setpriv to uid/gid 65534, no supplementary groups
  uint64_t address_space_bytes = uint64_t{1} << 30;
  unsigned cpu_seconds = 10;
  unsigned max_fds = 64;
  std::chrono::milliseconds timeout{15000};
};

// argv[0] is looked up in PATH. Throws SystemError when it cannot be started.
ProgramOutput run_program(const std::vector<std::string>& argv);

// run_program under `confinement` (through setpriv and prlimit of util-linux).
ProgramOutput run_confined(const std::vector<std::string>& argv, const Confinement& confinement);

}  // namespace singleton
