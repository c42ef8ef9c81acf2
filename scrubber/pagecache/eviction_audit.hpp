// A log of every range singleton hands to the kernel for eviction, written right before the call
// (posix_fadvise DONTNEED or the module's evict ioctl): one JSON line per range.
//   {"time":1764650000.123456,"image":"/var/lib/x.img","dev":2049,"ino":12,"first_page":23072,
//    "pages":16,"reason":"double-cached","call":"fadvise"}
// It is what proves the one promise singleton makes: a page no guest holds lies in no evicted
// range. A page of an image that left the host cache outside every logged range was evicted by
// someone else (kernel reclaim, DAMON pageout, another tool).
#pragma once

#include <cstdint>
#include <string>

#include "snapshot/base/unique_fd.hpp"

namespace singleton {

class ReadOnlyFile;

class EvictionAudit {
 public:
  // Opens `path` for appending (created 0600, never through a symlink, never a FIFO or device:
  // the log of a root agent must not be redirectable). Throws Error(kUsage) naming the path
  // when it cannot be opened or is not a regular file.
  explicit EvictionAudit(const std::string& path);

  // Appends one line (one write(2), so lines of concurrent writers never interleave).
  // `call` is "fadvise" or "kmod_evict". Throws SystemError when the write fails: an
  // eviction that cannot be audited is not made.
  void record(const ReadOnlyFile& file, uint64_t first_page, uint64_t pages, const char* call);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  UniqueFd fd_;
};

}  // namespace singleton
