// SPDX-License-Identifier: GPL-2.0
/* sg_pcache_test fuzz: random ioctls, numbers with any size bits too. */
#include "common.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>

static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return g_rng;
}

struct fuzz_env {
	int fds[32];
	int nfds;
	char *buf;	/* 64 KiB read-write */
	char *ro;	/* read-only page */
	char *hole;	/* unmapped */
	int pidfd;	/* pidfd_open of ourselves: PROCESS_PAGES */
};

static int fuzz_fd(struct fuzz_env *env)
{
	switch (rnd() % 8) {
	case 0:
		return (int)rnd();
	case 1:
		return -1;
	default:
		return env->fds[rnd() % env->nfds];
	}
}

static uint64_t fuzz_ptr(struct fuzz_env *env, size_t need)
{
	switch (rnd() % 10) {
	case 0:
		return 0;
	case 1:
		return rnd();
	case 2:
		return 0xffff888000000000ULL + (rnd() & 0xffffff);
	case 3:
		return (uintptr_t)env->ro;
	case 4:
		return (uintptr_t)env->hole;
	case 5:
		return (uintptr_t)env->buf + (rnd() % 8);
	case 6: /* straddling the end of the buffer */
		return (uintptr_t)env->buf + 65536 - (need ? (rnd() % need) : 0);
	default:
		return (uintptr_t)env->buf;
	}
}

static uint32_t fuzz_count(uint32_t max)
{
	switch (rnd() % 6) {
	case 0:
		return 0;
	case 1:
		return (uint32_t)rnd();
	case 2:
		return max + (rnd() % 3);
	default:
		return 1 + rnd() % 2048;
	}
}

static uint32_t fuzz_size(uint32_t real)
{
	switch (rnd() % 8) {
	case 0:
		return (uint32_t)rnd();
	case 1:
		return rnd() % 128;
	case 2:
		return real + 8 * (rnd() % 4);
	case 3: /* any grown size up to the maximum */
		return real + rnd() % (ABI_MAX_ARG + 1 - real);
	default:
		return real;
	}
}

/* Size bits of the ioctl number (the module ignores them). */
static unsigned int fuzz_ioc_size(uint32_t real, uint32_t field)
{
	switch (rnd() % 5) {
	case 0:
		return 0;
	case 1:
		return real + 8;
	case 2:
		return real + 64;
	case 3:
		return rnd() & _IOC_SIZEMASK;
	default: /* what the size field says */
		return field;
	}
}

