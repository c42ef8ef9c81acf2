// /proc/kpageflags: what the kernel knows of a physical page (is it a KSM page? the zero page?).
#pragma once

#include <cstdint>
#include <span>

#include "snapshot/base/unique_fd.hpp"

namespace singleton {

// Bits of include/uapi/linux/kernel-page-flags.h.
inline constexpr uint64_t kKpfKsm = uint64_t{1} << 21;
inline constexpr uint64_t kKpfThp = uint64_t{1} << 22;
inline constexpr uint64_t kKpfZeroPage = uint64_t{1} << 24;

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
