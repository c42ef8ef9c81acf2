// Why a double-cached page was not evicted: one enum, one name table (JSON keys, Prometheus
// labels, the text table and the help texts all take their names from kSkipReasons).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace singleton {

enum class SkipReason : uint8_t {
  kDirty,      // the folio holds a dirty page (modified, not yet written back)
  kWriteback,  // the folio is under writeback
  kMapped,     // the folio is mapped by a process
  kLocked,     // the folio is locked or unevictable
  kLimit,      // --max-evict was reached in this pass
  kBusy,       // still cached after eviction, for a reason the backend cannot tell (a race, ...)
};

struct SkipReasonInfo {
  SkipReason reason;
  std::string_view name;  // stable: JSON key, metric label
  std::string_view what;  // for help texts
};

inline constexpr std::array<SkipReasonInfo, 6> kSkipReasons{{
    {SkipReason::kDirty, "dirty", "a page of the folio is dirty"},
    {SkipReason::kWriteback, "writeback", "the folio is under writeback"},
    {SkipReason::kMapped, "mapped", "the folio is mapped by a process"},
    {SkipReason::kLocked, "locked", "the folio is locked or unevictable"},
    {SkipReason::kLimit, "limit", "--max-evict was reached"},
    {SkipReason::kBusy, "busy", "still cached after eviction (a race, or a reason unknown)"},
}};

// The table is indexed by the enum: each entry must sit at its reason's place.
static_assert([] {
  for (size_t i = 0; i < kSkipReasons.size(); ++i) {
    if (static_cast<size_t>(kSkipReasons[i].reason) != i) return false;
  }
  return true;
}());

constexpr std::string_view to_string(SkipReason reason) {
  return kSkipReasons[static_cast<size_t>(reason)].name;
}

// Pages not evicted, by reason.
class SkipCounts {
 public:
  uint64_t& operator[](SkipReason r) { return pages_[static_cast<size_t>(r)]; }
  uint64_t operator[](SkipReason r) const { return pages_[static_cast<size_t>(r)]; }
  uint64_t total() const {
    uint64_t sum = 0;
    for (uint64_t n : pages_) sum += n;
    return sum;
  }
  SkipCounts& operator+=(const SkipCounts& o) {
    for (size_t i = 0; i < pages_.size(); ++i) pages_[i] += o.pages_[i];
    return *this;
  }
  bool operator==(const SkipCounts&) const = default;

 private:
  std::array<uint64_t, kSkipReasons.size()> pages_{};
};

}  // namespace singleton
