// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetimes: a space lives while an fd or a switched-in task uses it, no
 * matter which goes first, across processes (SCM_RIGHTS, fork) and dup().
 * The runner's slab check after each test catches spaces that are never
 * freed; these tests catch spaces freed too early.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "tracee.h"

#define SEED 0x7777000011110000UL

static void send_fd(int sock, int fd)
{
	char c = 'F';
	struct iovec iov = { &c, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	CHECK(sendmsg(sock, &msg, 0) == 1, "sendmsg SCM_RIGHTS: %s", errstr(errno));
}

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = { &c, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	int fd;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	CHECK(recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) == 1, "recvmsg: %s", errstr(errno));
	cm = CMSG_FIRSTHDR(&msg);
	CHECK(cm && cm->cmsg_type == SCM_RIGHTS, "no fd received");
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static pid_t tracee_in(int fd)
{
	pid_t pid = tracee_spawn();

	tracee_switch(pid, fd);
	return pid;
}

static unsigned long load(pid_t pid, unsigned long addr)
{
	return tracee_call(pid, BLOB(blob_load), addr, 0, 0, NULL);
}

/* The tracee still runs correctly in its space: loads, stores and faults. */
static void still_works(pid_t pid, unsigned long seed)
{
	struct ptrace_ex_faultinfo fi;
	int i;

	for (i = 0; i < 5; i++) {
		CHECK(load(pid, DATA_ADDR + 8 * i) == seed + i, "load %d in the space", i);
		tracee_call(pid, BLOB(blob_store), DATA_ADDR + PAGE - 8, i, 0, NULL);
		CHECK(load(pid, DATA_ADDR + PAGE - 8) == (unsigned long)i, "store %d", i);
	}
	tracee_segv(pid, BLOB(blob_load), FREE_ADDR + 0x58, 0, &fi);
	check_fault(&fi, FREE_ADDR + 0x58, 0);
	CHECK(load(pid, DATA_ADDR) == seed, "load after the fault");
}

TEST(life_close_while_switched, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid;

	space_map_words(fd, DATA_ADDR, 1, SEED);
	pid = tracee_in(fd);
	close(fd);
	/* Only the tracee keeps the space alive now. */
	still_works(pid, SEED);
	/* And a new space still works next to it. */
	fd = space_new();
	space_map_words(fd, DATA_ADDR, 1, SEED + 100);
	tracee_switch(pid, fd);
	still_works(pid, SEED + 100);
}

TEST(life_opener_exits, T_DEFAULT)
{
	int sv[2], st, fd;
	pid_t opener, pid;

	SYSCHK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	fflush(stdout);
	opener = fork();
	CHECK(opener >= 0, "fork: %s", errstr(errno));
	if (opener == 0) {
		/* FAIL() here exits non-zero, which the parent reports. */
		int s = space_new();

		space_map_words(s, DATA_ADDR, 1, SEED);
		send_fd(sv[0], s);
		close(s);
		_exit(0);
	}
	close(sv[0]);
	fd = recv_fd(sv[1]);
	SYSCHK(waitpid(opener, &st, 0));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "opener failed (status %#x)", st);
	/* The opener is gone: its space is ours now.  Writes still work. */
	OP_OK(op_mmap(fd, DATA_ADDR + PAGE, PAGE, RW, ANON_FIXED, -1, 0));
	pid = tracee_in(fd);
	still_works(pid, SEED);
	CHECK(load(pid, DATA_ADDR + PAGE) == 0, "new page");
}

