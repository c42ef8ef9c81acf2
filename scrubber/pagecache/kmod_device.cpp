#include "scrubber/pagecache/kmod_device.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "kmod/include/uapi/singleton_pcache.h"
#include "snapshot/base/error.hpp"
#include "snapshot/base/page_size.hpp"

namespace singleton {

UniqueFd open_kmod_device(uint64_t features) {
  UniqueFd dev(::open(SG_PCACHE_DEVICE_PATH, O_RDWR | O_CLOEXEC));
  if (!dev.valid()) {
    const int err = errno;
    throw Error(ExitCode::kEnvironment,
                std::string(SG_PCACHE_DEVICE_PATH) + ": " + std::strerror(err) +
                    (err == ENOENT ? " (module singleton_pcache not loaded)" : ""));
  }
  sg_pcache_version version{};
  version.size = sizeof(version);
  if (::ioctl(dev.get(), SG_PCACHE_IOC_VERSION, &version) != 0) {
    throw Error(ExitCode::kEnvironment,
                std::string(SG_PCACHE_DEVICE_PATH) + ": version ioctl: " + std::strerror(errno));
  }
  // Same major, and at least the minor this singleton was built with (kmod/ABI.md).
  const bool compatible =
      version.abi_major == SG_PCACHE_ABI_MAJOR && version.abi_minor >= SG_PCACHE_ABI_MINOR;
  if (!compatible || (version.features & features) != features ||
      version.page_size != kPageBytes) {
    throw Error(ExitCode::kEnvironment,
                "singleton_pcache ABI " + std::to_string(version.abi_major) + "." +
                    std::to_string(version.abi_minor) + " (page size " +
                    std::to_string(version.page_size) + "), this singleton needs " +
                    std::to_string(SG_PCACHE_ABI_MAJOR) + "." +
                    std::to_string(SG_PCACHE_ABI_MINOR));
  }
  return dev;
}

}  // namespace singleton
