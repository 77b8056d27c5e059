// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input to /proc/mm writes and to the ptrace requests.  Where the
 * interface promises "exactly what mmap(2)/munmap(2)/mprotect(2) do", the
 * expected result is taken from the real syscall run with the same
 * arguments in a throw-away child (the oracle), not from a table.
 */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "tracee.h"

#define OPSZ sizeof(struct proc_mm_op)
#define TOP_USER (1UL << 47)	/* 4-level paging; the oracle covers 5-level hosts */
#define KADDR 0xffff888000000000UL
#ifndef PROT_SEM
#define PROT_SEM 0x8		/* <asm-generic/mman-common.h>; glibc lacks it */
#endif

static pid_t tracee_in(int fd)
{
	pid_t pid = tracee_spawn();

	tracee_switch(pid, fd);
	return pid;
}

TEST(bad_unknown_op, T_DEFAULT)
{
	static const int codes[] = { 0, 1, 53, 58, 59, 100, -1, MM_MMAP + 1000, 0x7fffffff };
	int fd = space_new();
	size_t i;
	pid_t pid;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		/* The union holds what would be a valid mmap: only the code is wrong. */
		struct proc_mm_op op = mk_mmap(DATA_ADDR, PAGE, RW, ANON_FIXED, -1, 0);

		op.op = codes[i];
		OP_ERR(op_apply(fd, op), EINVAL);
	}
	pid = tracee_in(fd);
	maps_expect_none(pid, DATA_ADDR, PAGE);
}

TEST(bad_write_length, T_DEFAULT)
{
	static const size_t lens[] = { 1, 4, OPSZ - 1, OPSZ + 1, OPSZ + 8, 2 * OPSZ - 1,
				       3 * OPSZ + 7 };
	struct proc_mm_op ops[4];
	int fd = space_new(), i;
	size_t k;
	pid_t pid;

	for (i = 0; i < 4; i++)
		ops[i] = mk_mmap(DATA_ADDR + i * PAGE, PAGE, RW, ANON_FIXED, -1, 0);
	EXPECT_ERRNO(write(fd, ops, 0), EINVAL);
	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		errno = 0;
		ssize_t r = write(fd, ops, lens[k]);

		CHECK(r == -1 && errno == EINVAL, "write of %zu bytes: returned %zd (%s), expected EINVAL",
		      lens[k], r, errstr(errno));
	}
	/* None of those may have mapped anything. */
	pid = tracee_in(fd);
	maps_expect_none(pid, DATA_ADDR, 4 * PAGE);
}

/* write(2) with an arbitrary address (the compiler rejects obviously bad ones). */
static long raw_write(int fd, unsigned long addr, size_t len)
{
	return syscall(SYS_write, fd, addr, len);
}

