// Which VMs a pass works on, from the command line: --vm NAME (libvirt or /proc names),
// --pid PID --image PATH (explicit, any VMM), or every VM discovery finds. An adapter over
// snapshot/'s discover_vms().
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "snapshot/discovery/vm.hpp"

namespace singleton {

struct VmSelectionOptions {
  std::vector<std::string> names;   // --vm, repeatable
  std::vector<std::string> pids;    // --pid, as typed (validated here)
  std::vector<std::string> images;  // --image, as typed
  std::string connect_uri;          // --connect ("" = qemu:///system)
};

struct VmSelection {
  std::vector<Vm> vms;
  std::vector<std::string> warnings;  // shown, do not change the exit code
  std::vector<std::string> errors;    // a VM or disk discovery could not describe: exit 1
};

// The VMs to work on. Throws Error(kUsage) for bad input, with one line saying what is wrong:
// a malformed or unknown pid, --image without --pid (or counts that do not pair), a missing or
// unreadable image, an unknown --vm name; Error(kEnvironment) when --connect names a libvirt
// that cannot be reached.
VmSelection select_vms(const VmSelectionOptions& options);

// Parses a pid: digits only, 1 to INT_MAX. Throws Error(kUsage) naming `text` and the range.
pid_t parse_pid(const std::string& text);

}  // namespace singleton
