// Writing a file so that a reader (node_exporter's textfile collector) sees the old content or
// the new one, never half of it.
#pragma once

#include <string>

namespace singleton {

// Writes `content` to a temporary file beside `path` and renames it over `path` (rename is
// atomic within a directory), mode 0644. Throws SystemError naming the path.
void write_file_atomically(const std::string& path, const std::string& content);

// The whole file, or "" when it does not exist.
std::string read_file_if_exists(const std::string& path);

}  // namespace singleton
