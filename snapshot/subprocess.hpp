// Runs a program without a shell and collects what it prints.
#pragma once

#include <string>
#include <vector>

namespace singleton {

struct ProgramOutput {
  int exit_status = -1;  // exit code, or 128 + signal
  std::string out;
  std::string err;
};

// argv[0] is looked up in PATH. Throws SystemError when it cannot be started.
ProgramOutput run_program(const std::vector<std::string>& argv);

}  // namespace singleton
