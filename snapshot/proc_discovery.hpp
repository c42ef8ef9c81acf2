// QEMU processes found in /proc (not managed by libvirt, or libvirt not consulted), and VMs
// the user named with --pid/--image.
#pragma once

#include <set>
#include <vector>

#include "snapshot/discovered_disk.hpp"
#include "snapshot/discovery.hpp"

namespace singleton {

struct ProcVm {
  Vm vm;  // vm.disks empty: see `disks`
  std::vector<DiscoveredDisk> disks;
};

// Every live QEMU process except those in `skip`. Disks from -drive/-blockdev/-hdX (relative
// paths resolved against QEMU's cwd), else from its open regular files that look like images.
std::vector<ProcVm> discover_proc_vms(const std::set<pid_t>& skip);

// A process of any VMM with the images the user named. Problems (no such process, no such
// image) go to `problems`; nullopt when the process does not exist.
std::optional<ProcVm> describe_explicit_vm(const ExplicitVmSpec& spec,
                                           std::vector<DiscoveryProblem>& problems);

}  // namespace singleton
