// SPDX-License-Identifier: GPL-2.0
/*
 * sg_pcache_test: in-guest tests of the singleton_pcache module. Statically
 * linked (busybox guests have no libraries). Every check prints
 * "FAIL <test>: <what>" when it fails; the exit status is the number of
 * failures (capped), 0 when all passed.
 *
 *   sg_pcache_test device
 *   sg_pcache_test compare DIR LABEL [large|huge]   module vs mincore + XXH64
 *   sg_pcache_test evict DIR LABEL [shmem]
 *   sg_pcache_test halffolio DIR LABEL [shmem]
 *   sg_pcache_test listinodes DIR LABEL
 *   sg_pcache_test badinput DIR
 *   sg_pcache_test abi DIR                       grown structs, ioctl size bits
 *   sg_pcache_test fuzz N DIR...
 *   sg_pcache_test blockdev DEVICE
 *   sg_pcache_test dirtysafety DIR LABEL SECONDS
 *   sg_pcache_test stress SECONDS DIR...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "kmod/include/uapi/singleton_pcache.h"

#define PG 4096UL

static const char *g_test = "?";
static int g_failures;
static int g_dev = -1;

static void fail(const char *fmt, ...)
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

#define CHECK(cond, ...)                  \
	do {                              \
		if (!(cond))              \
			fail(__VA_ARGS__); \
	} while (0)

static void die(const char *what)
{
	printf("FAIL %s: %s: %s\n", g_test, what, strerror(errno));
	exit(100);
}

static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return g_rng;
}

static void open_dev(void)
{
	if (g_dev >= 0)
		return;
	g_dev = open(SG_PCACHE_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (g_dev < 0)
		die("open " SG_PCACHE_DEVICE_PATH);
}

/* ioctl returning 0 or -errno. */
static int ioc(unsigned long cmd, void *arg)
{
	return ioctl(g_dev, cmd, arg) < 0 ? -errno : 0;
}

/* A file of `size` deterministic bytes; `data` keeps a copy. */
struct tfile {
	char path[512];
	int fd;
	size_t size;
	unsigned char *data;
};

static void fill(unsigned char *buf, size_t len, uint64_t seed)
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

