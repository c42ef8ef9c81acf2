#include "scrubber/pass/vm_selection.hpp"

#include <sys/stat.h>

#include <charconv>
#include <climits>

#include "scrubber/pagecache/read_only_file.hpp"
#include "snapshot/discovery/discovery.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {

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

VmSelection select_vms(const VmSelectionOptions& options) {
  DiscoveryOptions discovery;
  if (!options.connect_uri.empty()) {
    discovery.libvirt_uri = options.connect_uri;
    discovery.libvirt_uri_given = true;
  }
  const bool explicit_vms = !options.pids.empty() || !options.images.empty();
  if (explicit_vms) {
    if (!options.names.empty()) {
      throw Error(ExitCode::kUsage, "--vm and --pid/--image cannot be combined in one pass");
    }
    if (options.pids.empty()) {
      throw Error(ExitCode::kUsage, "--image needs --pid: whose memory holds this image's pages?");
    }
    if (options.images.empty()) {
      throw Error(ExitCode::kUsage, "--pid needs --image: which disk image does this VM use?");
    }
    std::vector<pid_t> pids;
    for (const std::string& text : options.pids) {
      pids.push_back(parse_pid(text));
      struct stat st {};
      if (::stat(("/proc/" + text).c_str(), &st) != 0) {
        throw Error(ExitCode::kUsage, "--pid " + text + ": no such process");
      }
    }
    for (const std::string& path : options.images) {
      // Open once now, so that a missing or unreadable image is a usage error before any work.
      try {
        ReadOnlyFile probe(path);
      } catch (const Error& e) {
        throw Error(ExitCode::kUsage, std::string("--image: ") + e.what());
      }
    }
    discovery.explicit_vms = pair_explicit_args(pids, options.images);
  }

  DiscoveryResult found = discover_vms(discovery);
  VmSelection selection;
  for (const DiscoveryProblem& problem : found.problems) {
    if (problem.debug) continue;  // a process of another user that looks like QEMU: ignored
    if (problem.warning) {
      selection.warnings.push_back(problem.message);
    } else if (problem.code == ExitCode::kUsage || problem.code == ExitCode::kEnvironment) {
      throw Error(problem.code, problem.message);
    } else {
      selection.errors.push_back(problem.message);
    }
  }
  if (options.names.empty()) {
    selection.vms = std::move(found.vms);
    if (selection.vms.empty() && selection.errors.empty()) {
      throw Error(ExitCode::kUsage,
                  "no VM found (libvirt domains or QEMU processes); name one "
                  "with --vm NAME or --pid PID --image PATH");
    }
    return selection;
  }
  for (const std::string& name : options.names) {
    bool matched = false;
    for (const Vm& vm : found.vms) {
      if (vm.name == name) {
        selection.vms.push_back(vm);
        matched = true;
      }
    }
    if (!matched) {
      std::string known;
      for (const Vm& vm : found.vms) known += (known.empty() ? "" : ", ") + vm.name;
      throw Error(ExitCode::kUsage, "--vm " + name + ": no such VM (found: " +
                                        (known.empty() ? "none" : known) + ")");
    }
  }
  return selection;
}

}  // namespace singleton
