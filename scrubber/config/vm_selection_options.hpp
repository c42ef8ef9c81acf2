// The VM-selection options, one group with one meaning for scan, scrub, watch and vms:
//   --vm PATTERN     VMs whose name matches the shell glob PATTERN (fnmatch(3); a name matches
//                    itself also when it holds glob characters). Repeatable: any match selects.
//                    Default: every VM found (libvirt domains and QEMU processes).
//   --pid PID --image PATH
//                    a VM named directly (any VMM): its process and its disk image, paired in
//                    the order given; repeatable. Not combined with --vm.
//   --connect URI    the libvirt to ask (default: qemu:///system).
// A one-shot command (scan, scrub, vms) fails with exit 2 when a --vm pattern matches no VM;
// watch waits for one to start.
#pragma once

#include <sys/types.h>

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace singleton {

struct VmSelectionOptions {
  std::vector<std::string> patterns;  // --vm
  std::vector<std::string> pids;      // --pid, as typed (parse_pid checks them)
  std::vector<std::string> images;    // --image, as typed
  std::string connect_uri;            // --connect ("" = qemu:///system)
  bool operator==(const VmSelectionOptions&) const = default;
};

// Adds --vm, --pid, --image and --connect, stored into `out`.
void add_vm_selection_options(boost::program_options::options_description& options,
                              VmSelectionOptions& out);

// Throws Error(kUsage) for a combination that cannot be meant: --vm with --pid/--image, --pid
// without --image or the other way round, counts that do not pair, a malformed pid.
void check_vm_selection(const VmSelectionOptions& selection);

// Whether `name` is selected by `patterns` (every name when there are none).
bool vm_name_selected(const std::vector<std::string>& patterns, const std::string& name);

// Parses a pid: digits only, 1 to INT_MAX. Throws Error(kUsage) naming `text` and the range.
pid_t parse_pid(const std::string& text);

}  // namespace singleton
