// SPDX-License-Identifier: GPL-2.0
/* sg_pcache_test: what every mode uses (reporting, ioctls, test files, cache counts). */
#include "common.h"

#include <stdarg.h>
#include <sys/types.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

const char *g_test = "?";
int g_failures;
int g_dev = -1;

void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", g_test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	g_failures++;
}

void die(const char *what)
{
	printf("FAIL %s: %s: %s\n", g_test, what, strerror(errno));
	exit(100);
}

void open_dev(void)
{
	if (g_dev >= 0)
		return;
	g_dev = open(SG_PCACHE_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (g_dev < 0)
		die("open " SG_PCACHE_DEVICE_PATH);
}

/* ioctl returning 0 or -errno. */
int ioc(unsigned long cmd, void *arg)
{
	return ioctl(g_dev, cmd, arg) < 0 ? -errno : 0;
}

void fill(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t s = seed * 0x2545f4914f6cdd1dULL + 1;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		memcpy(buf + i, &s, 8);
	}
	for (size_t i = len & ~7UL; i < len; i++)
		buf[i] = (unsigned char)i;
}

void tfile_create(struct tfile *f, const char *dir, const char *name,
		  size_t size, uint64_t seed)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", dir, name);
	unlink(f->path);
	f->fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f->fd < 0)
		die(f->path);
	f->size = size;
	f->data = malloc(size ? size : 1);
	if (!f->data)
		die("malloc");
	fill(f->data, size, seed);
	for (size_t off = 0; off < size;) {
		ssize_t n = pwrite(f->fd, f->data + off, size - off, off);

		if (n <= 0)
			die("pwrite");
		off += n;
	}
	if (fsync(f->fd))
		die("fsync");
}

void tfile_close(struct tfile *f)
{
	close(f->fd);
	free(f->data);
	unlink(f->path);
}

