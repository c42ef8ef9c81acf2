// Finding every VM on the host: libvirt domains, plain QEMU processes from /proc, and VMs named
// explicitly (--pid PID --image PATH) for any VMM.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "snapshot/base/error.hpp"
#include "snapshot/discovery/process_trust.hpp"
#include "snapshot/discovery/vm.hpp"

namespace singleton {

// A process named by the user, and the images it serves to its guest.
struct ExplicitVmSpec {
  pid_t pid = 0;
  std::vector<std::string> images;
};

struct DiscoveryOptions {
  bool use_libvirt = true;
  std::string libvirt_uri = "qemu:///system";
  // The user asked for this URI (--connect): failing to reach it is an error, not a warning.
  bool libvirt_uri_given = false;
  bool scan_proc = true;
  // Explicit VMs. When there are any, libvirt and /proc are not consulted unless
  // `also_scan_with_explicit` is set: the user said which processes to look at.
  std::vector<ExplicitVmSpec> explicit_vms;
  bool also_scan_with_explicit = false;
  // Read backing chains the source did not state from the qcow2 headers of the files the VMM holds
  // open (held_disks.hpp). qemu-img is never run on a VM's paths.
  bool resolve_backing_chains = true;
  // Users (names or uids) whose QEMU processes /proc discovery takes for VMs; a process of anyone
  // else is ignored (process_trust.hpp). Libvirt's domains and explicit --pid VMs are not filtered
  // by user (libvirt is root's; the operator named the pid).
  std::vector<std::string> vm_users = kDefaultVmUsers;
};

// Something discovery could not do. Warnings (libvirt not running on a host without libvirt,
// a backing chain qemu-img could not read) do not make a pass partial; errors do.
struct DiscoveryProblem {
  pid_t pid = 0;        // 0 when not about one process
  std::string message;  // one line, naming the pid/domain/file
  ExitCode code = ExitCode::kPartial;
  bool warning = false;
  // Only worth showing when asked for details (a process of another user that looks like QEMU and
  // was ignored): implies `warning`.
  bool debug = false;
};

struct DiscoveryResult {
  std::vector<Vm> vms;  // ordered: libvirt, then /proc, then explicit; each pid once
  std::vector<DiscoveryProblem> problems;

  // kDone when there are no errors; otherwise the most severe error code.
  ExitCode exit_code() const;
};

// Never throws for problems of one VM or one source: they are in `problems`.
DiscoveryResult discover_vms(const DiscoveryOptions& options);

// Pairs repeated --pid and --image arguments: one pid gets every image; N pids and N images pair
// in order; pids without images are VMs without disks (snapshot only). Anything else throws
// Error(kUsage).
std::vector<ExplicitVmSpec> pair_explicit_args(const std::vector<pid_t>& pids,
                                               const std::vector<std::string>& images);

}  // namespace singleton
