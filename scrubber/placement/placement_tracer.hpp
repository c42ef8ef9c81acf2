// The BPF placement tracer (placement_tracer.bpf.c), loaded, attached and read from userspace:
// every completed pread64/preadv/preadv2/pwrite64/pwritev/pwritev2 of the followed processes
// (QEMUs) as one PlacementRecord. RAII: the programs are detached and the maps freed with it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "snapshot/base/error.hpp"

struct placement_tracer_bpf;  // the skeleton (bpftool gen skeleton)
struct ring_buffer;

namespace singleton {

enum class PlacementOp { kRead, kWrite };
const char* to_string(PlacementOp op);  // "read", "write"

struct PlacementIov {
  uint64_t base = 0;  // address in the process
  uint64_t len = 0;
};

struct PlacementRecord {
  uint64_t time_ns = 0;  // CLOCK_MONOTONIC at the syscall's exit
  pid_t pid = 0;         // process (tgid)
  pid_t tid = 0;
  int fd = -1;
  PlacementOp op = PlacementOp::kRead;
  uint64_t offset = 0;   // file offset of the first byte
  int64_t bytes = 0;     // bytes done (> 0)
  uint64_t dev = 0;      // the file's st_dev and st_ino as the kernel saw it at exit; 0: unknown
  uint64_t ino = 0;
  uint32_t syscall = 0;  // x86-64 syscall number
  uint32_t iov_total = 0;  // iovecs the syscall had
  bool truncated = false;  // iovs holds only the first of iov_total iovecs
  std::vector<PlacementIov> iovs;
};

// One record of the ring buffer as the BPF program wrote it (struct placement_record);
// nullopt when `size` is not its size or its counts are impossible (never guessed).
std::optional<PlacementRecord> decode_record(const void* data, size_t size);

// Records the tracer did not emit, by reason (summed over CPUs), and those userspace refused.
struct PlacementDrops {
  uint64_t ringbuf_full = 0;     // the ring buffer had no room
  uint64_t iov_unreadable = 0;   // the iovec array could not be read whole
  uint64_t no_offset = 0;        // preadv2/pwritev2 at the file position (offset -1)
  uint64_t args_full = 0;        // too many syscalls in flight to remember their arguments
  uint64_t undecodable = 0;      // userspace: a record of the wrong size or impossible counts
  uint64_t total() const {
    return ringbuf_full + iov_unreadable + no_offset + args_full + undecodable;
  }
};

// BPF cannot be used here (no kernel BTF, no CAP_BPF/CAP_PERFMON, lockdown, old kernel): the
// reason, exit code 3.
class TracerUnavailable : public Error {
 public:
  explicit TracerUnavailable(const std::string& reason)
      : Error(ExitCode::kEnvironment, "BPF placement tracer unavailable: " + reason) {}
};

class PlacementTracer {
 public:
  // Opens, loads and attaches the programs; throws TracerUnavailable with libbpf's reason.
  // `btf_path`: the kernel BTF to check for first (tests point it elsewhere).
  explicit PlacementTracer(const std::string& btf_path = "/sys/kernel/btf/vmlinux");
  ~PlacementTracer();
  PlacementTracer(const PlacementTracer&) = delete;
  PlacementTracer& operator=(const PlacementTracer&) = delete;

  // The processes traced (tgids): the pid set map, updated live.
  void follow(pid_t pid);
  void unfollow(pid_t pid);

  // Waits up to timeout_ms for records and hands each to `sink`, in order. Returns how many.
  size_t poll(int timeout_ms, const std::function<void(const PlacementRecord&)>& sink);
  // Hands every record waiting now to `sink`, without waiting. Returns how many.
  size_t consume(const std::function<void(const PlacementRecord&)>& sink);
  // An epoll fd, readable when records wait: for a caller's own poll() loop.
  int fd() const;

  PlacementDrops drops() const;

 private:
  static int on_sample(void* self, void* data, size_t size);
  placement_tracer_bpf* skel_ = nullptr;
  ::ring_buffer* ring_ = nullptr;
  const std::function<void(const PlacementRecord&)>* sink_ = nullptr;
  size_t delivered_ = 0;
  uint64_t undecodable_ = 0;
};

}  // namespace singleton
