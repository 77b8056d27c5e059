// SPDX-License-Identifier: GPL-2.0
/*
 * Several operations in one write(): all applied in order, the return value
 * counts the applied ones, nothing after a failing op is applied.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "tracee.h"

#define OPSZ sizeof(struct proc_mm_op)
/* Page i of a batch lives at BATCH_ADDR + 2*i pages: gaps keep VMAs apart. */
#define BATCH_ADDR 0x40000000UL
#define SLOT(i) (BATCH_ADDR + 2 * (unsigned long)(i) * PAGE)

static struct proc_mm_op ops[PROC_MM_MAX_OPS + 8];

static pid_t tracee_in(int fd)
{
	pid_t pid = tracee_spawn();

	tracee_switch(pid, fd);
	return pid;
}

TEST(batch_many_mmaps, T_DEFAULT)
{
	int fd = space_new(), n = 300, i;
	pid_t pid;
	ssize_t r;

	for (i = 0; i < n; i++)
		ops[i] = mk_mmap(SLOT(i), PAGE, i % 2 ? RW : PROT_READ, ANON_FIXED, -1, 0);
	r = write(fd, ops, n * OPSZ);
	CHECK(r == (ssize_t)(n * OPSZ), "batch of %d mmaps returned %zd (%s), expected %zu", n, r,
	      r < 0 ? errstr(errno) : "-", n * OPSZ);
	pid = tracee_in(fd);
	for (i = 0; i < n; i++)
		maps_expect(pid, SLOT(i), PAGE, i % 2 ? "rw-p" : "r--p");
	maps_expect_none(pid, SLOT(n), PAGE);
	tracee_call(pid, BLOB(blob_store), SLOT(n - 1) + 8, 77, 0, NULL);
	CHECK(tracee_call(pid, BLOB(blob_load), SLOT(n - 1) + 8, 0, 0, NULL) == 77, "last page");
	CHECK(tracee_call(pid, BLOB(blob_load), SLOT(0), 0, 0, NULL) == 0, "first page");
}

TEST(batch_mixed_ops, T_DEFAULT)
{
	/* Later ops in a batch see the effect of earlier ones. */
	int fd = space_open(), n = 0, mfd = memfd_words(4, 1000);
	pid_t pid;

	ops[n++] = mk_mmap(CODE_ADDR, blob_pages() * PAGE, PROT_READ | PROT_EXEC,
			   MAP_PRIVATE | MAP_FIXED, blob_memfd(), 0);
	ops[n++] = mk_mmap(STACK_ADDR, STACK_SIZE, RW, ANON_FIXED, -1, 0);
	ops[n++] = mk_mmap(DATA_ADDR, 4 * PAGE, RW, MAP_PRIVATE | MAP_FIXED, mfd, 0);
	ops[n++] = mk_munmap(DATA_ADDR + PAGE, PAGE);
	ops[n++] = mk_mprotect(DATA_ADDR + 2 * PAGE, PAGE, PROT_READ);
	ops[n++] = mk_mmap(DATA_ADDR + 3 * PAGE, PAGE, RW, ANON_FIXED, -1, 0);
	ops[n++] = mk_mmap(DATA_ADDR + PAGE, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS |
			   MAP_FIXED_NOREPLACE, -1, 0);
	ops[n++] = mk_copy_segments(fd);	/* self, no LDT: nothing to copy */
	CHECK(write(fd, ops, n * OPSZ) == (ssize_t)(n * OPSZ), "mixed batch: %s", errstr(errno));
	pid = tracee_in(fd);
	maps_expect(pid, DATA_ADDR, 2 * PAGE, "rw-p");
	maps_expect(pid, DATA_ADDR + 2 * PAGE, PAGE, "r--p");
	maps_expect(pid, DATA_ADDR + 3 * PAGE, PAGE, "rw-p");
	CHECK(tracee_call(pid, BLOB(blob_load), DATA_ADDR + 8, 0, 0, NULL) == 1001, "page 0");
	CHECK(tracee_call(pid, BLOB(blob_load), DATA_ADDR + PAGE, 0, 0, NULL) == 0, "page 1");
	CHECK(tracee_call(pid, BLOB(blob_load), DATA_ADDR + 2 * PAGE, 0, 0, NULL) ==
	      1000 + 2 * PAGE / 8, "page 2");
	CHECK(tracee_call(pid, BLOB(blob_load), DATA_ADDR + 3 * PAGE, 0, 0, NULL) == 0, "page 3");
}

