#include "scrubber/placement/placement_tracer.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "scrubber/placement/placement_record.h"
#include <placement_tracer.skel.h>

namespace singleton {
namespace {

// libbpf's messages: the last warning is the reason given when loading fails.
std::mutex g_log_mutex;
std::string g_last_warning;

int libbpf_log(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[512];
  const int n = std::vsnprintf(line, sizeof line, format, args);
  if (n <= 0) return 0;
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  // The verifier's log is long; keep the line that says what failed.
  if (!text.empty() && text.rfind("libbpf: ", 0) == 0) {
    std::lock_guard lock(g_log_mutex);
    g_last_warning = text.substr(8);
  }
  return 0;
}

std::string take_last_warning() {
  std::lock_guard lock(g_log_mutex);
  std::string w = std::move(g_last_warning);
  g_last_warning.clear();
  return w;
}

std::string failure(const char* step, int err) {
  std::string reason = std::string(step) + ": " + std::strerror(err);
  if (err == EPERM || err == EACCES)
    reason += " (needs CAP_BPF and CAP_PERFMON, or root; kernel lockdown also refuses BPF)";
  const std::string detail = take_last_warning();
  if (!detail.empty()) reason += "; libbpf: " + detail;
  return reason;
}

}  // namespace

const char* to_string(PlacementOp op) { return op == PlacementOp::kRead ? "read" : "write"; }

std::optional<PlacementRecord> decode_record(const void* data, size_t size) {
  if (data == nullptr || size != sizeof(placement_record)) return std::nullopt;
  placement_record raw;
  std::memcpy(&raw, data, sizeof raw);
  if (raw.iov_count > PLACEMENT_MAX_IOVS || raw.iov_count > raw.iov_total || raw.bytes <= 0 ||
      raw.op > PLACEMENT_OP_WRITE || raw.iov_count == 0)
    return std::nullopt;
  const bool truncated = (raw.flags & PLACEMENT_TRUNCATED) != 0;
  if (truncated != (raw.iov_total > raw.iov_count)) return std::nullopt;
  PlacementRecord r;
  r.time_ns = raw.time_ns;
  r.pid = static_cast<pid_t>(raw.pid);
  r.tid = static_cast<pid_t>(raw.tid);
  r.fd = raw.fd;
  r.op = raw.op == PLACEMENT_OP_READ ? PlacementOp::kRead : PlacementOp::kWrite;
  r.offset = raw.offset;
  r.bytes = raw.bytes;
  r.dev = raw.dev;
  r.ino = raw.ino;
  r.syscall = raw.nr;
  r.iov_total = raw.iov_total;
  r.truncated = truncated;
  for (uint32_t i = 0; i < raw.iov_count; ++i) r.iovs.push_back({raw.iov[i].base, raw.iov[i].len});
  return r;
}

PlacementTracer::PlacementTracer(const std::string& btf_path) {
  if (::access(btf_path.c_str(), R_OK) != 0)
    throw TracerUnavailable("no kernel BTF at " + btf_path + " (" + std::strerror(errno) +
                            "): the CO-RE tracer needs CONFIG_DEBUG_INFO_BTF");
  libbpf_set_print(libbpf_log);
  take_last_warning();
  LIBBPF_OPTS(bpf_object_open_opts, open_opts);
  if (btf_path != "/sys/kernel/btf/vmlinux") open_opts.btf_custom_path = btf_path.c_str();
  skel_ = placement_tracer_bpf__open_opts(&open_opts);
  if (skel_ == nullptr) throw TracerUnavailable(failure("open", errno));
  if (int err = placement_tracer_bpf__load(skel_); err != 0) {
    placement_tracer_bpf__destroy(skel_);
    throw TracerUnavailable(failure("load", -err));
  }
  if (int err = placement_tracer_bpf__attach(skel_); err != 0) {
    placement_tracer_bpf__destroy(skel_);
    throw TracerUnavailable(failure("attach to the sys_enter/sys_exit raw tracepoints", -err));
  }
  ring_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), &PlacementTracer::on_sample, this,
                           nullptr);
  if (ring_ == nullptr) {
    const int err = errno;
    placement_tracer_bpf__destroy(skel_);
    throw TracerUnavailable(failure("ring buffer", err));
  }
}

PlacementTracer::~PlacementTracer() {
  if (ring_ != nullptr) ring_buffer__free(ring_);
  if (skel_ != nullptr) placement_tracer_bpf__destroy(skel_);
}

void PlacementTracer::follow(pid_t pid) {
  const __u32 key = static_cast<__u32>(pid);
  const __u8 one = 1;
  if (bpf_map__update_elem(skel_->maps.pids, &key, sizeof key, &one, sizeof one, BPF_ANY) != 0)
    throw_errno("follow pid " + std::to_string(pid) + " (BPF pid set)");
}

void PlacementTracer::unfollow(pid_t pid) {
  const __u32 key = static_cast<__u32>(pid);
  bpf_map__delete_elem(skel_->maps.pids, &key, sizeof key, 0);  // absent: nothing to do
}

int PlacementTracer::on_sample(void* self, void* data, size_t size) {
  auto* tracer = static_cast<PlacementTracer*>(self);
  if (auto record = decode_record(data, size)) {
    (*tracer->sink_)(*record);
    ++tracer->delivered_;
  } else {
    ++tracer->undecodable_;
  }
  return 0;
}

size_t PlacementTracer::poll(int timeout_ms,
                             const std::function<void(const PlacementRecord&)>& sink) {
  sink_ = &sink;
  delivered_ = 0;
  const int n = ring_buffer__poll(ring_, timeout_ms);
  sink_ = nullptr;
  if (n < 0 && n != -EINTR) throw SystemError("poll the BPF ring buffer", -n);
  return delivered_;
}

size_t PlacementTracer::consume(const std::function<void(const PlacementRecord&)>& sink) {
  sink_ = &sink;
  delivered_ = 0;
  const int n = ring_buffer__consume(ring_);
  sink_ = nullptr;
  if (n < 0 && n != -EINTR) throw SystemError("read the BPF ring buffer", -n);
  return delivered_;
}

int PlacementTracer::fd() const { return ring_buffer__epoll_fd(ring_); }

PlacementDrops PlacementTracer::drops() const {
  PlacementDrops d;
  d.undecodable = undecodable_;
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return d;
  std::vector<__u64> values(static_cast<size_t>(cpus));
  uint64_t* slots[] = {&d.ringbuf_full, &d.iov_unreadable, &d.no_offset, &d.args_full};
  for (__u32 key = 0; key < PLACEMENT_DROP_COUNTERS; ++key) {
    if (bpf_map__lookup_elem(skel_->maps.drops, &key, sizeof key, values.data(),
                             values.size() * sizeof(__u64), 0) != 0)
      continue;
    for (auto v : values) *slots[key] += v;
  }
  return d;
}

}  // namespace singleton
