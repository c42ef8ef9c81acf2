// SPDX-License-Identifier: GPL-2.0
/* sg_pcache_test compare: the module vs mincore() and userspace XXH64. */
#include "common.h"

#include <xxhash.h>

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

/*
 * Every cached page the module reports is what mincore() reports, its hash
 * is XXH64 of the file's bytes, folio orders are consistent, and the query
 * changes neither the cache size nor LRU flags.
 */
void test_compare(const char *dir, const char *label, const char *mode)
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
