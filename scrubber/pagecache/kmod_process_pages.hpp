// The module's PROCESS_PAGES ioctl as the snapshot's in-place hasher: a guest's pages hashed
// where they are, at about the speed of XXH64, KSM pages left merged (see in_place_hasher.hpp).
#pragma once

#include <memory>
#include <string>

#include "snapshot/base/unique_fd.hpp"
#include "snapshot/memory/in_place_hasher.hpp"

namespace singleton {

class KmodProcessPages : public InPlaceHasher {
 public:
  // Opens /dev/singleton_pcache; throws Error(kEnvironment) when the module is not loaded, is of
  // another ABI, or has no PROCESS_PAGES.
  KmodProcessPages();
  std::string name() const override { return "kmod"; }
  std::unique_ptr<InPlaceProcessPages> open(pid_t pid) const override;

 private:
  UniqueFd dev_;
};

// The module's in-place hasher when it is loaded and can, else nullptr (`why` says why not).
std::unique_ptr<InPlaceHasher> make_kmod_process_pages(std::string* why = nullptr);

}  // namespace singleton
