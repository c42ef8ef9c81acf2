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

// Runs qemu-img (with -U: the image is open by a running VM; with -f when the format is known,
// so that a raw image is never probed as something else). Throws Error naming the image.
std::vector<std::string> query_backing_chain(const std::string& path, const std::string& format);

}  // namespace singleton
