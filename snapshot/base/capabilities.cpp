#include "snapshot/base/capabilities.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "snapshot/base/error.hpp"

namespace singleton {

static_assert(CAP_SYS_PTRACE == 19 && CAP_SYS_ADMIN == 21 && CAP_DAC_READ_SEARCH == 2);

bool has_effective_capability(int number) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  const auto word = static_cast<size_t>(number / 32);
  return word < _LINUX_CAPABILITY_U32S_3 && (data[word].effective >> (number % 32)) & 1u;
}

void require_capabilities(const std::string &what, std::initializer_list<NeededCapability> caps) {
  std::string missing;
  for (const NeededCapability &cap : caps) {
    if (has_effective_capability(cap.number)) continue;
    missing += std::string(missing.empty() ? "" : ", ") + cap.name + " (" + cap.purpose + ")";
  }
  if (!missing.empty()) {
    throw Error(ExitCode::kEnvironment,
                what + " needs " + missing + ": run it as root" +
                    (::geteuid() == 0 ? " with these capabilities in its bounding set" : ""));
  }
}

}  // namespace singleton
