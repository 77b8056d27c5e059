// SPDX-License-Identifier: GPL-2.0
/*
 * carrier_fuzz: a seeded random walk over what a carrier's owner can ask
 * of /dev/uml-skas.  RUN requests with mutated registers (non-canonical and
 * kernel addresses, any selector, any flag bit), stray request flags,
 * foreign or fresh address spaces and batches of valid, boundary and
 * garbage /proc/mm operations, carrying xstate in and out; SET_XSTATE and
 * RUN with mutated state (reserved header bits, bad MXCSR, wrong sizes
 * and pointers); LDT requests with random arguments; signals to the
 * carrier and kicks (an interval timer on the runner, so guest code that
 * spins still stops).  Carriers that die are replaced.
 *
 * The walk runs as the instance's user would: nobody, in the module's
 * group.  Pass means: every request returns (the test's timeout), every
 * RUN that succeeds names a known stop, and every stop shows user code
 * and stack segments with IF on and IOPL, NT and VM off; no kernel splat (the VM runner reads the
 * log) and the slab counts are back at their baseline (the harness).
 *
 * SKAS_FUZZ_SEED (default 1) chooses the walk, SKAS_CARRIER_FUZZ_RUNS
 * (default 6000) its length; SKAS_FUZZ_BUDGET (default 300 s) ends it
 * early with a note.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "carrier.h"
#include "harness.h"
#include "tracee.h"

#define MAX_BATCH	(PROC_MM_MAX_OPS + 64)

static uint64_t pick_value(void)
{
	static const uint64_t interesting[] = {
		0, 1, ~0ULL, 0x8000000000000000ULL, 0x7fffffffffffULL,
		0x800000000000ULL, 0xffff800000000000ULL, 0xffffffff81000000ULL,
		0xffffffffff600000ULL, CODE_ADDR, STACK_ADDR, DATA_ADDR, FREE_ADDR,
		USER_CS, USER32_CS, USER_DS, 0x10, 0x18, 0x63, 0x7, 0xf, 0xffff,
		0x202 | (1 << 8), 0x202 | (3 << 12), 0x202 | (1 << 14), 0x202 | (1 << 17),
		0x202 | (1 << 18), 0x202 | (1 << 21), 0x3f7fd7,
	};

	switch (below(4)) {
	case 0:
		return rnd();
	case 1:
		return below(0x10000);
	default:
		return interesting[below(sizeof(interesting) / sizeof(interesting[0]))];
	}
}

static uint64_t pick_rip(void)
{
	switch (below(6)) {
	case 0:
		return BLOB(blob_getpid);
	case 1:
		return BLOB(blob_spin);
	case 2:
		return BLOB(blob_trap);
	case 3:
		return CODE_ADDR + below(PAGE);
	default:
		return pick_value();
	}
}

static void fuzz_regs(struct skas_regs *r)
{
	uint64_t *field = (uint64_t *)r;
	size_t nfields = sizeof(*r) / sizeof(uint64_t);

	regs_init(r, pick_rip(), pick_value(), pick_value(), pick_value());
	for (uint64_t n = below(4); n > 0; n--)
		field[below(nfields)] = pick_value();
}

static struct proc_mm_op batch[MAX_BATCH];

static void fuzz_op(struct proc_mm_op *op, const struct carrier *c)
{
	static const unsigned long addrs[] = { 0, 0x1000, CODE_ADDR, STACK_ADDR, DATA_ADDR,
					       FREE_ADDR, 0x7ffffffff000UL, 0x800000000000UL,
					       0xfffffffffffff000UL, 0x123 };
	static const unsigned long lens[] = { 0, 1, PAGE, 16 * PAGE, 1UL << 30,
					      0x800000000000UL, ~0UL };
	unsigned long addr = addrs[below(sizeof(addrs) / sizeof(addrs[0]))];
	unsigned long len = lens[below(sizeof(lens) / sizeof(lens[0]))];
	long fds[] = { -1, 0, 1, 2, c->dev, c->mm, 1000 };

	memset(op, 0, sizeof(*op));
	switch (below(5)) {
	case 0:
		op->op = MM_MMAP;
		op->u.mmap = (struct mm_mmap){ addr, len, below(16), below(2) ? 0x32 : rnd(),
					       (unsigned long)fds[below(7)],
					       below(2) ? 0 : pick_value() };
		break;
	case 1:
		op->op = MM_MUNMAP;
		op->u.munmap = (struct mm_munmap){ addr, len };
		break;
	case 2:
		op->op = MM_MPROTECT;
		op->u.mprotect = (struct mm_mprotect){ addr, len, (unsigned int)below(16) };
		break;
	case 3:
		op->op = MM_COPY_SEGMENTS;
		op->u.copy_segments = (int)fds[below(7)];
		break;
	default:
		for (size_t i = 0; i < sizeof(*op); i += 8)
			*(uint64_t *)((char *)op + i) = rnd();
	}
}

static void fuzz_batch(struct skas_run *run, const struct carrier *c)
{
	static const uint64_t bad_ptrs[] = { 0, 8, 0xffff888000000000ULL, 0x7ffffffff000ULL };
	uint32_t n;

	switch (below(10)) {
	case 0:
		n = (uint32_t)below(MAX_BATCH + 1);
		break;
	case 1:
	case 2:
		n = 1 + (uint32_t)below(8);
		break;
	default:
		n = 0;
	}
	for (uint32_t i = 0; i < n && i < MAX_BATCH; i++)
		fuzz_op(&batch[i], c);
	run->nr_ops = below(20) ? n : (uint32_t)rnd();
	run->ops = below(20) ? (uint64_t)(uintptr_t)batch : bad_ptrs[below(4)];
}

struct tally {
	unsigned long runs, errors, stops[8], restarts, xstate, ldt, signals;
};

/*
 * The kick timer's SIGALRM is blocked except around RUN, so that nothing
 * else (a first RUN, a waitpid, a space's setup write) sees EINTR.
 */