TEST(life_tracee_dies, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid;
	struct stop s;

	space_map_words(fd, DATA_ADDR, 1, SEED);
	/* Killed while switched in. */
	pid = tracee_in(fd);
	CHECK(load(pid, DATA_ADDR) == SEED, "first tracee");
	tracee_kill(pid);
	OP_OK(op_mmap(fd, DATA_ADDR + PAGE, PAGE, RW, ANON_FIXED, -1, 0));
	pid = tracee_in(fd);
	still_works(pid, SEED);

	/* Exits on its own (real exit syscall in the space). */
	tracee_set(pid, BLOB(blob_exit), 3, 0, 0);
	tracee_resume(pid, PTRACE_CONT);
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_EXITED && s.sig == 3, "exit in the space: %s", stop_str(pid, &s));
	OP_OK(op_munmap(fd, DATA_ADDR + PAGE, PAGE));
	OP_OK(op_mprotect(fd, DATA_ADDR, PAGE, PROT_READ));

	/* Killed while running (not stopped). */
	pid = tracee_in(fd);
	tracee_set(pid, BLOB(blob_spin), 0, 0, 0);
	tracee_resume(pid, PTRACE_CONT);
	usleep(10000);
	tracee_kill(pid);

	/*
	 * Dies of a signal the tracer lets through after a fault (SIGUSR1, not
	 * SIGSEGV itself, to keep core dumps out of it).
	 */
	pid = tracee_in(fd);
	tracee_set(pid, BLOB(blob_load), FREE_ADDR, 0, 0);
	tracee_resume(pid, PTRACE_CONT);
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_SIGNAL && s.sig == SIGSEGV, "expected SIGSEGV: %s", stop_str(pid, &s));
	SYSCHK(xptrace(PTRACE_CONT, pid, 0, SIGUSR1));
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_KILLED && s.sig == SIGUSR1, "expected death by SIGUSR1: %s",
	      stop_str(pid, &s));

	/* The fd is still fine, and closing it is too. */
	pid = tracee_in(fd);
	CHECK(load(pid, DATA_ADDR) == SEED, "after all that");
	tracee_kill(pid);
	SYSCHK(close(fd));
}

TEST(life_dup_orders, T_DEFAULT)
{
	int fd, d, d2, sv[2], r;
	pid_t pid;

	/* dup, close the original, use the dup; close it while switched in. */
	fd = space_new();
	space_map_words(fd, DATA_ADDR, 1, SEED);
	d = SYSCHK(dup(fd));
	close(fd);
	OP_OK(op_mmap(d, DATA_ADDR + PAGE, PAGE, RW, ANON_FIXED, -1, 0));
	pid = tracee_in(d);
	close(d);
	still_works(pid, SEED);
	tracee_kill(pid);

	/* Through a socket to ourselves, then dup, close in the other order. */
	SYSCHK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	fd = space_new();
	space_map_words(fd, DATA_ADDR, 1, SEED + 1);
	send_fd(sv[0], fd);
	close(fd);
	r = recv_fd(sv[1]);
	d2 = SYSCHK(dup(r));
	pid = tracee_in(r);
	close(r);
	OP_OK(op_mmap(d2, DATA_ADDR + PAGE, PAGE, RW, ANON_FIXED, -1, 0));
	still_works(pid, SEED + 1);
	close(d2);
	still_works(pid, SEED + 1);
	tracee_kill(pid);

	/* Sent but never received: dropped with the socket. */
	fd = space_new();
	send_fd(sv[0], fd);
	close(fd);
	close(sv[0]);
	close(sv[1]);

	/* Sent while switched in, receiver dups and both close. */
	SYSCHK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	fd = space_new();
	space_map_words(fd, DATA_ADDR, 1, SEED + 2);
	pid = tracee_in(fd);
	send_fd(sv[0], fd);
	close(fd);
	r = recv_fd(sv[1]);
	d = SYSCHK(dup(r));
	close(d);
	still_works(pid, SEED + 2);
	close(r);
	still_works(pid, SEED + 2);
	tracee_kill(pid);
	close(sv[0]);
	close(sv[1]);
}

