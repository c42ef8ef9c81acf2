// `singleton vms [--json] [--vm PATTERN]...`: every VM found (or those the patterns select), with
// its RAM and its disks' use of the host cache.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "snapshot/discovery/discovery.hpp"
#include "snapshot/memory/smaps.hpp"

namespace singleton {

struct VmsCommandOptions {
  DiscoveryOptions discovery;
  std::vector<std::string> vm_patterns;  // --vm: only the VMs these select (none: every VM)
  RegionSelection regions = RegionSelection::kMergeable;  // what counts as guest RAM (resident)
  bool json = false;
};

// Writes the table (or a JSON array of {name, pid, source, uuid, ram_bytes, resident_bytes,
// disks: [{path, format, cache, bypasses_host_cache, backing: [..], host_cached_bytes}]}) to
// `out`, one line per problem to `err`. Returns the exit code: 0 done, 1 partial (a VM or disk
// could not be described), 2 usage (explicit pid/image missing, a --vm pattern matching no VM),
// 3 environment (libvirt asked for with --connect and unreachable, no privileges). Never throws.
int run_vms_command(const VmsCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace singleton