TEST(bad_write_buffer, T_DEFAULT)
{
	int fd = space_new();
	char *pages = mmap(NULL, 2 * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct proc_mm_op op = mk_mmap(DATA_ADDR, PAGE, RW, ANON_FIXED, -1, 0);
	pid_t pid;
	ssize_t r;

	CHECK(pages != MAP_FAILED, "mmap: %s", errstr(errno));
	SYSCHK(mprotect(pages + PAGE, PAGE, PROT_NONE));

	EXPECT_ERRNO(raw_write(fd, 0, OPSZ), EFAULT);
	EXPECT_ERRNO(raw_write(fd, 8, OPSZ), EFAULT);
	EXPECT_ERRNO(raw_write(fd, (unsigned long)pages + PAGE, OPSZ), EFAULT);
	EXPECT_ERRNO(raw_write(fd, KADDR, OPSZ), EFAULT);
	EXPECT_ERRNO(raw_write(fd, TOP_USER - 8, OPSZ), EFAULT);
	EXPECT_ERRNO(raw_write(fd, 0xffffffffffffff00UL, OPSZ), EFAULT);

	/* One op straddling the end of the readable page. */
	memcpy(pages + PAGE - 16, &op, 16);
	EXPECT_ERRNO(raw_write(fd, (unsigned long)pages + PAGE - 16, OPSZ), EFAULT);

	/*
	 * Two ops, the second one unreadable.  Whether ops are read all first
	 * or one by one is the module's choice: either -1/EFAULT with nothing
	 * applied, or 1 op done and applied.
	 */
	memcpy(pages + PAGE - OPSZ, &op, OPSZ);
	errno = 0;
	r = raw_write(fd, (unsigned long)pages + PAGE - OPSZ, 2 * OPSZ);
	pid = tracee_in(fd);
	if (r == -1) {
		CHECK(errno == EFAULT, "2 ops, second unreadable: %s, expected EFAULT", errstr(errno));
		maps_expect_none(pid, DATA_ADDR, PAGE);
	} else {
		CHECK(r == (ssize_t)OPSZ, "2 ops, second unreadable: returned %zd", r);
		maps_expect(pid, DATA_ADDR, PAGE, "rw-p");
	}
}

TEST(bad_read, T_DEFAULT)
{
	int fd = open("/proc/mm", O_RDWR | O_CLOEXEC);
	char buf[64];

	CHECK(fd >= 0, "open /proc/mm O_RDWR: %s", errstr(errno));
	EXPECT_ERRNO(read(fd, buf, sizeof(buf)), EINVAL);
	EXPECT_ERRNO(read(fd, buf, OPSZ), EINVAL);
	/* The fd still works after that. */
	OP_OK(op_mmap(fd, DATA_ADDR, PAGE, RW, ANON_FIXED, -1, 0));
}

/* ---- the mmap(2)/munmap(2)/mprotect(2) oracle ---- */

struct ocase {
	const char *what;
	struct proc_mm_op op;
	unsigned long prep_addr, prep_len;	/* mapped first (RW anon) in both */
};

/* Runs the real syscall in a child; returns 0 or its errno. */
static int host_result(const struct ocase *c)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0, "fork: %s", errstr(errno));
	if (pid == 0) {
		const struct proc_mm_op *o = &c->op;
		long r = 0;

		if (c->prep_len && mmap((void *)c->prep_addr, c->prep_len, RW,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) !=
		    (void *)c->prep_addr)
			_exit(250);
		errno = 0;
		switch (o->op) {
		case MM_MMAP:
			r = syscall(SYS_mmap, o->u.mmap.addr, o->u.mmap.len, o->u.mmap.prot,
				    o->u.mmap.flags, o->u.mmap.fd, o->u.mmap.offset);
			break;
		case MM_MUNMAP:
			r = syscall(SYS_munmap, o->u.munmap.addr, o->u.munmap.len);
			break;
		case MM_MPROTECT:
			r = syscall(SYS_mprotect, o->u.mprotect.addr, o->u.mprotect.len,
				    (unsigned long)o->u.mprotect.prot);
			break;
		}
		_exit(r == -1 ? errno : 0);
	}
	while (waitpid(pid, &st, 0) < 0)
		CHECK(errno == EINTR, "waitpid: %s", errstr(errno));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) != 250,
	      "oracle for '%s' failed (status %#x)", c->what, st);
	return WEXITSTATUS(st);
}

static void run_oracle(const struct ocase *cases, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		const struct ocase *c = &cases[i];
		int fd = space_open(), want, got;

		if (c->prep_len)
			OP_OK(op_mmap(fd, c->prep_addr, c->prep_len, RW, ANON_FIXED, -1, 0));
		want = host_result(c);
		got = op_apply(fd, c->op);
		CHECK(got == want, "case '%s': /proc/mm gave %s, the real syscall gives %s",
		      c->what, errstr(got), errstr(want));
		close(fd);
	}
}

#define MM(what, a, l, p, f, fd, off) { what, mk_mmap(a, l, p, f, fd, off), 0, 0 }

