#include "scrubber/watch/guest_io_counter.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "snapshot/base/unique_fd.hpp"

namespace singleton {
namespace {

std::optional<uint64_t> field(const std::string& text, const char* key) {
  const auto at = text.find(key);
  if (at == std::string::npos) return std::nullopt;
  return std::strtoull(text.c_str() + at + std::strlen(key), nullptr, 10);
}

}  // namespace

std::optional<ProcessReads> parse_process_io(const std::string& text) {
  const auto bytes = field(text, "rchar:");
  const auto calls = field(text, "syscr:");
  if (!bytes || !calls) return std::nullopt;
  return ProcessReads{*bytes, *calls};
}

std::optional<ProcessReads> read_process_reads(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/io";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  char text[512];
  const ssize_t n = ::read(fd.get(), text, sizeof text - 1);
  if (n <= 0) return std::nullopt;
  return parse_process_io(std::string(text, static_cast<size_t>(n)));
}

uint64_t guest_read_bytes(const ProcessReads& before, const ProcessReads& after) {
  if (after.bytes < before.bytes || after.calls < before.calls) return 0;
  const uint64_t bytes = after.bytes - before.bytes;
  const uint64_t small = 8 * (after.calls - before.calls);
  return bytes > small ? bytes - small : 0;
}

}  // namespace singleton
