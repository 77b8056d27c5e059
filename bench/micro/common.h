/*
 * common.h: option parsing, timing and the RESULT line shared by the
 * microbenchmarks of bench/micro/.  Header-only (static inline) so that
 * every benchmark stays one small, self-contained static program.
 *
 * Every benchmark accepts:
 *   -t MS    time budget in milliseconds (default 300): the loop runs in
 *            growing batches until this much time has passed, so one
 *            setting fits both the host and a 100x slower guest
 *   -n N     run exactly N operations instead (overrides -t)
 *   -d DIR   directory for files (file_io only; default /tmp)
 *   -m MIB   region size in MiB (pagefault only; default 16)
 *   -x PROG  program to exec (fork_exec only; default: "nop" next to argv[0])
 * and prints one line:  RESULT <name> <ns_per_op> ns/op <operations>
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct opts {
	long budget_ms;
	long count;		/* 0: use the time budget */
	const char *dir;
	long mib;
	const char *prog;
	const char *argv0;
};

static inline void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static inline void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-t MS | -n N] [-d DIR] [-m MIB] [-x PROG]\n", argv0);
	exit(2);
}

static inline long parse_num(const char *s, const char *argv0)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0)
		usage(argv0);
	return v;
}

static inline struct opts parse_opts(int argc, char **argv)
{
	struct opts o = { 300, 0, "/tmp", 16, NULL, argv[0] };
	int c;

	while ((c = getopt(argc, argv, "t:n:d:m:x:")) != -1) {
		switch (c) {
		case 't': o.budget_ms = parse_num(optarg, argv[0]); break;
		case 'n': o.count = parse_num(optarg, argv[0]); break;
		case 'd': o.dir = optarg; break;
		case 'm': o.mib = parse_num(optarg, argv[0]); break;
		case 'x': o.prog = optarg; break;
		default: usage(argv[0]);
		}
	}
	if (optind != argc)
		usage(argv[0]);
	return o;
}

static inline long long now_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC: inside UML this is the guest's clock, which is what
	 * a guest program experiences; the host-side harness compares those. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One call of a benchmark body runs n units; each unit is ops_per_unit
 * operations (e.g. pages of a region). */
typedef void (*body_fn)(void *ctx, long n);

static inline void report(const char *name, long long ns, long long ops)
{
	printf("RESULT %s %.1f ns/op %lld\n", name, ops ? (double)ns / (double)ops : 0.0, ops);
	fflush(stdout);
}

/*
 * Runs body until the budget is spent (or exactly o->count units) and prints
 * the RESULT line.  A warm-up of about a tenth of the budget comes first, so
 * that page tables, caches and (in UML) the guest's stub mappings exist
 * before the clock starts.  Batches double until one takes at least 1/20 of
 * the budget, which keeps clock reads out of the figure for fast bodies.
 */
static inline void run_bench(const char *name, body_fn body, void *ctx,
			     long ops_per_unit, const struct opts *o)
{
	long long start, elapsed = 0, units = 0, budget = o->budget_ms * 1000000LL;
	long batch = 1;

	if (o->count) {
		body(ctx, 1);
		start = now_ns();
		body(ctx, o->count);
		report(name, now_ns() - start, (long long)o->count * ops_per_unit);
		return;
	}
	start = now_ns();
	while (now_ns() - start < budget / 10) {
		body(ctx, batch);
		batch *= 2;
	}
	batch = 1;
	while (elapsed < budget) {
		long long t0 = now_ns(), dt;

		body(ctx, batch);
		dt = now_ns() - t0;
		elapsed += dt;
		units += batch;
		if (dt < budget / 20 && batch < (1L << 30))
			batch *= 2;
	}
	report(name, elapsed, units * ops_per_unit);
}

#endif
