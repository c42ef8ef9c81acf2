// `singleton scan` (a dry run: what would be evicted) and `singleton scrub` (one pass).
#pragma once

#include <string>
#include <vector>

namespace singleton {

// args: the words after the command name. Returns the exit code; throws Error for usage,
// environment and configuration errors (the caller prints them and exits with their code).
int run_pass_command(bool evict, const std::vector<std::string>& args);

}  // namespace singleton
