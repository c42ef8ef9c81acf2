// SPDX-License-Identifier: GPL-2.0
/* The placement tracer: for the processes in `pids` (QEMUs), every completed positional read or
 * write (pread64, preadv, preadv2, pwrite64, pwritev, pwritev2) becomes one placement_record in
 * the ring buffer `events`: fd, file (dev, inode), offset, bytes done, iovecs.
 *
 * Attached to the BTF-typed raw tracepoints sys_enter / sys_exit (tp_btf), not to
 * syscalls:sys_enter_preadv & co: those need tracefs mounted (their ids live there) and one
 * attachment per syscall, raw tracepoints attach through bpf(2) alone. The cost is one syscall
 * number check on every syscall of the host; the pid check follows only for the six numbers.
 * x86-64 only (syscall numbers, pt_regs registers). CO-RE: vmlinux.h is generated at build
 * time from the build host's /sys/kernel/btf/vmlinux. */
#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "scrubber/placement/placement_record.h"

char LICENSE[] SEC("license") = "GPL";

#define NR_PREAD64 17
#define NR_PWRITE64 18
#define NR_PREADV 295
#define NR_PWRITEV 296
#define NR_PREADV2 327
#define NR_PWRITEV2 328

struct args {
  __u64 nr;
  __u64 fd;
  __u64 buf;    /* pread64/pwrite64: the buffer; the v calls: the iovec array */
  __u64 count;  /* bytes, or iovecs */
  __u64 pos;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);  /* tgid */
  __type(value, __u8);
} pids SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, __u64);  /* pid_tgid: one syscall in flight per thread */
  __type(value, struct args);
} inflight SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, PLACEMENT_DROP_COUNTERS);
  __type(key, __u32);
  __type(value, __u64);
} drops SEC(".maps");

static __always_inline void count_drop(__u32 why) {
  __u64 *n = bpf_map_lookup_elem(&drops, &why);
  if (n) *n += 1;
}

static __always_inline int traced(long nr) {
  return nr == NR_PREAD64 || nr == NR_PWRITE64 || nr == NR_PREADV || nr == NR_PWRITEV ||
         nr == NR_PREADV2 || nr == NR_PWRITEV2;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(placement_enter, struct pt_regs *regs, long id) {
  if (!traced(id)) return 0;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 tgid = pid_tgid >> 32;
  if (!bpf_map_lookup_elem(&pids, &tgid)) return 0;
  struct args a = {};
  a.nr = id;
  a.fd = BPF_CORE_READ(regs, di);
  a.buf = BPF_CORE_READ(regs, si);
  a.count = BPF_CORE_READ(regs, dx);
  /* pread64's pos; the v calls' pos_l, which is the whole offset on 64-bit (pos_h unused). */
  a.pos = BPF_CORE_READ(regs, r10);
  if (bpf_map_update_elem(&inflight, &pid_tgid, &a, BPF_ANY)) count_drop(PLACEMENT_DROP_ARGS_FULL);
  return 0;
}

/* The file behind `fd` of the current task: (dev in st_dev encoding, inode), 0s when unreadable. */
static __always_inline void file_identity(__u64 fd, __u64 *dev, __u64 *ino) {
  struct task_struct *task = bpf_get_current_task_btf();
  struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
  unsigned int max = BPF_CORE_READ(task, files, fdt, max_fds);
  struct file *file = 0;
  *dev = 0;
  *ino = 0;
  if (fd >= max || bpf_core_read(&file, sizeof(file), &fds[fd]) || !file) return;
  struct inode *inode = BPF_CORE_READ(file, f_inode);
  if (!inode) return;
  __u32 kdev = BPF_CORE_READ(inode, i_sb, s_dev);
  __u32 major = kdev >> 20, minor = kdev & 0xfffff;
  *dev = (minor & 0xff) | (major << 8) | ((__u64)(minor & ~0xffu) << 12);
  *ino = BPF_CORE_READ(inode, i_ino);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(placement_exit, struct pt_regs *regs, long ret) {
  /* Every syscall of the host comes through here: the syscall number first, so that the others
   * cost one read and no map lookup. */
  if (!traced((long)BPF_CORE_READ(regs, orig_ax))) return 0;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  struct args *a = bpf_map_lookup_elem(&inflight, &pid_tgid);
  if (!a) return 0;
  struct args args = *a;
  bpf_map_delete_elem(&inflight, &pid_tgid);
  /* A stale entry (a thread that never came back from its syscall) must not match another. */
  if ((long)BPF_CORE_READ(regs, orig_ax) != (long)args.nr) return 0;
  if (ret <= 0) return 0; /* nothing was read or written */
  int vectored = args.nr == NR_PREADV || args.nr == NR_PWRITEV || args.nr == NR_PREADV2 ||
                 args.nr == NR_PWRITEV2;
  if ((__s64)args.pos < 0) { /* preadv2/pwritev2 with offset -1: the file position, unknown */
    count_drop(PLACEMENT_DROP_NO_OFFSET);
    return 0;
  }
  struct placement_record *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
  if (!r) {
    count_drop(PLACEMENT_DROP_RINGBUF_FULL);
    return 0;
  }
  r->time_ns = bpf_ktime_get_ns();
  r->pid = pid_tgid >> 32;
  r->tid = (__u32)pid_tgid;
  r->fd = (__s32)args.fd;
  r->nr = args.nr;
  r->op = (args.nr == NR_PREAD64 || args.nr == NR_PREADV || args.nr == NR_PREADV2)
              ? PLACEMENT_OP_READ
              : PLACEMENT_OP_WRITE;
  r->offset = args.pos;
  r->bytes = ret;
  r->flags = 0;
  file_identity(args.fd, &r->dev, &r->ino);
  if (!vectored) {
    r->iov_total = 1;
    r->iov_count = 1;
    r->iov[0].base = args.buf;
    r->iov[0].len = args.count;
  } else {
    __u32 n = args.count > 1024 ? 1024 : (__u32)args.count;
    r->iov_total = n;
    if (n > PLACEMENT_MAX_IOVS) {
      n = PLACEMENT_MAX_IOVS;
      r->flags |= PLACEMENT_TRUNCATED;
    }
    r->iov_count = n;
    /* struct iovec and struct placement_iov have the same layout: two 64-bit words. One read
     * per iovec, of constant size: a variable-size read the verifier cannot bound. */
    int unreadable = n == 0;
    for (__u32 i = 0; i < PLACEMENT_MAX_IOVS && !unreadable; i++) {
      if (i >= n) break;
      unreadable = bpf_probe_read_user(&r->iov[i], sizeof(r->iov[i]),
                                       (const void *)(args.buf + i * sizeof(struct placement_iov)));
    }
    if (unreadable) {
      bpf_ringbuf_discard(r, 0);
      count_drop(PLACEMENT_DROP_IOV_UNREADABLE);
      return 0;
    }
  }
  bpf_ringbuf_submit(r, 0);
  return 0;
}
