// SPDX-License-Identifier: GPL-2.0
/*
 * sg_pcache_test process: PROCESS_PAGES, another process's memory hashed in
 * place. Hashes equal userspace XXH64 (random, zero-filled and THP-backed
 * memory, and the shared zero page); pages never touched stay non-resident
 * (FOLL_NOFAULT: anonymous and file-backed); I/O memory ([vvar]) and a large
 * PROT_NONE range absent, one call each; the resume cursor; permissions
 * (another user's or a non-dumpable process without CAP_SYS_PTRACE: EPERM);
 * a process exited or exiting: ESRCH; one errno per kind of bad input.
 *
 * sg_pcache_test hugetlb: another process's hugetlb memory, never faulted in
 * (EOPNOTSUPP before 6.6, where gup would; see test_hugetlb()).
 *
 * sg_pcache_test ksm: two processes with the same pages merged by KSM; a
 * snapshot through the module leaves pages_sharing unchanged.
 */
#include "common.h"

#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <xxhash.h>

#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE 15
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE 12
#endif

#define MIB (1024UL * 1024)

/* All of [start, start + pages * PG) in calls of `per_call` entries. */
static struct sg_pcache_vpage *describe_all(int pidfd, uint64_t start, size_t pages,
					    uint32_t per_call)
{
	struct sg_pcache_vpage *e = calloc(pages, sizeof(*e));
	size_t done = 0;

	if (!e)
		die("calloc");
	while (done < pages) {
		struct sg_pcache_process_pages a;
		int r = process_pages(pidfd, start + done * PG, pages - done, per_call,
				      e + done, &a);

		if (r) {
			fail("PROCESS_PAGES at +%zu pages: %s", done, strerror(-r));
			break;
		}
		CHECK(a.nr_entries == (pages - done < per_call ? pages - done : per_call),
		      "%u entries from a call of %u over %zu pages", a.nr_entries, per_call,
		      pages - done);
		CHECK(a.next == start + (done + a.nr_entries) * PG, "next %#llx",
		      (unsigned long long)a.next);
		done += a.nr_entries;
		CHECK(!!(a.status & SG_PCACHE_STATUS_DONE) == (done == pages),
		      "status %#x after %zu of %zu pages", a.status, done, pages);
		if (!a.nr_entries)
			break;
	}
	return e;
}

