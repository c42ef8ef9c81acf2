// SPDX-License-Identifier: GPL-2.0
/* sg_pcache_test abi: grown structs and the size bits of ioctl numbers (kmod/ABI.md). */
#include "common.h"

#define ABI_CANARY 0xa5

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

/*
 * Entries equal to the v1 call's. ACTIVE and REFERENCED are the folio's LRU
 * state, which reclaim and the LRU batches change between two calls at any
 * time (6.1 did, once in many runs): they are not the ABI's to keep equal.
 */
static int same_entries(const void *a, const void *b, size_t len)
{
	const struct sg_pcache_page *x = a, *y = b;
	const __u32 lru = SG_PCACHE_PAGE_ACTIVE | SG_PCACHE_PAGE_REFERENCED;

	for (size_t i = 0; i < len / sizeof(*x); i++) {
		if (x[i].index != y[i].index || x[i].xxh64 != y[i].xxh64 ||
		    (x[i].flags & ~lru) != (y[i].flags & ~lru) ||
		    x[i].reserved != y[i].reserved)
			return 0;
	}
	return 1;
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
				CHECK(same_entries(c->entries, ref_entries,
						   c->entries_len),
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

void test_abi(const char *dir)
{
	static struct sg_pcache_page ents[64], ref_ents[64];
	struct sg_pcache_version v = { .size = sizeof(v) }, rv;
	struct sg_pcache_file_pages fp, rfp;
	struct sg_pcache_evict ev, rev;
	struct sg_pcache_range range;
	unsigned char buf[32 * PG];
	volatile unsigned char *map;
	struct tfile f;
	int err;

	g_test = "abi";
	open_dev();
	tfile_create(&f, dir, "abi.bin", 40 * PG, 8);
	drop_cache(f.fd);
	if (pread(f.fd, buf, sizeof(buf), 0) != sizeof(buf))
		die("pread");
	/*
	 * And the last 8 pages, which readahead of the first read may still have in flight
	 * (locked, not uptodate, so not hashed): read, they are uptodate before the reference
	 * call, and every call below sees the same pages. (Seen on 6.1: the grown calls found
	 * pages the v1 call had caught under I/O.)
	 */
	if (pread(f.fd, buf, 8 * PG, 32 * PG) != 8 * PG)
		die("pread");
	/* Pages 0..31 mapped: the evict call's result is the same every time. */
	map = mmap(NULL, 32 * PG, PROT_READ, MAP_SHARED, f.fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	for (int i = 0; i < 32; i++)
		(void)map[i * PG];

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
	printf("abi: v1 calls: abi %u.%u, %u pages\n", rv.abi_major,
	       rv.abi_minor, rfp.nr_entries);

	{
		const struct abi_case cases[] = {
			{ "version", SG_PCACHE_IOC_VERSION, &v, sizeof(v), NULL, 0 },
			{ "file pages", SG_PCACHE_IOC_FILE_PAGES, &fp, sizeof(fp),
			  ents, sizeof(ents) },
			{ "evict", SG_PCACHE_IOC_EVICT, &ev, sizeof(ev), NULL, 0 },
		};
		const void *refs[] = { &rv, &rfp, &rev };
		const void *ref_entries[] = { NULL, ref_ents, NULL };

		for (int i = 0; i < 3; i++) {
			abi_grown(&cases[i], refs[i], ref_entries[i]);
			abi_edge(&cases[i]);
		}
	}

	/* Not one of the three: magic, number and direction decide. */
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
	expect("number 4 (retired)",
	       ioc(_IOWR(SG_PCACHE_IOC_MAGIC, SG_PCACHE_RETIRED_IOC_NR_LIST_INODES,
			 struct sg_pcache_version), &v), -ENOTTY);
	expect("number 6", ioc(_IOWR(SG_PCACHE_IOC_MAGIC, 6,
				     struct sg_pcache_version), &v), -ENOTTY);
	expect("number 255", ioc(_IOWR(SG_PCACHE_IOC_MAGIC, 255,
				       struct sg_pcache_version), &v), -ENOTTY);
	expect("other magic", ioc(_IOWR(SG_PCACHE_IOC_MAGIC + 1, 1,
					struct sg_pcache_version), &v), -ENOTTY);
	expect("magic 0", ioc(_IOWR(0, 1, struct sg_pcache_version), &v), -ENOTTY);

	munmap((void *)map, 32 * PG);
	tfile_close(&f);
}
