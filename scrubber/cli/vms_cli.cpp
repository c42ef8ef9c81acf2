#include "scrubber/cli/vms_cli.hpp"

#include <boost/program_options.hpp>
#include <iostream>

#include "scrubber/config/cli_text.hpp"
#include "scrubber/pass/vm_selection.hpp"
#include "snapshot/base/error.hpp"
#include "scrubber/cli/vms_command.hpp"

namespace singleton {
namespace po = boost::program_options;

int run_vms_cli(const std::vector<std::string>& args) {
  po::options_description options(
      "Usage: singleton vms [--json] [--connect URI] [--pid PID --image PATH]...\n"
      "Lists the VMs found (libvirt domains, QEMU processes), their RAM and disks.\nOptions");
  std::string uri;
  std::vector<std::string> pids;
  std::vector<std::string> images;
  options.add_options()("help,h", "this help")("json", "print JSON")(
      "connect", po::value(&uri), "libvirt URI (default qemu:///system)")(
      "pid", po::value(&pids)->composing(), "an explicit VM's process id (repeatable)")(
      "image", po::value(&images)->composing(), "its disk image (repeatable)");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(options).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(ExitCode::kUsage, std::string(e.what()) + " (see singleton vms --help)");
  }
  if (vm.count("help")) {
    std::cout << options << "\n" << kExitCodesHelp;
    return 0;
  }
  VmsCommandOptions command;
  command.json = vm.count("json") != 0;
  if (!uri.empty()) {
    command.discovery.libvirt_uri = uri;
    command.discovery.libvirt_uri_given = true;
  }
  if (!pids.empty() || !images.empty()) {
    std::vector<pid_t> parsed;
    for (const auto& text : pids) parsed.push_back(parse_pid(text));
    command.discovery.explicit_vms = pair_explicit_args(parsed, images);
  }
  return run_vms_command(command, std::cout, std::cerr);
}

}  // namespace singleton
