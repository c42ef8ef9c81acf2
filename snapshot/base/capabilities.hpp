// What this process may do, asked of the kernel (capget(2)), not guessed from
// its uid: root in a unit with a CapabilityBoundingSet= lacks what the set
// leaves out, and a non-root process may hold capabilities granted to it.
#pragma once

#include <initializer_list>
#include <string>

namespace singleton {

// A capability and why singleton needs it, for the error message.
struct NeededCapability {
  int number;           // CAP_SYS_PTRACE, ... (linux/capability.h)
  const char *name;     // "CAP_SYS_PTRACE"
  const char *purpose;  // "reads guest memory of QEMUs run by another user"
};

inline constexpr NeededCapability kCapSysPtrace{19, "CAP_SYS_PTRACE",
                                                "reads the guests' memory in QEMU processes"};
inline constexpr NeededCapability kCapSysAdmin{
    21, "CAP_SYS_ADMIN", "reads page frames (/proc/PID/pagemap, /proc/kpageflags)"};
inline constexpr NeededCapability kCapDacReadSearch{2, "CAP_DAC_READ_SEARCH",
                                                    "reads disk images owned by the VMs' user"};

// True when `number` is in this process's effective set.
bool has_effective_capability(int number);

// Throws Error(kEnvironment) naming every missing capability and its purpose:
// "scrub needs CAP_SYS_PTRACE (reads ...), CAP_SYS_ADMIN (...): run it as
// root".
void require_capabilities(const std::string &what, std::initializer_list<NeededCapability> caps);

}  // namespace singleton
