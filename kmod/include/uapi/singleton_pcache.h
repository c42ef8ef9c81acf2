/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * singleton_pcache: the ABI between the singleton_pcache kernel module and
 * userspace (scrubber/pagecache/kmod_page_cache_view.cpp and tests/kmod/). This is the
 * one copy of it: the module and userspace both include this file.
 *
 * Rules (bump rules in kmod/ABI.md):
 * - Fixed-width fields only, explicit padding, every size pinned by a static
 *   assert below. Pointers travel as __u64.
 * - Every argument struct starts with __u32 size = sizeof(the struct the
 *   caller was compiled with). The module accepts any size from the v1 size
 *   up to 4096 bytes; bytes it does not know must be zero (else -E2BIG).
 *   Smaller than the v1 size: -EINVAL.
 * - An ioctl is its magic, number and direction (frozen); the module ignores
 *   the size bits of the number (a grown struct may use the v1 number or
 *   _IOWR() of the grown struct): the size field alone counts. The module
 *   writes back at most `size` bytes.
 * - Pointers (the argument and every array) must be 8-byte aligned: -EINVAL.
 * - Every ioctl needs CAP_SYS_ADMIN (-EPERM); the device is 0600.
 * - Page indices and counts are in 4 KiB pages (PAGE_SIZE on x86-64).
 */
#ifndef SINGLETON_PCACHE_UAPI_H
#define SINGLETON_PCACHE_UAPI_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/build_bug.h>
#define SG_PCACHE_STATIC_ASSERT(expr, msg) static_assert(expr, msg)
#else
#include <linux/types.h>
#include <linux/ioctl.h>
#ifdef __cplusplus
#define SG_PCACHE_STATIC_ASSERT(expr, msg) static_assert(expr, msg)
#else
#define SG_PCACHE_STATIC_ASSERT(expr, msg) _Static_assert(expr, msg)
#endif
#endif

#define SG_PCACHE_DEVICE_NAME "singleton_pcache"
#define SG_PCACHE_DEVICE_PATH "/dev/singleton_pcache"

/*
 * Userspace accepts the module when the major matches and minor >= its own
 * (bump rules: kmod/ABI.md). 2.0 retired LIST_INODES; 2.1 added PROCESS_PAGES. This is the ABI's
 * version, not the release's (kmod/VERSION, modinfo, the packages).
 */
#define SG_PCACHE_ABI_MAJOR 2
#define SG_PCACHE_ABI_MINOR 1

/* Feature bits returned by SG_PCACHE_IOC_VERSION. */
#define SG_PCACHE_FEAT_FILE_PAGES	(1ULL << 0)
#define SG_PCACHE_FEAT_XXH64		(1ULL << 1)
#define SG_PCACHE_FEAT_EVICT		(1ULL << 2)
#define SG_PCACHE_FEAT_FOLIO_ORDER	(1ULL << 4)
#define SG_PCACHE_FEAT_PROCESS_PAGES	(1ULL << 5)

/* Upper bounds per call; larger counts are refused with -EINVAL. */
#define SG_PCACHE_MAX_PAGE_ENTRIES	65536u
#define SG_PCACHE_MAX_EVICT_RANGES	4096u

struct sg_pcache_version {
	__u32 size;		/* in: sizeof(struct sg_pcache_version) */
	__u32 abi_major;	/* out */
	__u32 abi_minor;	/* out */
	__u32 page_size;	/* out: the kernel's PAGE_SIZE */
	__u64 features;		/* out: SG_PCACHE_FEAT_* */
	__u32 max_page_entries;	/* out: SG_PCACHE_MAX_PAGE_ENTRIES */
	__u32 max_evict_ranges;	/* out */
	__u32 reserved0;	/* out: 0 (max_inode_entries up to ABI 1.x) */
	__u32 reserved;		/* out: 0 */
};
SG_PCACHE_STATIC_ASSERT(sizeof(struct sg_pcache_version) == 40,
			"sg_pcache_version is 40 bytes");

/* One cached 4 KiB page of a file. */
struct sg_pcache_page {
	__u64 index;	/* page index in the file */
	__u64 xxh64;	/* XXH64 (seed 0) of the 4 KiB; 0 unless F_HASHED */
	__u32 flags;	/* SG_PCACHE_PAGE_* | order << SG_PCACHE_PAGE_ORDER_SHIFT */
	__u32 reserved;	/* 0 */
};
SG_PCACHE_STATIC_ASSERT(sizeof(struct sg_pcache_page) == 24,
			"sg_pcache_page is 24 bytes");

