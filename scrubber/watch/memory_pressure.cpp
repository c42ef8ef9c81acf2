#include "scrubber/watch/memory_pressure.hpp"

#include <fstream>
#include <sstream>

namespace singleton {
namespace {

std::string read_text(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  if (in) text << in.rdbuf();
  return text.str();
}

uint64_t meminfo_kib(const std::string& meminfo, const std::string& key) {
  const auto at = meminfo.find(key + ":");
  if (at == std::string::npos) return 0;
  std::istringstream in(meminfo.substr(at + key.size() + 1));
  uint64_t kib = 0;
  in >> kib;
  return kib;
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
  // "some avg10=0.00 avg60=0.00 avg300=0.00 total=0"
  const auto some = psi_text.find("some ");
  if (some != std::string::npos) {
    const auto avg10 = psi_text.find("avg10=", some);
    if (avg10 != std::string::npos) {
      try {
        out.psi_some_avg10 = std::stod(psi_text.substr(avg10 + 6));
        out.have_psi = true;
      } catch (const std::exception&) {
        out.have_psi = false;
      }
    }
  }
  out.mem_total_bytes = meminfo_kib(meminfo_text, "MemTotal") * 1024;
  out.mem_available_bytes = meminfo_kib(meminfo_text, "MemAvailable") * 1024;
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
