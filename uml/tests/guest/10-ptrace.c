// SPDX-License-Identifier: GPL-2.0
/*
 * ptrace inside the guest (tracer and tracee both guest processes): stop on
 * SIGSTOP, PEEKDATA/POKEDATA, GETREGS/SETREGS, syscall stops with the right
 * syscall number, a changed return value, single-stepping, signal
 * substitution at a signal-delivery stop
 * and the tracee's exit status.
 */
#include "t.h"
#include <signal.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>

static volatile long secret = 0x1111;
static volatile int got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

/* The tracee: stops itself, calls getppid() (the tracer rewrites its
 * result), checks the value the tracer poked, and reports through its exit
 * code which of those it saw.
 */
static void tracee(void)
{
	long r;
	int code = 0;

	signal(SIGUSR1, on_usr1);
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
		_exit(100);
	raise(SIGSTOP);
	if (secret == 0x2222)
		code |= 1;	/* POKEDATA worked */
	r = syscall(SYS_getppid);
	if (r == 4242)
		code |= 2;	/* result rewritten at syscall exit */
	/* The tracer replaces this SIGUSR2 (which would kill us) by SIGUSR1. */
	raise(SIGUSR2);
	if (got_usr1)
		code |= 4;	/* injected signal delivered */
	_exit(code);
}

static int wait_stop(pid_t pid, int *st)
{
	return waitpid(pid, st, 0) == pid && WIFSTOPPED(*st);
}

int main(void)
{
	struct user_regs_struct regs;
	int st = 0, steps = 0, saw_getppid = 0;
	long word;
	pid_t pid = fork();

	if (pid == 0)
		tracee();
	if (!wait_stop(pid, &st) || WSTOPSIG(st) != SIGSTOP) {
		t_fail("ptrace-traceme-stop", "status 0x%x", st);
		kill(pid, SIGKILL);
		return t_exit();
	}
	t_ok("ptrace-traceme-stop");
	ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD);

	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, pid, (void *)&secret, NULL);
	t_check("ptrace-peekdata", errno == 0 && word == 0x1111, "read 0x%lx (%s)", word,
		strerror(errno));
	t_check("ptrace-pokedata", ptrace(PTRACE_POKEDATA, pid, (void *)&secret,
					  (void *)0x2222L) == 0, "%s", strerror(errno));
	t_check("ptrace-getregs", ptrace(PTRACE_GETREGS, pid, NULL, &regs) == 0 &&
		regs.rip != 0 && regs.rsp != 0, "rip 0x%llx rsp 0x%llx",
		(unsigned long long)regs.rip, (unsigned long long)regs.rsp);

	/* Single-step a few instructions: each step stops with SIGTRAP and
	 * moves the instruction pointer.
	 */
	for (int i = 0; i < 5; i++) {
		unsigned long long before = regs.rip;

		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) != 0 || !wait_stop(pid, &st) ||
		    WSTOPSIG(st) != SIGTRAP ||
		    ptrace(PTRACE_GETREGS, pid, NULL, &regs) != 0 || regs.rip == before)
			break;
		steps++;
	}
	t_check("ptrace-singlestep", steps == 5, "%d good steps of 5 (status 0x%x)", steps, st);

	/* Syscall stops until getppid: entry shows orig_rax, at exit the
	 * result is replaced.
	 */
	for (int i = 0; i < 200; i++) {
		if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL) != 0 || !wait_stop(pid, &st))
			break;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80))
			continue;
		ptrace(PTRACE_GETREGS, pid, NULL, &regs);
		if (regs.orig_rax != SYS_getppid)
			continue;
		saw_getppid = 1;
		/* Run to the syscall-exit stop, then rewrite the return value. */
		ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
		wait_stop(pid, &st);
		ptrace(PTRACE_GETREGS, pid, NULL, &regs);
		if (regs.rax == (unsigned long long)getpid())
			saw_getppid = 2;
		regs.rax = 4242;
		ptrace(PTRACE_SETREGS, pid, NULL, &regs);
		break;
	}
	t_check("ptrace-syscall-stop", saw_getppid == 2,
		"getppid %s",
		saw_getppid ? "seen but result was not the tracer's pid" : "not seen");

	/* At the tracee's SIGUSR2 signal-delivery stop, inject SIGUSR1 instead
	 * (signals can only be injected at such stops).
	 */
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	while (waitpid(pid, &st, 0) == pid && WIFSTOPPED(st))
		ptrace(PTRACE_CONT, pid, NULL,
		       (void *)(long)(WSTOPSIG(st) == SIGUSR2 ? SIGUSR1 : 0));
	if (!WIFEXITED(st)) {
		t_fail("ptrace-tracee-exit", "status 0x%x", st);
		return t_exit();
	}
	t_check("ptrace-poke-seen-by-tracee", WEXITSTATUS(st) & 1, "exit code %d",
		WEXITSTATUS(st));
	t_check("ptrace-setregs-result", WEXITSTATUS(st) & 2, "exit code %d", WEXITSTATUS(st));
	t_check("ptrace-signal-injection", WEXITSTATUS(st) & 4, "exit code %d",
		WEXITSTATUS(st));
	return t_exit();
}