static sigset_t alarm_set;

static void restart(struct carrier *c, struct tally *t)
{
	struct skas_run run = { 0 };

	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->dev);
	close(c->mm);
	carrier_start(c);
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	run_first(c, &run);
	t->restarts++;
}

/* The last state read from the carrier, mutated: SET's and RUN's input. */
static unsigned char xs_buf[1 << 16] __attribute__((aligned(64)));

static void mutate_xstate(unsigned char *buf, size_t size);

/* RUN's xstate fields: mostly none, else valid, mutated or garbage. */
static void pick_run_xstate(struct carrier *c, struct skas_run *run)
{
	long size = ioctl(c->dev, SKAS_CARRIER_XSTATE_SIZE);

	run->flags = 0;
	run->xstate = 0;
	run->xstate_size = 0;
	if (below(3) || size <= 0 || size > (long)sizeof(xs_buf))
		return;
	run->flags = below(50) ? 1 + below(3) : rnd();
	run->xstate = below(20) ? (uint64_t)(uintptr_t)xs_buf : pick_value();
	run->xstate_size = below(20) ? (uint32_t)size : (uint32_t)rnd();
	if (!below(4))
		mutate_xstate(xs_buf, (size_t)size);
}

static void do_run(struct carrier *c, struct tally *t)
{
	struct skas_run run = { 0 };
	int mm_fd = -1, fresh = -1;
	long ret;

	fuzz_regs(&run.regs);
	fuzz_batch(&run, c);
	switch (below(20)) {
	case 0:
		mm_fd = c->mm;
		break;
	case 1:
		mm_fd = fresh = space_new();
		break;
	case 2:
		mm_fd = (int)below(12);
		break;
	}
	run.version = below(50) ? SKAS_CARRIER_VERSION : (uint32_t)rnd();
	run.mm_fd = mm_fd;
	pick_run_xstate(c, &run);
	if (!below(50))
		run.exit.reserved[below(3)] = rnd();
	sigprocmask(SIG_UNBLOCK, &alarm_set, NULL);
	ret = ioctl(c->dev, SKAS_CARRIER_RUN, &run);
	sigprocmask(SIG_BLOCK, &alarm_set, NULL);
	t->runs++;
	if (fresh >= 0)
		close(fresh);
	if (ret < 0) {
		t->errors++;
		if (errno == ESRCH)
			restart(c, t);
		return;
	}
	CHECK(run.exit.reason >= SKAS_EXIT_SYSCALL && run.exit.reason <= SKAS_EXIT_REFUSED,
	      "RUN returned 0 with stop reason %u", run.exit.reason);
	/* Where the carrier stopped, it was a user program, whatever it was handed. */
	if (run.exit.reason <= SKAS_EXIT_KICK) {
		CHECK((run.regs.cs == USER_CS || run.regs.cs == USER32_CS) &&
		      run.regs.ss == USER_DS,
		      "stop %s with cs %#llx ss %#llx", reason_str(run.exit.reason),
		      (unsigned long long)run.regs.cs, (unsigned long long)run.regs.ss);
		CHECK((run.regs.eflags & 0x200) &&
		      !(run.regs.eflags & ((3 << 12) | (1 << 17))),
		      "stop %s with flags %#llx (IF off, or IOPL or VM on)",
		      reason_str(run.exit.reason), (unsigned long long)run.regs.eflags);
	}
	t->stops[run.exit.reason]++;
	if (run.exit.reason == SKAS_EXIT_DEAD)
		restart(c, t);
}

