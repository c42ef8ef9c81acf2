#include "scrubber/config/command_line.hpp"

#include "snapshot/base/error.hpp"

namespace singleton {
namespace po = boost::program_options;

po::variables_map parse_command_line(const std::vector<std::string>& args,
                                     const po::options_description& options,
                                     const std::string& command,
                                     const po::positional_options_description* positional) {
  po::variables_map values;
  try {
    po::command_line_parser parser(args);
    parser.options(options);
    if (positional != nullptr) parser.positional(*positional);
    po::store(parser.run(), values);
    po::notify(values);
  } catch (const po::error& e) {
    throw Error(ExitCode::kUsage,
                std::string(e.what()) + " (see singleton " + command + " --help)");
  }
  return values;
}

}  // namespace singleton