/* ops 0..k-1 map slots 0..k-1, op k is `bad`, ops k+1..n-1 map further slots. */
static void partial(int k, int n, struct proc_mm_op bad, int want_errno)
{
	int fd = space_new(), i;
	pid_t pid;
	ssize_t r;

	for (i = 0; i < n; i++)
		ops[i] = mk_mmap(SLOT(i), PAGE, RW, ANON_FIXED, -1, 0);
	ops[k] = bad;
	/* The last op would remove slot 0 again: it must not run either. */
	if (n - 1 > k)
		ops[n - 1] = mk_munmap(SLOT(0), PAGE);
	errno = 0;
	r = write(fd, ops, n * OPSZ);
	if (k == 0)
		CHECK(r == -1 && errno == want_errno,
		      "batch failing at op 0: returned %zd (%s), expected -1 with %s", r,
		      errstr(errno), errstr(want_errno));
	else
		CHECK(r == (ssize_t)(k * OPSZ),
		      "batch failing at op %d: returned %zd (%s), expected %zu", k, r,
		      r < 0 ? errstr(errno) : "-", k * OPSZ);
	pid = tracee_in(fd);
	for (i = 0; i < k; i++)
		maps_expect(pid, SLOT(i), PAGE, "rw-p");
	for (i = k + 1; i < n - 1; i++)
		maps_expect_none(pid, SLOT(i), PAGE);
	tracee_kill(pid);
	close(fd);
}

TEST(batch_partial_failure, T_DEFAULT)
{
	/* Various failing ops in the middle: return is exactly k ops. */
	partial(3, 6, mk_mmap(DATA_ADDR + 1, PAGE, RW, ANON_FIXED, -1, 0), EINVAL);
	partial(1, 4, mk_mmap(DATA_ADDR, 0, RW, ANON_FIXED, -1, 0), EINVAL);
	partial(5, 9, mk_mmap(DATA_ADDR, PAGE, RW, MAP_PRIVATE | MAP_FIXED, 999, 0), EBADF);
	partial(2, 5, mk_mmap(CODE_ADDR, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS |
			      MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
	partial(4, 7, mk_munmap(DATA_ADDR + 5, PAGE), EINVAL);
	partial(2, 3, mk_mprotect(FREE_ADDR, PAGE, PROT_READ), ENOMEM);
	{
		struct proc_mm_op unknown = mk_munmap(0, 0);

		unknown.op = 1234;
		partial(6, 10, unknown, EINVAL);
	}
	/* The last op failing (no MAP_PRIVATE/MAP_SHARED: EINVAL as for mmap(2)). */
	partial(7, 8, mk_mmap(DATA_ADDR, PAGE, RW, MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
}

TEST(batch_first_fails, T_DEFAULT)
{
	struct proc_mm_op unknown = mk_munmap(0, 0);

	unknown.op = 0;
	partial(0, 4, unknown, EINVAL);
	partial(0, 3, mk_mmap(DATA_ADDR, PAGE, RW, MAP_PRIVATE | MAP_FIXED, 999, 0), EBADF);
	partial(0, 2, mk_mprotect(FREE_ADDR, PAGE, PROT_READ), ENOMEM);
	partial(0, 5, mk_mmap(CODE_ADDR, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS |
			      MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
}

TEST(batch_max_ops, T_DEFAULT)
{
	int fd = space_new(), i;
	pid_t pid;
	ssize_t r;

	/* Exactly PROC_MM_MAX_OPS is allowed. */
	for (i = 0; i < PROC_MM_MAX_OPS; i++)
		ops[i] = mk_mmap(SLOT(i), PAGE, RW, ANON_FIXED, -1, 0);
	r = write(fd, ops, PROC_MM_MAX_OPS * OPSZ);
	CHECK(r == (ssize_t)(PROC_MM_MAX_OPS * OPSZ), "%d ops returned %zd (%s)",
	      PROC_MM_MAX_OPS, r, r < 0 ? errstr(errno) : "-");

	/* One more is E2BIG, and none of them is applied. */
	for (i = 0; i <= PROC_MM_MAX_OPS; i++)
		ops[i] = mk_munmap(SLOT(i), PAGE);
	EXPECT_ERRNO(write(fd, ops, (PROC_MM_MAX_OPS + 1) * OPSZ), E2BIG);
	pid = tracee_in(fd);
	maps_expect(pid, SLOT(0), PAGE, "rw-p");
	maps_expect(pid, SLOT(PROC_MM_MAX_OPS - 1), PAGE, "rw-p");

	/* Far more, in a buffer that is valid for its whole length. */
	{
		size_t big = 4 * PROC_MM_MAX_OPS * OPSZ;
		struct proc_mm_op *b = calloc(1, big);

		CHECK(b, "calloc");
		for (i = 0; i < 4 * PROC_MM_MAX_OPS; i++)
			b[i] = mk_munmap(SLOT(0), PAGE);
		EXPECT_ERRNO(write(fd, b, big), E2BIG);
		free(b);
	}
	maps_expect(pid, SLOT(0), PAGE, "rw-p");
}
