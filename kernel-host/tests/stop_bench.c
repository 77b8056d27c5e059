// SPDX-License-Identifier: GPL-2.0
/*
 * skas-stop-bench: what one guest system call costs the host side of
 * each process mode, before any UML kernel work.  A guest loop of getpid()
 * calls runs in a /proc/mm space, and the runner turns each call around
 * as fast as it can:
 *   skas3-min  PTRACE_SYSEMU + waitpid (a ptrace stop and nothing else)
 *   skas3-uml  what UML's skas3 mode does per call: waitpid, GETREGS,
 *              GETFPREGS, SETREGS, SETFPREGS, SYSEMU
 *   skas4      one SKAS_CARRIER_RUN (the carrier of /dev/uml-skas)
 * Then first-touch page faults: the guest stores to one new page after
 * another, and the runner maps each one as UML does:
 *   fault-skas3  SIGSEGV stop, PTRACE_EX_FAULTINFO, a one-operation write
 *                to the space's /proc/mm file (a worker runs it), SYSEMU
 *   fault-skas4  FAULT stop; the next RUN carries the operation
 * Rounds are interleaved (skas3-min, skas3-uml, skas4, then again) and
 * each figure is the median over rounds, in ns per call or fault.  Everything runs
 * on CPU 0 unless -u.  Timings are reported, never asserted.
 *
 *   skas-stop-bench [-r ROUNDS] [-n CALLS] [-f PAGES] [-u]
 * needs the module's carriers (not loaded with carrier=0).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "carrier.h"
#include "harness.h"
#include "tracee.h"

#define MODES 3
static const char *const mode_names[MODES] = { "skas3-min", "skas3-uml", "skas4" };

static void ptrace_wait_syscall(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, __WALL) < 0)
		if (errno != EINTR)
			FAIL("waitpid: %s", errstr(errno));
	CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80),
	      "tracee: status %#x, expected a system call stop", st);
}

static double round_ptrace(pid_t pid, long calls, int uml)
{
	struct user_regs_struct r;
	struct user_fpregs_struct fp;
	double t0 = now();

	for (long i = 0; i < calls; i++) {
		if (uml) {
			SYSCHK(ptrace(PTRACE_GETREGS, pid, 0, &r));
			SYSCHK(ptrace(PTRACE_GETFPREGS, pid, 0, &fp));
			r.rax = pid;
			SYSCHK(ptrace(PTRACE_SETREGS, pid, 0, &r));
			SYSCHK(ptrace(PTRACE_SETFPREGS, pid, 0, &fp));
		}
		SYSCHK(ptrace(PTRACE_SYSEMU, pid, 0, 0));
		ptrace_wait_syscall(pid);
	}
	return (now() - t0) * 1e9 / calls;
}

static double round_carrier(struct carrier *c, struct skas_run *run, long calls)
{
	double t0 = now();

	for (long i = 0; i < calls; i++) {
		run->regs.rax = c->pid;
		if (run_raw(c, run, -1) < 0)
			FAIL("RUN: %s", errstr(errno));
		CHECK(run->exit.reason == SKAS_EXIT_SYSCALL && run->exit.syscall == 39,
		      "carrier stop %u (syscall %lld)", run->exit.reason,
		      (long long)run->exit.syscall);
	}
	return (now() - t0) * 1e9 / calls;
}

/* Fresh pages for every round: the region is unmapped after it. */
#define FAULT_BASE	0x40000000UL

static unsigned long fault_page(unsigned long addr)
{
	return addr & ~(PAGE - 1);
}

static double round_ptrace_faults(pid_t pid, int mmfd, long pages)
{
	struct ptrace_ex_faultinfo fi;
	struct stop s;
	long faults = 0;
	double t0 = now(), t;

	tracee_set(pid, BLOB(blob_touch), FAULT_BASE, pages, 0);
	for (;;) {
		tracee_resume(pid, PTRACE_SYSEMU);
		tracee_wait(pid, &s);
		if (s.kind == STOP_SYSCALL)
			break;
		CHECK(s.kind == STOP_SIGNAL && s.sig == SIGSEGV, "tracee: %s", stop_str(pid, &s));
		SYSCHK(ptrace(PTRACE_EX_FAULTINFO, pid, 0, &fi));
		OP_OK(op_mmap(mmfd, fault_page(fi.addr), PAGE, RW, ANON_FIXED, -1, 0));
		faults++;
	}
	t = now() - t0;
	CHECK(faults == pages, "%ld faults for %ld pages", faults, pages);
	OP_OK(op_munmap(mmfd, FAULT_BASE, pages * PAGE));
	return t * 1e9 / faults;
}

