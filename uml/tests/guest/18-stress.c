// SPDX-License-Identifier: GPL-2.0
/*
 * Stress on every vCPU at once, for T_STRESS_SECONDS (default 10): 64
 * threads of one process map, write, write-protect, check and unmap
 * memory in a loop, while another process forks T_STRESS_NPROCS children
 * (default T_NPROCS, else 1000; fewer if the time is up first, never
 * fewer than 64; at most 64 alive at once), each mapping and writing memory and forking a
 * grandchild that checks its copy.  Then: everyone finished within the
 * time, found fresh memory zeroed, saw only its own data and got a fault
 * for a write to memory it had write-protected; and the kernel's memory
 * is back where it was before: MemAvailable, and closer, its page
 * tables, kernel stacks, anonymous and shared memory (a leak of page
 * tables, pages, tasks or address spaces would show there).
 */
#include "t.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define THREADS		64
#define AREA_PAGES	16
#define ALIVE_MAX	64
#define PSZ		4096UL
#define WORDS		(AREA_PAGES * PSZ / 8)

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? atol(v) : def;
}

/*
 * The kernel's memory as /proc/meminfo tells it, after the page cache and
 * slab caches were dropped.  Each field with the growth allowed across
 * the stress: what the kernel may keep (per-CPU page lists, slab caches
 * not yet shrunk, page tables of processes that were running before),
 * far less than a leak of one page per process or thread round.
 */
static const struct {
	const char *name;
	long slack_kb;
} fields[] = {
	{ "MemAvailable", -16 * 1024 },	/* may shrink by that much */
	{ "PageTables", 512 },
	{ "KernelStack", 256 },
	{ "AnonPages", 2048 },
	{ "Shmem", 256 },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static int meminfo(long kb[NFIELDS])
{
	char line[256], key[64];
	int found = 0;
	long v;
	FILE *f;

	sync();
	f = fopen("/proc/sys/vm/drop_caches", "w");
	if (f) {
		fputs("3\n", f);
		fclose(f);
	}
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[^:]: %ld kB", key, &v) != 2)
			continue;
		for (size_t i = 0; i < NFIELDS; i++)
			if (!strcmp(key, fields[i].name)) {
				kb[i] = v;
				found++;
			}
	}
	if (f)
		fclose(f);
	return found == (int)NFIELDS ? 0 : -1;
}

/* The first field out of bounds, or -1. */
static int meminfo_grown(const long before[NFIELDS], const long after[NFIELDS])
{
	for (size_t i = 0; i < NFIELDS; i++) {
		long slack = fields[i].slack_kb;

		if (slack < 0 ? after[i] < before[i] + slack : after[i] > before[i] + slack)
			return (int)i;
	}
	return -1;
}

static double deadline;

/* What the two processes of the stress report, on a shared page. */
struct report {
	atomic_long thread_rounds, thread_bad, thread_unfaulted;
	int started;
	long spawned;
};
static struct report *rep;

/*
 * A write to write-protected memory must fault, on whichever vCPU the
 * thread runs: the SIGSEGV handler returns to the probe of the thread it
 * hit.  A fault anywhere else is a real one: it ends the process.
 */
static __thread sigjmp_buf probe_env;
static __thread volatile sig_atomic_t probing;

