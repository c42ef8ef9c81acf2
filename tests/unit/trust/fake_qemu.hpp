// A process that discovery takes for QEMU: /bin/bash started with argv[0] "qemu-system-x86_64" and
// a QEMU command line as its positional parameters (bash ignores them), holding open the files a
// real QEMU would, optionally as another user. Killed and reaped by the destructor.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace singleton::testing {

struct FakeQemuOptions {
  std::vector<std::string> args;  // after argv[0]: "-name", "guest=x", "-drive", ...
  std::vector<std::string> hold;  // files opened read-only and kept open (as QEMU does)
  uid_t uid = 0;                  // run as this user (65534: nobody); 0 stays root
  std::string cwd = "/";
};

class FakeQemu {
 public:
  explicit FakeQemu(const FakeQemuOptions& options) {
    // Built before fork: the child only makes system calls.
    std::vector<std::string> strings{"qemu-system-x86_64", "-c", "sleep 600; true"};
    strings.insert(strings.end(), options.args.begin(), options.args.end());
    std::vector<char*> argv;
    for (auto& s : strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::setpgid(0, 0);  // bash and its sleep are killed together
      if (options.uid != 0) {
        const gid_t gid = options.uid;
        if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 ||
            ::setresuid(options.uid, options.uid, options.uid) != 0)
          ::_exit(125);
      }
      if (::chdir(options.cwd.c_str()) != 0) ::_exit(124);
      for (const auto& path : options.hold)
        if (::open(path.c_str(), O_RDONLY) < 0) ::_exit(126);  // no O_CLOEXEC: kept across exec
      // A long command line (many -blockdev) needs more room than the default 8 MiB stack's
      // quarter; the kernel caps argv at 6 MiB whatever the limit.
      struct rlimit stack {
        uint64_t{64} << 20, uint64_t{64} << 20
      };
      ::setrlimit(RLIMIT_STACK, &stack);
      // Our environment goes along: where bash is a bundled binary (the in-guest unit tests),
      // it needs LD_LIBRARY_PATH to start at all.
      ::execve("/bin/bash", argv.data(), environ);
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);
    // Started once its cmdline is QEMU's (exec done) or it died (a failed setup step).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in("/proc/" + std::to_string(pid_) + "/cmdline");
      std::string first;
      std::getline(in, first, '\0');
      if (first == "qemu-system-x86_64") return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("fake QEMU exited during setup: status " + std::to_string(status));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop();
    throw std::runtime_error("fake QEMU did not start");
  }
  FakeQemu(const FakeQemu&) = delete;
  FakeQemu& operator=(const FakeQemu&) = delete;
  ~FakeQemu() { stop(); }
  pid_t pid() const { return pid_; }

  void stop() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace singleton::testing
