// /proc/kpageflags: what the kernel knows of a physical page (is it a KSM page? the zero page?).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "snapshot/base/unique_fd.hpp"
#include "snapshot/memory/pagemap.hpp"

namespace singleton {

// Bits of include/uapi/linux/kernel-page-flags.h.
inline constexpr uint64_t kKpfKsm = uint64_t{1} << 21;
inline constexpr uint64_t kKpfThp = uint64_t{1} << 22;
inline constexpr uint64_t kKpfZeroPage = uint64_t{1} << 24;

class KpageflagsReader;

// The kpageflags of each page of a pagemap window, asked only for the frames more than this
// process maps (only those can be KSM frames or the zero page; exclusive pages get 0), sorted so
// that nearby frames come in one read. Keeps its buffers from one window to the next.
class WindowFrameFlags {
 public:
  // flags()[i] belongs to window[i]; valid until the next call.
  std::span<const uint64_t> read(std::span<const PagemapEntry> window,
                                 const KpageflagsReader& kpageflags);

 private:
  std::vector<std::pair<uint64_t, size_t>> shared_;  // (pfn, index in the window)
  std::vector<uint64_t> pfns_, flags_, page_flags_;
};

class KpageflagsReader {
 public:
  // Opens /proc/kpageflags (root only). valid() is false when it cannot be opened; callers then
  // treat every page as an ordinary one (correct, only slower).
  KpageflagsReader();
  bool valid() const { return fd_.valid(); }

  // flags[i] = flags of pfns[i]; `pfns` must be sorted ascending (nearby frames are read in one
  // call). A frame that cannot be read gets 0. Throws nothing.
  void read(std::span<const uint64_t> pfns, std::span<uint64_t> flags) const;

 private:
  UniqueFd fd_;
};

}  // namespace singleton