static unsigned char *map_anon(size_t len, size_t align)
{
	unsigned char *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	if (align)
		p = (unsigned char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	return p;
}

static void check_hashes(const char *what, const unsigned char *mem, size_t pages,
			 const struct sg_pcache_vpage *e, uint32_t must, uint32_t must_not)
{
	size_t bad = 0, flagged = 0;

	for (size_t i = 0; i < pages; i++) {
		const uint32_t want = SG_PCACHE_VPAGE_PRESENT | SG_PCACHE_VPAGE_HASHED;

		if ((e[i].flags & want) != want ||
		    e[i].xxh64 != XXH64(mem + i * PG, PG, 0))
			bad++;
		if ((e[i].flags & must) != must || (e[i].flags & must_not))
			flagged++;
	}
	CHECK(!bad, "%s: %zu of %zu pages not hashed as userspace XXH64 does", what, bad,
	      pages);
	CHECK(!flagged, "%s: %zu of %zu pages with flags other than wanted (must %#x, not %#x; "
	      "page 0: %#x)", what, flagged, pages, must, must_not, e[0].flags);
	printf("process: %s: %zu pages, %zu bad hashes\n", what, pages, bad);
}

static size_t resident(const void *p, size_t len)
{
	unsigned char vec[1024];
	size_t n = 0;

	if (len / PG > sizeof(vec) || mincore((void *)p, len, vec))
		die("mincore");
	for (size_t i = 0; i < len / PG; i++)
		n += vec[i] & 1;
	return n;
}

/* The kpageflags of our page at p (pagemap + kpageflags); 0 if not present. */
static uint64_t kpage_flags(const void *p)
{
	uint64_t entry = 0, flags = 0;
	int pm = open("/proc/self/pagemap", O_RDONLY), kf = open("/proc/kpageflags", O_RDONLY);

	if (pm < 0 || kf < 0 ||
	    pread(pm, &entry, 8, (off_t)((uintptr_t)p / PG * 8)) != 8)
		die("pagemap");
	if ((entry >> 63) & 1) {
		uint64_t pfn = entry & ((1ULL << 55) - 1);

		if (pread(kf, &flags, 8, (off_t)(pfn * 8)) != 8)
			die("kpageflags");
	}
	close(pm);
	close(kf);
	return flags;
}

/* Is our page at p mapped to the kernel's zero page? */
static bool kernel_zero_page(const void *p)
{
	return (kpage_flags(p) >> 24) & 1;	/* KPF_ZERO_PAGE */
}

/*
 * get_user_pages_remote() adds FOLL_TOUCH (kmod/ABI.md): each page it finds
 * is marked accessed, as process_vm_readv marks what it copies. Fresh
 * anonymous pages start without PG_referenced (KPF_REFERENCED) and have it
 * after a call.
 */
static void test_accessed(void)
{
	const size_t pages = 64;
	int self = pidfd_of(getpid());
	unsigned char *m = map_anon(pages * PG, 0);
	struct sg_pcache_vpage *e;
	size_t before = 0, after = 0;

	if (madvise(m, pages * PG, MADV_NOHUGEPAGE))
		die("MADV_NOHUGEPAGE");
	fill(m, pages * PG, 4243);
	for (size_t i = 0; i < pages; i++)
		before += (kpage_flags(m + i * PG) >> 2) & 1;	/* KPF_REFERENCED */
	e = describe_all(self, (uintptr_t)m, pages, 1000);
	for (size_t i = 0; i < pages; i++)
		after += (kpage_flags(m + i * PG) >> 2) & 1;
	printf("process: accessed: %zu of %zu fresh pages referenced before the call, %zu after%s\n",
	       before, pages, after, before == pages ? " (not exercised)" : "");
	CHECK(after == pages, "%zu of %zu pages referenced after the call (FOLL_TOUCH)", after,
	      pages);
	free(e);
	munmap(m, pages * PG);
	close(self);
}

/* Our own memory through a pidfd of ourselves (the same thread group). */
static void test_contents(const char *dir)
{
	const size_t pages = 256;
	int self = pidfd_of(getpid());
	unsigned char *rnd = map_anon(pages * PG, 0);
	unsigned char *zeros = map_anon(pages * PG, 0);
	unsigned char *zpage = map_anon(pages * PG, 0);
	unsigned char *thp = map_anon(4 * MIB, 2 * MIB);
	unsigned char *untouched = map_anon(pages * PG, 0);
	struct sg_pcache_vpage *e;
	volatile unsigned char sink = 0;
	struct tfile f;
	size_t large = 0;

	fill(rnd, pages * PG, 4242);
	memset(zeros, 0, pages * PG);
	e = describe_all(self, (uintptr_t)rnd, pages, 1000);
	check_hashes("random", rnd, pages, e, 0, SG_PCACHE_VPAGE_ZERO | SG_PCACHE_VPAGE_KSM);
	free(e);
	e = describe_all(self, (uintptr_t)zeros, pages, 1000);
	check_hashes("written zeros", zeros, pages, e, 0, SG_PCACHE_VPAGE_ZERO);
	free(e);
	/* Read, never written: the shared zero page (4 KiB: with THP, a read fault may map
	 * the huge zero page or allocate a THP instead). */
	if (madvise(zpage, pages * PG, MADV_NOHUGEPAGE))
		die("MADV_NOHUGEPAGE");
	/* Read faults taken by the kernel itself (5.14+), not by loads the compiler may move. */
	if (madvise(zpage, pages * PG, MADV_POPULATE_READ))
		die("MADV_POPULATE_READ");
	e = describe_all(self, (uintptr_t)zpage, pages, 1000);
	check_hashes("read, never written", zpage, pages, e, 0, 0);
	{	/* ZERO exactly where the kernel maps its zero page (kpageflags). */
		size_t zero = 0, disagree = 0;

		for (size_t i = 0; i < pages; i++) {
			bool kernel_zero = kernel_zero_page(zpage + i * PG);

			zero += kernel_zero;
			disagree += kernel_zero != !!(e[i].flags & SG_PCACHE_VPAGE_ZERO);
		}
		CHECK(!disagree, "ZERO disagrees with kpageflags on %zu of %zu pages", disagree,
		      pages);
		/* The 6.1 guests sometimes back these read faults with zero-filled pages of
		 * their own (0, 165 and 256 of 256 on the zero page were seen; not explained):
		 * then the agreement holds trivially, and the line says so. */
		printf("process: read, never written: %zu of %zu on the zero page%s\n", zero, pages,
		       zero ? "" : " (the ZERO flag was not exercised)");
	}
	free(e);

	if (madvise(thp, 4 * MIB, MADV_HUGEPAGE))
		printf("process: MADV_HUGEPAGE: %s\n", strerror(errno));
	fill(thp, 4 * MIB, 777);
	e = describe_all(self, (uintptr_t)thp, 4 * MIB / PG, 300);
	check_hashes("THP-backed", thp, 4 * MIB / PG, e, 0, SG_PCACHE_VPAGE_ZERO);
	for (size_t i = 0; i < 4 * MIB / PG; i++)
		large += !!(e[i].flags & SG_PCACHE_VPAGE_LARGE);
	/* THP allocation may fail in a small guest; whole huge pages either way. */
	CHECK(large % 512 == 0, "%zu pages flagged large: not whole huge pages", large);
	printf("process: THP-backed: %zu of %lu pages in a large folio\n", large, 4 * MIB / PG);
	free(e);

	/* Never touched: reported absent, and still absent after. */
	e = describe_all(self, (uintptr_t)untouched, pages, 64);
	for (size_t i = 0; i < pages; i++)
		CHECK(!e[i].flags && !e[i].xxh64, "untouched page %zu: flags %#x", i, e[i].flags);
	CHECK(resident(untouched, pages * PG) == 0, "the call faulted %zu untouched pages in",
	      resident(untouched, pages * PG));
	free(e);

	/* File-backed, not cached: not read in. */
	tfile_create(&f, dir, "process-map.bin", pages * PG, 99);
	drop_cache(f.fd);
	{
		unsigned char *m = mmap(NULL, pages * PG, PROT_READ, MAP_SHARED, f.fd, 0);
		size_t before, after;

		if (m == MAP_FAILED)
			die("mmap file");
		/* One page in, no readahead whose I/O could land during the call. */
		if (madvise(m, pages * PG, MADV_RANDOM))
			die("madvise");
		sink += m[0];  /* one page (and its readahead) in */
		const char *how;

		before = cache_count(f.fd, f.size, &how);
		e = describe_all(self, (uintptr_t)m, pages, 1000);
		after = cache_count(f.fd, f.size, &how);
		CHECK(after == before, "file pages cached %zu before the call, %zu after",
		      before, after);
		CHECK(e[0].flags & SG_PCACHE_VPAGE_PRESENT, "the mapped file page read is absent");
		if (e[0].flags & SG_PCACHE_VPAGE_HASHED)
			CHECK(e[0].xxh64 == XXH64(f.data, PG, 0), "file page 0 hash");
		printf("process: file mapping: %zu of %zu pages cached before and after\n",
		       before, pages);
		free(e);
		munmap(m, pages * PG);
	}
	tfile_close(&f);
	(void)sink;
	close(self);
}

/* The resume cursor: calls of 7 entries give what one call gives. */
static void test_cursor(void)
{
	const size_t pages = 100;
	int self = pidfd_of(getpid());
	unsigned char *mem = map_anon(pages * PG, 0);
	struct sg_pcache_vpage *one, *many;

	fill(mem, pages * PG, 5);
	munmap(mem + 50 * PG, 10 * PG);  /* a hole in the middle */
	one = describe_all(self, (uintptr_t)mem, pages, 1000);
	many = describe_all(self, (uintptr_t)mem, pages, 7);
	CHECK(!memcmp(one, many, pages * sizeof(*one)), "7 at a time differs from all at once");
	for (size_t i = 50; i < 60; i++)
		CHECK(!one[i].flags, "unmapped page %zu: flags %#x", i, one[i].flags);
	free(one);
	free(many);
	close(self);
}

static pid_t spawn_sleeper(uid_t uid, bool nondumpable, size_t mib, int *pidfd)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		unsigned char *m = map_anon(mib * MIB, 0);

		fill(m, mib * MIB, 1);
		if (nondumpable)
			prctl(PR_SET_DUMPABLE, 0);
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(99);
		if (write(p[1], "x", 1) != 1)
			_exit(98);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		die("child start");
	close(p[0]);
	*pidfd = pidfd_of(pid);
	return pid;
}

