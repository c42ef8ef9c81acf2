// SPDX-License-Identifier: GPL-2.0
/* sg_pcache_test dirtysafety: dirty data survives concurrent eviction. */
#include "common.h"

#include <pthread.h>
#include <time.h>

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
void test_dirtysafety(const char *dir, const char *label, int seconds)
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
