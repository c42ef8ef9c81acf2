// SPDX-License-Identifier: GPL-2.0
/* sg_pcache_test halffolio: half a large folio evicts nothing of it. */
#include "common.h"

void test_halffolio(const char *dir, const char *label, bool shmem)
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
