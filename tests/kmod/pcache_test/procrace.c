// SPDX-License-Identifier: GPL-2.0
/*
 * sg_pcache_test procrace SECONDS: PROCESS_PAGES racing a process that keeps
 * changing its address space.
 *
 * The target maps a stable region (written once with content known here,
 * half of it THP-eligible) and SLOTS churn slots of 2 MiB that it keeps
 * remapping (munmap + mmap, or mmap MAP_FIXED over), MADV_DONTNEED-ing,
 * MADV_FREE-ing, mprotect-ing (PROT_NONE, PROT_READ), forking (the child
 * writes and exits: copy-on-write on both sides) and writing; where THP is
 * enabled it also faults huge pages in, collapses them (MADV_COLLAPSE) and
 * splits them (a 4 KiB mprotect or MADV_DONTNEED inside one). Query threads
 * call PROCESS_PAGES over random windows of it meanwhile, and now and then
 * over the 64 KiB under its stack.
 *
 * Every call must succeed: none of the documented errors applies (no hugetlb
 * mapping, no signal, the target alive). Every result must be well formed
 * (entries as asked, `next` and status consistent, no unknown flag, a hash
 * only on a present page) and every present stable page must hash as
 * userspace XXH64 does (a stable page may be absent for a moment while it
 * is migrated; counted, not failed). The stack stays where it was. The
 * kernel log (warnings, "GUP no longer grows the stack") is checked by
 * guest-tests.sh's kernel-log step.
 */
#include "common.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <xxhash.h>

#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE 15
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define MIB (1024UL * 1024)
#define SLOT (2 * MIB)
#define SLOTS 32
#define STABLE (8 * MIB)
#define STABLE_SEED 77
#define QUERY_THREADS 2
#define MAX_WINDOW 8192		/* pages a query asks for at most */

enum { OP_REMAP, OP_DONTNEED, OP_MPROTECT, OP_FORK, OP_COLLAPSE, OP_SPLIT, OP_WRITE,
       OP_FREE, OP_KINDS };
static const char *const op_names[OP_KINDS] = {
	"remap", "dontneed", "mprotect", "fork", "collapse", "split", "write", "free",
};

