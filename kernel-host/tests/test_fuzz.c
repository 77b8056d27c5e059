// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_random: a seeded random walk over everything an unprivileged user
 * can ask of the module.  Three processes (nobody, in the /proc/mm group,
 * RLIMIT_AS 256 MiB) each open and close spaces, write batches of valid,
 * boundary and garbage operations, pass space fds to each other over a
 * socket, and make every skas ptrace request of a tracee of theirs with
 * good and bad arguments, resuming it at random places in between (under
 * PTRACE_SYSEMU only, so that random code never makes a real system call).
 *
 * Pass means: no kernel splat (the VM runner reads the log), every call
 * returns (the test's timeout), and the slab counts are back at their
 * baseline afterwards (the harness).  Results of single calls are not
 * checked here; the other suites check them.
 *
 * SKAS_FUZZ_SEED (default 1) and SKAS_FUZZ_OPS (default 100000, shared by
 * the processes) choose the walk; SKAS_FUZZ_BUDGET (default 300 s) stops
 * it early with a note.  The seed is printed, so a failure can be re-run.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "tracee.h"

#define NPROC		3
#define MAX_SPACES	6

static const unsigned long interesting_addr[] = {
	0, 0x1000, 0x10000, CODE_ADDR, STACK_ADDR, DATA_ADDR, FREE_ADDR,
	0x7ffffffff000UL, 0x800000000000UL, 0xffff800000000000UL,
	0xfffffffffffff000UL, 0x123, 0x7fffffffffffUL,
};

static unsigned long pick_addr(void)
{
	switch (below(3)) {
	case 0:
		return interesting_addr[below(sizeof(interesting_addr) /
					       sizeof(interesting_addr[0]))];
	case 1:
		return DATA_ADDR + below(256) * PAGE;
	default:
		return rnd() & (below(2) ? 0x7ffffffff000UL : ~0UL);
	}
}

static unsigned long pick_len(void)
{
	static const unsigned long lens[] = {
		0, 1, PAGE - 1, PAGE, 2 * PAGE, 16 * PAGE, 1UL << 20,
		16UL << 20, ~0UL, ~0UL - PAGE + 2, 1UL << 47,
	};

	if (below(4) == 0)
		return rnd();
	return lens[below(sizeof(lens) / sizeof(lens[0]))];
}

struct walker {
	int spaces[MAX_SPACES];
	int memfd, devzero, sock;
	pid_t tracee;
};

static int pick_fd(struct walker *w)
{
	switch (below(6)) {
	case 0:
		return w->memfd;
	case 1:
		return w->devzero;
	case 2:
		return w->spaces[below(MAX_SPACES)];
	case 3:
		return -1;
	case 4:
		return (int)below(64);
	default:
		return (int)rnd();
	}
}

static struct proc_mm_op random_op(struct walker *w)
{
	struct proc_mm_op op;
	unsigned long len;

	memset(&op, 0, sizeof(op));
	switch (below(5)) {
	case 0:
		len = pick_len();
		op = mk_mmap(pick_addr(), len, below(8) | (below(8) ? 0 : rnd()),
			     (below(4) ? MAP_PRIVATE : MAP_SHARED) |
			     (below(2) ? MAP_FIXED : 0) | (below(2) ? MAP_ANONYMOUS : 0) |
			     (below(8) ? 0 : rnd()), pick_fd(w), below(4) ? 0 : rnd());
		/* Populating huge ranges would only measure the VM's memory. */
		if (op.u.mmap.len > (1UL << 20))
			op.u.mmap.flags &= ~(unsigned long)(MAP_POPULATE | MAP_LOCKED);
		break;
	case 1:
		op = mk_munmap(pick_addr(), pick_len());
		break;
	case 2:
		op = mk_mprotect(pick_addr(), pick_len(), (unsigned int)(below(3) ? below(8) : rnd()));
		break;
	case 3:
		op = mk_copy_segments(pick_fd(w));
		break;
	default:
		op.op = (int)rnd();
		memcpy(&op.u, &(uint64_t[6]){ rnd(), rnd(), rnd(), rnd(), rnd(), rnd() },
		       sizeof(op.u));
	}
	return op;
}

static void do_write(struct walker *w)
{
	struct proc_mm_op ops[8];
	int fd = w->spaces[below(MAX_SPACES)], n = 1 + below(8), i;

	if (fd < 0)
		return;
	for (i = 0; i < n; i++)
		ops[i] = random_op(w);
	switch (below(10)) {
	case 0:	/* a bad buffer */
		if (write(fd, (void *)pick_addr(), n * sizeof(ops[0])) < 0) {
		}
		break;
	case 1:	/* a bad length */
		if (write(fd, ops, below(n * sizeof(ops[0]) + 1)) < 0) {
		}
		break;
	default:
		if (write(fd, ops, n * sizeof(ops[0])) < 0) {
		}
	}
}

static void do_open_close(struct walker *w)
{
	int i = below(MAX_SPACES);

	if (w->spaces[i] >= 0) {
		close(w->spaces[i]);
		w->spaces[i] = -1;
	} else {
		w->spaces[i] = open("/proc/mm", below(8) ? O_WRONLY : O_RDWR);
		if (w->spaces[i] >= 0 && below(2))
			space_setup(w->spaces[i]);
	}
}

/* Pass a space to a sibling, and take in what a sibling passed us. */
static void do_pass(struct walker *w)
{
	char data = 'f', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	int fd = w->spaces[below(MAX_SPACES)], i;

	if (fd >= 0 && below(2)) {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		if (sendmsg(w->sock, &msg, MSG_DONTWAIT) < 0) {
		}
		return;
	}
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	if (recvmsg(w->sock, &msg, MSG_DONTWAIT) <= 0)
		return;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	i = below(MAX_SPACES);
	if (w->spaces[i] >= 0)
		close(w->spaces[i]);
	w->spaces[i] = fd;
}

static void *pick_ptr(void)
{
	static char buf[4096];

	switch (below(4)) {
	case 0:
		return NULL;
	case 1:
		return (void *)pick_addr();
	default:
		return buf + below(64);
	}
}

/* The tracee stops again within a second, or is killed. */
static void settle(struct walker *w)
{
	double deadline = now() + 1;
	int st, stopped = 0;

	for (;;) {
		pid_t r = waitpid(w->tracee, &st, WNOHANG | __WALL);

		if (r == w->tracee) {
			if (WIFSTOPPED(st))
				return;
			w->tracee = 0;
			return;
		}
		if (now() > deadline) {
			kill(w->tracee, SIGKILL);
			waitpid(w->tracee, &st, __WALL);
			w->tracee = 0;
			return;
		}
		if (!stopped && now() + 0.9 > deadline) {
			kill(w->tracee, SIGSTOP);
			stopped = 1;
		}
		usleep(1000);
	}
}

static void do_ptrace(struct walker *w)
{
	struct ptrace_ldt ldt;
	struct user_regs_struct r;
	long req;

	if (!w->tracee) {
		w->tracee = tracee_spawn();
		return;
	}
	switch (below(8)) {
	case 0:
		ptrace(PTRACE_SWITCH_MM, w->tracee, pick_addr(), (unsigned long)pick_fd(w));
		break;
	case 1:
		ldt.func = below(3) ? (int)below(0x12) : (int)rnd();
		ldt.ptr = pick_ptr();
		ldt.bytecount = below(2) ? below(64) : pick_len();
		ptrace(PTRACE_LDT, w->tracee, 0, below(8) ? (unsigned long)&ldt : pick_addr());
		break;
	case 2:	/* resume somewhere and let it stop again */
		if (ptrace(PTRACE_GETREGS, w->tracee, 0, &r))
			break;
		r.rip = below(2) ? BLOB(blob_store) : pick_addr();
		r.rdi = pick_addr();
		r.rsi = rnd();
		r.orig_rax = -1;
		if (below(4) == 0)
			r.cs = rnd() & 0xffff;
		ptrace(PTRACE_SETREGS, w->tracee, 0, &r);
		/*
		 * Only under SYSEMU: random code must never make a real
		 * system call (as nobody it could kill its siblings).
		 */
		if (ptrace(PTRACE_SYSEMU, w->tracee, 0, 0) == 0)
			settle(w);
		break;
	case 3:
		if (below(4) == 0) {
			kill(w->tracee, SIGKILL);
			waitpid(w->tracee, NULL, __WALL);
			w->tracee = 0;
		}
		break;
	default:
		req = PTRACE_FAULTINFO + below(5);
		if (below(8) == 0)
			req = 50 + below(10);
		ptrace(req, w->tracee, pick_addr(), (unsigned long)pick_ptr());
	}
}

static void walk(int id, int sock, unsigned long ops, double budget)
{
	struct rlimit as = { 256UL << 20, 256UL << 20 };
	struct walker w;
	double t0 = now();
	unsigned long i;

	fuzz_rng = (env_long("SKAS_FUZZ_SEED", 1) + 1) * 0x9E3779B97F4A7C15ULL * (id + 1);
	memset(&w, 0, sizeof(w));
	for (i = 0; i < MAX_SPACES; i++)
		w.spaces[i] = -1;
	w.sock = sock;
	w.memfd = memfd_words(4, 0xf00d);
	become_nobody(1);
	SYSCHK(setrlimit(RLIMIT_AS, &as));
	w.devzero = open("/dev/zero", O_RDWR);
	for (i = 0; i < ops && now() - t0 < budget; i++) {
		switch (below(10)) {
		case 0:
			do_open_close(&w);
			break;
		case 1:
			do_pass(&w);
			break;
		case 2:
		case 3:
			do_ptrace(&w);
			break;
		default:
			do_write(&w);
		}
	}
	if (w.tracee)
		tracee_kill(w.tracee);
	note("fuzz process %d: %lu operations in %.1f s", id, i, now() - t0);
	_exit(0);
}

TEST(fuzz_random, 400)
{
	unsigned long ops = env_long("SKAS_FUZZ_OPS", 100000);
	double budget = env_long("SKAS_FUZZ_BUDGET", 300);
	pid_t pids[NPROC];
	int socks[2], i, st, bad = 0;

	note("fuzz: seed %ld, %lu operations in %d processes", env_long("SKAS_FUZZ_SEED", 1),
	     ops, NPROC);
	SYSCHK(socketpair(AF_UNIX, SOCK_DGRAM, 0, socks));
	for (i = 0; i < NPROC; i++) {
		pids[i] = SYSCHK(fork());
		if (pids[i] == 0)
			walk(i, socks[i % 2], ops / NPROC, budget);
	}
	for (i = 0; i < NPROC; i++) {
		SYSCHK(waitpid(pids[i], &st, 0));
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	}
	CHECK(!bad, "%d fuzz process(es) did not finish cleanly", bad);
}
