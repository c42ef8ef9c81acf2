// A VM's disks as the files its VMM holds open. A path on a command line, in domain XML or given
// with --image is only a claim; the file behind it is accepted as a disk when its (device, inode)
// is among the process's open fds (/proc/PID/fd), and its backing chain is what its qcow2 headers
// name AND the process holds open. So singleton never reads a file the VMM could not: whoever
// controls a command line or an image header can point at nothing else.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "snapshot/discovery/discovered_disk.hpp"
#include "snapshot/discovery/discovery.hpp"
#include "snapshot/discovery/open_files.hpp"

namespace singleton {

// The regular files and block devices a process has open, by FileId.
class HeldFiles {
 public:
  explicit HeldFiles(pid_t pid);
  pid_t pid() const { return pid_; }
  // More fds than kMaxOpenFds: not all were looked at.
  bool truncated() const { return open_.truncated; }
  const std::vector<OpenFile>& files() const { return open_.files; }
  // The open file that is `id`, nullptr when the process does not hold it.
  const OpenFile* find(const FileId& id) const;

 private:
  pid_t pid_;
  OpenFiles open_;
  std::map<FileId, size_t> by_id_;
};

struct AdmitOptions {
  // Description of the VM for messages: "VM 'name' (pid N, proc)".
  std::string who;
  // The disks are the operator's --image arguments: one the process does not hold is a usage error
  // (exit 2). Otherwise a disk not held is skipped with a warning.
  bool explicit_images = false;
  // Read backing chains the source did not state from qcow2 headers.
  bool resolve_chains = true;
};

// The disks of `disks` the process holds open, with canonical paths (the kernel's names for the
// open files), formats, cache modes, backing chains and VmDisk::held filled in. Problems go to
// `problems`. nullopt when a bound is exceeded (more than kMaxDisksPerVm disks, a chain deeper than
// kMaxChainDepth, more than kMaxOpenFds fds): the VM is then not to be worked on at all.
std::optional<std::vector<VmDisk>> admit_disks(const HeldFiles& held,
                                               std::vector<DiscoveredDisk> disks,
                                               const AdmitOptions& options,
                                               std::vector<DiscoveryProblem>& problems);

// "VM 'name' (pid N, source)", the name made printable.
std::string describe_vm(const Vm& vm);

}  // namespace singleton
