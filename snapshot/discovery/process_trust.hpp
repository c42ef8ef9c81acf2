// Which processes /proc discovery may take for VMs. Any local user can start a process named
// qemu-system-x86_64 whose command line names a root-only file: taking it for a VM would make root
// read that file's cache and tell (in reports, by evicting) whether a guess of its content matched.
// Only processes of the users VMs run as, running a root-owned executable, are VMs.
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace singleton {

// The users QEMU runs as on a stock host: root (plain QEMU, the guest kit) and libvirt's
// qemu:///system driver (Debian's libvirt-qemu).
inline const std::vector<std::string> kDefaultVmUsers = {"root", "libvirt-qemu"};

// Uids of `users` (names, or decimal uids). A name this host does not know (no libvirt-qemu where
// libvirt is not installed) is skipped: no process can run as it.
std::set<uid_t> resolve_vm_users(const std::vector<std::string>& users);

// Why `pid` is not to be taken as a VM (its real, effective, saved or filesystem uid is not one of
// `vm_uids`; its executable is not a root-owned regular file closed to writes by group and others),
// nullopt when it may be. A process that is gone is "gone".
std::optional<std::string> why_not_trusted(pid_t pid, const std::set<uid_t>& vm_uids);

}  // namespace singleton
