// A disk as a discovery source describes it, before its backing chain is resolved.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "snapshot/discovery/vm.hpp"

namespace singleton {

struct DiscoveredDisk {
  VmDisk disk;
  // The source said what the backing chain is (possibly "none"). When false, discovery asks
  // `qemu-img info --backing-chain` (QEMU opens backing files named in the image header).
  bool backing_known = false;
};

// Bytes for a QEMU/libvirt size with a unit suffix ("512" in `default_unit`, "2G", "4096KiB",
// "1 GiB"). nullopt for anything else. K/M/G/T and KiB/... are binary (QEMU, libvirt); libvirt's
// KB/MB/GB/TB are decimal.
std::optional<uint64_t> parse_size_with_unit(std::string_view text, uint64_t default_unit);

}  // namespace singleton
