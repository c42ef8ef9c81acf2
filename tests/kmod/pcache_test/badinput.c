// SPDX-License-Identifier: GPL-2.0
/* sg_pcache_test badinput: one errno per kind of bad input, and no CAP_SYS_ADMIN. */
#include "common.h"

#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int pages_ioc(int fd, void *entries, uint32_t max)
{
	struct sg_pcache_file_pages a = { .size = sizeof(a), .fd = fd,
					  .flags = SG_PCACHE_WANT_HASH,
					  .max_entries = max,
					  .entries = (uintptr_t)entries };

	return ioc(SG_PCACHE_IOC_FILE_PAGES, &a);
}

static int evict_ioc(int fd, uint64_t start, uint64_t nr)
{
	struct sg_pcache_range r = { start, nr };
	struct sg_pcache_evict a;

	return evict(fd, &r, 1, &a);
}

struct cap_hdr {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};

static void test_nocap(int fd)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		die("fork");
	if (!pid) {
		struct cap_hdr h = { 0x20080522, 0 }; /* _LINUX_CAPABILITY_VERSION_3 */
		struct cap_data d[2];
		struct sg_pcache_version v = { .size = sizeof(v) };
		struct sg_pcache_page ent[4];
		int fails = 0;

		g_failures = 0;
		if (syscall(SYS_capget, &h, d))
			die("capget");
		d[0].effective &= ~(1u << CAP_SYS_ADMIN);
		if (syscall(SYS_capset, &h, d))
			die("capset");
		expect("version without CAP_SYS_ADMIN",
		       ioc(SG_PCACHE_IOC_VERSION, &v), -EPERM);
		expect("file pages without CAP_SYS_ADMIN", pages_ioc(fd, ent, 4),
		       -EPERM);
		expect("evict without CAP_SYS_ADMIN", evict_ioc(fd, 0, 1), -EPERM);
		expect("retired LIST_INODES without CAP_SYS_ADMIN",
		       ioc(_IO(SG_PCACHE_IOC_MAGIC,
			       SG_PCACHE_RETIRED_IOC_NR_LIST_INODES), NULL), -EPERM);
		expect("unknown ioctl without CAP_SYS_ADMIN",
		       ioc(_IO(SG_PCACHE_IOC_MAGIC, 99), NULL), -EPERM);
		/* And the device is root's alone. */
		if (setgid(65534) || setuid(65534))
			die("setuid");
		if (open(SG_PCACHE_DEVICE_PATH, O_RDWR) >= 0 || errno != EACCES)
			fail("nobody could open the device (or not EACCES: %s)",
			     strerror(errno));
		fails = g_failures;
		fflush(stdout);
		_exit(fails > 100 ? 100 : fails);
	}
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	CHECK(WIFEXITED(status), "no-cap child died (signal %d)",
	      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	if (WIFEXITED(status))
		g_failures += WEXITSTATUS(status);
}

