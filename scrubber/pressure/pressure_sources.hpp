// The three signals of memory pressure, read from the kernel's text files: the host's
// MemAvailable (/proc/meminfo), PSI's memory stall (/proc/pressure/memory) and a memory cgroup's
// usage against its limit (cgroup v2: memory.current, memory.max, memory.high; v1:
// memory.usage_in_bytes, memory.limit_in_bytes). The parsers take the files' text, so tests give
// them as data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace singleton {

struct MemInfo {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;
};
// nullopt when MemTotal or MemAvailable is missing (MemAvailable: Linux 3.14 on).
std::optional<MemInfo> parse_meminfo(std::string_view text);

struct PsiMemory {
  double some_avg10 = 0;  // percent of the last 10 s in which some task stalled on memory
  double full_avg10 = 0;  // ... in which every non-idle task did (0 when the line is absent)
};
// nullopt for an empty or malformed text (a kernel without PSI, or psi=0).
std::optional<PsiMemory> parse_psi_memory(std::string_view text);

struct CgroupMemory {
  uint64_t usage_bytes = 0;
  uint64_t limit_bytes = UINT64_MAX;  // the lowest limit in force; UINT64_MAX: none
  // Headroom left before the kernel reclaims inside the cgroup; 0 at or over the limit.
  uint64_t headroom_bytes() const { return usage_bytes >= limit_bytes ? 0 : limit_bytes - usage_bytes; }
};

// v2: "max" is no limit; memory.high (reclaim and throttle) counts as a limit as memory.max
// does, the lower of the two wins. Throws Error(kUsage) naming the file for a malformed number.
CgroupMemory parse_cgroup_v2_memory(std::string_view current, std::string_view max,
                                    std::string_view high);
// v1: a limit of PAGE_COUNTER_MAX rounded to pages (9223372036854771712 on x86-64) or more is
// no limit.
CgroupMemory parse_cgroup_v1_memory(std::string_view usage, std::string_view limit);

// A memory cgroup directory, v1 or v2, checked when it is opened: `path` absolute
// (/sys/fs/cgroup/machine.slice, /sys/fs/cgroup/memory/machine.slice) or relative to the memory
// controller's root (machine.slice, found under /sys/fs/cgroup, /sys/fs/cgroup/memory,
// /sys/fs/cgroup/unified). Throws Error(kUsage) when it is not a memory cgroup (a typo must not
// turn into a watch that never sees pressure).
class CgroupMemoryFiles {
 public:
  explicit CgroupMemoryFiles(const std::string& path, const std::string& root = "/sys/fs/cgroup");
  const std::string& path() const { return path_; }
  int version() const { return version_; }
  // Reads the files now; throws Error(kEnvironment) when they went away (the cgroup removed).
  CgroupMemory read() const;

 private:
  std::string path_;
  int version_ = 0;
};

}  // namespace singleton
