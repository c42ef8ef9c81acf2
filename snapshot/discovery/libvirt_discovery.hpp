// Running libvirt domains: name, UUID, QEMU pid, memory and disks (from the domain XML).
#pragma once

#include <string>
#include <vector>

#include "snapshot/discovery/discovered_disk.hpp"
#include "snapshot/discovery/discovery.hpp"

namespace singleton {

struct LibvirtVm {
  Vm vm;  // vm.disks empty: see `disks`
  std::vector<DiscoveredDisk> disks;
};

// Appends the running domains of `uri` to `vms`, and per-domain problems to `problems`. Throws
// Error(kEnvironment) when libvirt cannot be reached at all.
void discover_libvirt_vms(const std::string& uri, std::vector<LibvirtVm>& vms,
                          std::vector<DiscoveryProblem>& problems);

// The QEMU pid of a domain: its pid file under the libvirt run directory for the URI, else the
// qemu process whose command line carries the domain's UUID. 0 when neither is found.
pid_t find_domain_pid(const std::string& uri, const std::string& name, const std::string& uuid);

}  // namespace singleton