TEST(bad_mmap_vs_host, T_DEFAULT)
{
	char path[] = "/tmp/skas-test-XXXXXX";
	int mfd = memfd_words(2, 0), wfd, rofd, wofd, dfd, p[2];
	const unsigned long PA = MAP_PRIVATE | MAP_ANONYMOUS;

	wfd = mkstemp(path);
	CHECK(wfd >= 0, "mkstemp: %s", errstr(errno));
	SYSCHK(ftruncate(wfd, 2 * PAGE));
	rofd = SYSCHK(open(path, O_RDONLY | O_CLOEXEC));
	wofd = SYSCHK(open(path, O_WRONLY | O_CLOEXEC));
	unlink(path);
	dfd = SYSCHK(open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	SYSCHK(pipe2(p, O_CLOEXEC));
	/* Make sure fd 999 is not open. */
	close(999);

	const struct ocase cases[] = {
		MM("MAP_FIXED, unaligned addr", DATA_ADDR + 1, PAGE, RW, PA | MAP_FIXED, -1, 0),
		MM("MAP_FIXED, addr + 0x800", DATA_ADDR + 0x800, PAGE, RW, PA | MAP_FIXED, -1, 0),
		MM("NOREPLACE, unaligned addr", DATA_ADDR + 8, PAGE, RW, PA | MAP_FIXED_NOREPLACE, -1, 0),
		MM("len 0, fixed", DATA_ADDR, 0, RW, PA | MAP_FIXED, -1, 0),
		MM("len 0, not fixed", 0, 0, RW, PA, -1, 0),
		MM("len 0, file", DATA_ADDR, 0, RW, MAP_PRIVATE | MAP_FIXED, mfd, 0),
		MM("file, offset 1", DATA_ADDR, PAGE, RW, MAP_PRIVATE | MAP_FIXED, mfd, 1),
		MM("file, offset 0x800", DATA_ADDR, PAGE, RW, MAP_SHARED | MAP_FIXED, mfd, 0x800),
		MM("anon, offset 0x800", DATA_ADDR, PAGE, RW, PA | MAP_FIXED, -1, 0x800),
		MM("file, offset + len overflows", DATA_ADDR, 2 * PAGE, PROT_READ,
		   MAP_PRIVATE | MAP_FIXED, mfd, 0xfffffffffffff000UL),
		MM("fixed range wraps around", 0xfffffffffffff000UL, 2 * PAGE, RW, PA | MAP_FIXED, -1, 0),
		MM("fixed, end wraps", DATA_ADDR, -DATA_ADDR + PAGE, RW, PA | MAP_FIXED, -1, 0),
		MM("len ~0", 0, ~0UL, RW, PA, -1, 0),
		MM("len ~0 - 10, fixed", DATA_ADDR, ~0UL - 10, RW, PA | MAP_FIXED, -1, 0),
		MM("len -PAGE", 0, -PAGE, RW, PA, -1, 0),
		MM("fixed at TASK_SIZE", TOP_USER, PAGE, RW, PA | MAP_FIXED, -1, 0),
		MM("fixed at TASK_SIZE - PAGE", TOP_USER - PAGE, PAGE, RW, PA | MAP_FIXED, -1, 0),
		MM("fixed, crossing TASK_SIZE", TOP_USER - 2 * PAGE, 4 * PAGE, RW, PA | MAP_FIXED, -1, 0),
		MM("fixed, kernel address", KADDR, PAGE, RW, PA | MAP_FIXED, -1, 0),
		MM("hint = kernel address", KADDR, PAGE, RW, PA, -1, 0),
		MM("fixed at 0", 0, PAGE, RW, PA | MAP_FIXED, -1, 0),
		MM("neither shared nor private", DATA_ADDR, PAGE, RW, MAP_ANONYMOUS | MAP_FIXED, -1, 0),
		MM("MAP_SHARED_VALIDATE anon", DATA_ADDR, PAGE, RW,
		   MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
		MM("fd 999 (closed)", DATA_ADDR, PAGE, RW, MAP_PRIVATE | MAP_FIXED, 999, 0),
		MM("fd -1 without MAP_ANONYMOUS", DATA_ADDR, PAGE, RW, MAP_PRIVATE | MAP_FIXED, -1, 0),
		MM("anon ignores a bad fd", DATA_ADDR, PAGE, RW, PA | MAP_FIXED, 999, 0),
		MM("fd is a pipe", DATA_ADDR, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, p[0], 0),
		MM("fd is a directory", DATA_ADDR, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, dfd, 0),
		MM("fd write-only", DATA_ADDR, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, wofd, 0),
		MM("fd read-only, shared writable", DATA_ADDR, PAGE, RW, MAP_SHARED | MAP_FIXED, rofd, 0),
		MM("fd read-only, private writable", DATA_ADDR, PAGE, RW, MAP_PRIVATE | MAP_FIXED, rofd, 0),
		MM("MAP_GROWSDOWN", DATA_ADDR, 4 * PAGE, RW, PA | MAP_FIXED | MAP_GROWSDOWN, -1, 0),
		MM("MAP_POPULATE", DATA_ADDR, 4 * PAGE, RW, PA | MAP_FIXED | MAP_POPULATE, -1, 0),
		MM("MAP_32BIT", 0, PAGE, RW, PA | MAP_32BIT, -1, 0),
		MM("MAP_NORESERVE 1 TiB", 0, 1UL << 40, RW, PA | MAP_NORESERVE, -1, 0),
		MM("PROT_WRITE|PROT_EXEC", DATA_ADDR, PAGE, RW | PROT_EXEC, PA | MAP_FIXED, -1, 0),
		MM("PROT_NONE", DATA_ADDR, PAGE, PROT_NONE, PA | MAP_FIXED, -1, 0),
	};
	run_oracle(cases, sizeof(cases) / sizeof(cases[0]));
}

#define MU(what, a, l) { what, mk_munmap(a, l), DATA_ADDR, 2 * PAGE }

TEST(bad_munmap_vs_host, T_DEFAULT)
{
	const struct ocase cases[] = {
		MU("unaligned addr", DATA_ADDR + 1, PAGE),
		MU("len 0", DATA_ADDR, 0),
		MU("range wraps", 0xfffffffffffff000UL, 2 * PAGE),
		MU("end wraps", DATA_ADDR, -DATA_ADDR + PAGE),
		MU("at TASK_SIZE", TOP_USER, PAGE),
		MU("crossing TASK_SIZE", TOP_USER - PAGE, 2 * PAGE),
		MU("kernel address", KADDR, PAGE),
		MU("len ~0", DATA_ADDR, ~0UL),
		MU("unmapped range", FREE_ADDR, PAGE),
		MU("unaligned len", DATA_ADDR, 100),
		MU("partly mapped", DATA_ADDR + PAGE, 4 * PAGE),
		MU("at 0", 0, PAGE),
	};
	run_oracle(cases, sizeof(cases) / sizeof(cases[0]));
}

#define MP(what, a, l, p) { what, mk_mprotect(a, l, p), DATA_ADDR, 2 * PAGE }

TEST(bad_mprotect_vs_host, T_DEFAULT)
{
	const struct ocase cases[] = {
		MP("unaligned addr", DATA_ADDR + 1, PAGE, PROT_READ),
		MP("len 0", DATA_ADDR, 0, PROT_READ),
		MP("unaligned len", DATA_ADDR, 100, PROT_READ),
		MP("unmapped", FREE_ADDR, PAGE, PROT_READ),
		MP("partly mapped", DATA_ADDR, 3 * PAGE, PROT_READ),
		MP("range wraps", 0xfffffffffffff000UL, 2 * PAGE, PROT_READ),
		MP("end wraps", DATA_ADDR, -DATA_ADDR + PAGE, PROT_READ),
		MP("len ~0", DATA_ADDR, ~0UL, PROT_READ),
		MP("at TASK_SIZE", TOP_USER, PAGE, PROT_READ),
		MP("kernel address", KADDR, PAGE, PROT_READ),
		MP("prot 0x100", DATA_ADDR, PAGE, 0x100),
		MP("prot bit 31", DATA_ADDR, PAGE, 0x80000000u),
		MP("GROWSDOWN|GROWSUP", DATA_ADDR, PAGE, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP),
		MP("GROWSDOWN on a normal mapping", DATA_ADDR, PAGE, PROT_READ | PROT_GROWSDOWN),
		MP("PROT_SEM", DATA_ADDR, PAGE, PROT_READ | PROT_SEM),
		MP("RWX", DATA_ADDR, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC),
		MP("PROT_NONE", DATA_ADDR, 2 * PAGE, PROT_NONE),
	};
	run_oracle(cases, sizeof(cases) / sizeof(cases[0]));
}

TEST(bad_mmap_strict, T_DEFAULT)
{
	/* Stricter than mmap(2), which ignores unknown bits: all EINVAL. */
	static const struct {
		const char *what;
		unsigned long prot, flags;
	} cases[] = {
		{ "prot 0x100", RW | 0x100, ANON_FIXED },
		{ "prot 0x10", RW | 0x10, ANON_FIXED },
		{ "prot bit 40", RW | (1UL << 40), ANON_FIXED },
		{ "prot bit 63", RW | (1UL << 63), ANON_FIXED },
		{ "flags 0x200000", RW, ANON_FIXED | 0x200000 },
		{ "flags 0x800000", RW, ANON_FIXED | 0x800000 },
		{ "flags bit 40", RW, ANON_FIXED | (1UL << 40) },
		{ "flags bit 63", RW, ANON_FIXED | (1UL << 63) },
		{ "MAP_HUGETLB", RW, ANON_FIXED | MAP_HUGETLB },
		{ "MAP_HUGETLB | MAP_HUGE_2MB", RW, ANON_FIXED | MAP_HUGETLB | (21UL << MAP_HUGE_SHIFT) },
		{ "MAP_HUGETLB, not fixed", RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB },
	};
	int fd = space_new();
	size_t i;
	pid_t pid;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int e = op_mmap(fd, DATA_ADDR, 2 * PAGE * 1024, cases[i].prot, cases[i].flags, -1, 0);

		CHECK(e == EINVAL, "%s: got %s, expected EINVAL", cases[i].what, errstr(e));
	}
	pid = tracee_in(fd);
	maps_expect_none(pid, DATA_ADDR, 2 * PAGE * 1024);
}

/* ---- bad fds for SWITCH_MM and COPY_SEGMENTS ---- */

struct fds {
	int pipe_r, devnull, file, sock;
};

static void open_fds(struct fds *f)
{
	int p[2], s[2];
	char path[] = "/tmp/skas-test-XXXXXX";

	SYSCHK(pipe2(p, O_CLOEXEC));
	f->pipe_r = p[0];
	f->devnull = SYSCHK(open("/dev/null", O_RDWR | O_CLOEXEC));
	f->file = mkstemp(path);
	CHECK(f->file >= 0, "mkstemp: %s", errstr(errno));
	unlink(path);
	SYSCHK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s));
	f->sock = s[0];
	close(999);
}

