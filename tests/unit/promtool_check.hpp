// `promtool check metrics` (Debian package prometheus) on a text, for the tests of the
// Prometheus outputs: its exit status and what it printed.
#pragma once

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

namespace singleton::testing {

inline std::pair<int, std::string> promtool_check(const std::string& text) {
  const std::string path = "/tmp/singleton-promtool-" + std::to_string(::getpid()) + ".prom";
  std::ofstream(path) << text;
  FILE* pipe = ::popen(("promtool check metrics < " + path + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = ::pclose(pipe);
  std::filesystem::remove(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace singleton::testing
