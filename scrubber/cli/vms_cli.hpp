// `singleton vms`: its command line (the VM-selection options) for the command in vms_command.hpp.
#pragma once

#include <string>
#include <vector>

namespace singleton {

int run_vms_cli(const std::vector<std::string>& args);

}  // namespace singleton
