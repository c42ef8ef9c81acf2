// Copies pages out of another process with process_vm_readv, many pages per system call.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace singleton {

struct PageReadResult {
  size_t pages = 0;  // pages copied, from the front of the request
  int err = 0;       // errno of the failure that stopped the copy early; 0 when all were copied
};

// Copies the 4 KiB pages at the page-aligned virtual addresses `vaddrs` (ascending) of process
// `pid` into `buffer` (vaddrs.size() pages, page i at buffer + i * 4096). Neighbouring pages are
// coalesced into one iovec; up to IOV_MAX iovecs go in one call.
PageReadResult read_process_pages(pid_t pid, std::span<const uint64_t> vaddrs, std::byte* buffer);

}  // namespace singleton
