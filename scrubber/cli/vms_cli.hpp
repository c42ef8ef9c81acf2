// `singleton vms`: the command line of snapshot/'s vms command.
#pragma once

#include <string>
#include <vector>

namespace singleton {

int run_vms_cli(const std::vector<std::string>& args);

}  // namespace singleton
