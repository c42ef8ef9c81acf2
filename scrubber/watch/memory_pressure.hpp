// How short of memory the host is: PSI (/proc/pressure/memory) and MemAvailable. Like Singleton,
// the watch loop scrubs harder (a larger CPU budget, periodic sweeps of every image) when memory
// is short and only follows the guests' I/O when it is not.
#pragma once

#include <cstdint>
#include <string>

namespace singleton {

enum class PressureLevel { kNone = 0, kModerate = 1, kHigh = 2 };

struct MemoryPressure {
  bool have_psi = false;
  double psi_some_avg10 = 0;  // percent of the last 10 s some task stalled on memory
  uint64_t mem_total_bytes = 0;
  uint64_t mem_available_bytes = 0;
  PressureLevel level = PressureLevel::kNone;
};

// Levels: high when PSI some avg10 >= 10% or MemAvailable < 5% of MemTotal; moderate when PSI
// some avg10 >= 1% or MemAvailable < 15%; none otherwise.
PressureLevel classify_pressure(const MemoryPressure& pressure);

// From the texts of /proc/pressure/memory ("" when the kernel has no PSI) and /proc/meminfo.
MemoryPressure parse_memory_pressure(const std::string& psi_text, const std::string& meminfo_text);

// Reads both files now.
MemoryPressure read_memory_pressure();

const char* to_string(PressureLevel level);

// What the loop does at a level: the CPU budget is multiplied by budget_factor (at most one
// core), and every image is swept (all VMs re-indexed, all images scanned) every
// sweep_seconds (0: never; only I/O triggers).
struct PressureResponse {
  double budget_factor = 1;
  double sweep_seconds = 0;
};
PressureResponse response_to(PressureLevel level);

}  // namespace singleton