static void do_xstate(struct carrier *c, struct tally *t)
{
	unsigned char *buf = xs_buf;
	long size = ioctl(c->dev, SKAS_CARRIER_XSTATE_SIZE);
	struct skas_xstate x = { (uint64_t)(uintptr_t)buf, 0, 0 };

	t->xstate++;
	if (size <= 0 || size > (long)sizeof(xs_buf))
		return;
	x.size = (uint32_t)size;
	if (ioctl(c->dev, SKAS_CARRIER_GET_XSTATE, &x) < 0)
		return;
	mutate_xstate(buf, (size_t)size);
	if (!below(10))
		x.size = (uint32_t)below(sizeof(xs_buf) + 1);
	if (!below(20))
		x.flags = (uint32_t)rnd();
	if (!below(20))
		x.buf = pick_value();
	ioctl(c->dev, SKAS_CARRIER_SET_XSTATE, &x);
}

static void mutate_xstate(unsigned char *buf, size_t size)
{
	for (uint64_t n = 1 + below(4); n > 0; n--) {
		size_t off;

		switch (below(3)) {
		case 0:		/* the XSAVE header: xstate_bv, xcomp_bv, reserved */
			off = 512 + below(64);
			break;
		case 1:		/* MXCSR and MXCSR_MASK */
			off = 24 + below(8);
			break;
		default:
			off = below((uint64_t)size);
		}
		buf[off] = (unsigned char)rnd();
	}
}

static void do_ldt(struct carrier *c, struct tally *t)
{
	static unsigned char buf[1 << 16];
	struct skas_ldt l = { below(4) ? c->mm : (int)below(12), (int)below(4) ? 0x11 : (int)rnd(),
			      (uint64_t)(uintptr_t)buf, below(2) ? 16 : below(sizeof(buf) + 1) };

	for (size_t i = 0; i < 16; i++)
		buf[i] = (unsigned char)rnd();
	if (!below(10))
		l.ptr = pick_value();
	t->ldt++;
	ioctl(c->dev, SKAS_CARRIER_LDT, &l);
}

