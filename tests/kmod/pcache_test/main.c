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
 *   sg_pcache_test retired DIR                   LIST_INODES is gone for good
 *   sg_pcache_test badinput DIR
 *   sg_pcache_test abi DIR                       grown structs, ioctl size bits
 *   sg_pcache_test fuzz N DIR...
 *   sg_pcache_test blockdev DEVICE
 *   sg_pcache_test dirtysafety DIR LABEL SECONDS
 *   sg_pcache_test stress SECONDS DIR...
 *   sg_pcache_test process DIR                   PROCESS_PAGES: another process's memory
 *   sg_pcache_test ksm                           PROCESS_PAGES leaves KSM pages merged
 *   sg_pcache_test hugetlb                       hugetlb pages never faulted in
 *   sg_pcache_test procrace SECONDS              PROCESS_PAGES on a process that remaps
 *
 * Each mode is MODE.c (its test_MODE()); common.{h,c} hold what several
 * modes use: reporting, ioctl wrappers, test files and cache counts.
 */
#include "common.h"

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
	} else if (!strcmp(cmd, "retired") && argc >= 3) {
		test_retired(argv[2]);
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
	} else if (!strcmp(cmd, "process") && argc >= 3) {
		open_dev();
		test_process(argv[2]);
	} else if (!strcmp(cmd, "ksm")) {
		test_ksm();
	} else if (!strcmp(cmd, "hugetlb")) {
		test_hugetlb();
	} else if (!strcmp(cmd, "procrace") && argc >= 3) {
		test_procrace(atoi(argv[2]));
	} else if (!strcmp(cmd, "stress") && argc >= 4) {
		test_stress(atoi(argv[2]), argv + 3, argc - 3);
	} else {
		fprintf(stderr, "usage: see the top of tests/kmod/pcache_test/main.c\n");
		return 2;
	}
	printf("%s %s: %d failure(s)\n", g_failures ? "FAILED" : "PASSED", cmd,
	       g_failures);
	return g_failures > 100 ? 100 : g_failures;
}
