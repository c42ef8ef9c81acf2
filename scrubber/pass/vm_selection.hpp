// Which VMs a one-shot command works on, from its VM-selection options
// (scrubber/config/vm_selection_options.hpp): discovery through snapshot/'s discover_vms(),
// then the --vm patterns.
#pragma once

#include <string>
#include <vector>

#include "scrubber/config/vm_selection_options.hpp"
#include "snapshot/discovery/discovery.hpp"
#include "snapshot/discovery/vm.hpp"

namespace singleton {

struct VmSelection {
  std::vector<Vm> vms;
  std::vector<std::string> warnings;  // shown, do not change the exit code
  std::vector<std::string> errors;    // a VM or disk discovery could not describe: exit 1
};

// What discovery is asked for: the libvirt URI and the explicit --pid/--image VMs. The one
// place these options become DiscoveryOptions (scan, scrub, watch, vms). Throws Error(kUsage)
// for a combination check_vm_selection() refuses.
DiscoveryOptions discovery_options(const VmSelectionOptions& selection);

// Throws Error(kUsage) "--vm PATTERN: no such VM (found: ...)" for the first pattern that
// selects none of `found` (one-shot commands; watch waits for a match instead).
void require_every_pattern_matches(const std::vector<std::string>& patterns,
                                   const std::vector<Vm>& found);

// The VMs to work on. Throws Error(kUsage) for bad input, with one line saying what is wrong:
// a malformed or unknown pid, --image without --pid (or counts that do not pair), a missing or
// unreadable image, a --vm pattern that matches no VM, no VM at all; Error(kEnvironment) when
// --connect names a libvirt that cannot be reached.
VmSelection select_vms(const VmSelectionOptions& selection);

}  // namespace singleton