/* Flags of the folio holding the page (sampled without its lock). */
#define SG_PCACHE_PAGE_DIRTY		(1u << 0)
#define SG_PCACHE_PAGE_WRITEBACK	(1u << 1)
#define SG_PCACHE_PAGE_UPTODATE		(1u << 2)
#define SG_PCACHE_PAGE_ACTIVE		(1u << 3)
#define SG_PCACHE_PAGE_REFERENCED	(1u << 4)
#define SG_PCACHE_PAGE_MAPPED		(1u << 5)
#define SG_PCACHE_PAGE_LOCKED		(1u << 6)
#define SG_PCACHE_PAGE_HASHED		(1u << 7)	/* xxh64 is valid */
#define SG_PCACHE_PAGE_SWAPBACKED	(1u << 8)	/* shmem: never evicted */
/* log2(pages in the folio): 0 = a 4 KiB folio, 9 = 2 MiB. The folio
 * starts at index & ~((1 << order) - 1) (page-cache folios are aligned). */
#define SG_PCACHE_PAGE_ORDER_SHIFT	24
#define SG_PCACHE_PAGE_ORDER_MASK	(0xffu << SG_PCACHE_PAGE_ORDER_SHIFT)
#define SG_PCACHE_PAGE_ORDER(flags) \
	(((flags) & SG_PCACHE_PAGE_ORDER_MASK) >> SG_PCACHE_PAGE_ORDER_SHIFT)

/* Request flags of sg_pcache_file_pages.flags. */
#define SG_PCACHE_WANT_HASH		(1u << 0)

/* Status bits of sg_pcache_file_pages.status. */
#define SG_PCACHE_STATUS_DONE		(1u << 0) /* nothing cached past next_index */

/*
 * List the cached pages of a regular file, in index order, from start_index.
 * The fd must be opened for reading (else -EBADF). Nothing is read, no page
 * is added to the cache, no folio is marked accessed.
 */
struct sg_pcache_file_pages {
	__u32 size;		/* in */
	__s32 fd;		/* in: regular file (or block device), O_RDONLY/O_RDWR */
	__u32 flags;		/* in: SG_PCACHE_WANT_HASH */
	__u32 max_entries;	/* in: 1..SG_PCACHE_MAX_PAGE_ENTRIES */
	__u64 start_index;	/* in: first page index to look at */
	__u64 entries;		/* in: user pointer to max_entries sg_pcache_page */
	__u64 next_index;	/* out: where to resume */
	__u32 nr_entries;	/* out: entries written */
	__u32 status;		/* out: SG_PCACHE_STATUS_* */
	__u64 file_size;	/* out: i_size in bytes when the call started */
};
SG_PCACHE_STATIC_ASSERT(sizeof(struct sg_pcache_file_pages) == 56,
			"sg_pcache_file_pages is 56 bytes");

/* A range of page indices [start, start + nr_pages). */
struct sg_pcache_range {
	__u64 start;
	__u64 nr_pages;
};
SG_PCACHE_STATIC_ASSERT(sizeof(struct sg_pcache_range) == 16,
			"sg_pcache_range is 16 bytes");

/*
 * Evict whole folios inside the given ranges, with the semantics of
 * invalidate_mapping_pages(): clean, not under writeback, not mapped, not
 * locked, no other users. Every cached page a range touches is counted once,
 * in evicted_pages or in one skipped_* counter. A range must start before
 * EOF (else -ERANGE) and be non-empty (else -EINVAL); it may end past EOF.
 * Ranges are validated before anything is evicted.
 */
struct sg_pcache_evict {
	__u32 size;			/* in */
	__s32 fd;			/* in: opened for reading */
	__u32 nr_ranges;		/* in: 1..SG_PCACHE_MAX_EVICT_RANGES */
	__u32 reserved;			/* in: 0 */
	__u64 ranges;			/* in: user pointer to sg_pcache_range[] */
	__u64 evicted_pages;		/* out */
	__u64 skipped_dirty;		/* out: pages of dirty folios */
	__u64 skipped_writeback;	/* out */
	__u64 skipped_mapped;		/* out: mapped into some process */
	__u64 skipped_locked;		/* out */
	__u64 skipped_partial;		/* out: large folio not wholly inside a range */
	__u64 skipped_shmem;		/* out: tmpfs/shmem/ramfs: the only copy */
	__u64 skipped_busy;		/* out: extra references, private data, races */
};
SG_PCACHE_STATIC_ASSERT(sizeof(struct sg_pcache_evict) == 88,
			"sg_pcache_evict is 88 bytes");

