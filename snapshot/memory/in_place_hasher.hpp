// Guest pages hashed where they are, by the kernel module, instead of copied out and hashed here.
// The copy is what bounds a snapshot (process_vm_readv + XXH64 runs at about a third of XXH64
// alone), and a pinning copy unshares KSM pages. The module takes plain references and never
// faults a page in. snapshot/ only sees this interface: the module's uapi header is included in
// scrubber/pagecache/ alone, which implements it (kmod_process_pages).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace singleton {

struct InPlacePage {
  uint64_t hash = 0;   // XXH64 seed 0 of the 4 KiB, valid with kInPlaceHashed
  uint32_t flags = 0;  // kInPlace*
};
inline constexpr uint32_t kInPlacePresent = 1u << 0;  // in RAM and readable
inline constexpr uint32_t kInPlaceZero = 1u << 1;     // the shared zero page
inline constexpr uint32_t kInPlaceKsm = 1u << 2;      // a KSM page
inline constexpr uint32_t kInPlaceLarge = 1u << 3;    // part of a THP or hugetlb folio
inline constexpr uint32_t kInPlaceHashed = 1u << 4;

// One process, opened (a pidfd: a pid reused meanwhile is never read).
class InPlaceProcessPages {
 public:
  virtual ~InPlaceProcessPages() = default;
  // Describes the pages from `start` on (4 KiB aligned), up to `end` and at most what one call
  // allows, into `out` (one entry per page, resized); returns the address after the last one.
  // Throws SystemError: ESRCH (the process is gone), EPERM (no ptrace read access).
  virtual uint64_t describe(uint64_t start, uint64_t end, std::vector<InPlacePage>& out) = 0;
};

class InPlaceHasher {
 public:
  virtual ~InPlaceHasher() = default;
  virtual std::string name() const = 0;  // the snapshot reader's name in reports ("kmod")
  // Throws SystemError (the process is gone: ESRCH).
  virtual std::unique_ptr<InPlaceProcessPages> open(pid_t pid) const = 0;
};

}  // namespace singleton
