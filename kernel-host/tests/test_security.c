// SPDX-License-Identifier: GPL-2.0
/*
 * A /proc/mm writer gains nothing it could not do with mmap(2): its
 * credentials and memory limits apply to the operations it writes.  Each
 * test drops to an unprivileged user (or lowers a limit) in its own
 * process and compares what /proc/mm allows with what the writer's own
 * mmap(2) allows.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "tracee.h"

#define GIB (1UL << 30)

/* An ordinary user of the /proc/mm group, with no capabilities left. */
static void drop_privileges(void)
{
	become_nobody(1);
}

TEST(sec_unprivileged_use, T_DEFAULT)
{
	int fd;

	drop_privileges();
	fd = SYSCHK(open("/proc/mm", O_WRONLY));
	OP_OK(op_mmap(fd, 0x30000000, 0x10000, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	OP_OK(op_mprotect(fd, 0x30000000, 0x1000, PROT_READ));
	OP_OK(op_munmap(fd, 0x30000000, 0x10000));
	close(fd);
}

/* mmap_min_addr: only CAP_SYS_RAWIO may map page 0. */
TEST(sec_mmap_min_addr, T_DEFAULT)
{
	int fd, host;

	drop_privileges();
	fd = SYSCHK(open("/proc/mm", O_WRONLY));
	host = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_FIXED, -1, 0) == MAP_FAILED ? errno : 0;
	CHECK(host == EPERM, "host mmap at 0 as nobody gave %s", errstr(host));
	OP_ERR(op_mmap(fd, 0, 4096, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EPERM);
}

/* RLIMIT_AS of the writer bounds the space it builds. */
TEST(sec_rlimit_as, T_DEFAULT)
{
	struct rlimit rl = { 256UL << 20, 256UL << 20 };
	int fd;

	fd = SYSCHK(open("/proc/mm", O_WRONLY));
	OP_OK(op_mmap(fd, 0x40000000, 128UL << 20, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	SYSCHK(setrlimit(RLIMIT_AS, &rl));
	CHECK(mmap(NULL, GIB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
	      MAP_FAILED && errno == ENOMEM, "host mmap of 1 GiB not ENOMEM");
	OP_ERR(op_mmap(fd, 0x80000000, GIB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), ENOMEM);
	/* The space's own size counts: 128 MiB + 128 MiB is over 256 MiB. */
	OP_ERR(op_mmap(fd, 0x80000000, 129UL << 20, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), ENOMEM);
	OP_OK(op_mmap(fd, 0x80000000, 64UL << 20, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
}

/* MAP_LOCKED needs RLIMIT_MEMLOCK room or CAP_IPC_LOCK, as for mmap(2). */
TEST(sec_rlimit_memlock, T_DEFAULT)
{
	struct rlimit rl = { 0, 0 };
	int fd, host;
	void *p;

	SYSCHK(setrlimit(RLIMIT_MEMLOCK, &rl));
	drop_privileges();
	fd = SYSCHK(open("/proc/mm", O_WRONLY));
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_LOCKED, -1, 0);
	host = p == MAP_FAILED ? errno : 0;
	CHECK(host, "host MAP_LOCKED with RLIMIT_MEMLOCK 0 succeeded");
	OP_ERR(op_mmap(fd, 0x30000000, 4096, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_LOCKED,
		       -1, 0), host);
}

/* A read-only fd cannot become a writable shared mapping. */
TEST(sec_file_access_mode, T_DEFAULT)
{
	char path[] = "/tmp/skas-sec-XXXXXX";
	int fd, file;

	file = SYSCHK(mkstemp(path));
	SYSCHK(ftruncate(file, 4096));
	close(file);
	file = SYSCHK(open(path, O_RDONLY));
	unlink(path);
	fd = SYSCHK(open("/proc/mm", O_WRONLY));
	OP_ERR(op_mmap(fd, 0x30000000, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, file, 0), EACCES);
	OP_OK(op_mmap(fd, 0x30000000, 4096, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_FIXED, file, 0));
}

/*
 * An unprivileged process cannot switch (or read the faults of) a process
 * it does not trace, even one of its own uid: ptrace's rules apply.
 */
TEST(sec_switch_needs_tracer, T_DEFAULT)
{
	pid_t pid;
	int fd;

	drop_privileges();
	fd = SYSCHK(open("/proc/mm", O_WRONLY));
	pid = SYSCHK(fork());
	if (pid == 0) {
		pause();
		_exit(0);
	}
	EXPECT_ERRNO(ptrace(PTRACE_SWITCH_MM, pid, 0, fd), ESRCH);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
