// Physical frames behind our own mappings and their flags, from /proc/self/pagemap,
// /proc/kpageflags and /proc/kpagecount (root only: without CAP_SYS_ADMIN the kernel hides PFNs).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "snapshot/base/unique_fd.hpp"

namespace singleton {

// Bits of /proc/kpageflags (include/uapi/linux/kernel-page-flags.h).
namespace kpf {
inline constexpr int kLocked = 0;
inline constexpr int kReferenced = 2;
inline constexpr int kUptodate = 3;
inline constexpr int kDirty = 4;
inline constexpr int kActive = 6;
inline constexpr int kWriteback = 8;
inline constexpr int kMmap = 11;
inline constexpr int kCompoundHead = 15;
inline constexpr int kCompoundTail = 16;
inline constexpr int kUnevictable = 18;
inline constexpr bool test(uint64_t flags, int bit) { return (flags >> bit) & 1; }
}  // namespace kpf

struct PageFrame {
  uint64_t pfn = 0;       // 0: not present in our page table
  uint64_t kflags = 0;    // /proc/kpageflags
  uint64_t mapcount = 0;  // /proc/kpagecount (our own mapping included)
};

class KernelPageFrames {
 public:
  // Opens the three files. Throws Error(ExitCode::kEnvironment) when they cannot be read
  // (not root, or a kernel without CONFIG_PROC_PAGE_MONITOR).
  KernelPageFrames();

  // Frames of the `pages` pages mapped at `addr` (page aligned), in order. Only pages present in
  // our page table have a pfn; read them (fault them in) first.
  std::vector<PageFrame> frames(const void* addr, size_t pages) const;

 private:
  // Reads 8-byte entries of `file` for `pfns` (sorted runs are read in one pread each).
  void read_by_pfn(const UniqueFd& file, const char* name, std::span<PageFrame> frames,
                   uint64_t PageFrame::*field) const;

  UniqueFd pagemap_;
  UniqueFd kpageflags_;
  UniqueFd kpagecount_;
};

}  // namespace singleton
