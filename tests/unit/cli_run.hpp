// Runs the built `singleton` CLI as a user would, capturing its exit code and output.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/vm/fixtures.hpp"

namespace singleton::testing {

struct CliRun {
  int rc = -1;
  std::string out;
  std::string err;
  boost::json::object json() const { return boost::json::parse(out).as_object(); }
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `prefix` goes before the binary (e.g. "setpriv --reuid=65534 ..."); `args` are shell words.
inline CliRun run_singleton(const std::string& args, const std::string& prefix = "") {
  char err_path[] = "/tmp/singleton-cli-err-XXXXXX";
  const int fd = ::mkstemp(err_path);
  ::close(fd);
  const std::string command =
      prefix + " " + SINGLETON_BIN + " " + args + " 2>" + err_path + " </dev/null";
  CliRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) run.out.append(buf, n);
  const int status = ::pclose(pipe);
  run.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.err = slurp(err_path);
  ::unlink(err_path);
  return run;
}

using guestkit::shell_output;  // stdout of a shell command (tests/vm/fixtures.hpp)

inline uint64_t u64(const boost::json::object& o, const char* key) {
  return boost::json::value_to<uint64_t>(o.at(key));
}

}  // namespace singleton::testing
