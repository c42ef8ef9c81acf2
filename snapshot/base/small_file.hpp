// Reading a small file that someone else may have planted or swapped: never
// through a symlink, never blocking on a FIFO or a device, never more than a
// cap. For files a root agent reads back (its metrics textfile) or trusts (its
// config).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

namespace singleton {

struct SmallFile {
  std::string text;
  struct stat st {};  // of the file read (owner and mode, for callers that check them)
};

// The content of `path` when it is a regular file of at most `max_bytes`;
// std::nullopt when it does not exist. Throws Error(kUsage) naming the path
// when it is a symlink, a FIFO, a device, a directory or larger than
// `max_bytes`, SystemError when it cannot be read.
std::optional<SmallFile> read_small_regular_file(const std::string &path, uint64_t max_bytes);

}  // namespace singleton
