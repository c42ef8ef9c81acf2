// The backing file name a qcow2 image's header names, read from the header itself rather than by
// running qemu-img on a path (which would open whatever the name points to, as root).
#pragma once

#include <optional>
#include <string>

namespace singleton {

// The backing file name in the qcow2 header of the open file `fd` (as written: may be relative to
// the image's directory), nullopt when the image has none. Throws Error(kPartial) naming `origin`
// when the header is not a qcow2 header or its name is out of bounds.
std::optional<std::string> qcow2_backing_name(int fd, const std::string& origin);

}  // namespace singleton
