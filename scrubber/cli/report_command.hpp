// `singleton report`: where the host's memory goes, per VM and per image, and with --explain
// down to guest files (libguestfs). A dry run: changes nothing, adds nothing to any cache.
#pragma once

#include <string>
#include <vector>

namespace singleton {

// args: the words after `report`. Returns the exit code; throws Error for usage and environment
// errors.
int run_report_command(const std::vector<std::string>& args);

}  // namespace singleton