TEST(bad_switch_fd, T_DEFAULT)
{
	struct fds f;
	pid_t pid = tracee_spawn();
	struct stop s;

	open_fds(&f);
	EXPECT_ERRNO(xptrace(PTRACE_SWITCH_MM, pid, 0, f.pipe_r), EINVAL);
	EXPECT_ERRNO(xptrace(PTRACE_SWITCH_MM, pid, 0, f.devnull), EINVAL);
	EXPECT_ERRNO(xptrace(PTRACE_SWITCH_MM, pid, 0, f.file), EINVAL);
	EXPECT_ERRNO(xptrace(PTRACE_SWITCH_MM, pid, 0, f.sock), EINVAL);
	EXPECT_ERRNO(xptrace(PTRACE_SWITCH_MM, pid, 0, 999), EBADF);
	EXPECT_ERRNO(xptrace(PTRACE_SWITCH_MM, pid, 0, (unsigned long)-1), EBADF);
	EXPECT_ERRNO(xptrace(PTRACE_SWITCH_MM, pid, 0, 1 << 20), EBADF);
	/* Still in its own mm: resumed, it runs on in the test's code and exits 102. */
	tracee_resume(pid, PTRACE_CONT);
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_EXITED && s.sig == 102,
	      "tracee after failed switches: %s (its own mm was damaged?)", stop_str(pid, &s));
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void start_thread(void *arg)
{
	pthread_t t;

	(void)arg;
	if (pthread_create(&t, NULL, sleeper, NULL))
		_exit(120);
}

