// SPDX-License-Identifier: GPL-2.0
/*
 * sg_pcache_test retired: what ABI 2.0 removed stays removed (kmod/ABI.md,
 * "Retired"). LIST_INODES, number 4, answers -ENOTTY however it is called
 * and writes nothing; its feature bit is clear; the version struct's former
 * max_inode_entries reads 0.
 */
#include "common.h"

/* The argument of the retired LIST_INODES, as 1.x userspace passed it. */
struct retired_list_inodes {
	uint32_t size;
	int32_t fd;
	uint32_t max_entries;
	uint32_t nr_entries;
	uint64_t cursor;
	uint64_t entries;
	uint32_t status;
	uint32_t reserved;
	uint64_t total_inodes;
};
_Static_assert(sizeof(struct retired_list_inodes) == 48,
	       "the 1.x sg_pcache_list_inodes was 48 bytes");

#define RETIRED_NR SG_PCACHE_RETIRED_IOC_NR_LIST_INODES

void test_retired(const char *dir)
{
	static uint64_t out[3 * 64];	/* 64 of the 1.x 24-byte entries */
	struct sg_pcache_version v = { .size = sizeof(v) };
	struct retired_list_inodes l, before;
	unsigned char grown[ABI_MAX_ARG] __attribute__((aligned(8)));
	struct tfile f;
	char what[96];
	int dfd;

	g_test = "retired";
	open_dev();
	expect("version", ioc(SG_PCACHE_IOC_VERSION, &v), 0);
	CHECK(!(v.features & SG_PCACHE_RETIRED_FEAT_LIST_INODES),
	      "retired LIST_INODES feature bit set (features %#llx)",
	      (unsigned long long)v.features);
	CHECK(v.reserved0 == 0, "former max_inode_entries reads %u, want 0",
	      v.reserved0);
	printf("retired: abi %u.%u features %#llx\n", v.abi_major, v.abi_minor,
	       (unsigned long long)v.features);

	/* A well-formed 1.x call, on a filesystem with cached inodes. */
	tfile_create(&f, dir, "retired.bin", 16 * PG, 50);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die(dir);
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.fd = dfd;
	l.max_entries = 64;
	l.entries = (uintptr_t)out;
	memset(out, 0xa5, sizeof(out));
	before = l;
	expect("LIST_INODES as 1.x called it",
	       ioc(_IOWR(SG_PCACHE_IOC_MAGIC, RETIRED_NR,
			 struct retired_list_inodes), &l), -ENOTTY);
	CHECK(!memcmp(&l, &before, sizeof(l)), "the argument was written");
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		if (out[i] != 0xa5a5a5a5a5a5a5a5ULL) {
			fail("entry word %zu written", i);
			break;
		}
	}
	l.fd = f.fd;
	expect("LIST_INODES with a file fd",
	       ioc(_IOWR(SG_PCACHE_IOC_MAGIC, RETIRED_NR,
			 struct retired_list_inodes), &l), -ENOTTY);

	/* Whatever the size bits, the size field or the pointer say. */
	{
		unsigned int sizes[] = { 0, 8, sizeof(l), sizeof(v),
					 ABI_MAX_ARG, _IOC_SIZEMASK };

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			snprintf(what, sizeof(what), "number %d, size bits %u",
				 RETIRED_NR, sizes[i]);
			expect(what, ioc(_IOC(_IOC_READ | _IOC_WRITE,
					      SG_PCACHE_IOC_MAGIC, RETIRED_NR,
					      sizes[i]), &l), -ENOTTY);
		}
	}
	memset(grown, 0, sizeof(grown));
	memcpy(grown, &l, sizeof(l));
	*(uint32_t *)grown = sizeof(grown);
	expect("number 4, struct grown to 4096",
	       ioc(ioc_sized(_IOWR(SG_PCACHE_IOC_MAGIC, RETIRED_NR,
				   struct retired_list_inodes), sizeof(grown)),
		   grown), -ENOTTY);
	expect("number 4, NULL argument",
	       ioc(_IOWR(SG_PCACHE_IOC_MAGIC, RETIRED_NR,
			 struct retired_list_inodes), NULL), -ENOTTY);
	expect("number 4 as _IO", ioc(_IO(SG_PCACHE_IOC_MAGIC, RETIRED_NR), NULL),
	       -ENOTTY);
	close(dfd);
	tfile_close(&f);
}
