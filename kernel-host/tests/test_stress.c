// SPDX-License-Identifier: GPL-2.0
/*
 * Stress: many spaces, many operations, concurrent writers while a tracee
 * hops between spaces.  Counts scale with SKAS_SCALE; each test also stops
 * early (with a note) when it has used SKAS_STRESS_BUDGET seconds (default
 * 120), so that a slow emulated VM makes it shorter, not a timeout.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "tracee.h"

#define OPSZ sizeof(struct proc_mm_op)
#define T_STRESS 280

static double budget(void)
{
	return env_long("SKAS_STRESS_BUDGET", 120);
}

TEST(stress_spaces, T_STRESS)
{
	enum { RING = 32, NOPS = 4 };
	unsigned long n = scaled(10000), i, checked = 0;
	int ring[RING], mfd = memfd_words(1, 0x5eed), slot;
	struct proc_mm_op ops[NOPS];
	double t0 = now();
	pid_t pid = tracee_spawn();

	/* Up to RING spaces open at once, the oldest dropped for each new one. */
	for (slot = 0; slot < RING; slot++)
		ring[slot] = -1;
	ops[0] = mk_mmap(CODE_ADDR, blob_pages() * PAGE, PROT_READ | PROT_EXEC,
			 MAP_PRIVATE | MAP_FIXED, blob_memfd(), 0);
	ops[1] = mk_mmap(STACK_ADDR, STACK_SIZE, RW, ANON_FIXED, -1, 0);
	ops[2] = mk_mmap(DATA_ADDR, PAGE, RW, MAP_PRIVATE | MAP_FIXED, mfd, 0);
	ops[3] = mk_mmap(DATA_ADDR + PAGE, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	for (i = 0; i < n; i++) {
		ssize_t r;
		int fd;

		slot = i % RING;
		if (ring[slot] >= 0)
			close(ring[slot]);
		fd = space_open();
		r = write(fd, ops, sizeof(ops));
		CHECK(r == (ssize_t)sizeof(ops), "space %lu: batch returned %zd (%s)", i, r,
		      r < 0 ? errstr(errno) : "-");
		ring[slot] = fd;
		/* Now and then, check a space from inside. */
		if (i % 500 == 0) {
			tracee_switch(pid, fd);
			CHECK(tracee_call(pid, BLOB(blob_load), DATA_ADDR, 0, 0, NULL) == 0x5eed,
			      "space %lu: wrong data", i);
			checked++;
		}
		if (now() - t0 > budget()) {
			note("stress_spaces: time budget of %.0f s used up after %lu of %lu spaces",
			     budget(), i + 1, n);
			n = i + 1;
			break;
		}
	}
	tracee_kill(pid);
	for (slot = 0; slot < RING; slot++)
		if (ring[slot] >= 0)
			close(ring[slot]);
	note("stress_spaces: %lu spaces (%d mappings each, %lu checked by a tracee) in %.2f s: %.0f spaces/s",
	     n, NOPS, checked, now() - t0, n / (now() - t0));
}

TEST(stress_ops, T_STRESS)
{
	unsigned long total = scaled(1000000), done = 0, j;
	long batch = env_long("SKAS_BATCH", 1024);
	struct proc_mm_op *ops;
	int fd = space_new();
	double t0;
	pid_t pid;

	CHECK(batch >= 2 && batch <= PROC_MM_MAX_OPS && batch % 2 == 0,
	      "SKAS_BATCH must be even, 2..%d (got %ld)", PROC_MM_MAX_OPS, batch);
	ops = calloc(batch, OPSZ);
	CHECK(ops, "calloc");
	/* map/unmap pairs spread over 64 pages; each batch leaves the space as it was. */
	for (j = 0; j < (unsigned long)batch / 2; j++) {
		unsigned long a = DATA_ADDR + (j % 64) * PAGE;

		ops[2 * j] = mk_mmap(a, PAGE, j % 3 ? RW : PROT_READ, ANON_FIXED, -1, 0);
		ops[2 * j + 1] = mk_munmap(a, PAGE);
	}
	t0 = now();
	while (done < total) {
		unsigned long k = total - done < (unsigned long)batch ? total - done : (unsigned long)batch;
		ssize_t r;

		k += k % 2;
		r = write(fd, ops, k * OPSZ);
		CHECK(r == (ssize_t)(k * OPSZ), "after %lu ops: batch of %lu returned %zd (%s)", done,
		      k, r, r < 0 ? errstr(errno) : "-");
		done += k;
		if (now() - t0 > budget()) {
			note("stress_ops: time budget of %.0f s used up after %lu of %lu ops", budget(),
			     done, total);
			break;
		}
	}
	note("stress_ops: %lu ops in batches of %ld in %.2f s: %.0f ops/s", done, batch,
	     now() - t0, done / (now() - t0));
	/* Nothing left behind; the space still works. */
	pid = tracee_spawn();
	tracee_switch(pid, fd);
	maps_expect_none(pid, DATA_ADDR, 64 * PAGE);
	OP_OK(op_mmap(fd, DATA_ADDR, PAGE, RW, ANON_FIXED, -1, 0));
	tracee_call(pid, BLOB(blob_store), DATA_ADDR, 5, 0, NULL);
	CHECK(tracee_call(pid, BLOB(blob_load), DATA_ADDR, 0, 0, NULL) == 5, "final load");
	free(ops);
}