TEST(bad_switch_multithread, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid = tracee_spawn_with(start_thread, NULL);
	char path[64], buf[512];
	FILE *f;
	int threads = 0;

	/* Make sure the tracee really has two threads. */
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	CHECK(f, "%s: %s", path, errstr(errno));
	while (fgets(buf, sizeof(buf), f))
		sscanf(buf, "Threads: %d", &threads);
	fclose(f);
	CHECK(threads == 2, "tracee has %d threads, expected 2", threads);
	EXPECT_ERRNO(xptrace(PTRACE_SWITCH_MM, pid, 0, fd), EINVAL);
}

TEST(bad_copy_segments_fd, T_DEFAULT)
{
	struct fds f;
	int fd = space_new();

	open_fds(&f);
	OP_ERR(op_copy_segments(fd, f.pipe_r), EINVAL);
	OP_ERR(op_copy_segments(fd, f.devnull), EINVAL);
	OP_ERR(op_copy_segments(fd, f.file), EINVAL);
	OP_ERR(op_copy_segments(fd, f.sock), EINVAL);
	OP_ERR(op_copy_segments(fd, 999), EBADF);
	OP_ERR(op_copy_segments(fd, -1), EBADF);
	/* Copying from itself (no LDT): nothing to copy, no deadlock. */
	OP_OK(op_copy_segments(fd, fd));
}

