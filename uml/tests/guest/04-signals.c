// SPDX-License-Identifier: GPL-2.0
/* Signals: delivery, masks and pending sets, sigaltstack (including a stack
 * overflow caught on the alternate stack), queued real-time signals,
 * interrupted system calls, timers, and FPU state across handlers.
 */
#include "t.h"
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t hits;
static volatile int last_pid, last_val;

static void count(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	hits++;
	last_pid = si->si_pid;
	last_val = si->si_value.sival_int;
}

static void set_handler(int sig, int flags)
{
	struct sigaction sa = { .sa_sigaction = count, .sa_flags = SA_SIGINFO | flags };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void basic(void)
{
	hits = 0;
	set_handler(SIGUSR1, 0);
	kill(getpid(), SIGUSR1);
	t_check("kill-self-delivers", hits == 1 && last_pid == getpid(),
		"hits %d, si_pid %d", hits, last_pid);
}

static void masks(void)
{
	sigset_t block, pend, old;

	hits = 0;
	set_handler(SIGUSR2, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
	kill(getpid(), SIGUSR2);
	kill(getpid(), SIGUSR2);	/* standard signals do not queue */
	sigpending(&pend);
	t_check("mask-blocks", hits == 0 && sigismember(&pend, SIGUSR2),
		"hits %d, pending %d", hits, sigismember(&pend, SIGUSR2));
	sigprocmask(SIG_SETMASK, &old, NULL);
	t_check("unblock-delivers-once", hits == 1, "hits %d after unblock", hits);
}

static void rt_queue(void)
{
	sigset_t block, old;
	int ok = 1;

	hits = 0;
	set_handler(SIGRTMIN, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (int i = 1; i <= 3; i++) {
		union sigval v = { .sival_int = i * 10 };

		if (sigqueue(getpid(), SIGRTMIN, v) != 0)
			ok = 0;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	t_check("rt-signals-queue", ok && hits == 3 && last_val == 30,
		"hits %d (want 3), last value %d", hits, last_val);
}

/* A child sends a signal: si_pid is the child's pid; sigsuspend wakes. */
static void from_child(void)
{
	sigset_t block, old, waitmask;
	pid_t pid;

	hits = 0;
	set_handler(SIGUSR1, 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid == 0) {
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	waitmask = old;
	sigdelset(&waitmask, SIGUSR1);
	alarm(10);
	sigsuspend(&waitmask);
	alarm(0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	waitpid(pid, NULL, 0);
	t_check("signal-from-child-sigsuspend", hits == 1 && last_pid == pid,
		"hits %d, si_pid %d, child %d", hits, last_pid, pid);
}

static void timed_wait(void)
{
	sigset_t set, old;
	siginfo_t si;
	struct timespec ts = { .tv_nsec = 100 * 1000 * 1000 };
	int r;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &old);
	r = sigtimedwait(&set, &si, &ts);
	t_check("sigtimedwait-timeout", r == -1 && errno == EAGAIN, "r %d (%s)", r,
		strerror(errno));
	kill(getpid(), SIGUSR2);
	r = sigtimedwait(&set, &si, &ts);
	t_check("sigtimedwait-gets", r == SIGUSR2, "r %d", r);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* Without SA_RESTART a blocking read returns EINTR; the timer fires. */
static void eintr_timer(void)
{
	struct itimerval it = { .it_value = { .tv_usec = 100000 } };
	int p[2];
	char c;
	ssize_t r;

	hits = 0;
	set_handler(SIGALRM, 0);
	if (pipe(p)) {
		t_fail("itimer-eintr", "pipe");
		return;
	}
	setitimer(ITIMER_REAL, &it, NULL);
	r = read(p[0], &c, 1);
	t_check("itimer-eintr", r == -1 && errno == EINTR && hits == 1,
		"read returned %zd (%s), hits %d", r, strerror(errno), hits);
	close(p[0]);
	close(p[1]);
}

/* sigaltstack: the handler runs on the alternate stack. */
static char *alt;
static const size_t altsz = 64 * 1024;
static volatile int on_alt, ss_flag;

static void alt_handler(int sig)
{
	char here;
	stack_t cur;

	(void)sig;
	on_alt = &here >= alt && &here < alt + altsz;
	sigaltstack(NULL, &cur);
	ss_flag = cur.ss_flags & SS_ONSTACK;
}

/* Overflow: infinite recursion hits the guard page; the SIGSEGV handler can
 * only run because it is on the alternate stack.
 */
static sigjmp_buf ovf_jb;

static void ovf_handler(int sig)
{
	(void)sig;
	siglongjmp(ovf_jb, 1);
}

/* A bound the compiler cannot see through; far beyond any stack limit. */
static volatile long max_depth = 1L << 40;

static int recurse(volatile char *p)
{
	volatile char buf[1024];

	if (--max_depth == 0)
		return 0;
	buf[0] = p ? p[0] : 0;
	return recurse(buf) + buf[0];
}

static void altstack(void)
{
	stack_t ss;
	struct sigaction sa = { .sa_handler = alt_handler, .sa_flags = SA_ONSTACK };
	int st = 0;
	pid_t pid;

	alt = mmap(NULL, altsz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ss.ss_sp = alt;
	ss.ss_size = altsz;
	ss.ss_flags = 0;
	if (alt == MAP_FAILED || sigaltstack(&ss, NULL)) {
		t_fail("sigaltstack", "setup: %s", strerror(errno));
		return;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	t_check("sigaltstack-used", on_alt && ss_flag, "on alt stack %d, SS_ONSTACK %d",
		on_alt, ss_flag);

	pid = fork();
	if (pid == 0) {
		struct sigaction so = { .sa_handler = ovf_handler, .sa_flags = SA_ONSTACK };

		sigemptyset(&so.sa_mask);
		sigaction(SIGSEGV, &so, NULL);
		alarm(20);
		if (sigsetjmp(ovf_jb, 1) == 0)
			recurse(NULL);
		_exit(0);	/* came back from the handler */
	}
	waitpid(pid, &st, 0);
	t_check("stack-overflow-on-altstack", WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"child status 0x%x", st);
}

/* The FPU/SSE state of the interrupted code survives a handler that uses
 * the FPU itself.
 */
static volatile double fpu_sink;
static volatile int fpu_hits;

static void fpu_handler(int sig)
{
	volatile double x = 1.0;

	(void)sig;
	for (int i = 0; i < 100; i++)
		x = x * 1.5 + 0.25;
	fpu_sink = x;
	fpu_hits++;
}

/*
 * A 5 ms timer: at 1 ms, ptrace mode under software emulation on a busy
 * host spent longer handling each signal than the timer left between
 * them, and the loop ran past the 300 s limit (seen in the 6.1 VM).
 */
static void fpu_state(void)
{
	struct itimerval it = { .it_interval = { .tv_usec = 5000 },
				.it_value = { .tv_usec = 5000 } };
	double a = 0.0, expect = 0.0;
	int n = 40000000;

	for (int i = 0; i < n; i++)
		expect += (double)(i % 7) * 0.5;
	signal(SIGALRM, fpu_handler);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < n; i++)
		a += (double)(i % 7) * 0.5;
	it.it_value.tv_usec = 0;
	it.it_interval.tv_usec = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_DFL);
	t_check("fpu-state-across-signals", a == expect && fpu_hits > 0,
		"sum %f, want %f; %d signals during the loop", a, expect, fpu_hits);
	t_note("fpu: %d timer signals during the loop", fpu_hits);
}

int main(void)
{
	basic();
	masks();
	rt_queue();
	from_child();
	timed_wait();
	eintr_timer();
	altstack();
	fpu_state();
	return t_exit();
}
