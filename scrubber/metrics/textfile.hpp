// Writing a file so that a reader (node_exporter's textfile collector) sees the old content or
// the new one, never half of it.
#pragma once

#include <string>

namespace singleton {

// Writes `content` to a temporary file beside `path` and renames it over `path` (rename is
// atomic within a directory), mode 0644. Throws SystemError naming the path.
void write_file_atomically(const std::string& path, const std::string& content);

// The counters of an earlier textfile, to resume from: the whole file when it is a regular file
// of at most 1 MiB, else "" (absent; or planted: a symlink, a FIFO, a device, a huge file is
// never followed, waited on or read, and the next atomic write replaces it).
std::string read_file_if_exists(const std::string& path);

}  // namespace singleton