void drop_cache(int fd)
{
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

size_t npages(size_t size)
{
	return (size + PG - 1) / PG;
}

/* mincore() of the whole file; vec has npages entries. Returns the count. */
size_t mincore_vec(int fd, size_t size, unsigned char *vec)
{
	size_t n = npages(size), count = 0;
	void *p;

	if (!size)
		return 0;
	p = mmap(NULL, n * PG, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	madvise(p, n * PG, MADV_RANDOM);
	if (mincore(p, n * PG, vec))
		die("mincore");
	munmap(p, n * PG);
	for (size_t i = 0; i < n; i++)
		count += vec[i] & 1;
	return count;
}

struct cstat_range {
	uint64_t off, len;
};
struct cstat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted,
		nr_recently_evicted;
};
#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

/* Cached pages of the file: cachestat(2) where the kernel has it (>= 6.5). */
size_t cache_count(int fd, size_t size, const char **how)
{
	struct cstat_range r = { 0, 0 };
	struct cstat cs;
	unsigned char *vec;
	size_t n;

	if (syscall(SYS_cachestat, fd, &r, &cs, 0) == 0) {
		*how = "cachestat";
		return cs.nr_cache;
	}
	*how = "mincore";
	vec = malloc(npages(size) + 1);
	n = mincore_vec(fd, size, vec);
	free(vec);
	return n;
}

/* All cached pages from `start`, in calls of `per_call` entries. */
struct sg_pcache_page *query_all(int fd, uint64_t start, uint32_t per_call,
				 bool hash, size_t *count, int *err)
{
	struct sg_pcache_page *all = NULL;
	size_t n = 0, cap = 0;
	int calls = 0;

	*err = 0;
	for (;;) {
		struct sg_pcache_file_pages a = { 0 };

		if (cap - n < per_call) {
			cap = cap * 2 + per_call;
			all = realloc(all, cap * sizeof(*all));
			if (!all)
				die("realloc");
		}
		a.size = sizeof(a);
		a.fd = fd;
		a.flags = hash ? SG_PCACHE_WANT_HASH : 0;
		a.max_entries = per_call;
		a.start_index = start;
		a.entries = (uintptr_t)(all + n);
		*err = ioc(SG_PCACHE_IOC_FILE_PAGES, &a);
		if (*err)
			break;
		if (a.nr_entries > per_call) {
			fail("nr_entries %u > max %u", a.nr_entries, per_call);
			break;
		}
		if (a.nr_entries && all[n].index < start)
			fail("entry %" PRIu64 " before start %" PRIu64,
			     (uint64_t)all[n].index, start);
		n += a.nr_entries;
		if (a.status & SG_PCACHE_STATUS_DONE)
			break;
		if (a.next_index <= start && a.nr_entries == 0) {
			fail("no progress at %" PRIu64, start);
			break;
		}
		start = a.next_index;
		if (++calls > 1000000) {
			fail("query does not end");
			break;
		}
	}
	*count = n;
	return all;
}

struct sg_pcache_page *find_entry(struct sg_pcache_page *e, size_t n,
				  uint64_t index)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (e[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && e[lo].index == index ? &e[lo] : NULL;
}

int evict(int fd, const struct sg_pcache_range *r, uint32_t nr,
	  struct sg_pcache_evict *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->fd = fd;
	a->nr_ranges = nr;
	a->ranges = (uintptr_t)r;
	return ioc(SG_PCACHE_IOC_EVICT, a);
}

uint64_t skipped(const struct sg_pcache_evict *a)
{
	return a->skipped_dirty + a->skipped_writeback + a->skipped_mapped +
	       a->skipped_locked + a->skipped_partial + a->skipped_shmem +
	       a->skipped_busy;
}

void print_evict(const char *what, const struct sg_pcache_evict *a)
{
	printf("%s: evicted %llu, skipped dirty %llu writeback %llu mapped %llu "
	       "locked %llu partial %llu shmem %llu busy %llu\n", what,
	       (unsigned long long)a->evicted_pages,
	       (unsigned long long)a->skipped_dirty,
	       (unsigned long long)a->skipped_writeback,
	       (unsigned long long)a->skipped_mapped,
	       (unsigned long long)a->skipped_locked,
	       (unsigned long long)a->skipped_partial,
	       (unsigned long long)a->skipped_shmem,
	       (unsigned long long)a->skipped_busy);
}

/* Reading another file pushes the per-CPU LRU batches (which pin folios). */
void flush_lru_batches(const char *dir)
{
	struct tfile t;
	char buf[65536];

	tfile_create(&t, dir, "lru-flush.bin", 1024 * 1024, 99);
	drop_cache(t.fd);
	while (read(t.fd, buf, sizeof(buf)) > 0)
		;
	tfile_close(&t);
}

void expect(const char *what, int got, int want)
{
	if (got != want)
		fail("%s: got %s (%d), want %s (%d)", what,
		     got ? strerror(-got) : "success", got,
		     want ? strerror(-want) : "success", want);
}

/* cmd with its size bits saying `size`: what _IOWR() gives for a struct of
 * that size (a newer userspace whose struct grew). */
unsigned long ioc_sized(unsigned long cmd, unsigned int size)
{
	return (cmd & ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
	       ((unsigned long)(size & _IOC_SIZEMASK) << _IOC_SIZESHIFT);
}

int pidfd_of(pid_t pid)
{
	int fd = syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		die("pidfd_open");
	return fd;
}

int process_pages(int pidfd, uint64_t start, size_t pages, uint32_t max,
		  struct sg_pcache_vpage *e, struct sg_pcache_process_pages *out)
{
	struct sg_pcache_process_pages a = {
		.size = sizeof(a), .pidfd = pidfd, .max_entries = max,
		.start = start, .end = start + pages * PG,
		.entries = (uint64_t)(uintptr_t)e,
	};
	int r = ioc(SG_PCACHE_IOC_PROCESS_PAGES, &a);

	if (out)
		*out = a;
	return r;
}

bool kernel_before(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		die("uname");
	return ma < major || (ma == major && mi < minor);
}

long meminfo_kb(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		die("/proc/meminfo");
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ':') {
			v = atol(line + len + 1);
			break;
		}
	}
	fclose(f);
	return v;
}

uint64_t find_mapping(pid_t pid, const char *name, const char *perms,
		      uint64_t min_len, uint64_t *end)
{
	char path[64], line[512], mode[8];
	uint64_t start, last;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	f = fopen(path, "r");
	if (!f)
		die("maps");
	while (fgets(line, sizeof(line), f)) {
		char *nl = strchr(line, '\n');
		size_t len = strlen(line) - (nl ? 1 : 0);

		if (nl)
			*nl = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s", &start, &last, mode) != 3)
			continue;
		if (last - start < min_len || (perms && !strstr(mode, perms)))
			continue;
		if (name && (len < strlen(name) || strcmp(line + len - strlen(name), name)))
			continue;
		fclose(f);
		if (end)
			*end = last;
		return start;
	}
	fclose(f);
	return 0;
}
