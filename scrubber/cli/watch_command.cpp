#include "scrubber/cli/watch_command.hpp"

#include <iostream>

#include "scrubber/watch/watch_loop.hpp"
#include "scrubber/watch/watch_options.hpp"

namespace singleton {

int run_watch_command(const std::vector<std::string>& args) {
  const WatchCommandLine command = parse_watch_command_line(args);
  if (command.help) {
    std::cout << command.help_text;
    return 0;
  }
  WatchLoop loop(
      command.options, [args] { return parse_watch_command_line(args).options; }, std::cerr);
  return command.options.once ? loop.run_once() : loop.run();
}

}  // namespace singleton
