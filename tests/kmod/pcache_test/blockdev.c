// SPDX-License-Identifier: GPL-2.0
/* sg_pcache_test blockdev: a block device fd (VM disks on LVM). */
#include "common.h"

#include <xxhash.h>

/*
 * VM disks may be block devices (LVM): the module takes a block device fd
 * too. Its cached pages (here: the mounted filesystem's metadata) match
 * mincore(), and their hashes match the bytes read through a mapping.
 */
void test_blockdev(const char *dev)
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
