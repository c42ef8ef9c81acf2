// /proc/PID/pagemap: which virtual pages of a process are present, and on which physical frame.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "snapshot/base/unique_fd.hpp"
#include "snapshot/base/page_size.hpp"

namespace singleton {

// One 64-bit pagemap entry (Documentation/admin-guide/mm/pagemap.rst).
struct PagemapEntry {
  uint64_t raw = 0;

  bool present() const { return raw >> 63 & 1; }
  bool swapped() const { return raw >> 62 & 1; }
  // File page or shared anonymous page.
  bool file_or_shared() const { return raw >> 61 & 1; }
  // Mapped by this process only. A KSM page is, by construction, mapped by several.
  bool exclusive() const { return raw >> 56 & 1; }
  // The page frame number; 0 for callers without CAP_SYS_ADMIN (the kernel hides it).
  uint64_t pfn() const { return present() ? raw & ((uint64_t{1} << 55) - 1) : 0; }
};
static_assert(sizeof(PagemapEntry) == 8);

class PagemapReader {
 public:
  // Opens /proc/PID/pagemap. Throws SystemError naming the pid (gone, or no access).
  explicit PagemapReader(pid_t pid);

  // Fills `entries` with the entries of the pages starting at virtual address `vaddr`
  // (page aligned). Returns how many were read: fewer only when the process went away.
  // Throws SystemError naming the pid on any other failure.
  size_t read(uint64_t vaddr, std::span<PagemapEntry> entries) const;

 private:
  pid_t pid_;
  UniqueFd fd_;
};

}  // namespace singleton
