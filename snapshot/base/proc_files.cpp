#include "snapshot/base/proc_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>

#include "snapshot/base/error.hpp"
#include "snapshot/base/unique_fd.hpp"

namespace singleton {
namespace {

// Reads until EOF: /proc files report size 0, so the size cannot be asked in advance.
bool read_all(int fd, std::string& out, size_t max_bytes = SIZE_MAX, bool* truncated = nullptr) {
  char buffer[16384];
  for (;;) {
    if (out.size() >= max_bytes) {
      if (truncated) *truncated = true;
      out.resize(max_bytes);
      return true;
    }
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) return true;
    out.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace

std::string read_text_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw_errno("open " + path);
  std::string text;
  if (!read_all(fd.get(), text)) throw_errno("read " + path);
  return text;
}

std::optional<std::string> try_read_text_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string text;
  if (!read_all(fd.get(), text)) return std::nullopt;
  return text;
}

std::vector<std::string> read_cmdline(pid_t pid, size_t max_bytes, bool* truncated) {
  std::vector<std::string> args;
  if (truncated) *truncated = false;
  std::optional<std::string> text;
  {
    UniqueFd fd(
        ::open(("/proc/" + std::to_string(pid) + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC));
    std::string read;
    if (fd.valid() && read_all(fd.get(), read, max_bytes, truncated)) text = std::move(read);
  }
  if (!text) return args;
  size_t start = 0;
  while (start < text->size()) {
    size_t end = text->find('\0', start);
    if (end == std::string::npos) end = text->size();
    args.emplace_back(*text, start, end - start);
    start = end + 1;
  }
  return args;
}

bool process_alive(pid_t pid) {
  auto stat = try_read_text_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  // The state follows the last ')' (the command name may itself contain parentheses).
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat->size()) return false;
  char state = (*stat)[paren + 2];
  return state != 'Z' && state != 'X' && state != 'x';
}

std::string read_link(const std::string& path) {
  char target[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
  if (n < 0) return "";
  return std::string(target, static_cast<size_t>(n));
}

std::vector<pid_t> list_pids() {
  std::vector<pid_t> pids;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc"), &::closedir);
  if (!dir) throw_errno("opendir /proc");
  while (dirent* entry = ::readdir(dir.get())) {
    const char* name = entry->d_name;
    if (*name == '\0' || !std::all_of(name, name + std::char_traits<char>::length(name),
                                      [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    pids.push_back(static_cast<pid_t>(std::stol(name)));
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

}  // namespace singleton