/* ---- ptrace requests in the wrong state ---- */

/* Every skas request, with otherwise valid arguments, must give ESRCH. */
static void expect_esrch(pid_t pid, int mmfd, const char *who)
{
	struct ptrace_ex_faultinfo fi;
	unsigned long set;
	struct user_desc d;
	struct ptrace_ldt ldt = { 0, &d, sizeof(d) };
	static const long reqs[] = { PTRACE_FAULTINFO, PTRACE_EX_FAULTINFO, PTRACE_SIGPENDING,
				     PTRACE_LDT, PTRACE_SWITCH_MM };
	unsigned long data[] = { (unsigned long)&fi, (unsigned long)&fi, (unsigned long)&set,
				 (unsigned long)&ldt, (unsigned long)mmfd };
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		errno = 0;
		long r = xptrace(reqs[i], pid, 0, data[i]);

		CHECK(r == -1 && errno == ESRCH, "request %ld on %s: returned %ld (%s), expected ESRCH",
		      reqs[i], who, r, errstr(errno));
	}
}

TEST(bad_ptrace_not_stopped, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid = tracee_spawn();

	tracee_switch(pid, fd);
	tracee_set(pid, BLOB(blob_spin), 0, 0, 0);
	tracee_resume(pid, PTRACE_CONT);
	usleep(20000);
	expect_esrch(pid, fd, "a running tracee");
	/* It is really running (and was not disturbed): stop it and look. */
	kill(pid, SIGSTOP);
	{
		struct stop s;

		tracee_wait(pid, &s);
		CHECK(s.kind == STOP_SIGNAL && s.sig == SIGSTOP &&
		      s.regs.rip >= BLOB(blob_spin) && s.regs.rip < BLOB(blob_exit),
		      "running tracee: %s", stop_str(pid, &s));
	}
}

TEST(bad_ptrace_not_tracee, T_DEFAULT)
{
	int fd = space_new();
	pid_t child, gone;
	int st;

	fflush(stdout);
	child = fork();
	CHECK(child >= 0, "fork: %s", errstr(errno));
	if (child == 0) {
		for (;;)
			pause();
	}
	/* A stopped child that is not traced is still not a tracee. */
	kill(child, SIGSTOP);
	SYSCHK(waitpid(child, &st, WUNTRACED));
	expect_esrch(child, fd, "a stopped child that is not traced");
	expect_esrch(getpid(), fd, "ourselves");
	expect_esrch(getppid(), fd, "our parent");
	expect_esrch(1, fd, "init");
	gone = fork();
	if (gone == 0)
		_exit(0);
	SYSCHK(waitpid(gone, &st, 0));
	expect_esrch(gone, fd, "a pid that no longer exists");
	kill(child, SIGKILL);
}

