// Copies pages out of another process, many pages per system call.
//
// Two ways, because of how the kernel pins pages: process_vm_readv pins the source pages
// (FOLL_PIN), and a read-only pin of an anonymous page that is not exclusively owned (a KSM page,
// a page still shared after fork) makes the kernel *unshare* it: copy it into a private page.
// Reading a KSM page that way silently undoes the merge (measured: every merged page of a test
// process was unmerged by one snapshot). /proc/PID/mem takes plain references (FOLL_GET) and
// leaves sharing alone, at one system call per run of adjacent pages. So: exclusive pages go
// through process_vm_readv (fast, batched), shared and KSM pages through /proc/PID/mem.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "snapshot/base/unique_fd.hpp"

namespace singleton {

struct PageReadResult {
  size_t pages = 0;  // pages copied, from the front of the request
  int err = 0;       // errno of the failure that stopped the copy early; 0 when all were copied
};

// Copies the 4 KiB pages at the page-aligned virtual addresses `vaddrs` (ascending) of process
// `pid` into `buffer` (vaddrs.size() pages, page i at buffer + i * 4096) with process_vm_readv.
// Neighbouring pages are coalesced into one iovec; up to IOV_MAX iovecs go in one call.
// err: EFAULT when an address is no longer mapped, ESRCH when the process is gone.
PageReadResult read_process_pages(pid_t pid, std::span<const uint64_t> vaddrs, std::byte* buffer);

// /proc/PID/mem, for pages that must not be pinned (see above).
class ProcessMemFile {
 public:
  // Throws SystemError naming the pid (gone, or no access).
  explicit ProcessMemFile(pid_t pid);
  // Same contract as read_process_pages.
  PageReadResult read_pages(std::span<const uint64_t> vaddrs, std::byte* buffer) const;

 private:
  UniqueFd fd_;
};

}  // namespace singleton
