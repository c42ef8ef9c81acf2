// What discovery knows of one virtual machine: the shared vocabulary of snapshot/ and scrubber/.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace singleton {

// Where a VM was found.
enum class VmSource { kLibvirt, kProc, kExplicit };

// QEMU's drive cache modes. none and directsync open the image with O_DIRECT: the host page
// cache never holds their data, so they are listed but never scrubbed.
enum class CacheMode { kWriteback, kWritethrough, kNone, kDirectsync, kUnsafe, kUnknown };

struct VmDisk {
  std::string path;                  // the top image, as the VMM opened it (absolute)
  std::string format;                // raw, qcow2, ... ("" when unknown)
  CacheMode cache = CacheMode::kUnknown;
  std::vector<std::string> backing;  // backing chain below `path`, nearest first
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