TEST(bad_ptrace_pointers, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid = tracee_in(fd);
	struct ptrace_ex_faultinfo fi;
	char *pages = mmap(NULL, 3 * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct user_desc d = {
		.entry_number = 1, .base_addr = DATA_ADDR, .limit = 0xfff, .seg_32bit = 1,
	};
	struct ptrace_ldt ldt;
	unsigned long bad[6];
	static const long reqs[] = { PTRACE_FAULTINFO, PTRACE_EX_FAULTINFO, PTRACE_SIGPENDING,
				     PTRACE_LDT };
	size_t i, j;

	CHECK(pages != MAP_FAILED, "mmap: %s", errstr(errno));
	memset(pages, 0x5a, PAGE);
	SYSCHK(mprotect(pages, PAGE, PROT_READ));
	SYSCHK(mprotect(pages + 2 * PAGE, PAGE, PROT_NONE));
	bad[0] = 0;
	bad[1] = 8;
	bad[2] = (unsigned long)pages;			/* read-only */
	bad[3] = (unsigned long)pages + 2 * PAGE;	/* PROT_NONE */
	bad[4] = (unsigned long)pages + 2 * PAGE - 4;	/* straddles into PROT_NONE */
	bad[5] = KADDR;

	/* Give it a fault to report, so that the requests have data. */
	tracee_segv(pid, BLOB(blob_load), FREE_ADDR, 0, &fi);
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			/* PTRACE_LDT reads its struct: a read-only one is fine. */
			if (reqs[i] == PTRACE_LDT && j == 2)
				continue;
			errno = 0;
			long r = xptrace(reqs[i], pid, 0, bad[j]);

			CHECK(r == -1 && errno == EFAULT,
			      "request %ld with data %#lx: returned %ld (%s), expected EFAULT",
			      reqs[i], bad[j], r, errstr(errno));
		}
	for (i = 0; i < PAGE; i++)
		CHECK(pages[i] == 0x5a, "read-only page was written");

	/* PTRACE_LDT with a valid struct but a bad ptr (caller's memory). */
	for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
		if (j == 2)
			continue;	/* readable: would be a valid write */
		ldt = (struct ptrace_ldt){ 0x11, (void *)bad[j], sizeof(d) };
		EXPECT_ERRNO(xptrace(PTRACE_LDT, pid, 0, (unsigned long)&ldt), EFAULT);
	}
	/* Reads need an LDT to copy out: create one, then read into bad memory. */
	ldt = (struct ptrace_ldt){ 0x11, &d, sizeof(d) };
	SYSCHK(xptrace(PTRACE_LDT, pid, 0, (unsigned long)&ldt));
	for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
		ldt = (struct ptrace_ldt){ 0, (void *)bad[j], 16 };
		EXPECT_ERRNO(xptrace(PTRACE_LDT, pid, 0, (unsigned long)&ldt), EFAULT);
	}
	for (i = 0; i < PAGE; i++)
		CHECK(pages[i] == 0x5a, "read-only page was written");
}

TEST(bad_ldt_args, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid = tracee_in(fd);
	struct user_desc good = {
		.entry_number = 1, .base_addr = DATA_ADDR, .limit = 0xfff, .seg_32bit = 1,
	}, d;
	struct ptrace_ldt ldt;
	static const int bad_funcs[] = { 3, 4, 0x10, 0x12, 0x21, -1 };
	static const unsigned long bad_counts[] = { 0, 1, sizeof(good) - 1, sizeof(good) + 1, 1000 };
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(bad_funcs) / sizeof(bad_funcs[0]); i++) {
		ldt = (struct ptrace_ldt){ bad_funcs[i], &good, sizeof(good) };
		EXPECT_ERRNO(xptrace(PTRACE_LDT, pid, 0, (unsigned long)&ldt), ENOSYS);
	}
	for (i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]); i++) {
		ldt = (struct ptrace_ldt){ 0x11, &good, bad_counts[i] };
		EXPECT_ERRNO(xptrace(PTRACE_LDT, pid, 0, (unsigned long)&ldt), EINVAL);
		ldt.func = 1;
		EXPECT_ERRNO(xptrace(PTRACE_LDT, pid, 0, (unsigned long)&ldt), EINVAL);
	}
	d = good;
	d.entry_number = 8192;
	ldt = (struct ptrace_ldt){ 0x11, &d, sizeof(d) };
	EXPECT_ERRNO(xptrace(PTRACE_LDT, pid, 0, (unsigned long)&ldt), EINVAL);
	d.entry_number = 0xffffffff;
	EXPECT_ERRNO(xptrace(PTRACE_LDT, pid, 0, (unsigned long)&ldt), EINVAL);
	/* contents 3 (conforming code) must be marked not present. */
	d = good;
	d.contents = 3;
	EXPECT_ERRNO(xptrace(PTRACE_LDT, pid, 0, (unsigned long)&ldt), EINVAL);
	/* ... and is refused entirely in old mode. */
	d.seg_not_present = 1;
	ldt.func = 1;
	EXPECT_ERRNO(xptrace(PTRACE_LDT, pid, 0, (unsigned long)&ldt), EINVAL);

	/* None of that created an LDT: a read returns 0 bytes. */
	ldt = (struct ptrace_ldt){ 0, buf, sizeof(buf) };
	errno = 0;
	long r = xptrace(PTRACE_LDT, pid, 0, (unsigned long)&ldt);
	CHECK(r == 0, "read of the LDT after only bad writes: %ld (%s), expected 0", r,
	      errstr(errno));
}
