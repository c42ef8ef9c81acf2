// Errors that carry their context (which VM, which file, which syscall, errno text) up to the
// CLI, and the exit code the CLI maps them to. Documented in `singleton --help` and README.
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace singleton {

enum class ExitCode : int {
  kDone = 0,         // the pass ran to the end
  kPartial = 1,      // done in part: a VM or an image failed, the rest was done
  kUsage = 2,        // usage or configuration error
  kEnvironment = 3,  // privileges, unsupported kernel, lock held, missing device
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& what) : std::runtime_error(what), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// A failed system call: "open /var/lib/x.img: Permission denied".
class SystemError : public Error {
 public:
  SystemError(const std::string& context, int err)
      : Error(code_for(err), context + ": " + std::strerror(err)), err_(err) {}
  int err() const { return err_; }

 private:
  static ExitCode code_for(int err) {
    return (err == EPERM || err == EACCES) ? ExitCode::kEnvironment : ExitCode::kPartial;
  }
  int err_;
};

// Throws SystemError with the current errno.
[[noreturn]] inline void throw_errno(const std::string& context) { throw SystemError(context, errno); }

}  // namespace singleton
