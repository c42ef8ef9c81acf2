// `--evict-when pressure`: whether memory is needed now, and how much. Duplicates (host copies of
// blocks a guest holds) are a free second copy while memory is free; they should go first when
// memory is needed, before the kernel's LRU takes host-only pages or the guests' memory. Each
// signal says "needed" and, where it can, how many bytes are short:
//   - a memory cgroup (--pressure-cgroup: libvirt's machine.slice, a benchmark's cgroup) whose
//     usage is within --pressure-headroom of its limit: the kernel is about to reclaim in it.
//     Short: headroom wanted - headroom left. The earliest and most precise signal: page cache
//     is charged to the cgroup that read it, so a full cache sits at the limit.
//   - host MemAvailable under --pressure-available percent of MemTotal. Short: the difference.
//     A late signal (MemAvailable counts page cache as available), kept for hosts without a
//     cgroup around their VMs.
//   - PSI memory "some" avg10 at or above --pressure-psi percent: tasks already stall. No amount:
//     one --evict-step.
// What one step evicts: the largest shortfall, at least 1 MiB, at most --evict-step.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "scrubber/pressure/pressure_sources.hpp"

namespace singleton {

// --evict-when: always (evict duplicates as soon as they are found) | pressure.
enum class EvictWhen { kAlways, kPressure };
EvictWhen evict_when_from_string(const std::string& text);  // throws Error(kUsage)
const char* to_string(EvictWhen when);

// --evict-order: which duplicates go first under pressure, by when the placement tracker saw the
// guest read (or write) the block. newest: the guest's most recent blocks, which its own LRU
// keeps longest, so the host copy is the least likely to be needed; oldest: the reverse.
enum class EvictOrder { kNewest, kOldest };
EvictOrder evict_order_from_string(const std::string& text);  // throws Error(kUsage)
const char* to_string(EvictOrder order);

// --pressure-headroom auto: max(16 MiB, 5% of the cgroup's limit). Also what `singleton advise`
// and bench/sim model the watch with.
uint64_t auto_headroom_bytes(uint64_t limit_bytes);

struct PressureSettings {
  EvictWhen when = EvictWhen::kAlways;
  std::string cgroup;                      // "" = no cgroup signal
  uint64_t headroom_bytes = 0;             // 0 = max(16 MiB, 5% of the cgroup's limit)
  double available_percent = 5;            // 0 = no MemAvailable signal
  double psi_percent = 10;                 // 0 = no PSI signal
  uint64_t step_bytes = uint64_t{16} << 20;
  EvictOrder order = EvictOrder::kNewest;
  bool operator==(const PressureSettings&) const = default;
};

struct PressureReading {
  bool needed = false;       // evict duplicates now
  uint64_t evict_bytes = 0;  // how much (0 when not needed)
  std::string reason;        // which signal, with its figures ("" when not needed)
  // The figures, for metrics (absent signals: nullopt).
  std::optional<MemInfo> meminfo;
  std::optional<PsiMemory> psi;
  std::optional<CgroupMemory> cgroup;
};

// The decision from figures already read (unit tests: from files given as data).
PressureReading judge_pressure(const PressureSettings& settings, std::optional<MemInfo> meminfo,
                               std::optional<PsiMemory> psi, std::optional<CgroupMemory> cgroup);

class PressureGauge {
 public:
  // Opens the cgroup (throws Error(kUsage) when --pressure-cgroup is not a memory cgroup).
  // `proc` is where meminfo and pressure/memory are read (tests: a directory of data files).
  explicit PressureGauge(PressureSettings settings, std::string proc = "/proc");
  PressureReading read() const;
  const PressureSettings& settings() const { return settings_; }
  // The cgroup directory resolved ("" without one), and its version (1, 2; 0 without one).
  std::string cgroup_path() const { return cgroup_ ? cgroup_->path() : ""; }
  int cgroup_version() const { return cgroup_ ? cgroup_->version() : 0; }

 private:
  PressureSettings settings_;
  std::string proc_;
  std::optional<CgroupMemoryFiles> cgroup_;
};

}  // namespace singleton
