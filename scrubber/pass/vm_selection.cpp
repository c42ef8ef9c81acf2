#include "scrubber/pass/vm_selection.hpp"

#include <sys/stat.h>

#include "scrubber/pagecache/read_only_file.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {

DiscoveryOptions discovery_options(const VmSelectionOptions& selection) {
  check_vm_selection(selection);
  DiscoveryOptions discovery;
  if (!selection.connect_uri.empty()) {
    discovery.libvirt_uri = selection.connect_uri;
    discovery.libvirt_uri_given = true;
  }
  if (!selection.pids.empty()) {
    std::vector<pid_t> pids;
    for (const std::string& text : selection.pids) pids.push_back(parse_pid(text));
    discovery.explicit_vms = pair_explicit_args(pids, selection.images);
  }
  return discovery;
}

void require_every_pattern_matches(const std::vector<std::string>& patterns,
                                   const std::vector<Vm>& found) {
  for (const std::string& pattern : patterns) {
    bool matched = false;
    for (const Vm& vm : found) matched = matched || vm_name_selected({pattern}, vm.name);
    if (!matched) {
      std::string known;
      for (const Vm& vm : found) known += (known.empty() ? "" : ", ") + vm.name;
      throw Error(ExitCode::kUsage, "--vm " + pattern + ": no such VM (found: " +
                                        (known.empty() ? "none" : known) + ")");
    }
  }
}

VmSelection select_vms(const VmSelectionOptions& selection) {
  const DiscoveryOptions discovery = discovery_options(selection);
  for (const std::string& text : selection.pids) {
    struct stat st {};
    if (::stat(("/proc/" + text).c_str(), &st) != 0) {
      throw Error(ExitCode::kUsage, "--pid " + text + ": no such process");
    }
  }
  for (const std::string& path : selection.images) {
    // Open once now, so that a missing or unreadable image is a usage error before any work.
    try {
      ReadOnlyFile probe(path);
    } catch (const Error& e) {
      throw Error(ExitCode::kUsage, std::string("--image: ") + e.what());
    }
  }

  DiscoveryResult found = discover_vms(discovery);
  VmSelection out;
  for (const DiscoveryProblem& problem : found.problems) {
    if (problem.debug) continue;  // a process of another user that looks like QEMU: ignored
    if (problem.warning) {
      out.warnings.push_back(problem.message);
    } else if (problem.code == ExitCode::kUsage || problem.code == ExitCode::kEnvironment) {
      throw Error(problem.code, problem.message);
    } else {
      out.errors.push_back(problem.message);
    }
  }
  require_every_pattern_matches(selection.patterns, found.vms);
  for (Vm& vm : found.vms) {
    if (vm_name_selected(selection.patterns, vm.name)) out.vms.push_back(std::move(vm));
  }
  if (out.vms.empty() && out.errors.empty()) {
    throw Error(ExitCode::kUsage,
                "no VM found (libvirt domains or QEMU processes); name one "
                "with --vm PATTERN or --pid PID --image PATH");
  }
  return out;
}

}  // namespace singleton
