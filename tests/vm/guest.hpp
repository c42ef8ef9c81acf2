// The guest kit's launcher: a real QEMU guest (directly or through a real libvirtd) that boots
// a Debian cloud kernel, runs a script through the kit's agent and powers off.
// RAII: a Guest that goes out of scope is killed, also when a test fails or times out.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace singleton::guestkit {

struct GuestDisk {
  std::string path;
  std::string format = "raw";
  std::string cache = "writeback";  // QEMU/libvirt cache mode
  std::string serial;               // the guest sees /dev/sg/<serial>; at most 20 characters
  bool readonly = false;
  // The passphrase of an encrypted qcow2 image (encrypt.format=luks): given to QEMU as a secret
  // object (-object secret) named by the drive's encrypt.key-secret. Plain QEMU only.
  std::string key_secret;
};

struct GuestOptions {
  std::string kernel_line = "6.1";  // "6.1" or "6.12": Debian cloud kernels
  int mem_mib = 256;
  int cpus = 1;  // vCPUs (more make races inside the guest real, and cost host CPU under TCG)
  std::vector<GuestDisk> disks;
  std::string payload_dir;  // copied into a read-only disk mounted at /payload
  std::string script;       // busybox sh, run as root in the guest
  std::chrono::seconds timeout{120};
  bool libvirt = false;  // through libvirtd (qemu:///system) instead of plain QEMU
  std::string name;      // domain / log name; made unique when empty
};

struct GuestResult {
  int rc = -1;                                 // the script's exit status
  std::string output;                          // what the script printed
  std::map<std::string, std::string> results;  // sg_result KEY VALUE
};

// Thrown when the guest does not reach a point in time; what() ends with the console tail.
class GuestTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// Thrown when the kit cannot start a guest (missing artefacts, QEMU or libvirt error).
class GuestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where the kit's artefacts are (build/vm): $SG_KIT_DIR, or the build's own.
std::string kit_dir();
// "kvm" or "tcg", as decided by build-kit.
std::string accelerator();

class Guest {
 public:
  explicit Guest(GuestOptions options);
  ~Guest();
  Guest(const Guest&) = delete;
  Guest& operator=(const Guest&) = delete;

  pid_t qemu_pid() const { return qemu_pid_; }
  const std::string& name() const { return options_.name; }
  // Blocks until the script calls `sg_wait NAME`; throws GuestTimeout past the deadline or if
  // the guest ends first.
  void wait_for_pause(const std::string& name);
  // Lets a script paused in `sg_wait NAME` go on.
  void resume(const std::string& name);
  // Blocks until the script has ended and the guest is off; throws GuestTimeout.
  GuestResult wait();
  // Restarts the guest's timeout: from now on it has `timeout` (for wait(), wait_for_pause()). For
  // a step whose own length matters, counted after a boot whose length depends on the host's load
  // (a TCG guest boots in seconds on a quiet host, and may take over a minute on a busy one).
  void restart_timeout(std::chrono::seconds timeout);
  // False once QEMU has exited (or the domain is gone).
  bool running();
  // Everything the guest printed on its console so far.
  std::string console() const;
  // The last `lines` lines of the console, for error messages.
  std::string console_tail(int lines = 40) const;
  // Kills the guest now (QEMU SIGKILL / virDomainDestroy). Idempotent.
  void kill();

 private:
  void start_qemu();
  void start_libvirt();
  std::vector<std::string> qemu_args() const;
  std::string domain_xml() const;
  void connect_console();
  bool qemu_exited();
  [[noreturn]] void fail_timeout(const std::string& what);

  GuestOptions options_;
  std::string workdir_;
  std::string console_log_;
  std::string console_socket_;
  std::vector<GuestDisk> all_disks_;  // script, tools, payload, then the caller's
  std::chrono::steady_clock::time_point deadline_;
  pid_t qemu_pid_ = -1;
  pid_t child_pid_ = -1;  // our child when plain QEMU
  int console_fd_ = -1;
  // Reads and discards what arrives on the console socket: QEMU's log file keeps every byte,
  // but a socket nobody reads fills up and then stalls the guest's serial output.
  std::thread console_drain_;
  struct Libvirt;
  std::unique_ptr<Libvirt> libvirt_;
  bool ended_ = false;
};

// A libvirtd for the tests: connects to a running one, or starts virtlogd + libvirtd and
// stops them again in the destructor (only what it started).
class LibvirtDaemon {
 public:
  LibvirtDaemon();
  ~LibvirtDaemon();
  LibvirtDaemon(const LibvirtDaemon&) = delete;
  LibvirtDaemon& operator=(const LibvirtDaemon&) = delete;
  bool started_here() const { return !started_.empty(); }

 private:
  std::vector<std::string> started_;  // pid files of daemons this object started
};

// Parses the agent's markers out of a console log.
struct ConsoleMarkers {
  bool begun = false;
  std::optional<int> end_rc;
  std::vector<std::string> waits;
  std::map<std::string, std::string> results;
  std::string output;
};
ConsoleMarkers parse_console(const std::string& console);

}  // namespace singleton::guestkit
