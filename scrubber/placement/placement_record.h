/* The record the BPF tracer (placement_tracer.bpf.c) writes into its ring buffer and userspace
 * (placement_tracer.cpp) decodes: one completed pread64/preadv/preadv2/pwrite64/pwritev/pwritev2
 * of a followed process. C, fixed-size fields only: both sides compile it. */
#ifndef SINGLETON_PLACEMENT_RECORD_H
#define SINGLETON_PLACEMENT_RECORD_H

#define PLACEMENT_MAX_IOVS 64      /* iovecs kept per record; more: PLACEMENT_TRUNCATED */
#define PLACEMENT_TRUNCATED 1u     /* flags: the syscall had more iovecs than iov_count */
#define PLACEMENT_OP_READ 0u
#define PLACEMENT_OP_WRITE 1u

/* Indexes of the per-CPU drop counters (map "drops"): records not emitted. */
#define PLACEMENT_DROP_RINGBUF_FULL 0 /* bpf_ringbuf_reserve failed */
#define PLACEMENT_DROP_IOV_UNREADABLE 1 /* the iovec array could not be read whole */
#define PLACEMENT_DROP_NO_OFFSET 2    /* preadv2/pwritev2 at the file position (offset -1) */
#define PLACEMENT_DROP_ARGS_FULL 3    /* the per-thread argument map was full at entry */
#define PLACEMENT_DROP_COUNTERS 4

struct placement_iov {
  __u64 base; /* the buffer's address in the process */
  __u64 len;
};

struct placement_record {
  __u64 time_ns;  /* bpf_ktime_get_ns() at syscall exit (CLOCK_MONOTONIC) */
  __u32 pid;      /* tgid */
  __u32 tid;
  __s32 fd;
  __u32 op;       /* PLACEMENT_OP_* */
  __u64 offset;   /* file offset of the first byte */
  __s64 bytes;    /* the syscall's return value: bytes done (> 0) */
  __u64 dev;      /* the file's device (userspace st_dev encoding), 0 when unknown */
  __u64 ino;      /* the file's inode number, 0 when unknown */
  __u32 iov_count; /* iovecs in iov[] */
  __u32 iov_total; /* iovecs the syscall had */
  __u32 flags;     /* PLACEMENT_TRUNCATED */
  __u32 nr;        /* the syscall number */
  struct placement_iov iov[PLACEMENT_MAX_IOVS];
};

#endif
