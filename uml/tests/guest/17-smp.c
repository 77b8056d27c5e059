// SPDX-License-Identifier: GPL-2.0
/* Virtual CPUs: the count the kernel was asked for (ncpus= on its command
 * line), two processes running at the same time on two vCPUs, futex
 * wake-ups across vCPUs, threads of one process on two vCPUs, FPU and TLS
 * state kept when a thread moves between vCPUs.  (How much faster two
 * CPU-bound processes finish on two vCPUs is measured by make bench's
 * vCPU scaling, not asserted here: a timed check fails whenever the host
 * is busy.)  Last, two spinning processes are left running on both vCPUs, so that
 * the suite's shutdown happens with every vCPU busy.  Before that, a
 * security check: a page one thread gives back is out of reach of the
 * process's threads on other vCPUs before anyone else gets it.  With one vCPU
 * online the SMP checks are skipped.
 */
#include "t.h"
#include <fenv.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/*
 * The vCPUs the harness asked for: T_NCPUS, which it sets with ncpus= (the
 * kernel takes ncpus= out of /proc/cmdline, as it does its other setup
 * options); 1 without it, the kernel's default.
 */
static int asked_ncpus(void)
{
	const char *env = getenv("T_NCPUS");

	return env && *env ? atoi(env) : 1;
}

