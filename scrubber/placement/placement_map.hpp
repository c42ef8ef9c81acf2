// Which guest page holds which image page, learned from the tracer's records: image page ->
// (VM, QEMU virtual address, time, read|write). Only records whose file offset and buffers are
// 4 KiB-aligned place pages; the other bytes are counted, never guessed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scrubber/placement/placement_tracer.hpp"

namespace singleton {

struct ImageFileId {
  uint64_t dev = 0;
  uint64_t ino = 0;
  auto operator<=>(const ImageFileId&) const = default;
};

// The file behind a process's fd: /proc/PID/fd/N, stat(2)ed for (dev, inode).
struct FdTarget {
  ImageFileId id;
  std::string path;  // readlink of /proc/PID/fd/N
};

// (pid, fd) -> the file, cached. Why a cache checked against the record, and not a stat per
// record or a cache for the tracer's lifetime: the BPF record carries the (dev, inode) the
// kernel saw behind the fd at the syscall's exit, so a cached entry that disagrees with the
// record is exactly an fd number reused for another file (QEMU closed a disk and opened
// another, or a new QEMU reuses the pid): then, and only then, /proc/PID/fd/N is read again.
// One stat per (pid, fd) in the steady state; a record without (dev, inode) (0: the kernel
// read failed) is re-stat'ed every time rather than trusted to the cache.
class FdResolver {
 public:
  // The file for the record's (pid, fd) when it is (dev, ino) (or, when dev and ino are 0,
  // whatever the fd is now); nullopt when /proc/PID/fd/N is gone or names another file.
  std::optional<FdTarget> resolve(pid_t pid, int fd, uint64_t dev, uint64_t ino);
  uint64_t stats() const { return stats_; }  // /proc lookups done (tests: the cache works)
  void forget(pid_t pid);                     // a process that exited

 private:
  std::map<std::pair<pid_t, int>, FdTarget> cache_;
  uint64_t stats_ = 0;
};

struct Placement {
  pid_t pid = 0;          // the QEMU (VM) that holds the page
  uint64_t addr = 0;      // the QEMU virtual address of the 4 KiB guest page
  uint64_t time_ns = 0;   // when (the record's CLOCK_MONOTONIC)
  PlacementOp op = PlacementOp::kRead;
  // Set when the guest page was read: its XXH64 then (found equal to the host page, or, where
  // the host did not cache the block, as QEMU had just read or written it), so a later look
  // can tell whether the guest still holds the block without a host copy to compare with.
  bool verified = false;
  uint64_t hash = 0;
};

struct PlacedPage {
  ImageFileId image;
  std::string path;
  uint64_t page = 0;  // in 4 KiB units of the image file
  Placement where;
};

struct PlacementCounts {
  uint64_t records = 0;         // records given to add()
  uint64_t pages_placed = 0;    // 4 KiB pages placed (a page placed again counts again)
  uint64_t unaligned_bytes = 0; // bytes done in a record whose offset or buffer is not aligned
  uint64_t truncated_bytes = 0; // bytes done beyond the iovecs a truncated record kept
  uint64_t unresolved_records = 0;  // the fd no longer names the file the record read
  uint64_t dropped_pages = 0;   // placements dropped: the guest page no longer held the block,
                                // or the VM went away
};

// Where a page of an image is, for walking the map.
struct PlacementKey {
  ImageFileId image;
  uint64_t page = 0;
  auto operator<=>(const PlacementKey&) const = default;
};

class PlacementMap {
 public:
  // Places the record's pages (per VM, the latest placement of a page wins; several VMs may
  // hold the same page of a shared image) and returns them. Only the bytes done count: a short
  // read places the pages it filled, whole 4 KiB pages only.
  std::vector<PlacedPage> add(const PlacementRecord& record, FdResolver& files);

  // The latest placement of the page, whichever VM.
  std::optional<Placement> find(const ImageFileId& image, uint64_t page) const;
  // Every VM's placement of the page (none: empty).
  std::vector<Placement> holders(const ImageFileId& image, uint64_t page) const;
  // The guest page of `pid` was read and equals the image page (hash) / no longer does.
  void mark_verified(const ImageFileId& image, uint64_t page, pid_t pid, uint64_t hash);
  void drop(const ImageFileId& image, uint64_t page, pid_t pid);
  // Drops every placement of `pid` (its VM is gone); returns how many.
  size_t forget(pid_t pid);
  // Up to `n` placed pages after `cursor` (from the start when it is nullopt), in key order,
  // wrapping around once; `cursor` is left at the last one returned. For re-verifying tracked
  // pages a few at a time.
  std::vector<PlacedPage> next_after(std::optional<PlacementKey>& cursor, size_t n) const;

  size_t size() const { return pages_.size(); }  // distinct image pages placed
  const PlacementCounts& counts() const { return counts_; }

 private:
  std::map<PlacementKey, std::vector<Placement>> pages_;
  PlacementCounts counts_;
};

}  // namespace singleton
