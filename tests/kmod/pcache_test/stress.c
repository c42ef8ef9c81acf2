// SPDX-License-Identifier: GPL-2.0
/* sg_pcache_test stress: concurrent truncate/write/query/evict/read/mmap. */
#include "common.h"

#include <pthread.h>
#include <time.h>

struct stress_ctx {
	const char *path;
	time_t deadline;
	int kind;
	long ops, errors;
	int bad_errno;
};

static void *stress_thread(void *p)
{
	struct stress_ctx *c = p;
	struct sg_pcache_page *ent = malloc(2048 * sizeof(*ent));
	uint64_t s = (uint64_t)(uintptr_t)p * 2654435761u + 1;
	char buf[32768];
	int fd = open(c->path, O_RDWR);

	if (fd < 0 || !ent) {
		c->errors++;
		return NULL;
	}
	do {	/* at least once: a short run may end before the last thread starts */
		uint64_t r;
		int err = 0;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		r = s;
		switch (c->kind) {
		case 0: /* truncate */
			if (ftruncate(fd, (r % (4 * 1024 * 1024)) + (r & 1 ? 0 : 1)))
				c->errors++;
			usleep(2000);
			break;
		case 1: /* write */
			memset(buf, (int)r, sizeof(buf));
			if (pwrite(fd, buf, (r >> 8) % sizeof(buf) + 1,
				   (r >> 20) % (4 * 1024 * 1024)) < 0)
				c->errors++;
			if (r % 16 == 0)
				fdatasync(fd);
			break;
		case 2: { /* query */
			struct sg_pcache_file_pages a = {
				.size = sizeof(a), .fd = fd,
				.flags = SG_PCACHE_WANT_HASH,
				.max_entries = 2048,
				.start_index = r % 1100,
				.entries = (uintptr_t)ent };

			err = ioc(SG_PCACHE_IOC_FILE_PAGES, &a);
			break;
		}
		case 3: { /* evict */
			struct sg_pcache_range rg[4];
			struct sg_pcache_evict a;

			for (int i = 0; i < 4; i++) {
				rg[i].start = (r >> (i * 8)) % 1024;
				rg[i].nr_pages = 1 + (r >> (i * 4)) % 600;
			}
			err = evict(fd, rg, 1 + r % 4, &a);
			if (err == -ERANGE)	/* truncated under us */
				err = 0;
			break;
		}
		case 4: { /* read + map */
			void *m;

			if (pread(fd, buf, sizeof(buf), (r >> 8) % (4 * 1024 * 1024)) < 0)
				c->errors++;
			m = mmap(NULL, 16 * PG, PROT_READ, MAP_SHARED, fd,
				 (r % 1024) * PG);
			if (m != MAP_FAILED) {
				/* Touching past EOF would SIGBUS: mincore only. */
				unsigned char v[16];

				mincore(m, 16 * PG, v);
				munmap(m, 16 * PG);
			}
			break;
		}
		}
		if (err && err != -EINTR) {
			c->errors++;
			c->bad_errno = -err;
		}
		c->ops++;
	} while (time(NULL) < c->deadline);
	close(fd);
	free(ent);
	return NULL;
}

void test_stress(int seconds, char **dirs, int ndirs)
{
	static const char *kinds[] = { "truncate", "write", "query", "evict",
				       "read/map" };
	struct stress_ctx ctx[8][2][5];
	pthread_t th[8][2][5];
	struct tfile files[8][2];
	time_t deadline = time(NULL) + seconds;

	g_test = "stress";
	open_dev();
	if (ndirs > 8)
		ndirs = 8;
	for (int d = 0; d < ndirs; d++) {
		for (int k = 0; k < 2; k++) {
			char name[32];

			snprintf(name, sizeof(name), "stress-%d.bin", k);
			tfile_create(&files[d][k], dirs[d], name, 1024 * 1024,
				     30 + d * 2 + k);
			for (int t = 0; t < 5; t++) {
				ctx[d][k][t] = (struct stress_ctx){
					.path = files[d][k].path,
					.deadline = deadline, .kind = t };
				if (pthread_create(&th[d][k][t], NULL,
						   stress_thread, &ctx[d][k][t]))
					die("pthread_create");
			}
		}
	}
	for (int d = 0; d < ndirs; d++) {
		for (int k = 0; k < 2; k++) {
			for (int t = 0; t < 5; t++) {
				struct stress_ctx *c = &ctx[d][k][t];

				pthread_join(th[d][k][t], NULL);
				printf("stress %s %s: %ld ops, %ld errors%s%s\n",
				       dirs[d], kinds[t], c->ops, c->errors,
				       c->bad_errno ? ", last: " : "",
				       c->bad_errno ? strerror(c->bad_errno) : "");
				CHECK(c->errors == 0, "%s on %s: %ld errors",
				      kinds[t], files[d][k].path, c->errors);
				CHECK(c->ops > 0, "%s on %s: no progress",
				      kinds[t], files[d][k].path);
			}
			tfile_close(&files[d][k]);
		}
	}
}
