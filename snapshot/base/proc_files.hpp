// Reading small files of /proc and /sys with errors that name the file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace singleton {

// The whole content of a (pseudo-)file. Throws SystemError naming the path.
std::string read_text_file(const std::string& path);

// Like read_text_file, but nullopt when the file cannot be read (a process that just exited).
std::optional<std::string> try_read_text_file(const std::string& path);

// /proc/PID/cmdline split at its NULs; empty when the process is gone or a kernel thread. At most
// `max_bytes` are read (any process may have a huge one); `truncated` says if it was cut.
std::vector<std::string> read_cmdline(pid_t pid, size_t max_bytes = SIZE_MAX,
                                      bool* truncated = nullptr);

// True while /proc/PID exists and the process is not a zombie (an exiting VMM is "gone").
bool process_alive(pid_t pid);

// The target of a symlink ("" when it cannot be read).
std::string read_link(const std::string& path);

// All numeric entries of /proc, ascending.
std::vector<pid_t> list_pids();

}  // namespace singleton