/* Shared with the target (MAP_SHARED). */
struct race_shared {
	volatile long ops[OP_KINDS];
	volatile long collapsed;	/* MADV_COLLAPSE calls that succeeded */
	volatile long fork_failed;
	volatile int stop;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Writes `n` pages of slot p from page `first` on (made writable first). */
static void scribble(unsigned char *p, size_t first, size_t n, uint64_t v)
{
	if (mprotect(p, SLOT, PROT_READ | PROT_WRITE))
		_exit(81);
	for (size_t i = first; i < first + n && i < SLOT / PG; i++)
		memset(p + i * PG, (int)(v + i), PG);
}

static void target_loop(unsigned char *churn, struct race_shared *sh, bool thp)
{
	const int rw = PROT_READ | PROT_WRITE;
	const int fixed = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
	uint64_t s = 0x5eed;

	while (!sh->stop) {
		uint64_t r = xorshift(&s);
		unsigned char *p = churn + (r % SLOTS) * SLOT;
		size_t first = (r >> 8) % (SLOT / PG), n = 1 + (r >> 20) % 64;
		int kind = (r >> 32) % OP_KINDS;
		pid_t pid;

		switch (kind) {
		case OP_REMAP:	/* a gap for a moment, or replaced in one step */
			if ((r >> 40) & 1)
				munmap(p, SLOT);
			if (mmap(p, SLOT, rw, fixed, -1, 0) == MAP_FAILED)
				_exit(82);
			scribble(p, first, n, r);
			break;
		case OP_DONTNEED:
			madvise(p + first * PG, n * PG < SLOT - first * PG ? n * PG : SLOT - first * PG,
				MADV_DONTNEED);
			break;
		case OP_MPROTECT:
			mprotect(p + first * PG, PG * (first + n <= SLOT / PG ? n : SLOT / PG - first),
				 (r >> 40) & 1 ? PROT_NONE : PROT_READ);
			break;
		case OP_FORK:	/* both sides write: copy-on-write breaks */
			pid = fork();
			if (pid < 0) {
				sh->fork_failed++;
				break;
			}
			if (!pid) {
				scribble(p, first, n, ~r);
				_exit(0);
			}
			scribble(p, first, n, r);
			waitpid(pid, NULL, 0);
			break;
		case OP_COLLAPSE:
			if (!thp)
				continue;
			scribble(p, 0, SLOT / PG, r);
			madvise(p, SLOT, MADV_HUGEPAGE);
			if (!madvise(p, SLOT, MADV_COLLAPSE))
				sh->collapsed++;
			break;
		case OP_SPLIT:	/* part of a huge page changed: the PMD is split */
			if (!thp)
				continue;
			if ((r >> 40) & 1)
				mprotect(p + first * PG, PG, PROT_READ);
			else
				madvise(p + first * PG, PG, MADV_DONTNEED);
			break;
		case OP_WRITE:
			scribble(p, first, n, r);
			break;
		case OP_FREE:
			madvise(p + first * PG, PG * (first + n <= SLOT / PG ? n : SLOT / PG - first),
				MADV_FREE);
			if ((r >> 40) & 1)
				scribble(p, first, 1, r);
			break;
		}
		sh->ops[kind]++;
	}
}

struct race_query {
	int pidfd;
	uint64_t lo, hi;		/* windows start in [lo, hi) */
	uint64_t stable;		/* the stable region's start */
	const uint64_t *want;		/* XXH64 of each stable page */
	uint64_t stack_lo, stack_hi;	/* the window under the stack */
	time_t deadline;
	uint64_t seed;
	long calls, entries, errors, malformed, mismatched, stable_present, stable_absent;
	int last_errno;
};

static void check_result(struct race_query *q, uint64_t start, size_t pages, uint32_t max,
			 const struct sg_pcache_process_pages *a,
			 const struct sg_pcache_vpage *e)
{
	const uint32_t known = SG_PCACHE_VPAGE_PRESENT | SG_PCACHE_VPAGE_ZERO |
			       SG_PCACHE_VPAGE_KSM | SG_PCACHE_VPAGE_LARGE |
			       SG_PCACHE_VPAGE_HASHED;
	size_t want_n = pages < max ? pages : max;

	if (a->nr_entries != want_n || a->next != start + want_n * PG ||
	    !!(a->status & SG_PCACHE_STATUS_DONE) != (a->next == start + pages * PG)) {
		if (!q->malformed)
			printf("procrace: %u entries of %zu, next %#llx for start %#llx, status %#x\n",
			       a->nr_entries, want_n, (unsigned long long)a->next,
			       (unsigned long long)start, a->status);
		q->malformed++;
		return;
	}
	q->entries += a->nr_entries;
	for (size_t i = 0; i < a->nr_entries; i++) {
		uint64_t addr = start + i * PG;
		uint32_t f = e[i].flags;
		bool present = f & SG_PCACHE_VPAGE_PRESENT;

		if ((f & ~known) || e[i].reserved || (!present && f) ||
		    (!(f & SG_PCACHE_VPAGE_HASHED) && e[i].xxh64))
			q->malformed++;
		if (addr < q->stable || addr >= q->stable + STABLE)
			continue;
		if (!present) {
			q->stable_absent++;
			continue;
		}
		q->stable_present++;
		if (!(f & SG_PCACHE_VPAGE_HASHED) || e[i].xxh64 != q->want[(addr - q->stable) / PG])
			q->mismatched++;
	}
}

static void *query_thread(void *arg)
{
	struct race_query *q = arg;
	struct sg_pcache_vpage *e = malloc(MAX_WINDOW * sizeof(*e));
	uint64_t s = q->seed;

	if (!e) {
		q->errors++;
		return NULL;
	}
	do {
		uint64_t r = xorshift(&s);
		/* Half the windows start in the stable region. */
		uint64_t lo = r & 1 ? q->stable : q->lo, hi = r & 1 ? q->stable + STABLE : q->hi;
		uint64_t start = lo + ((r >> 1) % ((hi - lo) / PG)) * PG;
		size_t pages = 1 + (r >> 24) % MAX_WINDOW;
		uint32_t max = (r >> 40) & 1 ? (uint32_t)pages : 1 + (uint32_t)((r >> 41) % pages);
		struct sg_pcache_process_pages a;
		int err;

		if (q->calls % 64 == 63) {	/* under the stack: gup must not be asked */
			start = q->stack_lo;
			pages = max = (q->stack_hi - q->stack_lo) / PG;
		}
		memset(e, 0xa5, max * sizeof(*e));
		err = process_pages(q->pidfd, start, pages, max, e, &a);
		q->calls++;
		if (err) {
			q->errors++;
			q->last_errno = -err;
			continue;
		}
		check_result(q, start, pages, max, &a, e);
	} while (time(NULL) < q->deadline);
	free(e);
	return NULL;
}

static bool thp_enabled(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] && !strstr(buf, "[never]");
}

