#include "snapshot/base/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>

#include "snapshot/base/error.hpp"
#include "snapshot/base/unique_fd.hpp"

extern char** environ;

namespace singleton {
namespace {

struct FileActions {
  posix_spawn_file_actions_t actions;
  FileActions() { posix_spawn_file_actions_init(&actions); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
};

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

namespace {

ProgramOutput run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  auto [out_read, out_write] = make_pipe();
  auto [err_read, err_write] = make_pipe();
  FileActions files;
  posix_spawn_file_actions_adddup2(&files.actions, out_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&files.actions, err_write.get(), STDERR_FILENO);
  posix_spawn_file_actions_addopen(&files.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &files.actions, nullptr, args.data(), environ);
  if (rc != 0) throw SystemError("run " + argv[0], rc);
  out_write.reset();
  err_write.reset();

  ProgramOutput output;
  std::array<pollfd, 2> fds{pollfd{out_read.get(), POLLIN, 0}, pollfd{err_read.get(), POLLIN, 0}};
  std::array<std::string*, 2> sinks{&output.out, &output.err};
  int open_streams = 2;
  char buffer[8192];
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (open_streams > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (timeout.count() > 0 && left.count() <= 0) {
      ::kill(pid, SIGKILL);
      output.timed_out = true;
      break;
    }
    const int wait_ms = timeout.count() > 0 ? static_cast<int>(left.count()) : -1;
    if (::poll(fds.data(), fds.size(), wait_ms) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_streams;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  output.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return output;
}

}  // namespace

ProgramOutput run_program(const std::vector<std::string>& argv) {
  return run(argv, std::chrono::milliseconds(0));
}

ProgramOutput run_confined(const std::vector<std::string>& argv, const Confinement& confinement) {
  std::vector<std::string> full;
  if (confinement.as_nobody)
    full = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"};
  for (std::string limit : {"--as=" + std::to_string(confinement.address_space_bytes),
                            "--cpu=" + std::to_string(confinement.cpu_seconds),
                            "--nofile=" + std::to_string(confinement.max_fds)})
    full.push_back(limit);
  full.insert(full.begin() + (confinement.as_nobody ? 5 : 0), "prlimit");
  full.push_back("--");
  full.insert(full.end(), argv.begin(), argv.end());
  return run(full, confinement.timeout);
}

}  // namespace singleton
