// SPDX-License-Identifier: GPL-2.0
/* sg_pcache_test listinodes: the inode listing with a 3-entry cursor. */
#include "common.h"

void test_listinodes(const char *dir, const char *label)
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
