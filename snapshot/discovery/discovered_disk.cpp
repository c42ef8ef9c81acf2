#include "snapshot/discovery/discovered_disk.hpp"

#include <cctype>
#include <charconv>
#include <string>

namespace singleton {

std::optional<uint64_t> parse_size_with_unit(std::string_view text, uint64_t default_unit) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  uint64_t number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number, 10);
  if (ec != std::errc() || ptr == text.data()) return std::nullopt;
  std::string unit(ptr, text.data() + text.size());
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint64_t multiplier;
  if (unit.empty()) {
    multiplier = default_unit;
  } else if (unit == "b" || unit == "bytes") {
    multiplier = 1;
  } else if (unit == "k" || unit == "kib") {
    multiplier = uint64_t{1} << 10;
  } else if (unit == "m" || unit == "mib") {
    multiplier = uint64_t{1} << 20;
  } else if (unit == "g" || unit == "gib") {
    multiplier = uint64_t{1} << 30;
  } else if (unit == "t" || unit == "tib") {
    multiplier = uint64_t{1} << 40;
  } else if (unit == "kb") {  // libvirt: KB, MB, ... are decimal
    multiplier = 1000;
  } else if (unit == "mb") {
    multiplier = 1000 * 1000;
  } else if (unit == "gb") {
    multiplier = 1000 * 1000 * 1000;
  } else if (unit == "tb") {
    multiplier = uint64_t{1000} * 1000 * 1000 * 1000;
  } else {
    return std::nullopt;
  }
  if (multiplier != 0 && number > UINT64_MAX / multiplier) return std::nullopt;
  return number * multiplier;
}

}  // namespace singleton