static double round_carrier_faults(struct carrier *c, struct skas_run *run, long pages)
{
	struct proc_mm_op op;
	long faults = 0;
	double t0 = now(), t;

	regs_init(&run->regs, BLOB(blob_touch), FAULT_BASE, pages, 0);
	run->ops = (unsigned long)&op;
	run->nr_ops = 0;
	for (;;) {
		if (run_raw(c, run, -1) < 0)
			FAIL("RUN: %s", errstr(errno));
		if (run->exit.reason == SKAS_EXIT_SYSCALL)
			break;
		CHECK(run->exit.reason == SKAS_EXIT_FAULT, "carrier stop %u", run->exit.reason);
		op = mk_mmap(fault_page(run->exit.addr), PAGE, RW, ANON_FIXED, -1, 0);
		run->nr_ops = 1;
		faults++;
	}
	t = now() - t0;
	run->nr_ops = 0;
	CHECK(faults == pages, "%ld faults for %ld pages", faults, pages);
	OP_OK(op_munmap(c->mm, FAULT_BASE, pages * PAGE));
	return t * 1e9 / faults;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long rounds = 7, calls = 20000, pages = 2000;
	int unpinned = 0, opt;

	while ((opt = getopt(argc, argv, "r:n:f:uh")) != -1) {
		switch (opt) {
		case 'r': rounds = atol(optarg); break;
		case 'n': calls = atol(optarg); break;
		case 'f': pages = atol(optarg); break;
		case 'u': unpinned = 1; break;
		default:
			fprintf(stderr, "usage: skas-stop-bench [-r ROUNDS] [-n CALLS] [-f PAGES] [-u]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (rounds < 1 || calls < 1 || pages < 1 || pages > 100000) {
		fprintf(stderr, "skas-stop-bench: -r, -n and -f (at most 100000) need positive numbers\n");
		return 2;
	}
	if (!unpinned) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(0, &set);
		SYSCHK(sched_setaffinity(0, sizeof(set), &set));
	}

	/* The ptrace tracee, in a space, at its first getpid stop. */
	int tmm = space_new();
	pid_t tracee = tracee_spawn();

	tracee_switch(tracee, tmm);
	tracee_set(tracee, BLOB(blob_syscall_loop), 0, 0, 0);
	SYSCHK(ptrace(PTRACE_SYSEMU, tracee, 0, 0));
	ptrace_wait_syscall(tracee);

	/* The carrier, likewise. */
	struct carrier c;
	struct skas_run run = { 0 };

	carrier_start(&c);
	regs_init(&run.regs, BLOB(blob_syscall_loop), 0, 0, 0);
	run_first(&c, &run);

	double *ns[MODES];

	for (int m = 0; m < MODES; m++)
		ns[m] = calloc(rounds, sizeof(double));
	for (long i = 0; i < rounds; i++) {
		ns[0][i] = round_ptrace(tracee, calls, 0);
		ns[1][i] = round_ptrace(tracee, calls, 1);
		ns[2][i] = round_carrier(&c, &run, calls);
		printf("# round %ld: %s %.0f ns, %s %.0f ns, %s %.0f ns\n", i + 1,
		       mode_names[0], ns[0][i], mode_names[1], ns[1][i], mode_names[2], ns[2][i]);
	}
	double med[MODES];

	for (int m = 0; m < MODES; m++) {
		qsort(ns[m], rounds, sizeof(double), cmp_double);
		med[m] = ns[m][rounds / 2];
	}
	printf("cpus %s, %ld rounds of %ld calls (median ns per guest system call)\n",
	       unpinned ? "unpinned" : "0", rounds, calls);
	for (int m = 0; m < MODES; m++)
		printf("%-10s %8.0f ns  %.2fx skas3-uml\n", mode_names[m], med[m], med[m] / med[1]);

	/* First-touch page faults, interleaved likewise. */
	double *fns[2] = { calloc(rounds, sizeof(double)), calloc(rounds, sizeof(double)) };

	for (long i = 0; i < rounds; i++) {
		fns[0][i] = round_ptrace_faults(tracee, tmm, pages);
		fns[1][i] = round_carrier_faults(&c, &run, pages);
		printf("# fault round %ld: fault-skas3 %.0f ns, fault-skas4 %.0f ns\n", i + 1,
		       fns[0][i], fns[1][i]);
	}
	for (int m = 0; m < 2; m++)
		qsort(fns[m], rounds, sizeof(double), cmp_double);
	printf("faults: %ld rounds of %ld pages (median ns per first-touch fault)\n", rounds, pages);
	printf("%-10s %8.0f ns  %.2fx fault-skas3\n", "fault-skas3", fns[0][rounds / 2], 1.0);
	printf("%-10s %8.0f ns  %.2fx fault-skas3\n", "fault-skas4", fns[1][rounds / 2],
	       fns[1][rounds / 2] / fns[0][rounds / 2]);
	tracee_kill(tracee);
	kill(c.pid, SIGKILL);
	return 0;
}
