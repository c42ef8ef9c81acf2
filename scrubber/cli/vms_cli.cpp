#include "scrubber/cli/vms_cli.hpp"

#include <boost/program_options.hpp>
#include <iostream>

#include "scrubber/config/cli_text.hpp"
#include "scrubber/config/command_line.hpp"
#include "scrubber/pass/vm_selection.hpp"
#include "snapshot/base/error.hpp"
#include "scrubber/cli/vms_command.hpp"

namespace singleton {
namespace po = boost::program_options;

int run_vms_cli(const std::vector<std::string>& args) {
  po::options_description options(
      "Usage: singleton vms [--json] [--vm PATTERN]... [--connect URI] [--pid PID --image "
      "PATH]...\nLists the VMs found (libvirt domains, QEMU processes), their RAM and "
      "disks.\nOptions");
  VmSelectionOptions selection;
  options.add_options()("help,h", "this help")("json", "print JSON");
  add_vm_selection_options(options, selection);
  const po::variables_map vm = parse_command_line(args, options, "vms");
  if (vm.count("help")) {
    std::cout << options << "\n" << kExitCodesHelp;
    return 0;
  }
  VmsCommandOptions command;
  command.json = vm.count("json") != 0;
  command.discovery = discovery_options(selection);
  command.vm_patterns = selection.patterns;
  return run_vms_command(command, std::cout, std::cerr);
}

}  // namespace singleton
