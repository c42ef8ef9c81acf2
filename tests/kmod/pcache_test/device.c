// SPDX-License-Identifier: GPL-2.0
/* sg_pcache_test device: the character device and the version ioctl. */
#include "common.h"

void test_device(void)
{
	const uint64_t want = SG_PCACHE_FEAT_FILE_PAGES | SG_PCACHE_FEAT_XXH64 |
			      SG_PCACHE_FEAT_EVICT | SG_PCACHE_FEAT_FOLIO_ORDER;
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
	CHECK((v.features & want) == want, "features %#llx",
	      (unsigned long long)v.features);
	printf("device: abi %u.%u features %#llx\n", v.abi_major, v.abi_minor,
	       (unsigned long long)v.features);
}
