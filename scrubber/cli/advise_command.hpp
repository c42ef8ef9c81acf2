// `singleton advise --trace FILE [--json]`: replays a recorded `singleton trace` through the
// cache model (scrubber/advise) at this host's sizes and says, per policy, the expected host
// hits and device reads, and which policy and settings to run.
#pragma once

#include <string>
#include <vector>

namespace singleton {

// args: the words after `advise`. Returns 0; throws Error(kUsage) for a bad option, a trace
// file that cannot be read, or a line of it that is not a trace line (naming the line).
int run_advise_command(const std::vector<std::string>& args);

}  // namespace singleton
