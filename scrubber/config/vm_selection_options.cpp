#include "scrubber/config/vm_selection_options.hpp"

#include <fnmatch.h>

#include <charconv>
#include <climits>

#include "snapshot/base/error.hpp"

namespace singleton {
namespace po = boost::program_options;

void add_vm_selection_options(po::options_description& options, VmSelectionOptions& out) {
  options.add_options()("vm", po::value(&out.patterns)->composing(),
                        "VM name or shell glob (repeatable; default: every VM found)")(
      "pid", po::value(&out.pids)->composing(), "QEMU process id (with --image; repeatable)")(
      "image", po::value(&out.images)->composing(), "disk image of the --pid VM (repeatable)")(
      "connect", po::value(&out.connect_uri), "libvirt URI (default: qemu:///system)");
}

void check_vm_selection(const VmSelectionOptions& selection) {
  if (!selection.patterns.empty() && (!selection.pids.empty() || !selection.images.empty())) {
    throw Error(ExitCode::kUsage, "--vm and --pid/--image cannot be combined");
  }
  if (!selection.images.empty() && selection.pids.empty()) {
    throw Error(ExitCode::kUsage, "--image needs --pid: whose memory holds this image's pages?");
  }
  if (!selection.pids.empty() && selection.images.empty()) {
    throw Error(ExitCode::kUsage, "--pid needs --image: which disk image does this VM use?");
  }
  for (const std::string& pid : selection.pids) parse_pid(pid);
}

bool vm_name_selected(const std::vector<std::string>& patterns, const std::string& name) {
  if (patterns.empty()) return true;
  for (const std::string& pattern : patterns) {
    if (pattern == name || ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

pid_t parse_pid(const std::string& text) {
  long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value <= 0 ||
      value > INT_MAX) {
    throw Error(ExitCode::kUsage, "invalid --pid '" + text +
                                      "': expected a process id, a whole number from 1 to " +
                                      std::to_string(INT_MAX));
  }
  return static_cast<pid_t>(value);
}

}  // namespace singleton
