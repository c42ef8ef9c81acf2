#include "scrubber/pagecache/readahead_window.hpp"

#include <sys/sysmacros.h>

#include <fstream>
#include <string>

namespace singleton {

uint64_t readahead_window_pages(uint64_t device) {
  constexpr uint64_t kDefaultKiB = 128;
  const std::string path = "/sys/class/bdi/" + std::to_string(major(device)) + ":" +
                           std::to_string(minor(device)) + "/read_ahead_kb";
  std::ifstream in(path);
  uint64_t kib = 0;
  if (!(in >> kib) || kib == 0) kib = kDefaultKiB;
  // Bounded: a misread or absurd value must not hide untracked I/O for ever.
  if (kib > 64 * 1024) kib = 64 * 1024;
  return kib / 4;
}

}  // namespace singleton