/* One 4 KiB page of a process's address space. */
struct sg_pcache_vpage {
	__u64 xxh64;	/* XXH64 (seed 0) of the 4 KiB; 0 unless VPAGE_HASHED */
	__u32 flags;	/* SG_PCACHE_VPAGE_* */
	__u32 reserved;	/* 0 */
};
SG_PCACHE_STATIC_ASSERT(sizeof(struct sg_pcache_vpage) == 16,
			"sg_pcache_vpage is 16 bytes");

/* The page is in RAM and readable (else nothing else is set: not resident,
 * swapped out, no mapping, unreadable or I/O memory; never faulted in). */
#define SG_PCACHE_VPAGE_PRESENT		(1u << 0)
#define SG_PCACHE_VPAGE_ZERO		(1u << 1)	/* a shared zero page (4 KiB or huge) */
#define SG_PCACHE_VPAGE_KSM		(1u << 2)	/* a KSM page (not unshared) */
#define SG_PCACHE_VPAGE_LARGE		(1u << 3)	/* part of a THP / hugetlb folio */
#define SG_PCACHE_VPAGE_HASHED		(1u << 4)	/* xxh64 is valid */

/*
 * Hash the pages of another process's address space in place, without
 * copying them out, pinning them (no FOLL_PIN: a KSM page stays merged) or
 * faulting anything in. One entry per 4 KiB page from `start`, at most
 * max_entries per call; `next` says where to resume (== end: status DONE).
 * Needs ptrace read access to the process, as process_vm_readv does, on top
 * of CAP_SYS_ADMIN (-EPERM). The process gone: -ESRCH. Kernels before 6.6
 * cannot look at a hugetlb mapping without faulting it in: a call stops
 * before one (fewer entries, `next` its start), a call starting in one fails
 * with -EOPNOTSUPP (kmod/ABI.md).
 */
struct sg_pcache_process_pages {
	__u32 size;		/* in */
	__s32 pidfd;		/* in: pidfd_open(2) of the process */
	__u32 flags;		/* in: 0 */
	__u32 max_entries;	/* in: 1..SG_PCACHE_MAX_PAGE_ENTRIES */
	__u64 start;		/* in: first address, 4 KiB aligned */
	__u64 end;		/* in: end (exclusive), aligned, > start */
	__u64 entries;		/* in: user pointer to max_entries sg_pcache_vpage */
	__u64 next;		/* out: where to resume */
	__u32 nr_entries;	/* out: entries written */
	__u32 status;		/* out: SG_PCACHE_STATUS_DONE when next == end */
};
SG_PCACHE_STATIC_ASSERT(sizeof(struct sg_pcache_process_pages) == 56,
			"sg_pcache_process_pages is 56 bytes");

#define SG_PCACHE_IOC_MAGIC 0xe7
#define SG_PCACHE_IOC_VERSION \
	_IOWR(SG_PCACHE_IOC_MAGIC, 1, struct sg_pcache_version)
#define SG_PCACHE_IOC_FILE_PAGES \
	_IOWR(SG_PCACHE_IOC_MAGIC, 2, struct sg_pcache_file_pages)
#define SG_PCACHE_IOC_EVICT \
	_IOWR(SG_PCACHE_IOC_MAGIC, 3, struct sg_pcache_evict)
/* Number 4 is retired (below): the next ioctl is 5. */
#define SG_PCACHE_IOC_PROCESS_PAGES \
	_IOWR(SG_PCACHE_IOC_MAGIC, 5, struct sg_pcache_process_pages)

/*
 * Retired in ABI 2.0 (kmod/ABI.md, "Retired"); never given to anything again.
 * The module answers the number with -ENOTTY and never sets the bit.
 */
#define SG_PCACHE_RETIRED_IOC_NR_LIST_INODES	4
#define SG_PCACHE_RETIRED_FEAT_LIST_INODES	(1ULL << 3)

#endif /* SINGLETON_PCACHE_UAPI_H */