#define NSPACES 100
#define NWRITERS 4

struct writer {
	pthread_t th;
	int fd, id;
	unsigned long ops;
};

static volatile int stop_writers;

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	struct proc_mm_op ops[24];
	unsigned long base = 0x60000000UL + (unsigned long)w->id * 0x1000000UL;
	int j;

	/* Own region per thread: map, mprotect, unmap — 8 pages per batch. */
	for (j = 0; j < 8; j++) {
		ops[3 * j] = mk_mmap(base + j * 2 * PAGE, 2 * PAGE, RW, ANON_FIXED, -1, 0);
		ops[3 * j + 1] = mk_mprotect(base + j * 2 * PAGE, PAGE, PROT_READ);
		ops[3 * j + 2] = mk_munmap(base + j * 2 * PAGE, 2 * PAGE);
	}
	while (!stop_writers) {
		ssize_t r = write(w->fd, ops, sizeof(ops));

		CHECK(r == (ssize_t)sizeof(ops), "writer %d: batch returned %zd (%s)", w->id, r,
		      r < 0 ? errstr(errno) : "-");
		w->ops += 24;
	}
	return NULL;
}

/*
 * One operation per write, as a guest page fault in UML's skas3 mode
 * makes them: each write hands its job to a worker thread and waits.  The
 * note compares a write with mmap(2) of the same page in our own address
 * space (what a stub process does in UML's other modes); it is a figure
 * for the benchmark notes, not a timed assertion.
 */
TEST(stress_single_op_writes, T_STRESS)
{
	unsigned long total = scaled(20000), done, j;
	struct proc_mm_op op = mk_mmap(DATA_ADDR, PAGE, RW, ANON_FIXED, -1, 0);
	int fd = space_new();
	double t0, t_write, t_mmap;
	void *local;

	t0 = now();
	for (done = 0; done < total && now() - t0 < budget() / 2; done++) {
		ssize_t r = write(fd, &op, OPSZ);

		CHECK(r == (ssize_t)OPSZ, "write %lu of one mmap returned %zd (%s)", done, r,
		      r < 0 ? errstr(errno) : "-");
	}
	t_write = (now() - t0) / done;

	local = mmap(NULL, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(local != MAP_FAILED, "mmap: %s", errstr(errno));
	t0 = now();
	for (j = 0; j < done; j++)
		CHECK(mmap(local, PAGE, RW, ANON_FIXED, -1, 0) == local, "mmap %lu: %s", j,
		      errstr(errno));
	t_mmap = (now() - t0) / done;
	munmap(local, PAGE);
	note("stress_single_op_writes: %lu one-op writes, %.1f us each; mmap(2) of a page %.1f us; ratio %.1f",
	     done, t_write * 1e6, t_mmap * 1e6, t_write / t_mmap);
	close(fd);
}

TEST(stress_threads_switch, T_STRESS)
{
	static int fds[NSPACES];
	struct writer w[NWRITERS];
	unsigned long rounds = scaled(10), r, switches = 0, wops = 0;
	pid_t pid = tracee_spawn();
	double t0;
	int i;

	for (i = 0; i < NSPACES; i++) {
		fds[i] = space_new();
		space_map_words(fds[i], DATA_ADDR, 1, 0x1000UL * i + 7);
	}
	for (i = 0; i < NWRITERS; i++) {
		w[i].fd = fds[0];
		w[i].id = i;
		w[i].ops = 0;
		CHECK(!pthread_create(&w[i].th, NULL, writer_fn, &w[i]), "pthread_create");
	}
	t0 = now();
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < NSPACES; i++) {
			unsigned long v;

			tracee_switch(pid, fds[i]);
			v = tracee_call(pid, BLOB(blob_load), DATA_ADDR, 0, 0, NULL);
			CHECK(v == 0x1000UL * i + 7, "round %lu, space %d: read %#lx", r, i, v);
			tracee_call(pid, BLOB(blob_store), DATA_ADDR + 8, r, 0, NULL);
			switches++;
		}
		if (now() - t0 > budget()) {
			note("stress_threads_switch: time budget of %.0f s used up after %lu of %lu rounds",
			     budget(), r + 1, rounds);
			break;
		}
	}
	stop_writers = 1;
	for (i = 0; i < NWRITERS; i++) {
		pthread_join(w[i].th, NULL);
		wops += w[i].ops;
	}
	note("stress_threads_switch: %lu switches+runs over %d spaces, %d writers did %lu ops on space 0, in %.2f s",
	     switches, NSPACES, NWRITERS, wops, now() - t0);
	CHECK(wops > 0, "the writers did nothing");
	/* The writers' region in space 0 is empty again; the data is intact. */
	tracee_switch(pid, fds[0]);
	maps_expect_none(pid, 0x60000000UL, NWRITERS * 0x1000000UL);
	CHECK(tracee_call(pid, BLOB(blob_load), DATA_ADDR + 8, 0, 0, NULL) == r - (r == rounds),
	      "space 0 lost the tracee's store");
}
