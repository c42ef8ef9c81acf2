// The memory regions (VMAs) of a process, from /proc/PID/smaps, and which of them hold guest RAM.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace singleton {

struct MemoryRegion {
  uint64_t start = 0;  // first byte
  uint64_t end = 0;    // one past the last byte
  std::string perms;   // "rw-p"
  uint64_t inode = 0;
  std::string pathname;               // "" for anonymous memory
  uint64_t rss_bytes = 0;             // "Rss:"
  std::vector<std::string> vm_flags;  // "VmFlags:" two-letter codes

  uint64_t size() const { return end - start; }
  bool has_flag(std::string_view flag) const;
  // Marked MADV_MERGEABLE ("mg"): what KSM scans, and where QEMU keeps guest RAM.
  bool mergeable() const { return has_flag("mg"); }
  // Private anonymous memory or a memfd: RAM of VMMs that do not mark it mergeable.
  bool anonymous() const;
};

// Which regions of a VMM hold guest RAM.
enum class RegionSelection {
  kMergeable,  // VmFlags contain "mg" (QEMU, and any VMM that enables KSM)
  kAnonymous,  // every readable, writable anonymous or memfd region
};

const char* to_string(RegionSelection selection);
// Accepts "mergeable"/"mg"/"ksm" and "anon"/"anonymous"; throws Error(kUsage) otherwise.
RegionSelection region_selection_from_string(const std::string& text);

// Parses smaps text. Throws Error(kPartial) naming `origin` on a malformed header line.
std::vector<MemoryRegion> parse_smaps(std::string_view text, const std::string& origin);

// Reads and parses /proc/PID/smaps. Throws SystemError naming the pid (gone, no access).
std::vector<MemoryRegion> read_smaps(pid_t pid);

std::vector<MemoryRegion> select_regions(const std::vector<MemoryRegion>& regions,
                                         RegionSelection selection);

}  // namespace singleton