static void tfile_create(struct tfile *f, const char *dir, const char *name,
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

static void tfile_close(struct tfile *f)
{
	close(f->fd);
	free(f->data);
	unlink(f->path);
}

static void drop_cache(int fd)
{
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

static size_t npages(size_t size)
{
	return (size + PG - 1) / PG;
}

/* mincore() of the whole file; vec has npages entries. Returns the count. */
static size_t mincore_vec(int fd, size_t size, unsigned char *vec)
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
static size_t cache_count(int fd, size_t size, const char **how)
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
static struct sg_pcache_page *query_all(int fd, uint64_t start, uint32_t per_call,
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

static uint64_t page_hash(const struct tfile *f, uint64_t index)
{
	unsigned char page[PG];
	size_t off = index * PG;
	size_t len = off < f->size ? f->size - off : 0;

	if (len > PG)
		len = PG;
	memset(page, 0, PG);
	if (len)
		memcpy(page, f->data + off, len);
	return XXH64(page, PG, 0);
}

static struct sg_pcache_page *find_entry(struct sg_pcache_page *e, size_t n,
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

/* --- device ------------------------------------------------------------- */

static void test_device(void)
{
	struct sg_pcache_version v = { .size = sizeof(v) };
	struct stat st;

	g_test = "device";
	if (stat(SG_PCACHE_DEVICE_PATH, &st)) {
		fail("stat %s: %s", SG_PCACHE_DEVICE_PATH, strerror(errno));
		return;
	}
	CHECK(S_ISCHR(st.st_mode), "not a character device");
	CHECK((st.st_mode & 07777) == 0600, "mode %o, want 0600",
	      st.st_mode & 07777);
	CHECK(st.st_uid == 0, "owner %u, want root", st.st_uid);
	open_dev();
	CHECK(ioc(SG_PCACHE_IOC_VERSION, &v) == 0, "version ioctl failed");
	CHECK(v.abi_major == SG_PCACHE_ABI_MAJOR, "abi major %u", v.abi_major);
	CHECK(v.page_size == PG, "page size %u", v.page_size);
	CHECK((v.features & 0x1f) == 0x1f, "features %#llx",
	      (unsigned long long)v.features);
	printf("device: abi %u.%u features %#llx\n", v.abi_major, v.abi_minor,
	       (unsigned long long)v.features);
}

/* --- compare ------------------------------------------------------------ */

/*
 * Every cached page the module reports is what mincore() reports, its hash
 * is XXH64 of the file's bytes, folio orders are consistent, and the query
 * changes neither the cache size nor LRU flags.
 */
static void test_compare(const char *dir, const char *label, const char *mode)
{
	bool want_large = mode && !strcmp(mode, "large");
	bool want_huge = mode && !strcmp(mode, "huge");
	size_t size = 6 * 1024 * 1024 + 5 * PG + 123, n, n2, nm, np = npages(size);
	size_t before, after, mismatches = 0, bad_hash = 0, bad_order = 0;
	unsigned int max_order = 0;
	struct sg_pcache_page *e, *e2;
	unsigned char *vec, buf[64 * 1024];
	const char *how;
	struct tfile f;
	int err;

	g_test = "compare";
	printf("compare %s (%s)\n", label, dir);
	tfile_create(&f, dir, "compare.bin", size, 1);
	drop_cache(f.fd);
	/* Sequential reads leave readahead marks; a query must not fire them. */
	for (size_t off = 0; off < 1024 * 1024; off += sizeof(buf))
		if (pread(f.fd, buf, sizeof(buf), off) < 0)
			die("pread");
	for (size_t i = 300; i < np; i += 37)
		if (pread(f.fd, buf, 100, i * PG) < 0)
			die("pread");

	before = cache_count(f.fd, size, &how);
	e = query_all(f.fd, 0, 97, true, &n, &err);
	CHECK(!err, "query: %s", strerror(-err));
	after = cache_count(f.fd, size, &how);
	CHECK(before == after, "%s: %zu cached pages before the query, %zu after",
	      how, before, after);
	printf("compare %s: %zu pages cached (%s), module reports %zu\n", label,
	       before, how, n);

	vec = calloc(np + 1, 1);
	nm = mincore_vec(f.fd, size, vec);
	for (size_t i = 0; i < np; i++) {
		bool k = find_entry(e, n, i) != NULL;

		if (k != (vec[i] & 1)) {
			if (mismatches++ < 5)
				fail("page %zu: module %d, mincore %d", i, k,
				     vec[i] & 1);
		}
	}
	CHECK(!mismatches, "%zu pages differ from mincore (%zu cached)",
	      mismatches, nm);
	CHECK(nm > 0, "nothing cached: the test read nothing?");

	for (size_t i = 0; i < n; i++) {
		unsigned int o = SG_PCACHE_PAGE_ORDER(e[i].flags);
		uint64_t head = e[i].index & ~((1ULL << o) - 1);

		if (i && e[i].index <= e[i - 1].index)
			fail("entries not ascending at %zu", i);
		if (o > max_order)
			max_order = o;
		if (e[i].index < np) {
			if (!(e[i].flags & SG_PCACHE_PAGE_HASHED))
				fail("page %" PRIu64 " not hashed (flags %#x)",
				     (uint64_t)e[i].index, e[i].flags);
			else if (e[i].xxh64 != page_hash(&f, e[i].index) &&
				 bad_hash++ < 5)
				fail("page %" PRIu64 ": hash %016" PRIx64
				     ", file %016" PRIx64,
				     (uint64_t)e[i].index, (uint64_t)e[i].xxh64,
				     page_hash(&f, e[i].index));
		}
		/* Every page of the folio is cached and says the same order. */
		for (uint64_t j = head; j < head + (1ULL << o); j++) {
			struct sg_pcache_page *s = find_entry(e, n, j);

			if ((!s || SG_PCACHE_PAGE_ORDER(s->flags) != o) &&
			    bad_order++ < 5)
				fail("page %" PRIu64 ": order %u, but page %" PRIu64
				     " %s", (uint64_t)e[i].index, o, j,
				     s ? "has another order" : "is not cached");
		}
	}
	CHECK(!bad_hash, "%zu hashes differ", bad_hash);
	printf("compare %s: largest folio order %u\n", label, max_order);
	if (want_large)
		CHECK(max_order >= 2, "no large folio (max order %u) on %s",
		      max_order, label);
	if (want_huge)
		CHECK(max_order == 9, "no 2 MiB folio (max order %u) on %s",
		      max_order, label);

	/* Looking twice: same pages, same LRU flags (nothing marked accessed). */
	e2 = query_all(f.fd, 0, 4096, false, &n2, &err);
	CHECK(!err && n2 == n, "second query: %zu pages, first %zu", n2, n);
	for (size_t i = 0; !err && i < n && i < n2; i++) {
		uint32_t m = SG_PCACHE_PAGE_ACTIVE | SG_PCACHE_PAGE_REFERENCED;

		if ((e[i].flags & m) != (e2[i].flags & m)) {
			fail("page %" PRIu64 ": LRU flags %#x then %#x",
			     (uint64_t)e[i].index, e[i].flags & m,
			     e2[i].flags & m);
			break;
		}
		if (e2[i].xxh64 || (e2[i].flags & SG_PCACHE_PAGE_HASHED)) {
			fail("hash without SG_PCACHE_WANT_HASH");
			break;
		}
	}
	free(e2);

	/* Resuming inside a large folio starts at that page. */
	if (max_order) {
		for (size_t i = 0; i < n; i++) {
			if (SG_PCACHE_PAGE_ORDER(e[i].flags) &&
			    (e[i].index & 1)) {
				struct sg_pcache_page *e3;
				size_t n3;

				e3 = query_all(f.fd, e[i].index, 7, true, &n3,
					       &err);
				CHECK(!err && n3 == n - i && n3 &&
				      e3[0].index == e[i].index,
				      "query from %" PRIu64 " inside a folio",
				      (uint64_t)e[i].index);
				free(e3);
				break;
			}
		}
	}
	free(e);
	free(vec);
	tfile_close(&f);
}

/* --- evict -------------------------------------------------------------- */

static int evict(int fd, const struct sg_pcache_range *r, uint32_t nr,
		 struct sg_pcache_evict *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->fd = fd;
	a->nr_ranges = nr;
	a->ranges = (uintptr_t)r;
	return ioc(SG_PCACHE_IOC_EVICT, a);
}

static uint64_t skipped(const struct sg_pcache_evict *a)
{
	return a->skipped_dirty + a->skipped_writeback + a->skipped_mapped +
	       a->skipped_locked + a->skipped_partial + a->skipped_shmem +
	       a->skipped_busy;
}

static void print_evict(const char *what, const struct sg_pcache_evict *a)
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
static void flush_lru_batches(const char *dir)
{
	struct tfile t;
	char buf[65536];

	tfile_create(&t, dir, "lru-flush.bin", 1024 * 1024, 99);
	drop_cache(t.fd);
	while (read(t.fd, buf, sizeof(buf)) > 0)
		;
	tfile_close(&t);
}

static void test_evict(const char *dir, const char *label, bool shmem)
{
	size_t size = 2 * 1024 * 1024, np = npages(size), cached, n, nm;
	struct sg_pcache_range all = { 0, np };
	struct sg_pcache_evict a, b;
	unsigned char *vec = calloc(np, 1), buf[65536], dirty[10 * PG];
	volatile unsigned char *map;
	struct sg_pcache_page *e;
	uint64_t evicted;
	struct tfile f;
	int err;

	g_test = "evict";
	printf("evict %s (%s)\n", label, dir);
	tfile_create(&f, dir, "evict.bin", size, 2);
	drop_cache(f.fd);
	while (read(f.fd, buf, sizeof(buf)) > 0)
		;
	/* Pages 10..19 dirty, pages 40..49 mapped. */
	fill(dirty, sizeof(dirty), 77);
	if (pwrite(f.fd, dirty, sizeof(dirty), 10 * PG) != sizeof(dirty))
		die("pwrite");
	map = mmap(NULL, 10 * PG, PROT_READ, MAP_SHARED, f.fd, 40 * PG);
	if (map == MAP_FAILED)
		die("mmap");
	for (int i = 0; i < 10; i++)
		(void)map[i * PG];
	flush_lru_batches(dir);

	cached = mincore_vec(f.fd, size, vec);
	e = query_all(f.fd, 0, 4096, false, &n, &err);
	CHECK(!err && n >= cached, "query: %zu pages, mincore %zu", n, cached);
	for (int i = 10; i < 20; i++) {
		struct sg_pcache_page *p = find_entry(e, n, i);

		CHECK(p && (p->flags & SG_PCACHE_PAGE_DIRTY),
		      "page %d not reported dirty", i);
	}
	for (int i = 40; i < 50; i++) {
		struct sg_pcache_page *p = find_entry(e, n, i);

		CHECK(p && (p->flags & SG_PCACHE_PAGE_MAPPED),
		      "page %d not reported mapped", i);
	}
	free(e);

	err = evict(f.fd, &all, 1, &a);
	CHECK(!err, "evict: %s", strerror(-err));
	print_evict(label, &a);
	CHECK(a.evicted_pages + skipped(&a) == n,
	      "evicted + skipped = %llu, cached %zu",
	      (unsigned long long)(a.evicted_pages + skipped(&a)), n);
	if (shmem) {
		CHECK(a.evicted_pages == 0, "evicted %llu tmpfs pages",
		      (unsigned long long)a.evicted_pages);
		CHECK(a.skipped_shmem == n, "skipped_shmem %llu, cached %zu",
		      (unsigned long long)a.skipped_shmem, n);
		CHECK(mincore_vec(f.fd, size, vec) == cached,
		      "tmpfs cache changed");
	} else {
		CHECK(a.skipped_dirty + a.skipped_writeback >= 10,
		      "dirty pages: %llu skipped",
		      (unsigned long long)a.skipped_dirty);
		CHECK(a.skipped_mapped >= 10, "mapped pages: %llu skipped",
		      (unsigned long long)a.skipped_mapped);
		evicted = a.evicted_pages;
		/* Pages pinned by a per-CPU LRU batch stay "busy": retry. */
		for (int t = 0; t < 3 && a.skipped_busy; t++) {
			flush_lru_batches(dir);
			err = evict(f.fd, &all, 1, &a);
			print_evict("retry", &a);
			evicted += a.evicted_pages;
		}
		CHECK(a.skipped_busy == 0, "%llu pages stay busy",
		      (unsigned long long)a.skipped_busy);
		nm = mincore_vec(f.fd, size, vec);
		CHECK(nm == skipped(&a), "mincore: %zu cached after, %llu skipped",
		      nm, (unsigned long long)skipped(&a));
		CHECK(evicted + nm == cached && evicted > 0,
		      "evicted %llu, still cached %zu, cached before %zu",
		      (unsigned long long)evicted, nm, cached);
		for (int i = 40; i < 50; i++)
			CHECK(vec[i] & 1, "mapped page %d evicted", i);
		/* One dirty page alone: kept. */
		{
			struct sg_pcache_range r = { 12, 1 };

			err = evict(f.fd, &r, 1, &b);
			CHECK(!err && b.evicted_pages == 0 &&
			      b.skipped_dirty + b.skipped_writeback +
			      b.skipped_partial >= 1,
			      "evicting dirty page 12");
		}
		/* Once unmapped, the formerly mapped pages go. */
		munmap((void *)map, 10 * PG);
		map = NULL;
		{
			struct sg_pcache_range r = { 40, 10 };

			err = evict(f.fd, &r, 1, &b);
			print_evict("unmapped", &b);
			CHECK(!err && b.skipped_mapped == 0,
			      "pages 40..49 still mapped after munmap");
		}
	}
	/* The dirty data survived whatever happened. */
	if (pread(f.fd, buf, sizeof(dirty), 10 * PG) != sizeof(dirty))
		die("pread");
	CHECK(!memcmp(buf, dirty, sizeof(dirty)), "dirty data lost");
	if (map)
		munmap((void *)map, 10 * PG);
	free(vec);
	tfile_close(&f);
}

/* --- block device ------------------------------------------------------- */

/*
 * VM disks may be block devices (LVM): the module takes a block device fd
 * too. Its cached pages (here: the mounted filesystem's metadata) match
 * mincore(), and their hashes match the bytes read through a mapping.
 */
static void test_blockdev(const char *dev)
{
	size_t n, np, nm = 0, c, bad_hash = 0;
	struct sg_pcache_page *e;
	unsigned char *vec;
	const char *how;
	off_t size;
	void *map;
	int fd, err;

	g_test = "blockdev";
	open_dev();
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(dev);
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0)
		die("lseek");
	np = npages(size);
	/* Clean data pages (no filesystem holds them) next to the metadata,
	 * read without readahead so no read is still in flight below. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	{
		static char buf[1 << 20];

		if (pread(fd, buf, sizeof(buf), size / 2 & ~(off_t)(PG - 1)) < 0)
			die("pread");
		/* 2 MiB read: per-CPU LRU batches (<= 31 folios) pin at most
		 * the tail of it, so >= 256 pages are evictable. */
		if (pread(fd, buf, sizeof(buf), (size / 2 & ~(off_t)(PG - 1)) + sizeof(buf)) < 0)
			die("pread");
	}
	e = query_all(fd, 0, 1000, true, &n, &err);
	CHECK(!err, "query %s: %s", dev, strerror(-err));
	CHECK(n > 0, "nothing cached on %s (a mounted filesystem has metadata there)", dev);
	c = cache_count(fd, size, &how);
	map = mmap(NULL, np * PG, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	madvise(map, np * PG, MADV_RANDOM);
	vec = calloc(np, 1);
	if (mincore(map, np * PG, vec))
		die("mincore");
	for (size_t i = 0; i < np; i++)
		nm += vec[i] & 1;
	/*
	 * mincore() reports uptodate folios only, and a mounted filesystem's
	 * metadata pages are read per buffer (not folio-uptodate): compare
	 * mincore with the module's uptodate pages, cachestat (6.12) with all.
	 */
	if (!strcmp(how, "cachestat"))
		CHECK(c == n, "cachestat counts %zu pages, the module %zu", c, n);
	for (size_t i = 0, mismatches = 0; i < np; i++) {
		struct sg_pcache_page *p = find_entry(e, n, i);
		bool k = p && (p->flags & SG_PCACHE_PAGE_UPTODATE);

		if (k != (vec[i] & 1) && mismatches++ < 5)
			fail("page %zu: module %s, mincore %d", i,
			     p ? (k ? "uptodate" : "not uptodate") : "absent",
			     vec[i] & 1);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t idx = e[i].index;

		if (idx >= np)
			continue;
		/* Metadata may change under us: compare clean pages only. */
		if ((e[i].flags & SG_PCACHE_PAGE_HASHED) &&
		    !(e[i].flags & SG_PCACHE_PAGE_DIRTY) &&
		    XXH64((char *)map + idx * PG, PG, 0) != e[i].xxh64 &&
		    bad_hash++ < 5)
			fail("page %" PRIu64 ": hash differs from the mapping", idx);
	}
	printf("blockdev %s: module %zu pages, %s %zu, mincore %zu\n", dev, n,
	       how, c, nm);
	CHECK(!bad_hash, "%zu hashes differ", bad_hash);
	munmap(map, np * PG);
	{
		struct sg_pcache_range r = { 0, np };
		struct sg_pcache_evict a;

		err = evict(fd, &r, 1, &a);
		print_evict("blockdev evict", &a);
		CHECK(!err, "evict on %s: %s", dev, strerror(-err));
		CHECK(a.evicted_pages >= 256, "evicted %llu pages: the 1 MiB read "
		      "is clean and unused", (unsigned long long)a.evicted_pages);
		CHECK(a.evicted_pages + skipped(&a) >= n - 1,
		      "evict saw %llu pages, the query %zu",
		      (unsigned long long)(a.evicted_pages + skipped(&a)), n);
	}
	free(vec);
	free(e);
	close(fd);
}

/* --- half a large folio -------------------------------------------------- */

static void test_halffolio(const char *dir, const char *label, bool shmem)
{
	size_t size = 8 * 1024 * 1024, n, np = npages(size);
	struct sg_pcache_page *e, *best = NULL;
	unsigned char *vec = calloc(np, 1), buf[65536];
	struct sg_pcache_evict a;
	struct sg_pcache_range r;
	uint64_t head, nr;
	unsigned int o;
	struct tfile f;
	int err;

	g_test = "halffolio";
	printf("halffolio %s (%s)\n", label, dir);
	tfile_create(&f, dir, "half.bin", size, 3);
	drop_cache(f.fd);
	while (read(f.fd, buf, sizeof(buf)) > 0)
		;
	flush_lru_batches(dir);
	e = query_all(f.fd, 0, 4096, false, &n, &err);
	for (size_t i = 0; i < n; i++) {
		if (!best || SG_PCACHE_PAGE_ORDER(e[i].flags) >
			     SG_PCACHE_PAGE_ORDER(best->flags))
			best = &e[i];
	}
	if (!best || SG_PCACHE_PAGE_ORDER(best->flags) < 1) {
		fail("no large folio on %s", label);
		goto out;
	}
	o = SG_PCACHE_PAGE_ORDER(best->flags);
	nr = 1ULL << o;
	head = best->index & ~(nr - 1);
	printf("halffolio %s: folio at %" PRIu64 ", %" PRIu64 " pages\n",
	       label, head, nr);
	r.start = head;
	r.nr_pages = nr / 2;
	err = evict(f.fd, &r, 1, &a);
	print_evict("half", &a);
	CHECK(!err && a.evicted_pages == 0, "half a folio: evicted %llu",
	      (unsigned long long)a.evicted_pages);
	if (shmem)
		CHECK(a.skipped_shmem == nr / 2, "skipped_shmem %llu",
		      (unsigned long long)a.skipped_shmem);
	else
		CHECK(a.skipped_partial == nr / 2, "skipped_partial %llu, want %llu",
		      (unsigned long long)a.skipped_partial,
		      (unsigned long long)(nr / 2));
	mincore_vec(f.fd, size, vec);
	for (uint64_t j = head; j < head + nr; j++)
		CHECK(vec[j] & 1, "page %" PRIu64 " of the half-covered folio gone", j);
	/* The other half, from the middle to past the folio: also kept. */
	r.start = head + nr / 2;
	r.nr_pages = nr;
	err = evict(f.fd, &r, 1, &a);
	CHECK(!err, "evicting the second half: %s", strerror(-err));
	mincore_vec(f.fd, size, vec);
	CHECK(vec[head] & 1, "folio head evicted by a range covering its tail");
	r.start = head;
	r.nr_pages = nr;
	err = evict(f.fd, &r, 1, &a);
	print_evict("whole", &a);
	if (shmem)
		CHECK(!err && a.evicted_pages == 0, "tmpfs folio evicted");
	else
		CHECK(!err && a.evicted_pages == nr,
		      "whole folio: evicted %llu of %llu",
		      (unsigned long long)a.evicted_pages,
		      (unsigned long long)nr);
out:
	free(e);
	free(vec);
	tfile_close(&f);
}

/* --- list inodes -------------------------------------------------------- */

static int list_page(int fd, uint64_t cursor, uint32_t max,
		     struct sg_pcache_inode *out, struct sg_pcache_list_inodes *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->fd = fd;
	a->max_entries = max;
	a->cursor = cursor;
	a->entries = (uintptr_t)out;
	return ioc(SG_PCACHE_IOC_LIST_INODES, a);
}

static void test_listinodes(const char *dir, const char *label)
{
	struct sg_pcache_inode out[3];
	struct sg_pcache_list_inodes a;
	size_t n, found = 0, total = 0;
	uint64_t cursor = 0, last = 0;
	unsigned char buf[65536];
	struct sg_pcache_page *e;
	struct stat st;
	struct tfile f, g;
	int dfd, err, calls = 0;

	g_test = "listinodes";
	printf("listinodes %s (%s)\n", label, dir);
	tfile_create(&f, dir, "list.bin", 300 * PG + 10, 4);
	tfile_create(&g, dir, "list2.bin", 20 * PG, 5);
	drop_cache(f.fd);
	if (pread(f.fd, buf, sizeof(buf), 0) < 0)
		die("pread");
	e = query_all(f.fd, 0, 4096, false, &n, &err);
	CHECK(!err && n > 0, "query: %s, %zu pages", strerror(-err), n);
	/* An independent count, when no cached page lies past EOF. */
	if (!err && n && e[n - 1].index < npages(f.size)) {
		const char *how;
		size_t c = cache_count(f.fd, f.size, &how);

		CHECK(c == n, "%s counts %zu pages, the module %zu", how, c, n);
	}
	free(e);
	fstat(f.fd, &st);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die(dir);
	for (;;) {
		err = list_page(dfd, cursor, 3, out, &a);
		if (err) {
			fail("list: %s", strerror(-err));
			break;
		}
		for (uint32_t i = 0; i < a.nr_entries; i++) {
			CHECK(out[i].ino > last, "ino %llu after %llu",
			      (unsigned long long)out[i].ino,
			      (unsigned long long)last);
			CHECK(out[i].nr_pages > 0, "ino %llu with no pages",
			      (unsigned long long)out[i].ino);
			last = out[i].ino;
			total++;
			if (out[i].ino == st.st_ino) {
				found++;
				CHECK(out[i].nr_pages == n,
				      "nr_pages %llu, module query %zu",
				      (unsigned long long)out[i].nr_pages, n);
				CHECK(out[i].size == (uint64_t)st.st_size,
				      "size %llu", (unsigned long long)out[i].size);
			}
		}
		if (a.status & SG_PCACHE_STATUS_DONE)
			break;
		CHECK(a.nr_entries == 3, "short page without DONE");
		cursor = a.cursor;
		if (++calls > 100000) {
			fail("listing does not end");
			break;
		}
	}
	CHECK(found == 1, "file ino %llu found %zu times",
	      (unsigned long long)st.st_ino, found);
	printf("listinodes %s: %zu cached inodes, file has %zu pages\n", label,
	       total, n);
	/* A regular file's fd names the filesystem too. */
	err = list_page(f.fd, 0, 3, out, &a);
	CHECK(!err && a.nr_entries > 0, "list by file fd: %s", strerror(-err));
	close(dfd);
	tfile_close(&g);
	tfile_close(&f);
}

/* --- bad input ---------------------------------------------------------- */

static void expect(const char *what, int got, int want)
{
	if (got != want)
		fail("%s: got %s (%d), want %s (%d)", what,
		     got ? strerror(-got) : "success", got,
		     want ? strerror(-want) : "success", want);
}

static int pages_ioc(int fd, void *entries, uint32_t max)
{
	struct sg_pcache_file_pages a = { .size = sizeof(a), .fd = fd,
					  .flags = SG_PCACHE_WANT_HASH,
					  .max_entries = max,
					  .entries = (uintptr_t)entries };

	return ioc(SG_PCACHE_IOC_FILE_PAGES, &a);
}

static int evict_ioc(int fd, uint64_t start, uint64_t nr)
{
	struct sg_pcache_range r = { start, nr };
	struct sg_pcache_evict a;

	return evict(fd, &r, 1, &a);
}

struct cap_hdr {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};

static void test_nocap(int fd)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		die("fork");
	if (!pid) {
		struct cap_hdr h = { 0x20080522, 0 }; /* _LINUX_CAPABILITY_VERSION_3 */
		struct cap_data d[2];
		struct sg_pcache_version v = { .size = sizeof(v) };
		struct sg_pcache_page ent[4];
		struct sg_pcache_inode ino[4];
		struct sg_pcache_list_inodes l;
		int fails = 0;

		g_failures = 0;
		if (syscall(SYS_capget, &h, d))
			die("capget");
		d[0].effective &= ~(1u << CAP_SYS_ADMIN);
		if (syscall(SYS_capset, &h, d))
			die("capset");
		expect("version without CAP_SYS_ADMIN",
		       ioc(SG_PCACHE_IOC_VERSION, &v), -EPERM);
		expect("file pages without CAP_SYS_ADMIN", pages_ioc(fd, ent, 4),
		       -EPERM);
		expect("evict without CAP_SYS_ADMIN", evict_ioc(fd, 0, 1), -EPERM);
		expect("list without CAP_SYS_ADMIN",
		       list_page(fd, 0, 4, ino, &l), -EPERM);
		expect("unknown ioctl without CAP_SYS_ADMIN",
		       ioc(_IO(SG_PCACHE_IOC_MAGIC, 99), NULL), -EPERM);
		/* And the device is root's alone. */
		if (setgid(65534) || setuid(65534))
			die("setuid");
		if (open(SG_PCACHE_DEVICE_PATH, O_RDWR) >= 0 || errno != EACCES)
			fail("nobody could open the device (or not EACCES: %s)",
			     strerror(errno));
		fails = g_failures;
		fflush(stdout);
		_exit(fails > 100 ? 100 : fails);
	}
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	CHECK(WIFEXITED(status), "no-cap child died (signal %d)",
	      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	if (WIFEXITED(status))
		g_failures += WEXITSTATUS(status);
}

static void test_badinput(const char *dir)
{
	struct sg_pcache_page ent[16];
	struct sg_pcache_inode ino[4];
	struct sg_pcache_list_inodes l;
	struct sg_pcache_evict ev;
	unsigned char big[8192];
	int pfd[2], sv[2], dfd, opath, wronly, err;
	char *ro, *unmapped;
	struct tfile f;

	g_test = "badinput";
	open_dev();
	tfile_create(&f, dir, "bad.bin", 64 * PG + 1, 6);
	if (pipe(pfd) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("pipe/socketpair");
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	opath = open(f.path, O_PATH);
	wronly = open(f.path, O_WRONLY);
	if (dfd < 0 || opath < 0 || wronly < 0)
		die("open");
	ro = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unmapped = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro == MAP_FAILED || unmapped == MAP_FAILED)
		die("mmap");
	munmap(unmapped, 2 * PG);

	/* fds */
	expect("fd -1", pages_ioc(-1, ent, 16), -EBADF);
	expect("fd 100000", pages_ioc(100000, ent, 16), -EBADF);
	expect("closed fd", pages_ioc(1000, ent, 16), -EBADF);
	expect("pipe", pages_ioc(pfd[0], ent, 16), -EINVAL);
	expect("socket", pages_ioc(sv[0], ent, 16), -EINVAL);
	expect("directory", pages_ioc(dfd, ent, 16), -EISDIR);
	expect("O_PATH fd", pages_ioc(opath, ent, 16), -EBADF);
	expect("write-only fd", pages_ioc(wronly, ent, 16), -EBADF);
	expect("device fd", pages_ioc(g_dev, ent, 16), -EINVAL);
	{
		/* memfd_secret pages are not in the kernel's direct map: hashing
		 * one would oops. 6.1 has it off unless secretmem.enable=1. */
		int sfd = (int)syscall(447 /* memfd_secret */, 0);

		if (sfd >= 0) {
			char *p;

			if (ftruncate(sfd, PG))
				die("ftruncate secretmem");
			p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
			if (p != MAP_FAILED) {
				p[0] = 1;	/* allocates the page */
				expect("secretmem fd", pages_ioc(sfd, ent, 16), -EOPNOTSUPP);
				expect("evict secretmem", evict_ioc(sfd, 0, 1), -EOPNOTSUPP);
				munmap(p, PG);
			} else {
				printf("badinput: secretmem mmap: %s (not checked)\n",
				       strerror(errno));
			}
			close(sfd);
		} else {
			printf("badinput: memfd_secret: %s (not checked)\n", strerror(errno));
		}
	}
	expect("evict fd -1", evict_ioc(-1, 0, 1), -EBADF);
	expect("evict pipe", evict_ioc(pfd[0], 0, 1), -EINVAL);
	expect("evict pipe write end", evict_ioc(pfd[1], 0, 1), -EBADF);
	expect("evict socket", evict_ioc(sv[0], 0, 1), -EINVAL);
	expect("evict directory", evict_ioc(dfd, 0, 1), -EISDIR);
	expect("evict O_PATH", evict_ioc(opath, 0, 1), -EBADF);
	expect("evict write-only", evict_ioc(wronly, 0, 1), -EBADF);
	expect("list fd -1", list_page(-1, 0, 4, ino, &l), -EBADF);
	expect("list pipe", list_page(pfd[0], 0, 4, ino, &l), -EINVAL);
	expect("list socket", list_page(sv[0], 0, 4, ino, &l), -EINVAL);
	expect("list O_PATH", list_page(opath, 0, 4, ino, &l), -EBADF);
	expect("list directory", list_page(dfd, 0, 4, ino, &l), 0);
	expect("list write-only file", list_page(wronly, 0, 4, ino, &l), 0);

	/* pointers: the argument */
	expect("NULL arg", ioc(SG_PCACHE_IOC_FILE_PAGES, NULL), -EFAULT);
	expect("NULL version arg", ioc(SG_PCACHE_IOC_VERSION, NULL), -EFAULT);
	expect("unmapped arg", ioc(SG_PCACHE_IOC_FILE_PAGES, unmapped), -EFAULT);
	expect("kernel arg", ioc(SG_PCACHE_IOC_EVICT,
				 (void *)0xffff888000000000UL), -EFAULT);
	{
		uint64_t raw[16] = { 0 };
		struct sg_pcache_version *v = (void *)((char *)raw + 4);

		v->size = sizeof(*v);
		expect("unaligned arg", ioc(SG_PCACHE_IOC_VERSION, v), -EINVAL);
		/* Read-only memory: the module's copy-out fails. */
		expect("read-only version arg", ioc(SG_PCACHE_IOC_VERSION, ro),
		       -EINVAL); /* size field reads as 0 */
	}
	/* pointers: the arrays (the file has cached pages to write) */
	expect("NULL entries", pages_ioc(f.fd, NULL, 16), -EFAULT);
	expect("unaligned entries", pages_ioc(f.fd, (char *)ent + 4, 8), -EINVAL);
	expect("unmapped entries", pages_ioc(f.fd, unmapped, 16), -EFAULT);
	expect("read-only entries", pages_ioc(f.fd, ro, 16), -EFAULT);
	expect("kernel entries",
	       pages_ioc(f.fd, (void *)0xffff888000000000UL, 16), -EFAULT);
	expect("entries past the user range",
	       pages_ioc(f.fd, (void *)0x7ffffffff000UL, 16), -EFAULT);
	memset(&ev, 0, sizeof(ev));
	ev.size = sizeof(ev);
	ev.fd = f.fd;
	ev.nr_ranges = 1;
	expect("NULL ranges", ioc(SG_PCACHE_IOC_EVICT, &ev), -EFAULT);
	ev.ranges = (uintptr_t)unmapped;
	expect("unmapped ranges", ioc(SG_PCACHE_IOC_EVICT, &ev), -EFAULT);
	ev.ranges = (uintptr_t)big + 3;
	expect("unaligned ranges", ioc(SG_PCACHE_IOC_EVICT, &ev), -EINVAL);
	expect("NULL inode entries", list_page(dfd, 0, 4, NULL, &l), -EFAULT);
	expect("unmapped inode entries",
	       list_page(dfd, 0, 4, (void *)unmapped, &l), -EFAULT);
	expect("read-only inode entries",
	       list_page(dfd, 0, 4, (void *)ro, &l), -EFAULT);

	/* counts */
	expect("0 entries", pages_ioc(f.fd, ent, 0), -EINVAL);
	expect("absurd entries", pages_ioc(f.fd, ent, 0xffffffffu), -EINVAL);
	expect("max+1 entries", pages_ioc(f.fd, ent, SG_PCACHE_MAX_PAGE_ENTRIES + 1),
	       -EINVAL);
	ev.ranges = (uintptr_t)big;
	ev.nr_ranges = 0;
	expect("0 ranges", ioc(SG_PCACHE_IOC_EVICT, &ev), -EINVAL);
	ev.nr_ranges = 0xffffffffu;
	expect("absurd ranges", ioc(SG_PCACHE_IOC_EVICT, &ev), -EINVAL);
	expect("0 inode entries", list_page(dfd, 0, 0, ino, &l), -EINVAL);
	expect("absurd inode entries", list_page(dfd, 0, 1u << 31, ino, &l),
	       -EINVAL);
	expect("empty range", evict_ioc(f.fd, 0, 0), -EINVAL);
	expect("range past EOF", evict_ioc(f.fd, 65, 1), -ERANGE);
	expect("range far past EOF", evict_ioc(f.fd, 1ULL << 40, 1), -ERANGE);
	expect("range at index max", evict_ioc(f.fd, ~0ULL, 1), -EINVAL);
	expect("range with absurd length", evict_ioc(f.fd, 3, ~0ULL), 0);
	expect("range ending past EOF", evict_ioc(f.fd, 60, 100), 0);
	{
		struct sg_pcache_file_pages a = { .size = sizeof(a), .fd = f.fd,
						  .max_entries = 16,
						  .start_index = ~0ULL,
						  .entries = (uintptr_t)ent };

		expect("query from index max", ioc(SG_PCACHE_IOC_FILE_PAGES, &a), 0);
		CHECK(a.nr_entries == 0 && (a.status & SG_PCACHE_STATUS_DONE),
		      "query from index max returned pages");
		a.start_index = 1ULL << 40;
		expect("query past EOF", ioc(SG_PCACHE_IOC_FILE_PAGES, &a), 0);
		CHECK(a.nr_entries == 0, "query past EOF returned pages");
		a.flags = 0x80;
		expect("unknown query flag", ioc(SG_PCACHE_IOC_FILE_PAGES, &a),
		       -EINVAL);
	}
	{
		struct sg_pcache_range r[2] = { { 0, 1 }, { 1000, 1 } };

		expect("second range past EOF", evict(f.fd, r, 2, &ev), -ERANGE);
	}
	ev.fd = f.fd;
	ev.nr_ranges = 1;
	ev.ranges = (uintptr_t)big;
	memset(big, 0, sizeof(big));
	ev.reserved = 1;
	expect("evict reserved != 0", ioc(SG_PCACHE_IOC_EVICT, &ev), -EINVAL);
	l.reserved = 1;
	l.size = sizeof(l);
	l.fd = dfd;
	l.max_entries = 4;
	l.entries = (uintptr_t)ino;
	expect("list reserved != 0", ioc(SG_PCACHE_IOC_LIST_INODES, &l), -EINVAL);

	/* struct sizes: the size field */
	{
		uint64_t raw[1024];
		struct sg_pcache_version *v = (void *)raw;

		memset(raw, 0, sizeof(raw));
		v->size = 0;
		expect("size 0", ioc(SG_PCACHE_IOC_VERSION, v), -EINVAL);
		v->size = 4;
		expect("size 4", ioc(SG_PCACHE_IOC_VERSION, v), -EINVAL);
		v->size = sizeof(*v) - 1;
		expect("size - 1", ioc(SG_PCACHE_IOC_VERSION, v), -EINVAL);
		v->size = sizeof(*v) + 8;
		expect("size + 8, zero tail", ioc(SG_PCACHE_IOC_VERSION, v), 0);
		v->size = sizeof(*v) + 8;
		raw[sizeof(*v) / 8] = 1;
		expect("size + 8, non-zero tail", ioc(SG_PCACHE_IOC_VERSION, v),
		       -E2BIG);
		raw[sizeof(*v) / 8] = 0;
		v->size = 8192;
		expect("size 8192", ioc(SG_PCACHE_IOC_VERSION, v), -E2BIG);
		v->size = 0xffffffffu;
		expect("size 4 GiB", ioc(SG_PCACHE_IOC_VERSION, v), -E2BIG);
		/* A struct running into unmapped memory. */
		char *edge = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (edge == MAP_FAILED)
			die("mmap");
		munmap(edge + PG, PG);
		v = (void *)(edge + PG - 8);
		v->size = sizeof(*v);
		expect("struct running into a hole",
		       ioc(SG_PCACHE_IOC_VERSION, v), -EFAULT);
		munmap(edge, PG);
	}
	{
		struct sg_pcache_evict e2 = { .size = sizeof(e2) - 8, .fd = f.fd,
					      .nr_ranges = 1,
					      .ranges = (uintptr_t)big };

		expect("evict size - 8", ioc(SG_PCACHE_IOC_EVICT, &e2), -EINVAL);
	}
	expect("unknown ioctl", ioc(_IO(SG_PCACHE_IOC_MAGIC, 99), NULL), -ENOTTY);
	expect("foreign ioctl", ioc(TCGETS, big), -ENOTTY);
	(void)err;

	test_nocap(f.fd);

	close(pfd[0]);
	close(pfd[1]);
	close(sv[0]);
	close(sv[1]);
	close(dfd);
	close(opath);
	close(wronly);
	munmap(ro, 2 * PG);
	tfile_close(&f);
}

/* --- ABI: grown structs and the size bits of ioctl numbers --------------- */

/* cmd with its size bits saying `size`: what _IOWR() gives for a struct of
 * that size (a newer userspace whose struct grew). */
static unsigned long ioc_sized(unsigned long cmd, unsigned int size)
{
	return (cmd & ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
	       ((unsigned long)(size & _IOC_SIZEMASK) << _IOC_SIZESHIFT);
}

#define ABI_CANARY 0xa5
#define ABI_MAX_ARG 4096

/* 8-aligned, room for the largest struct plus a canary. */
static uint64_t g_abi_buf[(ABI_MAX_ARG + 256) / 8];

/*
 * Call cmd (size bits replaced by `numsize`) with the v1 struct `v1` grown to
 * `size` bytes: the size field says `size`, bytes past v1 are `tail` (0 for a
 * well-formed grown struct), and canary bytes follow the struct. On success
 * `out` gets the v1 part. Fails the test if the module wrote past v1 (it knows
 * nothing further) or past the caller's struct.
 */
static int abi_call(const char *what, unsigned long cmd, unsigned int numsize,
		    const void *v1, size_t v1size, size_t size,
		    unsigned char tail, void *out)
{
	unsigned char *b = (unsigned char *)g_abi_buf;
	uint32_t size32 = (uint32_t)size;
	size_t known = size < v1size ? size : v1size;
	int err;

	memset(b, ABI_CANARY, sizeof(g_abi_buf));
	memcpy(b, v1, v1size);
	memcpy(b, &size32, sizeof(size32));
	if (size > v1size)
		memset(b + v1size, tail, size - v1size);
	err = ioc(ioc_sized(cmd, numsize), b);
	for (size_t i = size > v1size ? size : v1size; i < sizeof(g_abi_buf); i++) {
		if (b[i] != ABI_CANARY) {
			fail("%s: byte %zu past the struct (size %zu) written",
			     what, i, size);
			break;
		}
	}
	for (size_t i = v1size; i < size; i++) {
		if (b[i] != tail) {
			fail("%s: unknown byte %zu of the grown struct written",
			     what, i);
			break;
		}
	}
	if (!err && out)
		memcpy(out, b, known);
	return err;
}

/* Outputs equal to the v1 call's (the size field aside). */
static void abi_same(const char *what, const void *a, const void *b, size_t n)
{
	CHECK(!memcmp((const char *)a + 4, (const char *)b + 4, n - 4),
	      "%s: result differs from the v1 call", what);
}

struct abi_case {
	const char *name;
	unsigned long cmd;
	const void *v1;
	size_t v1size;
	void *entries;		/* output array to compare, or NULL */
	size_t entries_len;
};

static void abi_grown(const struct abi_case *c, const void *ref,
		      const void *ref_entries)
{
	static const size_t grow[] = { 8, 64, ABI_MAX_ARG };
	unsigned char out[128];
	char what[160];
	int err;

	for (size_t g = 0; g < sizeof(grow) / sizeof(grow[0]); g++) {
		size_t size = grow[g] == ABI_MAX_ARG ? ABI_MAX_ARG : c->v1size + grow[g];

		/* A newer userspace: the number and the size field say `size`. */
		snprintf(what, sizeof(what), "%s grown to %zu", c->name, size);
		err = abi_call(what, c->cmd, size, c->v1, c->v1size, size, 0, out);
		expect(what, err, 0);
		if (!err) {
			abi_same(what, ref, out, c->v1size);
			if (c->entries)
				CHECK(!memcmp(c->entries, ref_entries, c->entries_len),
				      "%s: entries differ from the v1 call", what);
		}
		/* The same with the v1 number (the size field decides). */
		snprintf(what, sizeof(what), "%s grown to %zu, v1 number", c->name, size);
		err = abi_call(what, c->cmd, c->v1size, c->v1, c->v1size, size, 0, out);
		expect(what, err, 0);
		if (!err)
			abi_same(what, ref, out, c->v1size);
		/* Trailing bytes this module does not know: refused. */
		snprintf(what, sizeof(what), "%s grown to %zu, non-zero tail", c->name, size);
		expect(what, abi_call(what, c->cmd, size, c->v1, c->v1size, size,
				      0x01, NULL), -E2BIG);
		{	/* only the last byte non-zero */
			unsigned char *b = (unsigned char *)g_abi_buf;

			memset(b, 0, size);
			memcpy(b, c->v1, c->v1size);
			*(uint32_t *)b = (uint32_t)size;
			b[size - 1] = 0x80;
			snprintf(what, sizeof(what), "%s grown to %zu, last byte set",
				 c->name, size);
			expect(what, ioc(ioc_sized(c->cmd, size), b), -E2BIG);
		}
	}
	/* Above 4096 bytes: refused, even when zero. */
	snprintf(what, sizeof(what), "%s size %d", c->name, ABI_MAX_ARG + 8);
	expect(what, abi_call(what, c->cmd, ABI_MAX_ARG + 8, c->v1, c->v1size,
			      ABI_MAX_ARG + 8, 0, NULL), -E2BIG);
	/* Smaller than v1, whatever the number says. */
	for (size_t s = 0; s < c->v1size; s += s < 8 ? 4 : c->v1size / 3) {
		unsigned int nums[] = { c->v1size, s, c->v1size + 64 };

		for (int k = 0; k < 3; k++) {
			snprintf(what, sizeof(what), "%s size %zu, number size %u",
				 c->name, s, nums[k]);
			expect(what, abi_call(what, c->cmd, nums[k], c->v1,
					      c->v1size, s, 0, NULL), -EINVAL);
		}
	}
	snprintf(what, sizeof(what), "%s size v1 - 1", c->name);
	expect(what, abi_call(what, c->cmd, c->v1size - 1, c->v1, c->v1size,
			      c->v1size - 1, 0, NULL), -EINVAL);
	/*
	 * Number size bits disagreeing with the size field: ignored. The module
	 * reads the size field's bytes only: garbage (the canary) after a v1
	 * struct called with a bigger number is neither read nor written.
	 */
	{
		unsigned int nums[] = { 0, 8, c->v1size + 8, c->v1size + 64,
					ABI_MAX_ARG, _IOC_SIZEMASK };

		for (int k = 0; k < 6; k++) {
			snprintf(what, sizeof(what), "%s v1 struct, number size %u",
				 c->name, nums[k]);
			err = abi_call(what, c->cmd, nums[k], c->v1, c->v1size,
				       c->v1size, 0, out);
			expect(what, err, 0);
			if (!err)
				abi_same(what, ref, out, c->v1size);
		}
	}
}

/* A v1 struct flush against unmapped memory: nothing past it is touched. */
static void abi_edge(const struct abi_case *c)
{
	char *edge = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char what[160];
	void *arg;

	if (edge == MAP_FAILED)
		die("mmap");
	munmap(edge + PG, PG);
	arg = edge + PG - c->v1size;
	memcpy(arg, c->v1, c->v1size);
	snprintf(what, sizeof(what), "%s v1 struct at the end of a mapping, number size %zu",
		 c->name, c->v1size + 64);
	expect(what, ioc(ioc_sized(c->cmd, c->v1size + 64), arg), 0);
	arg = edge + PG - c->v1size - 8;
	memcpy(arg, c->v1, c->v1size);
	*(uint32_t *)arg = c->v1size + 8;
	memset((char *)arg + c->v1size, 0, 8);
	snprintf(what, sizeof(what), "%s grown by 8 at the end of a mapping", c->name);
	expect(what, ioc(ioc_sized(c->cmd, c->v1size + 8), arg), 0);
	arg = edge + PG - c->v1size;
	memcpy(arg, c->v1, c->v1size);
	*(uint32_t *)arg = c->v1size + 8;
	snprintf(what, sizeof(what), "%s size field past the mapping", c->name);
	expect(what, ioc(ioc_sized(c->cmd, c->v1size + 8), arg), -EFAULT);
	munmap(edge, PG);
}

static void test_abi(const char *dir)
{
	static struct sg_pcache_page ents[64], ref_ents[64];
	static struct sg_pcache_inode inos[64], ref_inos[64];
	struct sg_pcache_version v = { .size = sizeof(v) }, rv;
	struct sg_pcache_file_pages fp, rfp;
	struct sg_pcache_evict ev, rev;
	struct sg_pcache_list_inodes li, rli;
	struct sg_pcache_range range;
	unsigned char buf[32 * PG];
	volatile unsigned char *map;
	struct tfile f;
	int dfd, err;

	g_test = "abi";
	open_dev();
	tfile_create(&f, dir, "abi.bin", 40 * PG, 8);
	drop_cache(f.fd);
	if (pread(f.fd, buf, sizeof(buf), 0) != sizeof(buf))
		die("pread");
	/* Pages 0..31 mapped: the evict call's result is the same every time. */
	map = mmap(NULL, 32 * PG, PROT_READ, MAP_SHARED, f.fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	for (int i = 0; i < 32; i++)
		(void)map[i * PG];
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die(dir);

	memset(&fp, 0, sizeof(fp));
	fp.size = sizeof(fp);
	fp.fd = f.fd;
	fp.flags = SG_PCACHE_WANT_HASH;
	fp.max_entries = 64;
	fp.entries = (uintptr_t)ents;
	memset(&ev, 0, sizeof(ev));
	range = (struct sg_pcache_range){ 0, 32 };
	ev.size = sizeof(ev);
	ev.fd = f.fd;
	ev.nr_ranges = 1;
	ev.ranges = (uintptr_t)&range;
	memset(&li, 0, sizeof(li));
	li.size = sizeof(li);
	li.fd = dfd;
	li.max_entries = 64;
	li.entries = (uintptr_t)inos;

	/* A v1 binary: the numbers and sizes of this header. */
	rv = v;
	expect("v1 version", err = ioc(SG_PCACHE_IOC_VERSION, &rv), 0);
	rfp = fp;
	expect("v1 file pages", ioc(SG_PCACHE_IOC_FILE_PAGES, &rfp), 0);
	memcpy(ref_ents, ents, sizeof(ents));
	CHECK(rfp.nr_entries >= 32, "v1 file pages: %u entries", rfp.nr_entries);
	rev = ev;
	expect("v1 evict", ioc(SG_PCACHE_IOC_EVICT, &rev), 0);
	print_evict("abi: v1 evict", &rev);
	CHECK(rev.skipped_mapped >= 32 && rev.evicted_pages == 0,
	      "v1 evict: the mapped pages were not all kept");
	rli = li;
	expect("v1 list inodes", ioc(SG_PCACHE_IOC_LIST_INODES, &rli), 0);
	memcpy(ref_inos, inos, sizeof(inos));
	CHECK(rli.nr_entries > 0, "v1 list inodes: nothing");
	printf("abi: v1 calls: abi %u.%u, %u pages, %u inodes\n", rv.abi_major,
	       rv.abi_minor, rfp.nr_entries, rli.nr_entries);

	{
		const struct abi_case cases[] = {
			{ "version", SG_PCACHE_IOC_VERSION, &v, sizeof(v), NULL, 0 },
			{ "file pages", SG_PCACHE_IOC_FILE_PAGES, &fp, sizeof(fp),
			  ents, sizeof(ents) },
			{ "evict", SG_PCACHE_IOC_EVICT, &ev, sizeof(ev), NULL, 0 },
			{ "list inodes", SG_PCACHE_IOC_LIST_INODES, &li, sizeof(li),
			  inos, sizeof(inos) },
		};
		const void *refs[] = { &rv, &rfp, &rev, &rli };
		const void *ref_entries[] = { NULL, ref_ents, NULL, ref_inos };

		for (int i = 0; i < 4; i++) {
			abi_grown(&cases[i], refs[i], ref_entries[i]);
			abi_edge(&cases[i]);
		}
	}

	/* Not one of the four: magic, number and direction decide. */
	expect("version as _IOR", ioc(_IOR(SG_PCACHE_IOC_MAGIC, 1,
					   struct sg_pcache_version), &v), -ENOTTY);
	expect("version as _IOW", ioc(_IOW(SG_PCACHE_IOC_MAGIC, 1,
					   struct sg_pcache_version), &v), -ENOTTY);
	expect("version as _IO", ioc(_IO(SG_PCACHE_IOC_MAGIC, 1), &v), -ENOTTY);
	expect("file pages as _IOR", ioc(_IOR(SG_PCACHE_IOC_MAGIC, 2,
					      struct sg_pcache_file_pages), &fp),
	       -ENOTTY);
	expect("number 0", ioc(_IOWR(SG_PCACHE_IOC_MAGIC, 0,
				     struct sg_pcache_version), &v), -ENOTTY);
	expect("number 5", ioc(_IOWR(SG_PCACHE_IOC_MAGIC, 5,
				     struct sg_pcache_version), &v), -ENOTTY);
	expect("number 255", ioc(_IOWR(SG_PCACHE_IOC_MAGIC, 255,
				       struct sg_pcache_version), &v), -ENOTTY);
	expect("other magic", ioc(_IOWR(SG_PCACHE_IOC_MAGIC + 1, 1,
					struct sg_pcache_version), &v), -ENOTTY);
	expect("magic 0", ioc(_IOWR(0, 1, struct sg_pcache_version), &v), -ENOTTY);

	close(dfd);
	munmap((void *)map, 32 * PG);
	tfile_close(&f);
}

/* --- fuzz --------------------------------------------------------------- */

struct fuzz_env {
	int fds[32];
	int nfds;
	char *buf;	/* 64 KiB read-write */
	char *ro;	/* read-only page */
	char *hole;	/* unmapped */
};

static int fuzz_fd(struct fuzz_env *env)
{
	switch (rnd() % 8) {
	case 0:
		return (int)rnd();
	case 1:
		return -1;
	default:
		return env->fds[rnd() % env->nfds];
	}
}

static uint64_t fuzz_ptr(struct fuzz_env *env, size_t need)
{
	switch (rnd() % 10) {
	case 0:
		return 0;
	case 1:
		return rnd();
	case 2:
		return 0xffff888000000000ULL + (rnd() & 0xffffff);
	case 3:
		return (uintptr_t)env->ro;
	case 4:
		return (uintptr_t)env->hole;
	case 5:
		return (uintptr_t)env->buf + (rnd() % 8);
	case 6: /* straddling the end of the buffer */
		return (uintptr_t)env->buf + 65536 - (need ? (rnd() % need) : 0);
	default:
		return (uintptr_t)env->buf;
	}
}

static uint32_t fuzz_count(uint32_t max)
{
	switch (rnd() % 6) {
	case 0:
		return 0;
	case 1:
		return (uint32_t)rnd();
	case 2:
		return max + (rnd() % 3);
	default:
		return 1 + rnd() % 2048;
	}
}

static uint32_t fuzz_size(uint32_t real)
{
	switch (rnd() % 8) {
	case 0:
		return (uint32_t)rnd();
	case 1:
		return rnd() % 128;
	case 2:
		return real + 8 * (rnd() % 4);
	case 3: /* any grown size up to the maximum */
		return real + rnd() % (ABI_MAX_ARG + 1 - real);
	default:
		return real;
	}
}

/* Size bits of the ioctl number (the module ignores them). */
static unsigned int fuzz_ioc_size(uint32_t real, uint32_t field)
{
	switch (rnd() % 5) {
	case 0:
		return 0;
	case 1:
		return real + 8;
	case 2:
		return real + 64;
	case 3:
		return rnd() & _IOC_SIZEMASK;
	default: /* what the size field says */
		return field;
	}
}

static void test_fuzz(long iterations, char **dirs, int ndirs)
{
	static const unsigned long cmds[] = {
		SG_PCACHE_IOC_VERSION, SG_PCACHE_IOC_FILE_PAGES,
		SG_PCACHE_IOC_EVICT, SG_PCACHE_IOC_LIST_INODES,
	};
	uint64_t arg_mem[512 + 8];
	long by_errno[160] = { 0 }, resized_calls = 0, resized_ok = 0;
	struct fuzz_env env = { 0 };
	struct tfile files[8];
	int nfiles = 0, pfd[2], sv[2];
	char rbuf[65536];

	g_test = "fuzz";
	open_dev();
	g_rng ^= (uint64_t)time(NULL);
	printf("fuzz: seed %#llx, %ld ioctls\n", (unsigned long long)g_rng,
	       iterations);
	for (int d = 0; d < ndirs && nfiles < 8; d++) {
		tfile_create(&files[nfiles++], dirs[d], "fuzz-a.bin", 3 * 1024 * 1024 + 77, 10 + d);
		tfile_create(&files[nfiles++], dirs[d], "fuzz-b.bin", 50 * PG, 20 + d);
	}
	for (int i = 0; i < nfiles; i++) {
		env.fds[env.nfds++] = files[i].fd;
		env.fds[env.nfds++] = open(files[i].path, O_RDONLY);
	}
	if (pipe(pfd) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("pipe");
	env.fds[env.nfds++] = pfd[0];
	env.fds[env.nfds++] = sv[0];
	env.fds[env.nfds++] = open(dirs[0], O_RDONLY | O_DIRECTORY);
	env.fds[env.nfds++] = open(files[0].path, O_PATH);
	env.fds[env.nfds++] = open(files[0].path, O_WRONLY);
	env.fds[env.nfds++] = g_dev;
	{	/* odd files: memfd, eventfd, memfd_secret (with a page), a disk */
		int mfd = memfd_create("fuzz", 0), sfd = (int)syscall(447, 0);
		char *p;

		if (mfd >= 0 && !ftruncate(mfd, 64 * PG) &&
		    pwrite(mfd, rbuf, 8 * PG, 0) == 8 * PG)
			env.fds[env.nfds++] = mfd;
		env.fds[env.nfds++] = eventfd(0, 0);
		if (sfd >= 0 && !ftruncate(sfd, PG)) {
			p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
			if (p != MAP_FAILED)
				p[0] = 1;	/* stays mapped: the page stays */
			env.fds[env.nfds++] = sfd;
		}
		if (access("/dev/sg/ext4", F_OK) == 0)
			env.fds[env.nfds++] = open("/dev/sg/ext4", O_RDONLY);
		printf("fuzz: %d fds (memfd %d, memfd_secret %d)\n", env.nfds,
		       mfd, sfd);
	}
	env.buf = mmap(NULL, 65536 + PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	env.ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (env.buf == MAP_FAILED || env.ro == MAP_FAILED)
		die("mmap");
	env.hole = env.buf + 65536;
	munmap(env.hole, PG);	/* the buffer ends at a hole */

	for (long it = 0; it < iterations; it++) {
		uint64_t *raw = arg_mem;
		unsigned long cmd;
		uint32_t real;
		bool resized = false;
		void *arg;
		int r;

		if (it % 5000 == 0) {	/* keep pages in the cache */
			for (int i = 0; i < nfiles; i++)
				if (pread(files[i].fd, rbuf, sizeof(rbuf),
					  (rnd() % 48) * PG) < 0)
					die("pread");
		}
		for (int i = 0; i < 512; i++)
			raw[i] = rnd() % 4 ? rnd() % 4096 : rnd();
		cmd = rnd() % 16 ? cmds[rnd() % 4] : (unsigned long)rnd();
		real = 0;
		if (cmd == SG_PCACHE_IOC_VERSION) {
			struct sg_pcache_version *v = (void *)raw;

			real = sizeof(*v);
			v->size = fuzz_size(sizeof(*v));
		} else if (cmd == SG_PCACHE_IOC_FILE_PAGES) {
			struct sg_pcache_file_pages *a = (void *)raw;

			real = sizeof(*a);
			a->size = fuzz_size(sizeof(*a));
			a->fd = fuzz_fd(&env);
			a->flags = rnd() % 4 ? SG_PCACHE_WANT_HASH : (uint32_t)rnd();
			a->max_entries = fuzz_count(SG_PCACHE_MAX_PAGE_ENTRIES);
			a->start_index = rnd() % 3 ? rnd() % 1024 : rnd();
			a->entries = fuzz_ptr(&env, a->max_entries * 24);
		} else if (cmd == SG_PCACHE_IOC_EVICT) {
			struct sg_pcache_evict *a = (void *)raw;
			struct sg_pcache_range *rg = (void *)env.buf;

			real = sizeof(*a);
			a->size = fuzz_size(sizeof(*a));
			a->fd = fuzz_fd(&env);
			a->nr_ranges = fuzz_count(SG_PCACHE_MAX_EVICT_RANGES);
			a->reserved = rnd() % 8 ? 0 : rnd();
			a->ranges = fuzz_ptr(&env, a->nr_ranges * 16);
			for (int i = 0; i < 4096; i++) {
				rg[i].start = rnd() % 4 ? rnd() % 800 : rnd();
				rg[i].nr_pages = rnd() % 4 ? rnd() % 600 : rnd();
			}
		} else if (cmd == SG_PCACHE_IOC_LIST_INODES) {
			struct sg_pcache_list_inodes *a = (void *)raw;

			real = sizeof(*a);
			a->size = fuzz_size(sizeof(*a));
			a->fd = fuzz_fd(&env);
			a->max_entries = fuzz_count(SG_PCACHE_MAX_INODE_ENTRIES);
			a->reserved = rnd() % 8 ? 0 : rnd();
			a->cursor = rnd() % 2 ? 0 : rnd();
			a->entries = fuzz_ptr(&env, a->max_entries * 24);
		}
		if (real) {
			uint32_t field = *(uint32_t *)raw;

			/* A grown struct, its unknown bytes zero half the time. */
			if (field > real && field <= ABI_MAX_ARG && rnd() % 2)
				memset((char *)raw + real, 0, field - real);
			/* The number's size bits: those of any struct. */
			if (rnd() % 3 == 0) {
				cmd = ioc_sized(cmd, fuzz_ioc_size(real, field));
				resized = _IOC_SIZE(cmd) != real;
			}
			/* Another direction: not one of the module's ioctls. */
			if (rnd() % 32 == 0)
				cmd ^= (unsigned long)(1 + rnd() % 3) << _IOC_DIRSHIFT;
		}
		switch (rnd() % 12) {
		case 0:
			arg = NULL;
			break;
		case 1:
			arg = (char *)raw + 1 + rnd() % 7;
			break;
		case 2:
			arg = env.hole;
			break;
		case 3:
			arg = env.ro;
			break;
		case 4:
			arg = (void *)(uintptr_t)rnd();
			break;
		case 5: /* the struct runs into the hole */
			memcpy(env.hole - 16, raw, 16);
			arg = env.hole - 16;
			break;
		default:
			arg = raw;
		}
		r = ioc(cmd, arg);
		by_errno[-r < 160 ? -r : 159]++;
		if (resized) {
			resized_calls++;
			resized_ok += !r;
		}
	}
	printf("fuzz: results by errno:");
	for (int i = 0; i < 160; i++)
		if (by_errno[i])
			printf(" %s=%ld", i ? strerror(i) : "ok", by_errno[i]);
	printf("\n");
	CHECK(by_errno[0] > iterations / 100, "almost no ioctl succeeded (%ld)",
	      by_errno[0]);
	printf("fuzz: %ld ioctls with other size bits in the number, %ld succeeded\n",
	       resized_calls, resized_ok);
	CHECK(iterations < 1000 || resized_ok > 0,
	      "no ioctl whose number has other size bits succeeded");
	for (int i = 0; i < nfiles; i++)
		tfile_close(&files[i]);
}

/* --- dirty data survives concurrent eviction ------------------------------ */

struct dirty_ctx {
	int fd;
	size_t pages;
	time_t deadline;
	uint32_t *gen;		/* last generation written per page (writer only) */
	volatile int stop;
	long writes, evicts, evicted, queries;
	int err;
};

static void gen_page(unsigned char *buf, size_t page, uint32_t gen)
{
	for (size_t i = 0; i < PG; i += 8) {
		uint32_t w[2] = { (uint32_t)page, gen };

		memcpy(buf + i, w, 8);
	}
}

static void *dirty_writer(void *p)
{
	struct dirty_ctx *c = p;
	unsigned char buf[PG];
	uint64_t s = 88172645463325252ULL;

	while (!c->stop) {
		size_t page;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		page = s % c->pages;
		gen_page(buf, page, c->gen[page] + 1);
		if (pwrite(c->fd, buf, PG, page * PG) != PG) {
			c->err = errno;
			break;
		}
		c->gen[page]++;
		c->writes++;
		if (s % 64 == 0)
			fdatasync(c->fd);	/* some pages clean, some under writeback */
	}
	return NULL;
}

static void *dirty_evicter(void *p)
{
	struct dirty_ctx *c = p;
	struct sg_pcache_page *ent = malloc(1024 * sizeof(*ent));

	while (!c->stop) {
		struct sg_pcache_range r = { 0, c->pages };
		struct sg_pcache_evict a;
		struct sg_pcache_file_pages q = { .size = sizeof(q), .fd = c->fd,
						  .flags = SG_PCACHE_WANT_HASH,
						  .max_entries = 1024,
						  .entries = (uintptr_t)ent };
		int err = evict(c->fd, &r, 1, &a);

		if (err) {
			c->err = -err;
			break;
		}
		c->evicts++;
		c->evicted += a.evicted_pages;
		if (ioc(SG_PCACHE_IOC_FILE_PAGES, &q) == 0)
			c->queries++;
		if (time(NULL) >= c->deadline)
			c->stop = 1;
	}
	free(ent);
	return NULL;
}

/*
 * A writer keeps dirtying random pages while the module evicts the whole file
 * over and over; afterwards every page read back from disk holds the last
 * generation written: no dirty page was ever dropped.
 */
static void test_dirtysafety(const char *dir, const char *label, int seconds)
{
	struct dirty_ctx c = { 0 };
	unsigned char buf[PG], want[PG];
	pthread_t w, e;
	struct tfile f;
	size_t bad = 0;

	g_test = "dirtysafety";
	open_dev();
	c.pages = 1024;
	tfile_create(&f, dir, "dirty.bin", c.pages * PG, 40);
	c.gen = calloc(c.pages, sizeof(*c.gen));
	for (size_t i = 0; i < c.pages; i++) {
		gen_page(buf, i, 0);
		if (pwrite(f.fd, buf, PG, i * PG) != PG)
			die("pwrite");
	}
	c.fd = f.fd;
	c.deadline = time(NULL) + seconds;
	if (pthread_create(&w, NULL, dirty_writer, &c) ||
	    pthread_create(&e, NULL, dirty_evicter, &c))
		die("pthread_create");
	pthread_join(e, NULL);
	c.stop = 1;
	pthread_join(w, NULL);
	CHECK(!c.err, "writer/evicter error: %s", strerror(c.err));
	printf("dirtysafety %s: %ld writes, %ld evict calls evicting %ld pages, %ld queries\n",
	       label, c.writes, c.evicts, c.evicted, c.queries);
	CHECK(c.evicted > 0, "nothing was ever evicted: the test proved nothing");
	drop_cache(f.fd);
	for (size_t i = 0; i < c.pages; i++) {
		if (pread(f.fd, buf, PG, i * PG) != PG)
			die("pread");
		gen_page(want, i, c.gen[i]);
		if (memcmp(buf, want, PG) && bad++ < 5)
			fail("page %zu: generation %u on disk, %u written",
			     i, ((uint32_t *)buf)[1], c.gen[i]);
	}
	CHECK(!bad, "%zu pages lost their last write", bad);
	free(c.gen);
	tfile_close(&f);
}

/* --- stress ------------------------------------------------------------- */

struct stress_ctx {
	const char *path;
	time_t deadline;
	int kind;
	long ops, errors;
	int bad_errno;
};

static void *stress_thread(void *p)
{
	struct stress_ctx *c = p;
	struct sg_pcache_page *ent = malloc(2048 * sizeof(*ent));
	uint64_t s = (uint64_t)(uintptr_t)p * 2654435761u + 1;
	char buf[32768];
	int fd = open(c->path, O_RDWR);

	if (fd < 0 || !ent) {
		c->errors++;
		return NULL;
	}
	do {	/* at least once: a short run may end before the last thread starts */
		uint64_t r;
		int err = 0;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		r = s;
		switch (c->kind) {
		case 0: /* truncate */
			if (ftruncate(fd, (r % (4 * 1024 * 1024)) + (r & 1 ? 0 : 1)))
				c->errors++;
			usleep(2000);
			break;
		case 1: /* write */
			memset(buf, (int)r, sizeof(buf));
			if (pwrite(fd, buf, (r >> 8) % sizeof(buf) + 1,
				   (r >> 20) % (4 * 1024 * 1024)) < 0)
				c->errors++;
			if (r % 16 == 0)
				fdatasync(fd);
			break;
		case 2: { /* query */
			struct sg_pcache_file_pages a = {
				.size = sizeof(a), .fd = fd,
				.flags = SG_PCACHE_WANT_HASH,
				.max_entries = 2048,
				.start_index = r % 1100,
				.entries = (uintptr_t)ent };

			err = ioc(SG_PCACHE_IOC_FILE_PAGES, &a);
			break;
		}
		case 3: { /* evict */
			struct sg_pcache_range rg[4];
			struct sg_pcache_evict a;

			for (int i = 0; i < 4; i++) {
				rg[i].start = (r >> (i * 8)) % 1024;
				rg[i].nr_pages = 1 + (r >> (i * 4)) % 600;
			}
			err = evict(fd, rg, 1 + r % 4, &a);
			if (err == -ERANGE)	/* truncated under us */
				err = 0;
			break;
		}
		case 4: { /* list + read + map */
			struct sg_pcache_inode ino[64];
			struct sg_pcache_list_inodes l;
			void *m;

			err = list_page(fd, 0, 64, ino, &l);
			if (pread(fd, buf, sizeof(buf), (r >> 8) % (4 * 1024 * 1024)) < 0)
				c->errors++;
			m = mmap(NULL, 16 * PG, PROT_READ, MAP_SHARED, fd,
				 (r % 1024) * PG);
			if (m != MAP_FAILED) {
				/* Touching past EOF would SIGBUS: mincore only. */
				unsigned char v[16];

				mincore(m, 16 * PG, v);
				munmap(m, 16 * PG);
			}
			break;
		}
		}
		if (err && err != -EINTR) {
			c->errors++;
			c->bad_errno = -err;
		}
		c->ops++;
	} while (time(NULL) < c->deadline);
	close(fd);
	free(ent);
	return NULL;
}

static void test_stress(int seconds, char **dirs, int ndirs)
{
	static const char *kinds[] = { "truncate", "write", "query", "evict",
				       "list/read/map" };
	struct stress_ctx ctx[8][2][5];
	pthread_t th[8][2][5];
	struct tfile files[8][2];
	time_t deadline = time(NULL) + seconds;

	g_test = "stress";
	open_dev();
	if (ndirs > 8)
		ndirs = 8;
	for (int d = 0; d < ndirs; d++) {
		for (int k = 0; k < 2; k++) {
			char name[32];

			snprintf(name, sizeof(name), "stress-%d.bin", k);
			tfile_create(&files[d][k], dirs[d], name, 1024 * 1024,
				     30 + d * 2 + k);
			for (int t = 0; t < 5; t++) {
				ctx[d][k][t] = (struct stress_ctx){
					.path = files[d][k].path,
					.deadline = deadline, .kind = t };
				if (pthread_create(&th[d][k][t], NULL,
						   stress_thread, &ctx[d][k][t]))
					die("pthread_create");
			}
		}
	}
	for (int d = 0; d < ndirs; d++) {
		for (int k = 0; k < 2; k++) {
			for (int t = 0; t < 5; t++) {
				struct stress_ctx *c = &ctx[d][k][t];

				pthread_join(th[d][k][t], NULL);
				printf("stress %s %s: %ld ops, %ld errors%s%s\n",
				       dirs[d], kinds[t], c->ops, c->errors,
				       c->bad_errno ? ", last: " : "",
				       c->bad_errno ? strerror(c->bad_errno) : "");
				CHECK(c->errors == 0, "%s on %s: %ld errors",
				      kinds[t], files[d][k].path, c->errors);
				CHECK(c->ops > 0, "%s on %s: no progress",
				      kinds[t], files[d][k].path);
			}
			tfile_close(&files[d][k]);
		}
	}
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "device")) {
		test_device();
	} else if (!strcmp(cmd, "compare") && argc >= 4) {
		open_dev();
		test_compare(argv[2], argv[3], argc > 4 ? argv[4] : NULL);
	} else if (!strcmp(cmd, "evict") && argc >= 4) {
		open_dev();
		test_evict(argv[2], argv[3], argc > 4 && !strcmp(argv[4], "shmem"));
	} else if (!strcmp(cmd, "halffolio") && argc >= 4) {
		open_dev();
		test_halffolio(argv[2], argv[3],
			       argc > 4 && !strcmp(argv[4], "shmem"));
	} else if (!strcmp(cmd, "listinodes") && argc >= 4) {
		open_dev();
		test_listinodes(argv[2], argv[3]);
	} else if (!strcmp(cmd, "badinput") && argc >= 3) {
		test_badinput(argv[2]);
	} else if (!strcmp(cmd, "abi") && argc >= 3) {
		test_abi(argv[2]);
	} else if (!strcmp(cmd, "fuzz") && argc >= 4) {
		test_fuzz(atol(argv[2]), argv + 3, argc - 3);
	} else if (!strcmp(cmd, "blockdev") && argc >= 3) {
		test_blockdev(argv[2]);
	} else if (!strcmp(cmd, "dirtysafety") && argc >= 5) {
		test_dirtysafety(argv[2], argv[3], atoi(argv[4]));
	} else if (!strcmp(cmd, "stress") && argc >= 4) {
		test_stress(atoi(argv[2]), argv + 3, argc - 3);
	} else {
		fprintf(stderr, "usage: see the top of tests/kmod/pcache_test.c\n");
		return 2;
	}
	printf("%s %s: %d failure(s)\n", g_failures ? "FAILED" : "PASSED", cmd,
	       g_failures);
	return g_failures > 100 ? 100 : g_failures;
}
