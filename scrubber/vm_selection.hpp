// Which VMs a pass works on, from the command line: --vm NAME (libvirt), --pid PID --image PATH
// (explicit), or every VM discovery finds. An adapter over snapshot/'s discovery.
#pragma once

#include <string>
#include <vector>

#include "snapshot/vm.hpp"

namespace singleton {

struct VmSelectionOptions {
  std::vector<std::string> names;   // --vm, repeatable
  std::vector<std::string> pids;    // --pid, as typed (validated here)
  std::vector<std::string> images;  // --image, as typed
  std::string connect_uri;          // --connect ("" = libvirt's default)
};

// The VMs to work on. Throws Error(kUsage) for bad input, with one line saying what is wrong:
// a malformed or unknown pid, --image without --pid (or counts that do not pair), a missing or
// unreadable image, an unknown --vm name. Explicit images get their backing chain resolved.
std::vector<Vm> select_vms(const VmSelectionOptions& options);

// Parses a pid: digits only, > 0. Throws Error(kUsage) naming `text`.
pid_t parse_pid(const std::string& text);

}  // namespace singleton