void test_badinput(const char *dir)
{
	struct sg_pcache_page ent[16];
	struct sg_pcache_evict ev;
	unsigned char big[8192];
	int pfd[2], sv[2], dfd, opath, wronly, err;
	char *ro, *unmapped;
	struct tfile f;

	g_test = "badinput";
	open_dev();
	tfile_create(&f, dir, "bad.bin", 64 * PG + 1, 6);
	if (pipe(pfd) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("pipe/socketpair");
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	opath = open(f.path, O_PATH);
	wronly = open(f.path, O_WRONLY);
	if (dfd < 0 || opath < 0 || wronly < 0)
		die("open");
	ro = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unmapped = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro == MAP_FAILED || unmapped == MAP_FAILED)
		die("mmap");
	munmap(unmapped, 2 * PG);

	/* fds */
	expect("fd -1", pages_ioc(-1, ent, 16), -EBADF);
	expect("fd 100000", pages_ioc(100000, ent, 16), -EBADF);
	expect("closed fd", pages_ioc(1000, ent, 16), -EBADF);
	expect("pipe", pages_ioc(pfd[0], ent, 16), -EINVAL);
	expect("socket", pages_ioc(sv[0], ent, 16), -EINVAL);
	expect("directory", pages_ioc(dfd, ent, 16), -EISDIR);
	expect("O_PATH fd", pages_ioc(opath, ent, 16), -EBADF);
	expect("write-only fd", pages_ioc(wronly, ent, 16), -EBADF);
	expect("device fd", pages_ioc(g_dev, ent, 16), -EINVAL);
	{
		/* memfd_secret pages are not in the kernel's direct map: hashing
		 * one would oops. 6.1 has it off unless secretmem.enable=1. */
		int sfd = (int)syscall(447 /* memfd_secret */, 0);

		if (sfd >= 0) {
			char *p;

			if (ftruncate(sfd, PG))
				die("ftruncate secretmem");
			p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
			if (p != MAP_FAILED) {
				p[0] = 1;	/* allocates the page */
				expect("secretmem fd", pages_ioc(sfd, ent, 16), -EOPNOTSUPP);
				expect("evict secretmem", evict_ioc(sfd, 0, 1), -EOPNOTSUPP);
				munmap(p, PG);
			} else {
				printf("badinput: secretmem mmap: %s (not checked)\n",
				       strerror(errno));
			}
			close(sfd);
		} else {
			printf("badinput: memfd_secret: %s (not checked)\n", strerror(errno));
		}
	}
	expect("evict fd -1", evict_ioc(-1, 0, 1), -EBADF);
	expect("evict pipe", evict_ioc(pfd[0], 0, 1), -EINVAL);
	expect("evict pipe write end", evict_ioc(pfd[1], 0, 1), -EBADF);
	expect("evict socket", evict_ioc(sv[0], 0, 1), -EINVAL);
	expect("evict directory", evict_ioc(dfd, 0, 1), -EISDIR);
	expect("evict O_PATH", evict_ioc(opath, 0, 1), -EBADF);
	expect("evict write-only", evict_ioc(wronly, 0, 1), -EBADF);

	/* pointers: the argument */
	expect("NULL arg", ioc(SG_PCACHE_IOC_FILE_PAGES, NULL), -EFAULT);
	expect("NULL version arg", ioc(SG_PCACHE_IOC_VERSION, NULL), -EFAULT);
	expect("unmapped arg", ioc(SG_PCACHE_IOC_FILE_PAGES, unmapped), -EFAULT);
	expect("kernel arg", ioc(SG_PCACHE_IOC_EVICT,
				 (void *)0xffff888000000000UL), -EFAULT);
	{
		uint64_t raw[16] = { 0 };
		struct sg_pcache_version *v = (void *)((char *)raw + 4);

		v->size = sizeof(*v);
		expect("unaligned arg", ioc(SG_PCACHE_IOC_VERSION, v), -EINVAL);
		/* Read-only memory: the module's copy-out fails. */
		expect("read-only version arg", ioc(SG_PCACHE_IOC_VERSION, ro),
		       -EINVAL); /* size field reads as 0 */
	}
	/* pointers: the arrays (the file has cached pages to write) */
	expect("NULL entries", pages_ioc(f.fd, NULL, 16), -EFAULT);
	expect("unaligned entries", pages_ioc(f.fd, (char *)ent + 4, 8), -EINVAL);
	expect("unmapped entries", pages_ioc(f.fd, unmapped, 16), -EFAULT);
	expect("read-only entries", pages_ioc(f.fd, ro, 16), -EFAULT);
	expect("kernel entries",
	       pages_ioc(f.fd, (void *)0xffff888000000000UL, 16), -EFAULT);
	expect("entries past the user range",
	       pages_ioc(f.fd, (void *)0x7ffffffff000UL, 16), -EFAULT);
	memset(&ev, 0, sizeof(ev));
	ev.size = sizeof(ev);
	ev.fd = f.fd;
	ev.nr_ranges = 1;
	expect("NULL ranges", ioc(SG_PCACHE_IOC_EVICT, &ev), -EFAULT);
	ev.ranges = (uintptr_t)unmapped;
	expect("unmapped ranges", ioc(SG_PCACHE_IOC_EVICT, &ev), -EFAULT);
	ev.ranges = (uintptr_t)big + 3;
	expect("unaligned ranges", ioc(SG_PCACHE_IOC_EVICT, &ev), -EINVAL);

	/* counts */
	expect("0 entries", pages_ioc(f.fd, ent, 0), -EINVAL);
	expect("absurd entries", pages_ioc(f.fd, ent, 0xffffffffu), -EINVAL);
	expect("max+1 entries", pages_ioc(f.fd, ent, SG_PCACHE_MAX_PAGE_ENTRIES + 1),
	       -EINVAL);
	ev.ranges = (uintptr_t)big;
	ev.nr_ranges = 0;
	expect("0 ranges", ioc(SG_PCACHE_IOC_EVICT, &ev), -EINVAL);
	ev.nr_ranges = 0xffffffffu;
	expect("absurd ranges", ioc(SG_PCACHE_IOC_EVICT, &ev), -EINVAL);
	expect("empty range", evict_ioc(f.fd, 0, 0), -EINVAL);
	expect("range past EOF", evict_ioc(f.fd, 65, 1), -ERANGE);
	expect("range far past EOF", evict_ioc(f.fd, 1ULL << 40, 1), -ERANGE);
	expect("range at index max", evict_ioc(f.fd, ~0ULL, 1), -EINVAL);
	expect("range with absurd length", evict_ioc(f.fd, 3, ~0ULL), 0);
	expect("range ending past EOF", evict_ioc(f.fd, 60, 100), 0);
	{
		struct sg_pcache_file_pages a = { .size = sizeof(a), .fd = f.fd,
						  .max_entries = 16,
						  .start_index = ~0ULL,
						  .entries = (uintptr_t)ent };

		expect("query from index max", ioc(SG_PCACHE_IOC_FILE_PAGES, &a), 0);
		CHECK(a.nr_entries == 0 && (a.status & SG_PCACHE_STATUS_DONE),
		      "query from index max returned pages");
		a.start_index = 1ULL << 40;
		expect("query past EOF", ioc(SG_PCACHE_IOC_FILE_PAGES, &a), 0);
		CHECK(a.nr_entries == 0, "query past EOF returned pages");
		a.flags = 0x80;
		expect("unknown query flag", ioc(SG_PCACHE_IOC_FILE_PAGES, &a),
		       -EINVAL);
	}
	{
		struct sg_pcache_range r[2] = { { 0, 1 }, { 1000, 1 } };

		expect("second range past EOF", evict(f.fd, r, 2, &ev), -ERANGE);
	}
	ev.fd = f.fd;
	ev.nr_ranges = 1;
	ev.ranges = (uintptr_t)big;
	memset(big, 0, sizeof(big));
	ev.reserved = 1;
	expect("evict reserved != 0", ioc(SG_PCACHE_IOC_EVICT, &ev), -EINVAL);

	/* struct sizes: the size field */
	{
		uint64_t raw[1024];
		struct sg_pcache_version *v = (void *)raw;

		memset(raw, 0, sizeof(raw));
		v->size = 0;
		expect("size 0", ioc(SG_PCACHE_IOC_VERSION, v), -EINVAL);
		v->size = 4;
		expect("size 4", ioc(SG_PCACHE_IOC_VERSION, v), -EINVAL);
		v->size = sizeof(*v) - 1;
		expect("size - 1", ioc(SG_PCACHE_IOC_VERSION, v), -EINVAL);
		v->size = sizeof(*v) + 8;
		expect("size + 8, zero tail", ioc(SG_PCACHE_IOC_VERSION, v), 0);
		v->size = sizeof(*v) + 8;
		raw[sizeof(*v) / 8] = 1;
		expect("size + 8, non-zero tail", ioc(SG_PCACHE_IOC_VERSION, v),
		       -E2BIG);
		raw[sizeof(*v) / 8] = 0;
		v->size = 8192;
		expect("size 8192", ioc(SG_PCACHE_IOC_VERSION, v), -E2BIG);
		v->size = 0xffffffffu;
		expect("size 4 GiB", ioc(SG_PCACHE_IOC_VERSION, v), -E2BIG);
		/* A struct running into unmapped memory. */
		char *edge = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (edge == MAP_FAILED)
			die("mmap");
		munmap(edge + PG, PG);
		v = (void *)(edge + PG - 8);
		v->size = sizeof(*v);
		expect("struct running into a hole",
		       ioc(SG_PCACHE_IOC_VERSION, v), -EFAULT);
		munmap(edge, PG);
	}
	{
		struct sg_pcache_evict e2 = { .size = sizeof(e2) - 8, .fd = f.fd,
					      .nr_ranges = 1,
					      .ranges = (uintptr_t)big };

		expect("evict size - 8", ioc(SG_PCACHE_IOC_EVICT, &e2), -EINVAL);
	}
	expect("unknown ioctl", ioc(_IO(SG_PCACHE_IOC_MAGIC, 99), NULL), -ENOTTY);
	expect("foreign ioctl", ioc(TCGETS, big), -ENOTTY);
	(void)err;

	test_nocap(f.fd);

	close(pfd[0]);
	close(pfd[1]);
	close(sv[0]);
	close(sv[1]);
	close(dfd);
	close(opath);
	close(wronly);
	munmap(ro, 2 * PG);
	tfile_close(&f);
}
