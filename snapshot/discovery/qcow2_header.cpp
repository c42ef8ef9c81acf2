#include "snapshot/discovery/qcow2_header.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

uint64_t big_endian(const unsigned char* bytes, size_t count) {
  uint64_t value = 0;
  for (size_t i = 0; i < count; ++i) value = (value << 8) | bytes[i];
  return value;
}

// QEMU refuses longer backing file names (block/qcow2.c: 1023 bytes).
constexpr uint64_t kMaxBackingName = 1023;

}  // namespace

std::optional<std::string> qcow2_backing_name(int fd, const std::string& origin) {
  // magic, version, backing_file_offset (u64), backing_file_size (u32): all big-endian.
  unsigned char header[20];
  if (::pread(fd, header, sizeof header, 0) != static_cast<ssize_t>(sizeof header) ||
      std::memcmp(header, "QFI\xfb", 4) != 0)
    throw Error(ExitCode::kPartial, origin + ": not a qcow2 header");
  const uint64_t offset = big_endian(header + 8, 8);
  const uint64_t size = big_endian(header + 16, 4);
  if (offset == 0 || size == 0) return std::nullopt;
  if (size > kMaxBackingName)
    throw Error(ExitCode::kPartial, origin + ": backing file name of " + std::to_string(size) +
                                        " bytes (QEMU allows " + std::to_string(kMaxBackingName) +
                                        ")");
  std::string name(size, '\0');
  if (::pread(fd, name.data(), size, static_cast<off_t>(offset)) != static_cast<ssize_t>(size))
    throw Error(ExitCode::kPartial, origin + ": backing file name beyond the end of the file");
  if (name.find('\0') != std::string::npos)
    throw Error(ExitCode::kPartial, origin + ": backing file name holds a NUL byte");
  return name;
}

}  // namespace singleton
