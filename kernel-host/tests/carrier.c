// SPDX-License-Identifier: GPL-2.0
/* Carrier helpers for the tests and the benchmark: see carrier.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <asm/ldt.h>
#include <unistd.h>

#include "carrier.h"
#include "harness.h"
#include "tracee.h"

static void check_carrier_param(void)
{
	FILE *f = fopen("/sys/module/uml_skas_host/parameters/carrier", "r");
	char c = 0;

	CHECK(f, "no module parameter 'carrier': the module has no carrier support");
	CHECK(fscanf(f, " %c", &c) == 1, "cannot read the parameter 'carrier'");
	fclose(f);
	CHECK(c == 'Y', "the module was loaded with carrier=0 (the suite needs its carriers)");
}

int dev_open(void)
{
	int fd;

	check_carrier_param();
	fd = open("/dev/uml-skas", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		FAIL("open /dev/uml-skas: %s", errstr(errno));
	return fd;
}

/*
 * A carrier's filter: ENTER and exit, and death for anything else.  UML's
 * (skas4.c) traps instead of killing, so that a vsyscall on an emulating
 * host ends the guest process, not the machine; for the tests a kill is
 * the louder backstop.
 */
int install_filter(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 4, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 2),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SKAS_CARRIER_ENTER, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	return syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/*
 * Forks a child that becomes a carrier on dev, minus what skip leaves
 * out.  A failed ENTER ends the child with the errno as exit status.
 */
pid_t carrier_spawn(int dev, unsigned int skip)
{
	pid_t pid = SYSCHK(fork());
	pthread_t th;

	if (pid)
		return pid;
	if (skip & EXTRA_THREAD)
		pthread_create(&th, NULL, idle_thread, NULL);
	if (dev > 0)
		syscall(__NR_close_range, 0, dev - 1, 0);
	syscall(__NR_close_range, dev + 1, ~0U, 0);
	if (skip & EXTRA_FD)
		open("/dev/null", O_RDONLY);
	if (!(skip & SKIP_NODUMP))
		prctl(PR_SET_DUMPABLE, 0);
	if (!(skip & SKIP_NNP))
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (skip & PENDING_SEGV) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGSEGV);
		sigprocmask(SIG_BLOCK, &set, NULL);
		raise(SIGSEGV);
	}
	if (skip & TLS_DESC) {
		/* i386's set_thread_area (243): the 64-bit call is ENOSYS. */
		static struct user_desc d = { .entry_number = 12, .base_addr = DATA_ADDR,
					      .limit = 0xfffff, .seg_32bit = 1,
					      .limit_in_pages = 1, .useable = 1 };
		long r;

		__asm__ volatile("int $0x80" : "=a"(r) : "0"(243L), "b"(&d) : "memory");
		if (r)
			_exit(201);
	}
	if (!(skip & SKIP_SECCOMP) && install_filter())
		_exit(200);
	/* What the process was must not reach the guest: a vector register. */
	__asm__ volatile("movq %0, %%xmm0\n\tmovq %0, %%xmm1" : : "r"(CARRIER_XMM_DIRT) : "xmm0", "xmm1");
	unsigned int mxcsr = CARRIER_MXCSR_DIRT;

	__asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
	ioctl(dev, SKAS_CARRIER_ENTER, dev);
	_exit(errno);
}

void regs_init(struct skas_regs *r, unsigned long rip, unsigned long a0,
		      unsigned long a1, unsigned long a2)
{
	memset(r, 0, sizeof(*r));
	r->rip = rip;
	r->rsp = STACK_ADDR + STACK_SIZE - 64;
	r->rdi = a0;
	r->rsi = a1;
	r->rdx = a2;
	r->cs = USER_CS;
	r->ss = USER_DS;
	r->eflags = 0x202;
}

long run_raw(struct carrier *c, struct skas_run *run, int mm_fd)
{
	run->version = SKAS_CARRIER_VERSION;
	run->mm_fd = mm_fd;
	run->flags = 0;
	return ioctl(c->dev, SKAS_CARRIER_RUN, run);
}

/*
 * The first RUN: the child may not have entered yet (ESRCH until it
 * has); a child whose ENTER failed is reported.
 */
void run_first(struct carrier *c, struct skas_run *run)
{
	double t0 = now();
	int st;

	while (run_raw(c, run, c->mm) < 0) {
		CHECK(errno == ESRCH, "first RUN: %s", errstr(errno));
		if (waitpid(c->pid, &st, WNOHANG) == c->pid)
			FAIL("the carrier ended before ENTER: %s %d",
			     WIFEXITED(st) ? "exit" : "signal",
			     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		CHECK(now() - t0 < 20, "the carrier never entered");
		usleep(2000);
	}
}

void carrier_start(struct carrier *c)
{
	/* As UML does: spaces take their creator's dumpability (6.x). */
	SYSCHK(prctl(PR_SET_DUMPABLE, 0));
	c->dev = dev_open();
	c->mm = space_new();
	c->pid = carrier_spawn(c->dev, 0);
}


const char *reason_str(unsigned int r)
{
	static const char *const names[] = { "0", "SYSCALL", "FAULT", "SIGNAL",
					     "KICK", "DEAD", "REFUSED" };

	return r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

void carrier_end(struct carrier *c)
{
	int st;

	SYSCHK(kill(c->pid, SIGKILL));
	SYSCHK(waitpid(c->pid, &st, 0));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "carrier status %#x", st);
	close(c->dev);
	close(c->mm);
}
