// QEMU processes found in /proc (not managed by libvirt, or libvirt not consulted), and VMs
// the user named with --pid/--image.
#pragma once

#include <set>
#include <vector>

#include "snapshot/discovery/discovered_disk.hpp"
#include "snapshot/discovery/discovery.hpp"

namespace singleton {

struct ProcVm {
  Vm vm;  // vm.disks empty: see `disks`
  std::vector<DiscoveredDisk> disks;
};

// Every live QEMU process except those in `skip`, taken only when it runs as one of `vm_uids` from
// a root-owned executable (process_trust.hpp); others are left out with a debug problem. Disks from
// -drive/-blockdev/-hdX (relative paths resolved against QEMU's cwd), else from its open files that
// look like images; admit_disks() decides which of them are its disks. A command line beyond the
// bounds of discovery_limits.hpp is an error for that process.
std::vector<ProcVm> discover_proc_vms(const std::set<pid_t>& skip, const std::set<uid_t>& vm_uids,
                                      std::vector<DiscoveryProblem>& problems);

// A process of any VMM with the images the user named (resolved with realpath). Problems (no such
// process, no such image) go to `problems`; nullopt when the process does not exist. Whether the
// process holds the images open is for admit_disks() to say.
std::optional<ProcVm> describe_explicit_vm(const ExplicitVmSpec& spec,
                                           std::vector<DiscoveryProblem>& problems);

}  // namespace singleton
