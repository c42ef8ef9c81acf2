// What a QEMU command line says about its VM: name, UUID, RAM size and disks (-drive, -blockdev,
// -hda..-hdd), for QEMU processes that libvirt does not manage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "snapshot/discovery/discovered_disk.hpp"

namespace singleton {

struct QemuCommandLine {
  std::string name;  // -name NAME or -name guest=NAME,...
  std::string uuid;
  uint64_t ram_bytes = 0;             // -m; QEMU's default (128 MiB) when absent
  std::vector<DiscoveredDisk> disks;  // paths as written (may be relative to QEMU's cwd)
  // Set when the command line exceeds a bound of discovery_limits.hpp (more disks or -blockdev
  // nodes than allowed): parsing stopped there and the VM is not to be used. "" otherwise.
  std::string too_much;
};

// True for argv of a QEMU system emulator (qemu-system-*, qemu-kvm).
bool is_qemu_command(const std::vector<std::string>& argv);

// Never throws: options it does not understand are ignored, a malformed -blockdev is skipped. Its
// work is bounded: it stops at the first disk or node beyond the bounds (see too_much).
QemuCommandLine parse_qemu_cmdline(const std::vector<std::string>& argv);

}  // namespace singleton
