#include "scrubber/pass/scrub_policy.hpp"

#include "snapshot/base/error.hpp"

namespace singleton {

SharedPolicy shared_policy_from_string(const std::string& text) {
  if (text == "all") return SharedPolicy::kAll;
  if (text == "any") return SharedPolicy::kAny;
  throw Error(ExitCode::kUsage, "unknown --shared-policy '" + text + "' (expected all or any)");
}

const char* to_string(SharedPolicy policy) { return policy == SharedPolicy::kAll ? "all" : "any"; }

bool ScrubPolicy::held(uint64_t hash, std::span<const PageIndex* const> holders) const {
  if (holders.empty()) return false;
  for (const PageIndex* index : holders) {
    const bool has = index->contains(hash);
    if (shared_ == SharedPolicy::kAny && has) return true;
    if (shared_ == SharedPolicy::kAll && !has) return false;
  }
  return shared_ == SharedPolicy::kAll;
}

}  // namespace singleton