static void *shared_page(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Ping-pong through a shared page between two processes pinned to
 * vCPUs 0 and 1, without a system call: only processes that run at the
 * same time get far (with time slicing it is about one round per two
 * ticks).  Returns the rounds done, TARGET at most, within SECONDS. */
static long pingpong(long target, double seconds)
{
	_Atomic long *v = shared_page();
	long rounds = 0;
	pid_t pid;
	int st;

	if (!v)
		return -1;
	atomic_store(&v[0], 0);
	atomic_store(&v[1], 0);	/* 1: stop */
	pid = fork();
	if (pid == 0) {
		long seen = 0;

		if (pin(1) < 0)
			_exit(2);
		/* Answer every odd value with the next even one. */
		while (!atomic_load(&v[1])) {
			long x = atomic_load(&v[0]);

			if (x != seen && (x & 1)) {
				atomic_store(&v[0], x + 1);
				seen = x + 1;
			}
		}
		_exit(0);
	}
	if (pid < 0 || pin(0) < 0) {
		atomic_store(&v[1], 1);
		return -1;
	}
	{
		double end = t_now() + seconds;
		long x = 0;

		while (rounds < target && t_now() < end) {
			atomic_store(&v[0], x + 1);
			while (atomic_load(&v[0]) != x + 2 && t_now() < end)
				;
			if (atomic_load(&v[0]) == x + 2)
				rounds++;
			x += 2;
		}
	}
	atomic_store(&v[1], 1);
	waitpid(pid, &st, 0);
	munmap((void *)v, 4096);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? rounds : -1;
}

static int futex(_Atomic int *uaddr, int op, int val)
{
	struct timespec ts = { .tv_sec = 10 };

	return (int)syscall(SYS_futex, uaddr, op, val, &ts, NULL, 0);
}

/* Turns between two processes on vCPUs 0 and 1, each waiting in
 * FUTEX_WAIT (shared, not private: two address spaces) until the other
 * wakes it.  Returns the turns completed, of ROUNDS. */
static int futex_turns(int rounds)
{
	_Atomic int *turn = shared_page();
	int done = 0, st;
	pid_t pid;

	if (!turn)
		return -1;
	atomic_store(turn, 0);
	pid = fork();
	if (pid == 0) {
		pin(1);
		for (int i = 0; i < rounds; i++) {
			while (atomic_load(turn) != 1)
				if (futex(turn, FUTEX_WAIT, 0) < 0 && errno == ETIMEDOUT)
					_exit(1);
			atomic_store(turn, 0);
			futex(turn, FUTEX_WAKE, 1);
		}
		_exit(0);
	}
	if (pid < 0)
		return -1;
	pin(0);
	for (int i = 0; i < rounds; i++) {
		atomic_store(turn, 1);
		futex(turn, FUTEX_WAKE, 1);
		while (atomic_load(turn) != 0)
			if (futex(turn, FUTEX_WAIT, 1) < 0 && errno == ETIMEDOUT)
				goto out;
		done++;
	}
out:
	waitpid(pid, &st, 0);
	munmap((void *)turn, 4096);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? done : -1;
}

/* Threads of one process on vCPUs 0 and 1: each adds to a shared
 * counter with atomics and to another under a mutex. */
static _Atomic long atomic_sum;
static long locked_sum;
static pthread_mutex_t sum_lock = PTHREAD_MUTEX_INITIALIZER;
#define ADDS 200000

static void *adder(void *arg)
{
	pin((int)(intptr_t)arg);
	for (int i = 0; i < ADDS; i++) {
		atomic_fetch_add(&atomic_sum, 1);
		if (i % 16 == 0) {
			pthread_mutex_lock(&sum_lock);
			locked_sum++;
			pthread_mutex_unlock(&sum_lock);
		}
	}
	return NULL;
}

/* A thread that moves between vCPUs keeps its FPU control state, a
 * value in an SSE register and its thread-local storage.  The register
 * is loaded before the move and read after it, with only the system
 * calls of the move in between. */
static __thread long tls_value;

struct mover {
	int moves, wrong_cpu, wrong_xmm, wrong_round, wrong_tls;
};

static void *move_around(void *arg)
{
	struct mover *m = arg;

	tls_value = 0x5ca1ab1e;
	fesetround(FE_UPWARD);
	for (int i = 0; i < 200; i++) {
		int cpu = i & 1;
		uint64_t in = 0x0123456789abcdefULL ^ (uint64_t)i, out;

		__asm__ volatile("movq %0, %%xmm7" : : "r"(in) : "xmm7");
		if (pin(cpu) < 0)
			break;
		__asm__ volatile("movq %%xmm7, %0" : "=r"(out) : : "xmm7");
		m->moves++;
		m->wrong_xmm += out != in;
		m->wrong_cpu += sched_getcpu() != cpu;
		m->wrong_round += fegetround() != FE_UPWARD;
		m->wrong_tls += tls_value != 0x5ca1ab1e;
	}
	return NULL;
}

static volatile uint64_t sink;

/* CPU-bound work of about the same length in every process. */
static void burn(long loops)
{
	uint64_t x = 88172645463325252ULL;

	for (long i = 0; i < loops; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	sink = x;
}

/* Two processes spinning on vCPUs 0 and 1 in their own sessions (the
 * runner does not end them): the suite's shutdown comes with both vCPUs
 * busy.  alarm() ends them should the shutdown not come. */
static void leave_spinners(void)
{
	for (int cpu = 0; cpu < 2; cpu++) {
		pid_t pid = fork();

		if (pid == 0) {
			setsid();
			pin(cpu);
			alarm(300);
			for (;;)
				burn(1000000);
		}
	}
}

/*
 * A page the kernel frees must be out of every thread's reach before it
 * is used again.  On SMP a thread running on another vCPU still has the
 * page in its host address space until the kernel takes it out there (a
 * TLB shootdown).  A writer thread (vCPU 0) writes a mark into the last
 * quarter of an area, all the time.  The main thread (vCPU 1) maps fresh
 * pages over the whole area in one call (MAP_FIXED | MAP_POPULATE): the
 * old pages are freed, the last ones freed first reused, for the new
 * first quarter, which nobody writes.  A mark there is the writer's,
 * written through a mapping of a page after it was freed; another process
 * could have had the page as well.  Runs in a child, because it pins its
 * threads; returns the pages found marked, or -1 when the test could not run.
 */
#define LEAK_PAGES 4096
#define LEAK_WORDS (LEAK_PAGES * 512)
#define LEAK_MARK 0x5a1e5eedc0ffee01ULL

static _Atomic int leak_stop;
static volatile uint64_t *leak_area;

static void *leak_writer(void *arg)
{
	(void)arg;
	pin(0);
	while (!atomic_load_explicit(&leak_stop, memory_order_relaxed))
		for (size_t i = LEAK_WORDS / 4 * 3; i < LEAK_WORDS; i += 512)
			leak_area[i] = LEAK_MARK;
	return NULL;
}

/* 20 rounds, or fewer in @seconds (a round is a timer tick or more). */
static long leak_rounds(double seconds, long *rounds_out)
{
	double end = t_now() + seconds;
	pthread_t writer;
	long rounds = 0, found = 0;

	leak_area = mmap(NULL, LEAK_WORDS * 8, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (leak_area == MAP_FAILED || pin(1) ||
	    pthread_create(&writer, NULL, leak_writer, NULL))
		return -1;
	while (t_now() < end && rounds < 20) {
		void *p = mmap((void *)leak_area, LEAK_WORDS * 8, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE,
			       -1, 0);

		if (p != (void *)leak_area)
			return -1;
		for (size_t i = 0; i < LEAK_WORDS / 4; i += 512)
			found += leak_area[i] == LEAK_MARK;
		rounds++;
	}
	atomic_store(&leak_stop, 1);
	pthread_join(writer, NULL);
	*rounds_out = rounds;
	return found;
}

static void freed_page_unreachable(const char *name)
{
	long *shared = shared_page();
	pid_t pid;
	int st;

	if (!shared) {
		t_fail(name, "no shared page");
		return;
	}
	pid = fork();
	if (pid == 0) {
		shared[0] = leak_rounds(15.0, &shared[1]);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    shared[0] < 0) {
		t_fail(name, "could not run (fork, mmap or threads failed)");
		return;
	}
	t_note("freed pages: %ld rounds, %ld pages written through a mapping of a freed page",
	       shared[1], shared[0]);
	t_check(name, shared[0] == 0 && shared[1] >= 5,
		"%ld pages written through a mapping of a freed page (%ld rounds)",
		shared[0], shared[1]);
}

int main(void)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int want = asked_ncpus();
	const char *smp[] = { "smp/parallel-processes", "smp/futex-across-cpus",
			      "smp/threads", "smp/migration-keeps-fpu-tls",
			      "smp/freed-page-unreachable" };

	t_check("smp/online-as-asked", online == want,
		"%ld vCPUs online, %d asked for (ncpus=)", online, want);
	if (online < 2) {
		for (size_t i = 0; i < sizeof(smp) / sizeof(smp[0]); i++)
			t_skip(smp[i], "one vCPU online");
		return t_exit();
	}

	{
		/*
		 * Neither side ever sleeps: on one vCPU a round needs two
		 * timer ticks (the waiting side preempted at HZ=100), at most
		 * 500 rounds in 10 s.  1000 rounds need both vCPUs running at
		 * once, and reach it in a few seconds even on a busy host.
		 */
		double t0 = t_now();
		long rounds = pingpong(1000, 10.0);

		t_note("ping-pong between vCPUs 0 and 1: %ld rounds in %.2f s",
		       rounds, t_now() - t0);
		t_check(smp[0], rounds >= 1000,
			"%ld of 1000 rounds in 10 s: the two processes did not run at the same time",
			rounds);
	}
	{
		int done = futex_turns(2000);

		t_check(smp[1], done == 2000, "%d of 2000 turns", done);
	}
	{
		pthread_t a, b;

		pthread_create(&a, NULL, adder, (void *)(intptr_t)0);
		pthread_create(&b, NULL, adder, (void *)(intptr_t)1);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		t_check(smp[2], atomic_sum == 2 * ADDS && locked_sum == 2 * (ADDS / 16),
			"atomic %ld (want %d), locked %ld (want %d)", (long)atomic_sum,
			2 * ADDS, locked_sum, 2 * (ADDS / 16));
	}
	{
		struct mover m = { 0 };
		pthread_t t;

		pthread_create(&t, NULL, move_around, &m);
		pthread_join(t, NULL);
		t_check(smp[3], m.moves == 200 && !m.wrong_cpu && !m.wrong_xmm &&
			!m.wrong_round && !m.wrong_tls,
			"%d moves; wrong: cpu %d, xmm7 %d, rounding %d, TLS %d",
			m.moves, m.wrong_cpu, m.wrong_xmm, m.wrong_round, m.wrong_tls);
	}
	freed_page_unreachable(smp[4]);
	/* Checked by the host side: the guest powers off cleanly. */
	leave_spinners();
	t_note("two processes left spinning on vCPUs 0 and 1 for the shutdown");
	return t_exit();
}
