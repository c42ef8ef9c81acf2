#include "scrubber/pagecache/kmod_process_pages.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kmod/include/uapi/singleton_pcache.h"
#include "scrubber/pagecache/kmod_device.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

static_assert(kInPlacePresent == SG_PCACHE_VPAGE_PRESENT && kInPlaceZero == SG_PCACHE_VPAGE_ZERO &&
                  kInPlaceKsm == SG_PCACHE_VPAGE_KSM && kInPlaceLarge == SG_PCACHE_VPAGE_LARGE &&
                  kInPlaceHashed == SG_PCACHE_VPAGE_HASHED,
              "the snapshot's in-place flags are the module's");
static_assert(sizeof(InPlacePage) == sizeof(sg_pcache_vpage), "one entry layout, no copy");

// Pages per ioctl: 64 MiB of address space, about 16 ms of work on a host core; the module
// accepts up to SG_PCACHE_MAX_PAGE_ENTRIES.
constexpr uint32_t kPagesPerCall = 16384;

class KmodProcess : public InPlaceProcessPages {
 public:
  KmodProcess(int dev, pid_t pid) : dev_(dev) {
    pidfd_ = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd_.valid()) throw SystemError("pidfd_open " + std::to_string(pid), errno);
  }

  uint64_t describe(uint64_t start, uint64_t end, std::vector<InPlacePage>& out) override {
    out.resize(kPagesPerCall);
    sg_pcache_process_pages a{};
    a.size = sizeof(a);
    a.pidfd = pidfd_.get();
    a.max_entries = kPagesPerCall;
    a.start = start;
    a.end = end;
    a.entries = reinterpret_cast<uintptr_t>(out.data());
    if (::ioctl(dev_, SG_PCACHE_IOC_PROCESS_PAGES, &a) != 0) {
      throw SystemError("PROCESS_PAGES ioctl", errno);
    }
    out.resize(a.nr_entries);
    return a.next;
  }

 private:
  int dev_;
  UniqueFd pidfd_;
};

}  // namespace

KmodProcessPages::KmodProcessPages() : dev_(open_kmod_device(SG_PCACHE_FEAT_PROCESS_PAGES)) {}

std::unique_ptr<InPlaceProcessPages> KmodProcessPages::open(pid_t pid) const {
  return std::make_unique<KmodProcess>(dev_.get(), pid);
}

std::unique_ptr<InPlaceHasher> make_kmod_process_pages(std::string* why) {
  try {
    return std::make_unique<KmodProcessPages>();
  } catch (const Error& e) {
    if (why != nullptr) *why = e.what();
    return nullptr;
  }
}

}  // namespace singleton