static void on_segv(int sig)
{
	if (probing)
		siglongjmp(probe_env, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* 1 when a write of value to *p went through. */
static int write_went_through(volatile uint64_t *p, uint64_t value)
{
	if (sigsetjmp(probe_env, 1)) {
		probing = 0;
		return 0;
	}
	probing = 1;
	*p = value;
	probing = 0;
	return 1;
}

/*
 * Each word sampled names the thread and the round; the area comes back
 * zeroed from mmap, and its first half, write-protected, refuses a write.
 */
static void *mapper(void *arg)
{
	uint64_t id = (uintptr_t)arg;

	/* One round at least, however slow the machine. */
	for (uint64_t round = 0; round == 0 || t_now() < deadline; round++) {
		uint64_t mark = id << 48 | round, *p;
		long bad = 0;

		p = mmap(NULL, AREA_PAGES * PSZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			atomic_fetch_add(&rep->thread_bad, 1);
			break;
		}
		for (size_t i = 0; i < WORDS; i += 64) {
			bad += p[i] != 0;
			p[i] = mark;
		}
		if (mprotect(p, AREA_PAGES * PSZ / 2, PROT_READ)) {
			bad++;
		} else if (write_went_through(&p[64], ~mark)) {
			atomic_fetch_add(&rep->thread_unfaulted, 1);
			p[64] = mark;	/* counted once, as unfaulted */
		}
		for (size_t i = 0; i < WORDS; i += 64)
			bad += p[i] != mark;
		bad += munmap(p, AREA_PAGES * PSZ) != 0;
		atomic_fetch_add(&rep->thread_bad, bad);
		atomic_fetch_add(&rep->thread_rounds, 1);
	}
	return NULL;
}

/*
 * A child: its pages come zeroed and then hold its pid; its grandchild
 * checks its copy.
 */
static int child_body(void)
{
	pid_t me = getpid(), pid;
	int st = -1;
	long *p = mmap(NULL, 8 * PSZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 2;
	for (size_t i = 0; i < 8; i++) {
		if (p[i * PSZ / sizeof(long)] != 0)
			return 7;
		p[i * PSZ / sizeof(long)] = me;
	}
	pid = fork();
	if (pid == 0) {
		for (size_t i = 0; i < 8; i++)
			if (p[i * PSZ / sizeof(long)] != me)
				_exit(3);
		p[0] = 0;	/* its own copy only */
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 4;
	if (p[0] != me)
		return 5;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 6;
}

/*
 * Forks nprocs children, or as many as the time allows but at least
 * ALIVE_MAX (a VM under emulation forks slowly).  A failed fork counts as
 * a failure and ends the spawning, not the reaping.  Exit 0: all that
 * were spawned were fine; else the count that were not.  The count
 * spawned goes to *count, on the shared page.
 */
static int forker(long nprocs, long *count)
{
	long spawned = 0, alive = 0, bad = 0;

	for (;;) {
		int more = spawned < nprocs && (spawned < ALIVE_MAX || t_now() < deadline);
		int st;

		if (!more && !alive)
			break;
		if (more && alive < ALIVE_MAX) {
			pid_t pid = fork();

			if (pid == 0)
				_exit(child_body());
			if (pid < 0) {
				bad++;
				nprocs = spawned;
				continue;
			}
			*count = ++spawned;
			alive++;
			continue;
		}
		if (waitpid(-1, &st, 0) < 0)
			break;
		alive--;
		bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	while (wait(NULL) > 0)
		;
	return bad > 125 ? 125 : (int)bad;
}

/*
 * The threads, in a process of their own: what it leaves when it ends
 * (glibc keeps the stacks of ended threads for new ones, with their page
 * tables) goes with it, before the memory is compared.
 */
static int threader(void)
{
	struct sigaction sa = { .sa_handler = on_segv };
	pthread_t th[THREADS];

	if (sigaction(SIGSEGV, &sa, NULL))
		return 1;
	for (int i = 0; i < THREADS; i++)
		rep->started += pthread_create(&th[rep->started], NULL, mapper,
					       (void *)(uintptr_t)(i + 1)) == 0;
	for (int i = 0; i < rep->started; i++)
		pthread_join(th[i], NULL);
	return 0;
}

int main(void)
{
	long seconds = env_long("T_STRESS_SECONDS", 10);
	long nprocs = env_long("T_STRESS_NPROCS", env_long("T_NPROCS", 1000));
	/* The runner kills a program at T_TIMEOUT: the forker's alarm comes
	 * first, so that a hung forker is reported as such.
	 */
	long timeout = env_long("T_TIMEOUT", 120);
	long before[NFIELDS] = { 0 }, after[NFIELDS] = { 0 };
	int have_before = meminfo(before) == 0, have_after = 0, grown = -1;
	int st = -1, tst = -1;
	double t0 = t_now();
	pid_t forker_pid, threader_pid;

	rep = mmap(NULL, PSZ, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rep == MAP_FAILED) {
		t_fail("stress/setup", "mmap: %s", strerror(errno));
		return t_exit();
	}
	deadline = t0 + seconds;
	forker_pid = fork();
	if (forker_pid == 0) {
		alarm(timeout > 30 ? timeout - 15 : 15);
		_exit(forker(nprocs, &rep->spawned));
	}
	threader_pid = fork();
	if (threader_pid == 0) {
		alarm(timeout > 30 ? timeout - 15 : 15);
		_exit(threader());
	}
	if (threader_pid > 0)
		waitpid(threader_pid, &tst, 0);
	if (forker_pid > 0)
		waitpid(forker_pid, &st, 0);
	t_note("%d threads, %ld rounds, beside %ld processes (of %ld; each with a child) "
	       "in %.1f s (asked: %ld s)", rep->started, atomic_load(&rep->thread_rounds),
	       rep->spawned, nprocs, t_now() - t0, seconds);

	t_check("stress/threads-see-own-data", WIFEXITED(tst) && WEXITSTATUS(tst) == 0 &&
		rep->started == THREADS && atomic_load(&rep->thread_bad) == 0 &&
		atomic_load(&rep->thread_rounds) >= THREADS,
		"their process ended with %s; %d of %d threads started, %ld bad words, "
		"failed calls or unzeroed maps, %ld rounds", how(tst), rep->started, THREADS,
		atomic_load(&rep->thread_bad), atomic_load(&rep->thread_rounds));
	t_check("stress/write-protect-faults", atomic_load(&rep->thread_unfaulted) == 0,
		"%ld of %ld writes to write-protected memory went through",
		atomic_load(&rep->thread_unfaulted), atomic_load(&rep->thread_rounds));
	t_check("stress/processes-see-own-data", WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
		rep->spawned >= (nprocs < ALIVE_MAX ? nprocs : ALIVE_MAX),
		"the forker ended with %s after %ld children (exit N: N children failed; "
		"SIGALRM: it hung)", how(st), rep->spawned);

	/* Freed page tables wait for an RCU grace period, and tasks for
	 * their parent's reaping: a few tries a second apart.
	 */
	for (int try = 0; have_before && try < 5; try++) {
		if (try)
			sleep(1);
		have_after = meminfo(after) == 0;
		if (have_after && (grown = meminfo_grown(before, after)) < 0)
			break;
	}
	for (size_t i = 0; i < NFIELDS; i++)
		t_note("%s %ld kB before, %ld kB after", fields[i].name, before[i], after[i]);
	if (!have_before || !have_after)
		t_fail("stress/memory-back", "cannot read every field of /proc/meminfo %s the stress",
		       have_before ? "after" : "before");
	else
		t_check("stress/memory-back", grown < 0,
			"%s: %ld kB before, %ld kB after (allowed: %+ld kB)",
			fields[grown].name, before[grown], after[grown], fields[grown].slack_kb);
	return t_exit();
}
