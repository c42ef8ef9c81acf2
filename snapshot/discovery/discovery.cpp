#include "snapshot/discovery/discovery.hpp"

#include <algorithm>
#include <set>

#include "snapshot/discovery/held_disks.hpp"
#include "snapshot/discovery/libvirt_discovery.hpp"
#include "snapshot/discovery/proc_discovery.hpp"

namespace singleton {
namespace {

// Keeps of the discovered disks those the VM's process holds open (held_disks.hpp). False when the
// VM exceeded a bound and is to be left out.
bool attach_disks(Vm& vm, std::vector<DiscoveredDisk> disks, bool explicit_images,
                  const DiscoveryOptions& options, std::vector<DiscoveryProblem>& problems) {
  const HeldFiles held(vm.pid);
  auto admitted =
      admit_disks(held, std::move(disks),
                  {describe_vm(vm), explicit_images, options.resolve_backing_chains}, problems);
  if (!admitted) return false;
  vm.disks = std::move(*admitted);
  return true;
}

}  // namespace

ExitCode DiscoveryResult::exit_code() const {
  ExitCode worst = ExitCode::kDone;
  for (const auto& problem : problems) {
    if (problem.warning) continue;
    if (static_cast<int>(problem.code) > static_cast<int>(worst)) worst = problem.code;
  }
  return worst;
}

DiscoveryResult discover_vms(const DiscoveryOptions& options) {
  DiscoveryResult result;
  std::set<pid_t> seen;
  bool scan = options.explicit_vms.empty() || options.also_scan_with_explicit;

  if (scan && options.use_libvirt) {
    std::vector<LibvirtVm> found;
    try {
      discover_libvirt_vms(options.libvirt_uri, found, result.problems);
    } catch (const Error& e) {
      // On a host without libvirt the default URI failing is expected, not an error.
      result.problems.push_back({0, e.what(), e.code(), !options.libvirt_uri_given});
    }
    for (auto& vm : found) {
      if (!seen.insert(vm.vm.pid).second) continue;
      if (attach_disks(vm.vm, std::move(vm.disks), false, options, result.problems))
        result.vms.push_back(std::move(vm.vm));
    }
  }

  std::set<pid_t> explicit_pids;
  for (const auto& spec : options.explicit_vms) explicit_pids.insert(spec.pid);
  if (scan && options.scan_proc) {
    std::set<pid_t> skip = seen;
    skip.insert(explicit_pids.begin(), explicit_pids.end());
    try {
      for (auto& vm :
           discover_proc_vms(skip, resolve_vm_users(options.vm_users), result.problems)) {
        seen.insert(vm.vm.pid);
        if (attach_disks(vm.vm, std::move(vm.disks), false, options, result.problems))
          result.vms.push_back(std::move(vm.vm));
      }
    } catch (const Error& e) {
      result.problems.push_back({0, std::string("/proc scan: ") + e.what(), e.code(), false});
    }
  }

  for (const auto& spec : options.explicit_vms) {
    auto vm = describe_explicit_vm(spec, result.problems);
    if (!vm) continue;
    // An explicit VM also found by a scan: the user's description wins.
    auto same = std::find_if(result.vms.begin(), result.vms.end(),
                             [&](const Vm& other) { return other.pid == spec.pid; });
    if (same != result.vms.end()) result.vms.erase(same);
    if (attach_disks(vm->vm, std::move(vm->disks), true, options, result.problems))
      result.vms.push_back(std::move(vm->vm));
  }
  return result;
}

std::vector<ExplicitVmSpec> pair_explicit_args(const std::vector<pid_t>& pids,
                                               const std::vector<std::string>& images) {
  std::vector<ExplicitVmSpec> specs;
  if (pids.empty()) {
    if (!images.empty()) throw Error(ExitCode::kUsage, "--image needs a --pid");
    return specs;
  }
  if (pids.size() == 1) {
    specs.push_back({pids[0], images});
  } else if (images.empty() || images.size() == pids.size()) {
    for (size_t i = 0; i < pids.size(); ++i)
      specs.push_back({pids[i], images.empty() ? std::vector<std::string>{}
                                               : std::vector<std::string>{images[i]}});
  } else {
    throw Error(ExitCode::kUsage, std::to_string(pids.size()) + " --pid and " +
                                      std::to_string(images.size()) +
                                      " --image: give one --pid, or one --image per --pid");
  }
  return specs;
}

}  // namespace singleton
