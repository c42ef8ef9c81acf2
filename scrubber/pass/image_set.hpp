// The image files of a set of VMs, each file once (by device and inode), with the VMs attached
// to it: a backing file under several overlays is one image with several VMs.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "scrubber/pagecache/read_only_file.hpp"
#include "snapshot/discovery/vm.hpp"

namespace singleton {

struct Image {
  std::string path;
  std::optional<ReadOnlyFile> file;  // empty when it could not be opened (see error)
  std::vector<size_t> vms;           // indices into the VM list, ascending
  std::string error;                 // "" when usable
};

struct ImageSet {
  std::vector<Image> images;
  // Disks whose cache mode bypasses the host page cache (cache=none, directsync): never
  // scrubbed, listed so the report can say why.
  std::vector<std::string> uncached_disks;
};

// Every file of every disk (top image and backing chain) of `vms`. Files that cannot be opened
// become images with an error, under the path they were named by.
ImageSet collect_images(const std::vector<Vm>& vms);

}  // namespace singleton
