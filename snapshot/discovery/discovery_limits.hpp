// Bounds on what one VM may ask discovery to do. A process's command line and open files are
// written by whoever started it; without bounds a crafted one makes every pass slow or makes
// singleton run out of fds (and so fail on real VMs' images). Exceeding one is an error for that VM
// alone (DiscoveryProblem, exit 1): the other VMs are discovered as usual.
#pragma once

#include <cstddef>

namespace singleton {

// Disks of one VM (-drive, -blockdev tops, -hdX, libvirt <disk>, --image). QEMU's own limits are
// lower in practice (a q35 machine has well under 256 slots for disks).
inline constexpr size_t kMaxDisksPerVm = 256;
// Backing files below one top image. Real chains (snapshots of snapshots) are a handful deep.
inline constexpr size_t kMaxChainDepth = 32;
// -blockdev nodes on one command line: a disk takes a few (protocol, format, filters, backing).
inline constexpr size_t kMaxBlockdevNodes = 4096;
// fds of one VMM looked at to match its disks (a QEMU with many disks and queues has hundreds).
inline constexpr size_t kMaxOpenFds = 65536;
// Bytes of one /proc/PID/cmdline read (QEMU command lines are kilobytes).
inline constexpr size_t kMaxCmdlineBytes = 4 << 20;

}  // namespace singleton
