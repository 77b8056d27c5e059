// SPDX-License-Identifier: GPL-2.0
/*
 * Test runner: selection, one forked child per test with a timeout, result
 * lines, and the mm_struct / vm_area_struct slab leak check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* Filled by the linker from the TEST() registrations. */
/* Weak: a program of the harness's helpers without tests (the benchmark). */
extern const struct test *const __start_skas_tests[] __attribute__((weak));
extern const struct test *const __stop_skas_tests[] __attribute__((weak));

/* Shared with the test child: the first FAIL() reason wins. */
struct shared {
	int failed;
	char reason[4000];
};
static struct shared *shared;

static int verbose;

/* ---- helpers usable by tests ---- */

const char *errstr(int err)
{
	static char bufs[8][96];
	static int next;
	char *b = bufs[next++ % 8];
	const char *name;

	if (err == 0)
		return "success";
	name = strerrorname_np(err);
	snprintf(b, sizeof(bufs[0]), "%s (%d: %s)", name ? name : "E?", err,
		 strerror(err));
	return b;
}

const char *signame(int sig)
{
	static char bufs[4][24];
	static int next;
	char *b = bufs[next++ % 4];
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(b, sizeof(bufs[0]), "SIG%s", abbrev);
	else
		snprintf(b, sizeof(bufs[0]), "signal %d", sig);
	return b;
}

void fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	const char *base = strrchr(file, '/');

	/* Only the first failure counts (several threads may fail at once). */
	if (shared && !__atomic_exchange_n(&shared->failed, 1, __ATOMIC_SEQ_CST)) {
		int n = snprintf(shared->reason, sizeof(shared->reason),
				 "%s:%d: ", base ? base + 1 : file, line);
		va_start(ap, fmt);
		vsnprintf(shared->reason + n, sizeof(shared->reason) - n, fmt, ap);
		va_end(ap);
	} else if (!shared) {
		fprintf(stderr, "%s:%d: ", file, line);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fflush(stdout);
	/* _exit() is exit_group(): ends every thread of the test at once. */
	_exit(1);
}

void note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

unsigned long long fuzz_rng;

unsigned long long rnd(void)
{
	fuzz_rng ^= fuzz_rng >> 12;
	fuzz_rng ^= fuzz_rng << 25;
	fuzz_rng ^= fuzz_rng >> 27;
	return fuzz_rng * 0x2545F4914F6CDD1DULL;
}

unsigned long long below(unsigned long long n)
{
	return n ? rnd() % n : 0;
}

long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	char *end;
	long r;

	if (!v || !*v)
		return def;
	r = strtol(v, &end, 0);
	return *end ? def : r;
}

unsigned long scaled(unsigned long n)
{
	const char *v = getenv("SKAS_SCALE");
	double s = v && *v ? strtod(v, NULL) : 1.0;
	double r = n * s;

	return r < 1 ? 1 : (unsigned long)r;
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- slab leak check ---- */

struct slabs {
	long mm;	/* active mm_struct objects */
	long vma;	/* active vm_area_struct objects */
};

static int leak_check = 1;
static long leak_slack;

/*
 * An exited process's mm_struct can stay pinned as the lazy-TLB active_mm
 * of an idle CPU until that CPU runs a user task again.  Running briefly on
 * every CPU we may use releases those references.
 */
void visit_all_cpus(void)
{
	cpu_set_t orig, one;
	int cpu;

	if (sched_getaffinity(0, sizeof(orig), &orig))
		return;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &orig))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) == 0)
			sched_yield();
	}
	sched_setaffinity(0, sizeof(orig), &orig);
}

static void shrink(const char *cache)
{
	char path[128];
	int fd;

	/* Flushes per-CPU slabs so that active_objs counts only live objects. */
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", cache);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0) {
			/* best effort */
		}
		close(fd);
	}
}

/* Static buffer: the runner must not change its own VMAs while measuring. */
static char slabinfo_buf[1 << 18];

static int read_slabs(struct slabs *s, char *err, size_t errlen)
{
	int fd, n = 0, r;
	char *line;

	visit_all_cpus();
	shrink("mm_struct");
	shrink("vm_area_struct");
	fd = open("/proc/slabinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "/proc/slabinfo: %s", errstr(errno));
		return -1;
	}
	while ((r = read(fd, slabinfo_buf + n, sizeof(slabinfo_buf) - 1 - n)) > 0)
		n += r;
	close(fd);
	slabinfo_buf[n] = 0;
	s->mm = s->vma = -1;
	for (line = slabinfo_buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		char name[64];
		long active;

		if (sscanf(line, "%63s %ld", name, &active) != 2)
			continue;
		if (!strcmp(name, "mm_struct"))
			s->mm = active;
		else if (!strcmp(name, "vm_area_struct"))
			s->vma = active;
	}
	if (s->mm < 0 || s->vma < 0) {
		snprintf(err, errlen,
			 "no mm_struct/vm_area_struct line in /proc/slabinfo (boot with slab_nomerge)");
		return -1;
	}
	return 0;
}

