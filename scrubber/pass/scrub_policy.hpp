// When a host page of an image counts as held by the guests attached to that image.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "snapshot/memory/page_index.hpp"

namespace singleton {

// For an image attached to several VMs (a shared backing file):
// - kAll (default): evict only when every attached VM holds the content. The host copy still
//   serves the VMs that lack it, and one tenant's memory never decides what another tenant
//   waits for (no cross-VM timing signal).
// - kAny: evict when one VM holds it: a smaller host cache, at the cost of re-reads by the others.
enum class SharedPolicy { kAll, kAny };

// "all" | "any"; throws Error(kUsage) otherwise.
SharedPolicy shared_policy_from_string(const std::string& text);
const char* to_string(SharedPolicy policy);

class ScrubPolicy {
 public:
  explicit ScrubPolicy(SharedPolicy shared) : shared_(shared) {}

  // True when the content `hash` is held per the policy by `holders` (the indices of the VMs
  // attached to the image). No holder: nothing is held.
  bool held(uint64_t hash, std::span<const PageIndex* const> holders) const;

  SharedPolicy shared() const { return shared_; }

 private:
  SharedPolicy shared_;
};

}  // namespace singleton
