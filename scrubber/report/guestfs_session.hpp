// One libguestfs appliance (guestfs.h) over one disk, read-only, as RAII: closed, and its QEMU
// stopped, when the session goes away.
//
// The accelerator is libguestfs's own choice (KVM where it is usable). Where /dev/kvm exists but
// QEMU cannot run guests with it (it aborts setting MSRs on some nested hosts), the launch fails:
// the session then tries once more with the backend setting force_tcg and says so. Nothing here
// hard-codes TCG; LIBGUESTFS_BACKEND and LIBGUESTFS_BACKEND_SETTINGS are honoured as set.
#pragma once

#include <string>
#include <vector>

struct guestfs_h;

namespace singleton {

class GuestfsSession {
 public:
  // Adds `drive` (format given, never probed) read-only and launches the appliance. Throws
  // Error(kPartial) with libguestfs's message when it cannot.
  GuestfsSession(const std::string& drive, const std::string& format);
  ~GuestfsSession();
  GuestfsSession(const GuestfsSession&) = delete;
  GuestfsSession& operator=(const GuestfsSession&) = delete;

  double launch_seconds() const { return launch_seconds_; }
  // "direct (force_tcg: the first launch failed: ...)" and the like.
  const std::string& how() const { return how_; }

  // (device, type) of every file system libguestfs finds (partitions, LVs, whole disks).
  std::vector<std::pair<std::string, std::string>> filesystems();
  void mount_ro(const std::string& device);  // at / (the appliance's /sysroot)
  void umount_all();
  // Runs a /bin/sh script in the appliance (not in the guest: the guest's disk is at /sysroot)
  // and returns its stdout, any length (read back in pieces below libguestfs's message limit).
  // Throws Error(kPartial) when the script exits non-zero, with its stderr.
  std::string shell(const std::string& script);

 private:
  [[noreturn]] void fail(const std::string& what);
  bool launch(const std::string& drive, const std::string& format, std::string& error);
  guestfs_h* g_ = nullptr;
  double launch_seconds_ = 0;
  std::string how_;
};

}  // namespace singleton
