// Backing chains the discovery source did not state, from `qemu-img info --backing-chain`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace singleton {

// The backing files below the top image in `qemu-img info --backing-chain --output=json` output,
// nearest first. Throws Error(kPartial) naming `origin` on malformed output.
std::vector<std::string> parse_qemu_img_backing_chain(std::string_view json_text,
                                                      const std::string& origin);

// Runs qemu-img (with -U: the image is open by a running VM; always with -f FORMAT, never probing)
// confined: as nobody, with bounded memory, CPU and fds, killed after a timeout (run_confined).
// Discovery does not use it (it reads chains from the files the VMM holds open: held_disks.hpp); it
// is for images a user may read anyway. Throws Error naming the image, Error(kUsage) when `format`
// is empty.
std::vector<std::string> query_backing_chain(const std::string& path, const std::string& format);

}  // namespace singleton
