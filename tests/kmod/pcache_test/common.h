/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sg_pcache_test: what the modes share. Include it first: it asks for the GNU
 * extensions (memfd_create, O_PATH, ...) before any system header.
 */
#ifndef SG_PCACHE_TEST_COMMON_H
#define SG_PCACHE_TEST_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmod/include/uapi/singleton_pcache.h"

#define PG 4096UL

/* The largest argument struct the module accepts (kmod/ABI.md). */
#define ABI_MAX_ARG 4096

/* --- reporting ------------------------------------------------------------ */

extern const char *g_test;	/* the running mode, in every FAIL line */
extern int g_failures;
extern int g_dev;		/* /dev/singleton_pcache, after open_dev() */

void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond, ...)                  \
	do {                              \
		if (!(cond))              \
			fail(__VA_ARGS__); \
	} while (0)

/* A failure the mode cannot go on from: exit 100. */
void die(const char *what) __attribute__((noreturn));
/* An ioctl's result (0 or -errno) is `want`. */
void expect(const char *what, int got, int want);

/* --- the device ----------------------------------------------------------- */

void open_dev(void);
int ioc(unsigned long cmd, void *arg);
unsigned long ioc_sized(unsigned long cmd, unsigned int size);
struct sg_pcache_page *query_all(int fd, uint64_t start, uint32_t per_call,
				 bool hash, size_t *count, int *err);
struct sg_pcache_page *find_entry(struct sg_pcache_page *e, size_t n,
				  uint64_t index);
int evict(int fd, const struct sg_pcache_range *r, uint32_t nr,
	  struct sg_pcache_evict *a);
uint64_t skipped(const struct sg_pcache_evict *a);
void print_evict(const char *what, const struct sg_pcache_evict *a);

/* --- processes (PROCESS_PAGES) ------------------------------------------- */

int pidfd_of(pid_t pid);	/* dies on failure */
/* PROCESS_PAGES over [start, start + pages * PG); 0 or -errno; *out the struct after. */
int process_pages(int pidfd, uint64_t start, size_t pages, uint32_t max,
		  struct sg_pcache_vpage *e, struct sg_pcache_process_pages *out);
/* The running kernel is older than major.minor. */
bool kernel_before(int major, int minor);
/* A /proc/meminfo value ("HugePages_Free": a count, others in kB); -1 if absent. */
long meminfo_kb(const char *key);
/*
 * The [start, end) of the first mapping of `pid` (0: ours) in /proc/PID/maps whose
 * name ends with `name`, whose permissions contain `perms` (each NULL: any) and that
 * is at least `min_len` long; 0 if there is none (*end untouched then, if non-NULL).
 */
uint64_t find_mapping(pid_t pid, const char *name, const char *perms,
		      uint64_t min_len, uint64_t *end);

/* --- test files and the page cache ---------------------------------------- */

/* A file of `size` deterministic bytes; `data` keeps a copy. */
struct tfile {
	char path[512];
	int fd;
	size_t size;
	unsigned char *data;
};

void fill(unsigned char *buf, size_t len, uint64_t seed);
void tfile_create(struct tfile *f, const char *dir, const char *name,
		  size_t size, uint64_t seed);
void tfile_close(struct tfile *f);
void drop_cache(int fd);
size_t npages(size_t size);
size_t mincore_vec(int fd, size_t size, unsigned char *vec);
size_t cache_count(int fd, size_t size, const char **how);
void flush_lru_batches(const char *dir);

/* --- the modes (MODE.c each) ---------------------------------------------- */

void test_device(void);
void test_compare(const char *dir, const char *label, const char *mode);
void test_evict(const char *dir, const char *label, bool shmem);
void test_blockdev(const char *dev);
void test_halffolio(const char *dir, const char *label, bool shmem);
void test_retired(const char *dir);
void test_badinput(const char *dir);
void test_abi(const char *dir);
void test_fuzz(long iterations, char **dirs, int ndirs);
void test_dirtysafety(const char *dir, const char *label, int seconds);
void test_stress(int seconds, char **dirs, int ndirs);
void test_process(const char *dir);
void test_ksm(void);
void test_hugetlb(void);
void test_procrace(int seconds);

#endif /* SG_PCACHE_TEST_COMMON_H */
