// SPDX-License-Identifier: GPL-2.0
/*
 * Stress on every vCPU at once, for T_STRESS_SECONDS (default 10): 64
 * threads of one process map, write, write-protect, check and unmap
 * memory in a loop, while another process forks T_NPROCS children (default
 * 1000, fewer if the time is up first, never fewer than 64; at most 64
 * alive at once), each mapping and writing memory and forking a
 * grandchild that checks its copy.  Then: everyone finished
 * within the time and saw only its own data, and the memory the kernel
 * has available is back where it was before (a leak of page tables,
 * pages or address spaces would show there).
 */
#include "t.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define THREADS		64
#define AREA_PAGES	16
#define ALIVE_MAX	64
#define PSZ		4096UL
/* Slack for what the kernel keeps after the stress: per-CPU page lists,
 * slab caches that have not been shrunk.  A leak of one page per process
 * or per thread round is many times more.
 */
#define MEM_SLACK_KB	(16 * 1024L)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? atol(v) : def;
}

/* MemAvailable after the page cache and slab caches were dropped. */
static long mem_available_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f;

	sync();
	f = fopen("/proc/sys/vm/drop_caches", "w");
	if (f) {
		fputs("3\n", f);
		fclose(f);
	}
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static double deadline;
static atomic_long thread_rounds, thread_bad;

/* Each word of each page names the thread and the round. */
static void *mapper(void *arg)
{
	uint64_t id = (uintptr_t)arg;

	/* One round at least, however slow the machine. */
	for (uint64_t round = 0; round == 0 || now() < deadline; round++) {
		uint64_t mark = id << 48 | round, *p;
		long bad = 0;

		p = mmap(NULL, AREA_PAGES * PSZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			atomic_fetch_add(&thread_bad, 1);
			break;
		}
		for (size_t i = 0; i < AREA_PAGES * PSZ / 8; i += 64)
			p[i] = mark;
		mprotect(p, AREA_PAGES * PSZ / 2, PROT_READ);
		for (size_t i = 0; i < AREA_PAGES * PSZ / 8; i += 64)
			bad += p[i] != mark;
		munmap(p, AREA_PAGES * PSZ);
		atomic_fetch_add(&thread_bad, bad);
		atomic_fetch_add(&thread_rounds, 1);
	}
	return NULL;
}

/* A child: its pages hold its pid; its grandchild checks its copy. */
static int child_body(void)
{
	pid_t me = getpid(), pid;
	int st = -1;
	long *p = mmap(NULL, 8 * PSZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 2;
	for (size_t i = 0; i < 8; i++)
		p[i * PSZ / sizeof(long)] = me;
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
 * ALIVE_MAX (a VM under emulation forks slowly).  Exit 0: all that were
 * spawned were fine; else the count that were not.  The count spawned
 * goes to *count, a shared page.
 */
static int forker(long nprocs, long *count)
{
	long spawned = 0, alive = 0, bad = 0;

	for (;;) {
		int more = spawned < nprocs && (spawned < ALIVE_MAX || now() < deadline);
		int st;

		if (!more && !alive)
			break;
		if (more && alive < ALIVE_MAX) {
			pid_t pid = fork();

			if (pid == 0)
				_exit(child_body());
			if (pid < 0) {
				bad++;
				break;
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

int main(void)
{
	long seconds = env_long("T_STRESS_SECONDS", 10);
	long nprocs = env_long("T_NPROCS", 1000);
	long before = mem_available_kb(), after;
	long *spawned = mmap(NULL, PSZ, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_t th[THREADS];
	int started = 0, st = -1;
	double t0 = now();
	pid_t forker_pid;

	if (spawned == MAP_FAILED) {
		t_fail("stress/setup", "mmap: %s", strerror(errno));
		return t_exit();
	}
	deadline = t0 + seconds;
	forker_pid = fork();
	if (forker_pid == 0) {
		alarm(seconds + 90);
		_exit(forker(nprocs, spawned));
	}
	for (int i = 0; i < THREADS; i++)
		started += pthread_create(&th[i], NULL, mapper, (void *)(uintptr_t)(i + 1)) == 0;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (forker_pid > 0)
		waitpid(forker_pid, &st, 0);
	t_note("%d threads, %ld rounds, beside %ld processes (of %ld; each with a child) "
	       "in %.1f s (asked: %ld s)", THREADS, atomic_load(&thread_rounds), *spawned,
	       nprocs, now() - t0, seconds);

	t_check("stress/threads-see-own-data", started == THREADS && atomic_load(&thread_bad) == 0 &&
		atomic_load(&thread_rounds) >= THREADS,
		"%d of %d threads started, %ld bad words or failed maps, %ld rounds",
		started, THREADS, atomic_load(&thread_bad), atomic_load(&thread_rounds));
	t_check("stress/processes-see-own-data", WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
		*spawned >= (nprocs < ALIVE_MAX ? nprocs : ALIVE_MAX),
		"the forker ended with %s after %ld children (exit N: N children failed; "
		"SIGALRM: it hung)", how(st), *spawned);

	after = mem_available_kb();
	t_note("MemAvailable %ld kB before, %ld kB after", before, after);
	t_check("stress/memory-back", before > 0 && after >= before - MEM_SLACK_KB,
		"%ld kB less available after the stress (slack %ld kB)",
		before - after, MEM_SLACK_KB);
	return t_exit();
}