struct cap_hdr {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};

/* Runs fn in a child whose effective set lacks CAP_SYS_PTRACE; its failures count. */
static void without_ptrace_cap(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		die("fork");
	if (!pid) {
		struct cap_hdr h = { 0x20080522, 0 };
		struct cap_data d[2];

		g_failures = 0;
		if (syscall(SYS_capget, &h, d))
			die("capget");
		d[0].effective &= ~(1u << CAP_SYS_PTRACE);
		if (syscall(SYS_capset, &h, d))
			die("capset");
		fn(arg);
		fflush(stdout);
		_exit(g_failures > 100 ? 100 : g_failures);
	}
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	CHECK(WIFEXITED(status), "child died (signal %d)",
	      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	if (WIFEXITED(status))
		g_failures += WEXITSTATUS(status);
}

struct target {
	int pidfd;
	uint64_t addr;
	int want;
	const char *what;
};

static void call_expecting(void *arg)
{
	struct target *t = arg;
	struct sg_pcache_vpage e[4];

	expect(t->what, process_pages(t->pidfd, t->addr, 4, 4, e, NULL), t->want);
}

static void test_permissions(void)
{
	int other_fd, nodump_fd;
	pid_t other = spawn_sleeper(65534, false, 1, &other_fd);
	pid_t nodump = spawn_sleeper(0, true, 1, &nodump_fd);
	struct sg_pcache_vpage e[4];
	struct target t;

	t = (struct target){ other_fd,
			     find_mapping(other, NULL, "rw-p", 4 * PG, NULL), -EPERM,
			     "another user's process without CAP_SYS_PTRACE" };
	without_ptrace_cap(call_expecting, &t);
	expect("another user's process with CAP_SYS_PTRACE",
	       process_pages(other_fd, t.addr, 4, 4, e, NULL), 0);
	t = (struct target){ nodump_fd,
			     find_mapping(nodump, NULL, "rw-p", 4 * PG, NULL), -EPERM,
			     "a non-dumpable process without CAP_SYS_PTRACE" };
	without_ptrace_cap(call_expecting, &t);
	expect("a non-dumpable process with CAP_SYS_PTRACE",
	       process_pages(nodump_fd, t.addr, 4, 4, e, NULL), 0);
	kill(other, SIGKILL);
	kill(nodump, SIGKILL);
	waitpid(other, NULL, 0);
	waitpid(nodump, NULL, 0);
	close(other_fd);
	close(nodump_fd);
}

/* Exited (a zombie, then reaped): ESRCH. Killed during calls: 0 or ESRCH only. */
static void test_exit(void)
{
	int fd;
	pid_t pid = spawn_sleeper(0, false, 64, &fd);
	uint64_t addr = find_mapping(pid, NULL, "rw-p", 64 * MIB, NULL);
	size_t pages = 64 * MIB / PG;
	struct sg_pcache_vpage *e = calloc(pages, sizeof(*e));
	long calls = 0, ok = 0, esrch = 0, other = 0;
	pid_t killer;

	if (!e || !addr)
		die("exit setup");
	killer = fork();
	if (!killer) {
		usleep(200 * 1000);
		kill(pid, SIGKILL);
		_exit(0);
	}
	for (time_t until = time(NULL) + 5; time(NULL) < until;) {
		int r = process_pages(fd, addr, pages, pages < 65536 ? pages : 65536, e, NULL);

		calls++;
		if (!r)
			ok++;
		else if (r == -ESRCH)
			esrch++;
		else
			other++;
		if (r == -ESRCH)
			break;
	}
	waitpid(killer, NULL, 0);
	printf("process: exit race: %ld calls, %ld done, %ld ESRCH, %ld other\n", calls, ok,
	       esrch, other);
	CHECK(!other, "%ld calls failed with another errno while the process died", other);
	expect("a dead process (zombie)", process_pages(fd, addr, 4, 4, e, NULL), -ESRCH);
	waitpid(pid, NULL, 0);
	expect("a dead process (reaped)", process_pages(fd, addr, 4, 4, e, NULL), -ESRCH);
	close(fd);
	free(e);
}

static void test_bad_process_input(const char *dir)
{
	int self = pidfd_of(getpid());
	unsigned char *mem = map_anon(16 * PG, 0);
	void *ro = mmap(NULL, PG * 16, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sg_pcache_vpage e[16];
	struct tfile f;
	uint64_t a = (uintptr_t)mem;

	memset(mem, 1, 16 * PG);
	tfile_create(&f, dir, "process-bad.bin", PG, 1);
	expect("a regular file as pidfd", process_pages(f.fd, a, 4, 4, e, NULL), -EBADF);
	expect("pidfd -1", process_pages(-1, a, 4, 4, e, NULL), -EBADF);
	expect("pidfd not open", process_pages(1000, a, 4, 4, e, NULL), -EBADF);
	expect("misaligned start", process_pages(self, a + 1, 4, 4, e, NULL), -EINVAL);
	expect("empty range", process_pages(self, a, 0, 4, e, NULL), -EINVAL);
	expect("max_entries 0", process_pages(self, a, 4, 0, e, NULL), -EINVAL);
	expect("max_entries too big",
	       process_pages(self, a, 4, SG_PCACHE_MAX_PAGE_ENTRIES + 1, e, NULL), -EINVAL);
	expect("entries NULL", process_pages(self, a, 4, 4, NULL, NULL), -EFAULT);
	expect("entries read-only", process_pages(self, a, 4, 4, ro, NULL), -EFAULT);
	expect("entries misaligned",
	       process_pages(self, a, 4, 4, (void *)((char *)e + 4), NULL), -EINVAL);
	expect("a kernel address range",
	       process_pages(self, 0xffff880000000000ULL, 4, 4, e, NULL), -EINVAL);
	{
		struct sg_pcache_process_pages x = {
			.size = sizeof(x), .pidfd = self, .flags = 1, .max_entries = 4,
			.start = a, .end = a + 4 * PG, .entries = (uint64_t)(uintptr_t)e,
		};
		expect("unknown flag", ioc(SG_PCACHE_IOC_PROCESS_PAGES, &x), -EINVAL);
		x.flags = 0;
		x.end = a + 4 * PG + 1;
		expect("misaligned end", ioc(SG_PCACHE_IOC_PROCESS_PAGES, &x), -EINVAL);
	}
	/* Unmapped and PROT_NONE addresses are no error: absent pages. */
	mprotect(mem + 4 * PG, 4 * PG, PROT_NONE);
	expect("PROT_NONE pages", process_pages(self, a + 4 * PG, 4, 4, e, NULL), 0);
	for (int i = 0; i < 4; i++)
		CHECK(!e[i].flags, "PROT_NONE page %d: flags %#x", i, e[i].flags);
	tfile_close(&f);
	close(self);
}

/*
 * Mappings gup refuses page by page are skipped whole: I/O memory (the vDSO's
 * [vvar]: VM_IO | VM_PFNMAP) and a large PROT_NONE reservation are absent, no
 * error, one call each.
 */
static void test_skipped_mappings(void)
{
	int self = pidfd_of(getpid());
	const size_t none_pages = 65536;	/* 256 MiB, the most one call takes */
	void *none = mmap(NULL, none_pages * PG, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct sg_pcache_vpage *e = calloc(none_pages, sizeof(*e));
	struct sg_pcache_process_pages a;
	uint64_t vvar_end = 0, vvar = find_mapping(0, "[vvar]", NULL, 0, &vvar_end);
	struct timespec t0, t1;
	size_t flagged = 0;

	if (none == MAP_FAILED || !e)
		die("PROT_NONE reservation");
	if (!vvar) {
		fail("no [vvar] mapping in /proc/self/maps");
	} else {
		size_t n = (vvar_end - vvar) / PG;

		expect("[vvar] (VM_IO | VM_PFNMAP)", process_pages(self, vvar, n, n, e, &a), 0);
		for (size_t i = 0; i < n; i++)
			flagged += e[i].flags != 0;
		CHECK(a.nr_entries == n && !flagged, "[vvar]: %u entries of %zu, %zu flagged",
		      a.nr_entries, n, flagged);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect("256 MiB of PROT_NONE",
	       process_pages(self, (uintptr_t)none, none_pages, none_pages, e, &a), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	flagged = 0;
	for (size_t i = 0; i < none_pages; i++)
		flagged += e[i].flags != 0;
	CHECK(a.nr_entries == none_pages && !flagged && (a.status & SG_PCACHE_STATUS_DONE),
	      "PROT_NONE: %u entries of %zu, %zu flagged, status %#x", a.nr_entries, none_pages,
	      flagged, a.status);
	printf("process: [vvar] %s; 256 MiB PROT_NONE in one call: %.3f s\n",
	       vvar ? "absent" : "missing",
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	munmap(none, none_pages * PG);
	free(e);
	close(self);
}

void test_process(const char *dir)
{
	g_test = "process";
	test_contents(dir);
	test_cursor();
	test_skipped_mappings();
	test_accessed();
	test_permissions();
	test_exit();
	test_bad_process_input(dir);
}

#define HUGE_SZ (2 * MIB)
#define HUGE_N 8		/* huge pages in the child's hugetlb mapping */
#define HUGE_TOUCHED 2		/* of which it writes the first two */
#define SIDE 16			/* 4 KiB pages mapped on each side of it */

struct huge_child {
	pid_t pid;
	int pidfd;
	uint64_t before, huge, after;	/* the three mappings, adjacent */
};

/*
 * A child with SIDE anonymous pages, HUGE_N private hugetlb pages (the first
 * HUGE_TOUCHED written, the others never touched) and SIDE anonymous pages,
 * adjacent in that order; all written with fill() seeds 1, 2, 3.
 */
static bool spawn_huge_child(struct huge_child *c)
{
	uint64_t addr[3];
	int p[2];

	if (pipe(p))
		die("pipe");
	c->pid = fork();
	if (c->pid < 0)
		die("fork");
	if (!c->pid) {
		size_t span = HUGE_N * HUGE_SZ + 4 * HUGE_SZ;
		unsigned char *r = mmap(NULL, span, PROT_NONE,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		unsigned char *h, *b, *a;
		const int rw = PROT_READ | PROT_WRITE;
		const int fixed = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

		if (r == MAP_FAILED)
			_exit(90);
		h = (unsigned char *)(((uintptr_t)r + 2 * HUGE_SZ) & ~(uintptr_t)(HUGE_SZ - 1));
		b = h - SIDE * PG;
		a = h + HUGE_N * HUGE_SZ;
		if (mmap(b, SIDE * PG, rw, fixed, -1, 0) == MAP_FAILED ||
		    mmap(a, SIDE * PG, rw, fixed, -1, 0) == MAP_FAILED)
			_exit(91);
		if (mmap(h, HUGE_N * HUGE_SZ, rw, fixed | MAP_HUGETLB, -1, 0) == MAP_FAILED) {
			addr[0] = 0;	/* no huge pages: say so */
			if (write(p[1], addr, sizeof(addr)) != sizeof(addr))
				_exit(92);
			_exit(0);
		}
		fill(b, SIDE * PG, 1);
		fill(h, HUGE_TOUCHED * HUGE_SZ, 2);
		fill(a, SIDE * PG, 3);
		addr[0] = (uintptr_t)b;
		addr[1] = (uintptr_t)h;
		addr[2] = (uintptr_t)a;
		if (write(p[1], addr, sizeof(addr)) != sizeof(addr))
			_exit(93);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], addr, sizeof(addr)) != sizeof(addr))
		die("hugetlb child start");
	close(p[0]);
	if (!addr[0]) {
		waitpid(c->pid, NULL, 0);
		return false;
	}
	c->before = addr[0];
	c->huge = addr[1];
	c->after = addr[2];
	c->pidfd = pidfd_of(c->pid);
	return true;
}

/* Entries [0, n) are present pages filled with fill(seed), flagged `must` too. */
static void check_filled(const char *what, const struct sg_pcache_vpage *e, size_t n,
			 uint64_t seed, uint32_t must)
{
	unsigned char *want = malloc(n * PG);
	size_t bad = 0;

	if (!want)
		die("malloc");
	fill(want, n * PG, seed);
	for (size_t i = 0; i < n; i++) {
		uint32_t flags = SG_PCACHE_VPAGE_PRESENT | SG_PCACHE_VPAGE_HASHED | must;

		if ((e[i].flags & flags) != flags || e[i].xxh64 != XXH64(want + i * PG, PG, 0))
			bad++;
	}
	CHECK(!bad, "%s: %zu of %zu pages not present, flagged %#x and hashed as userspace "
	      "XXH64 does (page 0: flags %#x)", what, bad, n, must, e[0].flags);
	free(want);
}

/*
 * sg_pcache_test hugetlb: another process's hugetlb memory (vm.nr_hugepages
 * set by guest-tests.sh). Never-touched huge pages stay unallocated
 * (HugePages_Free unchanged) on every kernel. Before 6.6, where gup would
 * fault them in, a call stops before the hugetlb mapping and a call starting
 * in it fails with EOPNOTSUPP (kmod/ABI.md); from 6.6 the written huge pages
 * are hashed (flag LARGE) and the others are absent.
 */
void test_hugetlb(void)
{
	const size_t huge_pages = HUGE_N * HUGE_SZ / PG, touched = HUGE_TOUCHED * HUGE_SZ / PG;
	const size_t total = SIDE + huge_pages + SIDE;
	const bool refused = kernel_before(6, 6);
	struct sg_pcache_vpage *e = calloc(total, sizeof(*e));
	struct sg_pcache_process_pages a;
	struct huge_child c;
	long total_huge = meminfo_kb("HugePages_Total"), free_before, free_after;

	g_test = "hugetlb";
	open_dev();
	if (!e)
		die("calloc");
	if (total_huge < 0) {
		fail("this kernel has no hugetlbfs (no HugePages_Total in /proc/meminfo)");
		return;
	}
	if (meminfo_kb("Hugepagesize") != 2048) {
		fail("huge page size %ld kB, not 2048", meminfo_kb("Hugepagesize"));
		return;
	}
	if (meminfo_kb("HugePages_Free") < HUGE_N) {
		fail("%ld of %ld huge pages free, %d needed (guest-tests.sh sets vm.nr_hugepages)",
		     meminfo_kb("HugePages_Free"), total_huge, HUGE_N);
		return;
	}
	if (!spawn_huge_child(&c)) {
		fail("the child could not map %d huge pages", HUGE_N);
		return;
	}
	free_before = meminfo_kb("HugePages_Free");
	/* From the pages before the hugetlb mapping over all three. */
	expect("a range running into a hugetlb mapping",
	       process_pages(c.pidfd, c.before, total, total, e, &a), 0);
	check_filled("pages before the hugetlb mapping", e, SIDE, 1, 0);
	if (refused) {
		CHECK(a.nr_entries == SIDE && a.next == c.huge && !(a.status & SG_PCACHE_STATUS_DONE),
		      "before 6.6: %u entries, next %#llx (the hugetlb mapping at %#llx), status %#x",
		      a.nr_entries, (unsigned long long)a.next, (unsigned long long)c.huge, a.status);
		expect("a range starting in a hugetlb mapping (before 6.6)",
		       process_pages(c.pidfd, c.huge, huge_pages + SIDE, total, e, NULL),
		       -EOPNOTSUPP);
		expect("a range starting in its untouched part (before 6.6)",
		       process_pages(c.pidfd, c.huge + touched * PG, 4, 4, e, NULL), -EOPNOTSUPP);
		expect("the pages after it", process_pages(c.pidfd, c.after, SIDE, SIDE, e, &a), 0);
		check_filled("pages after the hugetlb mapping", e, SIDE, 3, 0);
	} else {
		size_t stray = 0;

		CHECK(a.nr_entries == total && (a.status & SG_PCACHE_STATUS_DONE),
		      "%u entries of %zu, status %#x", a.nr_entries, total, a.status);
		check_filled("written huge pages", e + SIDE, touched, 2, SG_PCACHE_VPAGE_LARGE);
		for (size_t i = SIDE + touched; i < SIDE + huge_pages; i++)
			stray += e[i].flags != 0;
		CHECK(!stray, "%zu never-touched hugetlb pages reported present", stray);
		check_filled("pages after the hugetlb mapping", e + SIDE + huge_pages, SIDE, 3, 0);
	}
	free_after = meminfo_kb("HugePages_Free");
	printf("hugetlb: kernel %s 6.6: %s; HugePages_Free %ld before the calls, %ld after "
	       "(total %ld)\n", refused ? "before" : "from",
	       refused ? "stopped before the mapping, EOPNOTSUPP in it" : "hashed in place",
	       free_before, free_after, total_huge);
	CHECK(free_after == free_before,
	      "the calls took %ld huge pages: never-touched pages were faulted in",
	      free_before - free_after);
	kill(c.pid, SIGKILL);
	waitpid(c.pid, NULL, 0);
	close(c.pidfd);
	free(e);
}

static long ksm_value(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void ksm_set(const char *name, long v)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", name);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%ld", v) < 0 || fclose(f))
		die("ksm setting");
}

/* Two children whose `mib` of identical content is merged by KSM. */
static pid_t ksm_child(size_t mib, int *pidfd, uint64_t *addr)
{
	int p[2];
	pid_t pid;
	uint64_t a;

	if (pipe(p))
		die("pipe");
	pid = fork();
	if (!pid) {
		unsigned char *m = map_anon(mib * MIB, 0);

		fill(m, mib * MIB, 31337);
		if (madvise(m, mib * MIB, MADV_MERGEABLE))
			_exit(97);
		a = (uintptr_t)m;
		if (write(p[1], &a, sizeof(a)) != sizeof(a))
			_exit(98);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &a, sizeof(a)) != sizeof(a))
		die("ksm child start");
	close(p[0]);
	*pidfd = pidfd_of(pid);
	*addr = a;
	return pid;
}

void test_ksm(void)
{
	const size_t mib = 8, pages = mib * MIB / PG;
	int fd[2];
	uint64_t addr[2];
	pid_t pid[2];
	long sharing, after;
	size_t ksm = 0;
	unsigned char *expect_mem = malloc(mib * MIB);

	g_test = "ksm";
	open_dev();
	if (ksm_value("run") < 0)
		die("no KSM in this kernel");
	fill(expect_mem, mib * MIB, 31337);
	for (int i = 0; i < 2; i++)
		pid[i] = ksm_child(mib, &fd[i], &addr[i]);
	ksm_set("pages_to_scan", 10000);
	ksm_set("sleep_millisecs", 10);
	ksm_set("run", 1);
	for (int i = 0; i < 600 && ksm_value("pages_sharing") < (long)pages * 9 / 10; i++)
		usleep(100 * 1000);
	ksm_set("run", 0);  /* stops merging; keeps what is merged */
	sharing = ksm_value("pages_sharing");
	printf("ksm: pages_sharing %ld of %zu pages\n", sharing, pages);
	CHECK(sharing >= (long)pages * 9 / 10, "KSM merged only %ld of %zu pages", sharing, pages);
	for (int i = 0; i < 2; i++) {
		struct sg_pcache_vpage *e = describe_all(fd[i], addr[i], pages, 1000);

		for (size_t j = 0; j < pages; j++) {
			ksm += !!(e[j].flags & SG_PCACHE_VPAGE_KSM);
			CHECK(e[j].xxh64 == XXH64(expect_mem + j * PG, PG, 0),
			      "process %d page %zu hash", i, j);
		}
		free(e);
	}
	after = ksm_value("pages_sharing");
	printf("ksm: %zu pages flagged KSM; pages_sharing %ld before the snapshot, %ld after\n",
	       ksm, sharing, after);
	CHECK(after == sharing, "the snapshot changed pages_sharing from %ld to %ld", sharing,
	      after);
	CHECK(ksm >= (size_t)sharing, "%zu pages flagged KSM, %ld sharing", ksm, sharing);
	for (int i = 0; i < 2; i++) {
		kill(pid[i], SIGKILL);
		waitpid(pid[i], NULL, 0);
		close(fd[i]);
	}
	ksm_set("run", 2);  /* unmerge what is left */
	free(expect_mem);
}