void test_procrace(int seconds)
{
	const bool thp = thp_enabled();
	struct race_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct race_query q[QUERY_THREADS];
	pthread_t th[QUERY_THREADS];
	uint64_t addr[2], *want = malloc(STABLE / PG * sizeof(*want));
	unsigned char *expect_mem = malloc(STABLE);
	uint64_t stack_before, stack_after;
	int ready[2], go[2], status, pidfd;
	long calls = 0, entries = 0, errors = 0, malformed = 0, mismatched = 0;
	long present = 0, absent = 0;
	pid_t target;
	char c = 'x';

	g_test = "procrace";
	open_dev();
	if (sh == MAP_FAILED || !want || !expect_mem || pipe(ready) || pipe(go))
		die("procrace setup");
	fill(expect_mem, STABLE, STABLE_SEED);
	for (size_t i = 0; i < STABLE / PG; i++)
		want[i] = XXH64(expect_mem + i * PG, PG, 0);
	target = fork();
	if (target < 0)
		die("fork");
	if (!target) {
		size_t span = STABLE + SLOTS * SLOT + 2 * SLOT;
		unsigned char *r = mmap(NULL, span, PROT_NONE,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		unsigned char *stable, *churn;
		const int fixed = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

		if (r == MAP_FAILED)
			_exit(80);
		stable = (unsigned char *)(((uintptr_t)r + SLOT) & ~(uintptr_t)(SLOT - 1));
		churn = stable + STABLE;
		if (mmap(stable, STABLE, PROT_READ | PROT_WRITE, fixed, -1, 0) == MAP_FAILED ||
		    mmap(churn, SLOTS * SLOT, PROT_READ | PROT_WRITE, fixed, -1, 0) == MAP_FAILED)
			_exit(80);
		madvise(stable, STABLE / 2, MADV_HUGEPAGE);
		madvise(stable + STABLE / 2, STABLE / 2, MADV_NOHUGEPAGE);
		fill(stable, STABLE, STABLE_SEED);
		for (size_t i = 0; i < SLOTS; i += 2)
			scribble(churn + i * SLOT, 0, SLOT / PG, i);
		addr[0] = (uintptr_t)stable;
		addr[1] = (uintptr_t)churn;
		if (write(ready[1], addr, sizeof(addr)) != sizeof(addr) || read(go[0], &c, 1) != 1)
			_exit(80);
		target_loop(churn, sh, thp);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], addr, sizeof(addr)) != sizeof(addr))
		die("procrace target start");
	close(ready[0]);
	pidfd = pidfd_of(target);
	stack_before = find_mapping(target, "[stack]", NULL, 0, NULL);
	CHECK(stack_before, "the target has no [stack] mapping");
	for (int t = 0; t < QUERY_THREADS; t++) {
		q[t] = (struct race_query){
			.pidfd = pidfd, .stable = addr[0], .want = want,
			.lo = addr[0] - MIB, .hi = addr[1] + SLOTS * SLOT + MIB,
			.stack_lo = stack_before - 64 * 1024, .stack_hi = stack_before + PG,
			.deadline = time(NULL) + seconds, .seed = 0x9e3779b97f4a7c15ULL * (t + 1),
		};
		if (pthread_create(&th[t], NULL, query_thread, &q[t]))
			die("pthread_create");
	}
	if (write(go[1], &c, 1) != 1)
		die("procrace go");
	close(go[1]);
	for (int t = 0; t < QUERY_THREADS; t++) {
		pthread_join(th[t], NULL);
		calls += q[t].calls;
		entries += q[t].entries;
		errors += q[t].errors;
		malformed += q[t].malformed;
		mismatched += q[t].mismatched;
		present += q[t].stable_present;
		absent += q[t].stable_absent;
		if (q[t].errors)
			printf("procrace: thread %d: %ld errors, last: %s\n", t, q[t].errors,
			       strerror(q[t].last_errno));
	}
	stack_after = find_mapping(target, "[stack]", NULL, 0, NULL);
	sh->stop = 1;
	if (waitpid(target, &status, 0) != target)
		die("waitpid");
	printf("procrace: %d s, THP %s: %ld calls, %ld entries; stable pages %ld present, %ld "
	       "absent for a moment\n", seconds, thp ? "on" : "off", calls, entries, present, absent);
	printf("procrace: target ops:");
	for (int k = 0; k < OP_KINDS; k++)
		printf(" %s %ld", op_names[k], sh->ops[k]);
	printf("; %ld collapses succeeded, %ld forks failed\n", sh->collapsed, sh->fork_failed);
	CHECK(WIFEXITED(status) && !WEXITSTATUS(status), "the target ended with status %#x",
	      status);
	CHECK(!errors, "%ld of %ld calls failed", errors, calls);
	CHECK(!malformed, "%ld malformed results or entries", malformed);
	CHECK(!mismatched, "%ld present stable pages not hashed as userspace XXH64 does",
	      mismatched);
	CHECK(present > 0, "no stable page was ever seen present");
	CHECK(stack_after == stack_before, "the target's stack moved from %#llx to %#llx",
	      (unsigned long long)stack_before, (unsigned long long)stack_after);
	for (int k = 0; k < OP_KINDS; k++) {
		if (!thp && (k == OP_COLLAPSE || k == OP_SPLIT))
			continue;
		CHECK(sh->ops[k] > 0, "the target never did %s", op_names[k]);
	}
	close(pidfd);
	free(want);
	free(expect_mem);
	munmap(sh, sizeof(*sh));
}
