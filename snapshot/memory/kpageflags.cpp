#include "snapshot/memory/kpageflags.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>

namespace singleton {
namespace {
// Frames within this many of the first of a group are read with one pread.
constexpr size_t kWindow = 512;
}  // namespace

KpageflagsReader::KpageflagsReader() : fd_(::open("/proc/kpageflags", O_RDONLY | O_CLOEXEC)) {}

void KpageflagsReader::read(std::span<const uint64_t> pfns, std::span<uint64_t> flags) const {
  std::fill(flags.begin(), flags.end(), 0);
  if (!valid()) return;
  std::array<uint64_t, kWindow> window;
  size_t i = 0;
  while (i < pfns.size()) {
    uint64_t first = pfns[i];
    size_t last = i;
    while (last + 1 < pfns.size() && pfns[last + 1] - first < kWindow) ++last;
    size_t count = pfns[last] - first + 1;
    ssize_t n = ::pread(fd_.get(), window.data(), count * sizeof(uint64_t),
                        static_cast<off_t>(first * sizeof(uint64_t)));
    size_t got = n > 0 ? static_cast<size_t>(n) / sizeof(uint64_t) : 0;
    for (size_t j = i; j <= last; ++j) {
      size_t at = pfns[j] - first;
      if (at < got) flags[j] = window[at];
    }
    i = last + 1;
  }
}

std::span<const uint64_t> WindowFrameFlags::read(std::span<const PagemapEntry> window,
                                                const KpageflagsReader& kpageflags) {
  shared_.clear();
  for (size_t i = 0; i < window.size(); ++i) {
    const PagemapEntry& entry = window[i];
    if (entry.present() && !entry.exclusive() && entry.pfn() != 0)
      shared_.push_back({entry.pfn(), i});
  }
  std::sort(shared_.begin(), shared_.end());
  pfns_.resize(shared_.size());
  flags_.resize(shared_.size());
  for (size_t j = 0; j < shared_.size(); ++j) pfns_[j] = shared_[j].first;
  kpageflags.read(pfns_, flags_);
  page_flags_.assign(window.size(), 0);
  for (size_t j = 0; j < shared_.size(); ++j) page_flags_[shared_[j].second] = flags_[j];
  return page_flags_;
}

}  // namespace singleton
