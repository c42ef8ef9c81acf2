// SPDX-License-Identifier: GPL-2.0
/* sg_pcache_test evict: dirty and mapped pages kept and counted, tmpfs never evicted. */
#include "common.h"

void test_evict(const char *dir, const char *label, bool shmem)
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
