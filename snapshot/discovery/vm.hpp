// What discovery knows of one virtual machine: the shared vocabulary of snapshot/ and scrubber/.
#pragma once

#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

namespace singleton {

// Where a VM was found.
enum class VmSource { kLibvirt, kProc, kExplicit };

// QEMU's drive cache modes. none and directsync open the image with O_DIRECT: the host page
// cache never holds their data, so they are listed but never scrubbed.
enum class CacheMode { kWriteback, kWritethrough, kNone, kDirectsync, kUnsafe, kUnknown };

// A file as the kernel knows it: (st_dev, st_ino), or (st_rdev, 0) for a block device, so that two
// device nodes of one disk compare equal. Paths can be swapped; this cannot.
struct FileId {
  uint64_t device = 0;
  uint64_t inode = 0;
  bool operator==(const FileId&) const = default;
  auto operator<=>(const FileId&) const = default;
};

struct VmDisk {
  std::string path;                  // the top image, as the VMM opened it (absolute)
  std::string format;                // raw, qcow2, ... ("" when unknown)
  CacheMode cache = CacheMode::kUnknown;
  std::vector<std::string> backing;  // backing chain below `path`, nearest first
  // The files the VMM holds open for `path` then each of `backing`, as discovery matched them
  // against /proc/PID/fd; whoever opens the paths later checks it got these same files. Empty when
  // not checked (a Vm built by hand).
  std::vector<FileId> held;
  // Why the chain ends where it does when it was cut: the last file (`path`, or the last of
  // `backing`) names a backing file that was not taken (missing, not held by the VMM, not a file,
  // its header unreadable). "" when the chain is whole (or was stated to end there). The files
  // that are held are still worked on; a report does not map a cut chain to guest files (the
  // missing file's blocks would read as zeros).
  std::string backing_missing;
};

struct Vm {
  std::string name;
  std::string uuid;  // empty when not known (plain QEMU without -uuid, explicit)
  pid_t pid = 0;
  VmSource source = VmSource::kExplicit;
  uint64_t ram_bytes = 0;  // configured guest RAM (0 when unknown)
  std::vector<VmDisk> disks;
};

const char* to_string(VmSource source);
const char* to_string(CacheMode mode);
CacheMode cache_mode_from_string(const std::string& text);  // kUnknown for anything else
// True for modes whose I/O goes through the host page cache.
bool uses_host_cache(CacheMode mode);

}  // namespace singleton
