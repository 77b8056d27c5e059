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
 * Rounds are interleaved (skas3-min, skas3-uml, skas4, then again) and
 * each figure is the median over rounds, in ns per call.  Everything runs
 * on CPU 0 unless -u.  Timings are reported, never asserted.
 *
 *   skas-stop-bench [-r ROUNDS] [-n CALLS] [-u]
 * needs the module loaded with carrier=1.
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long rounds = 7, calls = 20000;
	int unpinned = 0, opt;

	while ((opt = getopt(argc, argv, "r:n:uh")) != -1) {
		switch (opt) {
		case 'r': rounds = atol(optarg); break;
		case 'n': calls = atol(optarg); break;
		case 'u': unpinned = 1; break;
		default:
			fprintf(stderr, "usage: skas-stop-bench [-r ROUNDS] [-n CALLS] [-u]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (rounds < 1 || calls < 1) {
		fprintf(stderr, "skas-stop-bench: -r and -n need positive numbers\n");
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
	tracee_kill(tracee);
	kill(c.pid, SIGKILL);
	return 0;
}
