#include "scrubber/watch/guest_io_counter.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "snapshot/unique_fd.hpp"

namespace singleton {

std::optional<uint64_t> read_process_rchar(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/io";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  char text[512];
  const ssize_t n = ::read(fd.get(), text, sizeof text - 1);
  if (n <= 0) return std::nullopt;
  text[n] = '\0';
  const char* at = std::strstr(text, "rchar:");
  if (at == nullptr) return std::nullopt;
  return std::strtoull(at + 6, nullptr, 10);
}

}  // namespace singleton