TEST(life_other_process_writes, T_DEFAULT)
{
	/* A forked child inherits the fd: its writes change the same space. */
	int fd = space_new(), st;
	pid_t pid = tracee_in(fd), child;

	fflush(stdout);
	child = fork();
	CHECK(child >= 0, "fork: %s", errstr(errno));
	if (child == 0) {
		space_map_words(fd, DATA_ADDR, 1, SEED + 5);
		close(fd);
		_exit(0);
	}
	SYSCHK(waitpid(child, &st, 0));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed (status %#x)", st);
	still_works(pid, SEED + 5);
	/* Our own fd copy was never closed by the child's close. */
	OP_OK(op_munmap(fd, DATA_ADDR, PAGE));
	maps_expect_none(pid, DATA_ADDR, PAGE);
}

TEST(life_two_tracees, T_DEFAULT)
{
	int fd = space_new();
	pid_t t1, t2;
	struct stop s;
	const unsigned long n = 100000;

	OP_OK(op_mmap(fd, DATA_ADDR, PAGE, RW, ANON_FIXED, -1, 0));
	t1 = tracee_in(fd);
	t2 = tracee_in(fd);
	tracee_call(t1, BLOB(blob_store), DATA_ADDR, 0x1234, 0, NULL);
	CHECK(load(t2, DATA_ADDR) == 0x1234, "t2 does not see t1's store");

	/* Both at once, incrementing the same counter. */
	tracee_set(t1, BLOB(blob_incr), DATA_ADDR + 8, n, 0);
	tracee_set(t2, BLOB(blob_incr), DATA_ADDR + 8, n, 0);
	tracee_resume(t1, PTRACE_SYSEMU);
	tracee_resume(t2, PTRACE_SYSEMU);
	tracee_wait(t1, &s);
	CHECK(s.kind == STOP_SYSCALL && s.regs.orig_rax == 60, "t1: %s", stop_str(t1, &s));
	tracee_wait(t2, &s);
	CHECK(s.kind == STOP_SYSCALL && s.regs.orig_rax == 60, "t2: %s", stop_str(t2, &s));
	CHECK(load(t1, DATA_ADDR + 8) == 2 * n, "counter %lu, expected %lu",
	      load(t1, DATA_ADDR + 8), 2 * n);

	/* One dies; the other carries on; then the fd goes. */
	tracee_kill(t1);
	CHECK(load(t2, DATA_ADDR) == 0x1234, "t2 after t1 died");
	close(fd);
	CHECK(load(t2, DATA_ADDR + 8) == 2 * n, "t2 after close");
	{
		struct ptrace_ex_faultinfo fi;

		tracee_segv(t2, BLOB(blob_store), FREE_ADDR, 1, &fi);
		check_fault(&fi, FREE_ADDR, 1);
	}
}

/*
 * PTRACE_SWITCH_MM takes effect when the tracee resumes.  Until then the
 * switch is pending: a second request replaces it, and a tracee killed
 * before it resumes drops it (the space and the module reference it holds
 * are released: the slab check and the module cycle test would notice).
 */
TEST(life_pending_switch_replaced, T_DEFAULT)
{
	int a = space_new(), b = space_new();
	pid_t pid = tracee_spawn();
	unsigned long v;

	space_map_words(a, DATA_ADDR, 1, SEED);
	space_map_words(b, DATA_ADDR, 1, SEED + 1);
	SYSCHK(xptrace(PTRACE_SWITCH_MM, pid, 0, a));
	SYSCHK(xptrace(PTRACE_SWITCH_MM, pid, 0, b));
	close(a);
	close(b);
	v = tracee_call(pid, BLOB(blob_load), DATA_ADDR, 0, 0, NULL);
	CHECK(v == SEED + 1, "tracee runs in the first space (read %#lx)", v);
	tracee_kill(pid);
}

TEST(life_pending_switch_killed, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid = tracee_spawn();
	char maps[64];

	SYSCHK(xptrace(PTRACE_SWITCH_MM, pid, 0, fd));
	/* Not resumed yet: /proc still shows the tracee's own mm. */
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	CHECK(access(maps, R_OK) == 0, "%s: %s", maps, errstr(errno));
	close(fd);
	tracee_kill(pid);
}