/*
 * Waits up to ~3 s (RCU-freed objects arrive late) for both counts to be
 * back at most at base + slack.  Returns 0, or -1 with a message.
 */
static int check_slabs(const struct slabs *base, struct slabs *cur, char *msg, size_t len)
{
	double deadline = now() + 3.0;
	char err[200];

	for (;;) {
		if (read_slabs(cur, err, sizeof(err))) {
			snprintf(msg, len, "slab check: %s", err);
			return -1;
		}
		if (cur->mm <= base->mm + leak_slack && cur->vma <= base->vma + leak_slack)
			return 0;
		if (now() > deadline)
			break;
		msleep(50);
	}
	snprintf(msg, len, "leak: mm_struct %ld -> %ld, vm_area_struct %ld -> %ld (still after 3 s)",
		 base->mm, cur->mm, base->vma, cur->vma);
	return -1;
}

/* ---- running one test ---- */

static void sanitize(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

/* Kills what is left of the test's process group and reaps it (we are a subreaper). */
static void reap_group(pid_t pgid)
{
	double deadline = now() + 5.0;
	int st;

	kill(-pgid, SIGKILL);
	for (;;) {
		pid_t r = waitpid(-pgid, &st, WNOHANG | __WALL);

		if (r < 0 && errno == ECHILD)
			return;
		if (r > 0)
			continue;
		if (now() > deadline)
			return;
		kill(-pgid, SIGKILL);
		msleep(5);
	}
}

/* Returns 1 if passed; fills reason otherwise. */
static int run_one(const struct test *t, char *reason, size_t len)
{
	struct rlimit nocore = { 0, 0 };
	double deadline;
	pid_t pid;
	int st = 0, done = 0;

	memset(shared, 0, sizeof(*shared));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		snprintf(reason, len, "fork: %s", errstr(errno));
		return 0;
	}
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/*
		 * No transparent huge pages in anything the test makes (new
		 * mms, /proc/mm spaces included, inherit the flag): khugepaged
		 * keeps a dead mm it was scanning for up to 10 s, which the
		 * slab leak check would take for a leak.
		 */
		prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		signal(SIGPIPE, SIG_IGN);
		setrlimit(RLIMIT_CORE, &nocore);
		alarm(t->timeout);
		t->fn();
		fflush(stdout);
		_exit(0);
	}
	setpgid(pid, pid);

	/* Watchdog in case the child cannot even be killed by its alarm. */
	deadline = now() + t->timeout + 10;
	while (!done) {
		pid_t r = waitpid(pid, &st, WNOHANG | __WALL);

		if (r == pid) {
			done = 1;
			break;
		}
		if (r < 0 && errno != EINTR) {
			snprintf(reason, len, "waitpid: %s", errstr(errno));
			return 0;
		}
		if (now() > deadline)
			break;
		msleep(5);
	}
	if (!done) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		deadline = now() + 10;
		while (waitpid(pid, &st, WNOHANG | __WALL) != pid) {
			if (now() > deadline) {
				snprintf(reason, len,
					 "hung for more than %u s and cannot be killed (stuck in the kernel?)",
					 t->timeout + 10);
				return 0;
			}
			msleep(10);
		}
		snprintf(reason, len, "hung: no exit after %u s (alarm had no effect)",
			 t->timeout + 10);
		reap_group(pid);
		return 0;
	}
	reap_group(pid);

	if (shared->failed) {
		shared->reason[sizeof(shared->reason) - 1] = 0;
		snprintf(reason, len, "%s", shared->reason);
		return 0;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 1;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		snprintf(reason, len, "timed out after %u s", t->timeout);
	else if (WIFSIGNALED(st))
		snprintf(reason, len, "test process crashed: %s", signame(WTERMSIG(st)));
	else
		snprintf(reason, len, "test process exited with status %d", WEXITSTATUS(st));
	return 0;
}

/* ---- main ---- */

static int cmp_tests(const struct test *a, const struct test *b, const struct test **all, int n)
{
	int ia = -1, ib = -1, i;

	/* Files in the order they were linked, then by line. */
	for (i = 0; i < n; i++) {
		if (ia < 0 && !strcmp(all[i]->file, a->file))
			ia = i;
		if (ib < 0 && !strcmp(all[i]->file, b->file))
			ib = i;
	}
	if (ia != ib)
		return ia - ib;
	return a->line - b->line;
}

