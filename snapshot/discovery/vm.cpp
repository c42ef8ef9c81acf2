#include "snapshot/discovery/vm.hpp"

namespace singleton {

const char* to_string(VmSource source) {
  switch (source) {
    case VmSource::kLibvirt: return "libvirt";
    case VmSource::kProc: return "proc";
    case VmSource::kExplicit: return "explicit";
  }
  return "unknown";
}

const char* to_string(CacheMode mode) {
  switch (mode) {
    case CacheMode::kWriteback: return "writeback";
    case CacheMode::kWritethrough: return "writethrough";
    case CacheMode::kNone: return "none";
    case CacheMode::kDirectsync: return "directsync";
    case CacheMode::kUnsafe: return "unsafe";
    case CacheMode::kUnknown: return "unknown";
  }
  return "unknown";
}

CacheMode cache_mode_from_string(const std::string& text) {
  if (text == "writeback") return CacheMode::kWriteback;
  if (text == "writethrough") return CacheMode::kWritethrough;
  if (text == "none") return CacheMode::kNone;
  if (text == "directsync") return CacheMode::kDirectsync;
  if (text == "unsafe") return CacheMode::kUnsafe;
  return CacheMode::kUnknown;
}

bool uses_host_cache(CacheMode mode) {
  return mode != CacheMode::kNone && mode != CacheMode::kDirectsync;
}

}  // namespace singleton
