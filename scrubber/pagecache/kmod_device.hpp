// /dev/singleton_pcache, opened and its ABI checked once for every user of the module (the page
// cache view, the in-place hasher of guest RAM).
#pragma once

#include <cstdint>

#include "snapshot/base/unique_fd.hpp"

namespace singleton {

// The device, when the loaded module has this build's ABI major, at least its minor, every bit
// of `features` (SG_PCACHE_FEAT_*) and 4 KiB pages. Throws Error(kEnvironment) saying which is
// missing (not loaded, another ABI, a feature).
UniqueFd open_kmod_device(uint64_t features);

}  // namespace singleton