static void do_signal(struct carrier *c, struct tally *t)
{
	static const int sigs[] = { SIGSTOP, SIGCONT, SIGSEGV, SIGUSR1, SIGTRAP, SIGKILL };
	int sig = sigs[below(sizeof(sigs) / sizeof(sigs[0]))];

	t->signals++;
	kill(c->pid, sig);
	if (sig == SIGSTOP) {
		usleep((useconds_t)below(2000));
		kill(c->pid, SIGCONT);
	}
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* The walk, as the instance's user: nobody, in the module's group. */
static void walk(void)
{
	long seed = env_long("SKAS_FUZZ_SEED", 1);
	long runs = env_long("SKAS_CARRIER_FUZZ_RUNS", 6000);
	double budget = env_long("SKAS_FUZZ_BUDGET", 300);
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval it = { { 0, 5000 }, { 0, 5000 } }, off = { 0 }, saved;
	struct tally t = { 0 };
	struct carrier c;
	double t0 = now();
	long i;

	fuzz_rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(seed + 1);
	note("carrier fuzz: seed %ld, %ld steps, as nobody in the group", seed, runs);
	carrier_start(&c);
	{
		struct skas_run run = { 0 };

		regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
		run_first(&c, &run);
	}
	/* No SA_RESTART: the timer interrupts RUN, which kicks (as in UML). */
	SYSCHK(sigaction(SIGALRM, &sa, &old));
	sigemptyset(&alarm_set);
	sigaddset(&alarm_set, SIGALRM);
	sigprocmask(SIG_BLOCK, &alarm_set, NULL);
	SYSCHK(setitimer(ITIMER_REAL, &it, &saved));
	for (i = 0; i < runs && now() - t0 < budget; i++) {
		switch (below(40)) {
		case 0:
			do_signal(&c, &t);
			break;
		case 1:
		case 2:
			do_ldt(&c, &t);
			break;
		case 3:
		case 4:
		case 5:
			do_xstate(&c, &t);
			break;
		case 6:
			ioctl(c.dev, SKAS_CARRIER_KICK);
			break;
		case 7:
			if (!below(5))
				restart(&c, &t);
			break;
		default:
			do_run(&c, &t);
		}
	}
	SYSCHK(setitimer(ITIMER_REAL, &off, NULL));
	/*
	 * A tick may be pending (blocked): let our handler take it before
	 * the old action, the default one that kills, comes back.
	 */
	sigprocmask(SIG_UNBLOCK, &alarm_set, NULL);
	SYSCHK(sigaction(SIGALRM, &old, NULL));
	/* The harness's own alarm, what is left of it. */
	SYSCHK(setitimer(ITIMER_REAL, &saved, NULL));
	if (i < runs)
		note("carrier fuzz: budget of %.0f s spent after %ld steps", budget, i);
	note("carrier fuzz: %lu RUNs (%lu errors; stops: %lu syscall, %lu fault, %lu signal, "
	     "%lu kick, %lu dead, %lu refused), %lu xstate, %lu LDT, %lu signals, "
	     "%lu new carriers, %.1f s",
	     t.runs, t.errors, t.stops[SKAS_EXIT_SYSCALL], t.stops[SKAS_EXIT_FAULT],
	     t.stops[SKAS_EXIT_SIGNAL], t.stops[SKAS_EXIT_KICK], t.stops[SKAS_EXIT_DEAD],
	     t.stops[SKAS_EXIT_REFUSED], t.xstate, t.ldt, t.signals, t.restarts, now() - t0);
	CHECK(t.runs > t.errors, "no RUN succeeded: the walk did not reach the guest");
	kill(c.pid, SIGKILL);
	waitpid(c.pid, NULL, 0);
	close(c.dev);
	close(c.mm);
}

TEST(carrier_fuzz, 400)
{
	pid_t pid = SYSCHK(fork());
	int st;

	if (!pid) {
		become_nobody(1);
		walk();
		_exit(0);
	}
	SYSCHK(waitpid(pid, &st, 0));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the walk ended with status %#x", st);
}