void test_fuzz(long iterations, char **dirs, int ndirs)
{
	/* The retired number as 1.x userspace called it (48-byte struct). */
	static const unsigned long cmds[] = {
		SG_PCACHE_IOC_VERSION, SG_PCACHE_IOC_FILE_PAGES,
		SG_PCACHE_IOC_EVICT, SG_PCACHE_IOC_PROCESS_PAGES,
		_IOC(_IOC_READ | _IOC_WRITE, SG_PCACHE_IOC_MAGIC,
		     SG_PCACHE_RETIRED_IOC_NR_LIST_INODES, 48),
	};
	uint64_t arg_mem[512 + 8];
	long by_errno[160] = { 0 }, resized_calls = 0, resized_ok = 0;
	long retired_calls = 0, retired_answered = 0;
	struct fuzz_env env = { 0 };
	struct tfile files[8];
	int nfiles = 0, pfd[2], sv[2];
	char rbuf[65536];

	g_test = "fuzz";
	open_dev();
	g_rng ^= (uint64_t)time(NULL);
	printf("fuzz: seed %#llx, %ld ioctls\n", (unsigned long long)g_rng,
	       iterations);
	for (int d = 0; d < ndirs && nfiles < 8; d++) {
		tfile_create(&files[nfiles++], dirs[d], "fuzz-a.bin", 3 * 1024 * 1024 + 77, 10 + d);
		tfile_create(&files[nfiles++], dirs[d], "fuzz-b.bin", 50 * PG, 20 + d);
	}
	for (int i = 0; i < nfiles; i++) {
		env.fds[env.nfds++] = files[i].fd;
		env.fds[env.nfds++] = open(files[i].path, O_RDONLY);
	}
	if (pipe(pfd) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("pipe");
	env.fds[env.nfds++] = pfd[0];
	env.fds[env.nfds++] = sv[0];
	env.fds[env.nfds++] = open(dirs[0], O_RDONLY | O_DIRECTORY);
	env.fds[env.nfds++] = open(files[0].path, O_PATH);
	env.fds[env.nfds++] = open(files[0].path, O_WRONLY);
	env.fds[env.nfds++] = g_dev;
	env.pidfd = (int)syscall(434, getpid(), 0);	/* pidfd_open: ourselves */
	env.fds[env.nfds++] = env.pidfd;
	{	/* odd files: memfd, eventfd, memfd_secret (with a page), a disk */
		int mfd = memfd_create("fuzz", 0), sfd = (int)syscall(447, 0);
		char *p;

		if (mfd >= 0 && !ftruncate(mfd, 64 * PG) &&
		    pwrite(mfd, rbuf, 8 * PG, 0) == 8 * PG)
			env.fds[env.nfds++] = mfd;
		env.fds[env.nfds++] = eventfd(0, 0);
		if (sfd >= 0 && !ftruncate(sfd, PG)) {
			p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
			if (p != MAP_FAILED)
				p[0] = 1;	/* stays mapped: the page stays */
			env.fds[env.nfds++] = sfd;
		}
		if (access("/dev/sg/ext4", F_OK) == 0)
			env.fds[env.nfds++] = open("/dev/sg/ext4", O_RDONLY);
		printf("fuzz: %d fds (memfd %d, memfd_secret %d)\n", env.nfds,
		       mfd, sfd);
	}
	env.buf = mmap(NULL, 65536 + PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	env.ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (env.buf == MAP_FAILED || env.ro == MAP_FAILED)
		die("mmap");
	env.hole = env.buf + 65536;
	munmap(env.hole, PG);	/* the buffer ends at a hole */

	for (long it = 0; it < iterations; it++) {
		uint64_t *raw = arg_mem;
		unsigned long cmd;
		uint32_t real;
		bool resized = false;
		void *arg;
		int r;

		if (it % 5000 == 0) {	/* keep pages in the cache */
			for (int i = 0; i < nfiles; i++)
				if (pread(files[i].fd, rbuf, sizeof(rbuf),
					  (rnd() % 48) * PG) < 0)
					die("pread");
		}
		for (int i = 0; i < 512; i++)
			raw[i] = rnd() % 4 ? rnd() % 4096 : rnd();
		cmd = rnd() % 16 ? cmds[rnd() % 5] : (unsigned long)rnd();
		real = 0;
		if (cmd == SG_PCACHE_IOC_VERSION) {
			struct sg_pcache_version *v = (void *)raw;

			real = sizeof(*v);
			v->size = fuzz_size(sizeof(*v));
		} else if (cmd == SG_PCACHE_IOC_FILE_PAGES) {
			struct sg_pcache_file_pages *a = (void *)raw;

			real = sizeof(*a);
			a->size = fuzz_size(sizeof(*a));
			a->fd = fuzz_fd(&env);
			a->flags = rnd() % 4 ? SG_PCACHE_WANT_HASH : (uint32_t)rnd();
			a->max_entries = fuzz_count(SG_PCACHE_MAX_PAGE_ENTRIES);
			a->start_index = rnd() % 3 ? rnd() % 1024 : rnd();
			a->entries = fuzz_ptr(&env, a->max_entries * 24);
		} else if (cmd == SG_PCACHE_IOC_PROCESS_PAGES) {
			struct sg_pcache_process_pages *a = (void *)raw;
			uint64_t base = rnd() % 2 ? (uintptr_t)env.buf : (uintptr_t)raw;

			real = sizeof(*a);
			a->size = fuzz_size(sizeof(*a));
			a->pidfd = rnd() % 3 ? env.pidfd : fuzz_fd(&env);
			a->flags = rnd() % 8 ? 0 : (uint32_t)rnd();
			a->max_entries = fuzz_count(SG_PCACHE_MAX_PAGE_ENTRIES);
			a->start = rnd() % 4 ? (base & ~(PG - 1)) + (rnd() % 64) * PG
					     : rnd();
			a->end = rnd() % 4 ? a->start + (rnd() % 128) * PG : rnd();
			a->entries = fuzz_ptr(&env, a->max_entries * 16);
		} else if (cmd == SG_PCACHE_IOC_EVICT) {
			struct sg_pcache_evict *a = (void *)raw;
			struct sg_pcache_range *rg = (void *)env.buf;

			real = sizeof(*a);
			a->size = fuzz_size(sizeof(*a));
			a->fd = fuzz_fd(&env);
			a->nr_ranges = fuzz_count(SG_PCACHE_MAX_EVICT_RANGES);
			a->reserved = rnd() % 8 ? 0 : rnd();
			a->ranges = fuzz_ptr(&env, a->nr_ranges * 16);
			for (int i = 0; i < 4096; i++) {
				rg[i].start = rnd() % 4 ? rnd() % 800 : rnd();
				rg[i].nr_pages = rnd() % 4 ? rnd() % 600 : rnd();
			}
		}
		if (real) {
			uint32_t field = *(uint32_t *)raw;

			/* A grown struct, its unknown bytes zero half the time. */
			if (field > real && field <= ABI_MAX_ARG && rnd() % 2)
				memset((char *)raw + real, 0, field - real);
			/* The number's size bits: those of any struct. */
			if (rnd() % 3 == 0) {
				cmd = ioc_sized(cmd, fuzz_ioc_size(real, field));
				resized = _IOC_SIZE(cmd) != real;
			}
			/* Another direction: not one of the module's ioctls. */
			if (rnd() % 32 == 0)
				cmd ^= (unsigned long)(1 + rnd() % 3) << _IOC_DIRSHIFT;
		}
		switch (rnd() % 12) {
		case 0:
			arg = NULL;
			break;
		case 1:
			arg = (char *)raw + 1 + rnd() % 7;
			break;
		case 2:
			arg = env.hole;
			break;
		case 3:
			arg = env.ro;
			break;
		case 4:
			arg = (void *)(uintptr_t)rnd();
			break;
		case 5: /* the struct runs into the hole */
			memcpy(env.hole - 16, raw, 16);
			arg = env.hole - 16;
			break;
		default:
			arg = raw;
		}
		r = ioc(cmd, arg);
		by_errno[-r < 160 ? -r : 159]++;
		if (resized) {
			resized_calls++;
			resized_ok += !r;
		}
		/* Whatever the argument: the retired number is not an ioctl. */
		if (_IOC_TYPE(cmd) == SG_PCACHE_IOC_MAGIC &&
		    _IOC_NR(cmd) == SG_PCACHE_RETIRED_IOC_NR_LIST_INODES) {
			retired_calls++;
			retired_answered += r != -ENOTTY;
		}
	}
	printf("fuzz: results by errno:");
	for (int i = 0; i < 160; i++)
		if (by_errno[i])
			printf(" %s=%ld", i ? strerror(i) : "ok", by_errno[i]);
	printf("\n");
	CHECK(by_errno[0] > iterations / 100, "almost no ioctl succeeded (%ld)",
	      by_errno[0]);
	printf("fuzz: %ld ioctls with other size bits in the number, %ld succeeded\n",
	       resized_calls, resized_ok);
	CHECK(iterations < 1000 || resized_ok > 0,
	      "no ioctl whose number has other size bits succeeded");
	printf("fuzz: %ld ioctls with the retired number %d\n", retired_calls,
	       SG_PCACHE_RETIRED_IOC_NR_LIST_INODES);
	CHECK(!retired_answered, "%ld of them answered other than ENOTTY",
	      retired_answered);
	CHECK(iterations < 1000 || retired_calls > 0,
	      "the retired number was never called");
	for (int i = 0; i < nfiles; i++)
		tfile_close(&files[i]);
}
