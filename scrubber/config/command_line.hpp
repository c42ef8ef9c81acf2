// Parsing a command's options the same way for every command: a bad option is a usage error
// (exit 2) that names the command's --help.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace singleton {

// Stores and notifies `args` against `options` (and `positional` when given). Throws
// Error(kUsage) "WHAT (see singleton COMMAND --help)" for anything program_options refuses.
boost::program_options::variables_map parse_command_line(
    const std::vector<std::string>& args,
    const boost::program_options::options_description& options, const std::string& command,
    const boost::program_options::positional_options_description* positional = nullptr);

}  // namespace singleton
