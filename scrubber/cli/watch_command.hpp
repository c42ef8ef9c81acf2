// `singleton watch` (long-running; --once for one pass from cron or a timer).
#pragma once

#include <string>
#include <vector>

namespace singleton {

// args: the words after `watch`. Returns the exit code; throws Error for usage (2) and
// environment (3) errors.
int run_watch_command(const std::vector<std::string>& args);

}  // namespace singleton