static int selected(const struct test *t, int nglobs, char **globs)
{
	int i;

	if (!nglobs)
		return 1;
	for (i = 0; i < nglobs; i++)
		if (!fnmatch(globs[i], t->name, 0))
			return 1;
	return 0;
}

int harness_main(int argc, char **argv, int need_procmm, const char *usage)
{
	int n = __stop_skas_tests - __start_skas_tests;
	const struct test **orig = calloc(n, sizeof(*orig));
	const struct test **tests = calloc(n, sizeof(*tests));
	int list = 0, opt, i, j, nsel = 0, passed = 0, failed = 0, num = 0;
	struct slabs start = { 0, 0 }, base, cur;
	char reason[4200], err[300];

	if (!orig || !tests)
		return 2;
	while ((opt = getopt(argc, argv, "lvh")) != -1) {
		switch (opt) {
		case 'l':
			list = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "%s", usage);
			return 2;
		}
	}
	for (i = 0; i < n; i++)
		orig[i] = tests[i] = __start_skas_tests[i];
	/* Insertion sort: stable, n is small. */
	for (i = 1; i < n; i++) {
		const struct test *t = tests[i];

		for (j = i; j > 0 && cmp_tests(tests[j - 1], t, orig, n) > 0; j--)
			tests[j] = tests[j - 1];
		tests[j] = t;
	}
	for (i = 0; i < n; i++)
		nsel += selected(tests[i], argc - optind, argv + optind);
	if (list) {
		for (i = 0; i < n; i++)
			if (selected(tests[i], argc - optind, argv + optind))
				printf("%s\n", tests[i]->name);
		return 0;
	}
	if (!nsel) {
		fprintf(stderr, "no test matches the given names\n");
		return 2;
	}
	if (need_procmm && access("/proc/mm", F_OK)) {
		int e = errno;

		fprintf(stderr,
			"error: /proc/mm is not available (%s): the uml_skas_host module is not loaded\n",
			errstr(e));
		printf("# error: /proc/mm is not available (%s): the uml_skas_host module is not loaded\n",
		       errstr(e));
		return 2;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* First output before the baseline: stdio's buffer is a heap allocation. */
	printf("# %d test(s) selected\n", nsel);
	signal(SIGPIPE, SIG_IGN);
	/* Orphaned tracees of a finished test come back to us to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	leak_check = !env_long("SKAS_NO_LEAK_CHECK", 0);
	leak_slack = env_long("SKAS_LEAK_SLACK", 0);
	if (leak_check && read_slabs(&start, err, sizeof(err))) {
		printf("# slab leak check disabled: %s\n", err);
		leak_check = 0;
	}
	if (leak_check)
		printf("# slab baseline: mm_struct %ld, vm_area_struct %ld\n", start.mm, start.vma);

	for (i = 0; i < n; i++) {
		const struct test *t = tests[i];
		int ok;

		if (!selected(t, argc - optind, argv + optind))
			continue;
		num++;
		if (leak_check && read_slabs(&base, err, sizeof(err))) {
			printf("# slab leak check disabled: %s\n", err);
			leak_check = 0;
		}
		reason[0] = 0;
		ok = run_one(t, reason, sizeof(reason));
		if (leak_check) {
			char msg[300];

			if (check_slabs(&base, &cur, msg, sizeof(msg))) {
				if (ok) {
					snprintf(reason, sizeof(reason), "%s", msg);
					ok = 0;
				} else {
					size_t l = strlen(reason);

					snprintf(reason + l, sizeof(reason) - l, "; %s", msg);
				}
			} else if (verbose) {
				printf("# slab after %s: mm_struct %ld -> %ld, vm_area_struct %ld -> %ld\n",
				       t->name, base.mm, cur.mm, base.vma, cur.vma);
			}
		}
		sanitize(reason);
		if (ok) {
			printf("ok %d %s\n", num, t->name);
			passed++;
		} else {
			printf("not ok %d %s: %s\n", num, t->name, reason);
			failed++;
		}
		fflush(stdout);
	}

	if (leak_check) {
		char msg[300];
		int bad = check_slabs(&start, &cur, msg, sizeof(msg));

		printf("# slab at end: mm_struct %ld (start %ld), vm_area_struct %ld (start %ld)\n",
		       cur.mm, start.mm, cur.vma, start.vma);
		num++;
		if (bad) {
			sanitize(msg);
			printf("not ok %d slab_final: %s\n", num, msg);
			failed++;
		} else {
			printf("ok %d slab_final\n", num);
			passed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	fflush(stdout);
	return failed ? 1 : 0;
}
