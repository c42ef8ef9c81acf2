#include "scrubber/watch/memory_pressure.hpp"

#include <fstream>
#include <sstream>

#include "scrubber/pressure/pressure_sources.hpp"

namespace singleton {
namespace {

std::string read_text(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  if (in) text << in.rdbuf();
  return text.str();
}

}  // namespace

PressureLevel classify_pressure(const MemoryPressure& p) {
  const double available =
      p.mem_total_bytes ? static_cast<double>(p.mem_available_bytes) / p.mem_total_bytes : 1.0;
  if ((p.have_psi && p.psi_some_avg10 >= 10) || available < 0.05) return PressureLevel::kHigh;
  if ((p.have_psi && p.psi_some_avg10 >= 1) || available < 0.15) return PressureLevel::kModerate;
  return PressureLevel::kNone;
}

MemoryPressure parse_memory_pressure(const std::string& psi_text, const std::string& meminfo_text) {
  MemoryPressure out;
  if (const auto psi = parse_psi_memory(psi_text)) {
    out.have_psi = true;
    out.psi_some_avg10 = psi->some_avg10;
  }
  if (const auto meminfo = parse_meminfo(meminfo_text)) {
    out.mem_total_bytes = meminfo->total_bytes;
    out.mem_available_bytes = meminfo->available_bytes;
  }
  out.level = classify_pressure(out);
  return out;
}

MemoryPressure read_memory_pressure() {
  return parse_memory_pressure(read_text("/proc/pressure/memory"), read_text("/proc/meminfo"));
}

const char* to_string(PressureLevel level) {
  switch (level) {
    case PressureLevel::kNone:
      return "none";
    case PressureLevel::kModerate:
      return "moderate";
    case PressureLevel::kHigh:
      return "high";
  }
  return "?";
}

PressureResponse response_to(PressureLevel level) {
  switch (level) {
    case PressureLevel::kNone:
      return {1, 0};
    case PressureLevel::kModerate:
      return {2, 30};
    case PressureLevel::kHigh:
      return {4, 10};
  }
  return {};
}

}  // namespace singleton
