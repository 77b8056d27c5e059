/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test runner for the uml-skas host module tests: test registration,
 * failure reporting, the per-test fork/timeout and the slab leak check.
 *
 * A test is a function that returns when it passed and calls FAIL() (which
 * never returns) when it did not.  Each test runs in its own forked child,
 * so a test may leave processes, fds and mappings behind: the runner kills
 * the child's process group and reaps everything after each test.
 */
#ifndef SKAS_TESTS_HARNESS_H
#define SKAS_TESTS_HARNESS_H

#include <errno.h>
#include <stddef.h>

struct test {
	const char *name;
	void (*fn)(void);
	unsigned int timeout;	/* seconds, enforced with alarm() and a watchdog */
	const char *file;	/* file and line give the listing order */
	int line;
};

/*
 * TEST(name, timeout) { body } defines and registers a test.  Registration
 * puts a pointer into the "skas_tests" section; the linker's
 * __start_/__stop_ symbols give the runner the list, so adding a test needs
 * no central table.
 */
#define TEST(name_, timeout_)						\
	static void test_fn_##name_(void);				\
	static const struct test test_desc_##name_ = {			\
		#name_, test_fn_##name_, (timeout_), __FILE__, __LINE__	\
	};								\
	static const struct test *const test_ptr_##name_		\
	__attribute__((used, section("skas_tests"))) = &test_desc_##name_; \
	static void test_fn_##name_(void)

/* Per-test timeout for ordinary tests: generous for a software-emulated VM. */
#define T_DEFAULT 60

void fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
#define FAIL(...) fail_at(__FILE__, __LINE__, __VA_ARGS__)

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond))						\
			FAIL(__VA_ARGS__);				\
	} while (0)

/* Evaluates expr; fails the test if it is -1 (errno set); yields its value. */
#define SYSCHK(expr)							\
	({								\
		long syschk_r_ = (long)(expr);				\
		if (syschk_r_ == -1)					\
			FAIL("%s: %s", #expr, errstr(errno));		\
		syschk_r_;						\
	})

/* expr must fail with -1 and errno == err. */
#define EXPECT_ERRNO(expr, err)						\
	do {								\
		errno = 0;						\
		long ee_r_ = (long)(expr);				\
		int ee_e_ = errno;					\
		if (ee_r_ != -1 || ee_e_ != (err))			\
			FAIL("%s: expected -1 with %s, got %ld (%s)",	\
			     #expr, errstr(err), ee_r_,			\
			     ee_r_ == -1 ? errstr(ee_e_) : "no error");	\
	} while (0)

/* expr must return 0 or an errno value (the /proc/mm op helpers do). */
#define OP_OK(expr)							\
	do {								\
		int ok_e_ = (expr);					\
		if (ok_e_)						\
			FAIL("%s: %s", #expr, errstr(ok_e_));		\
	} while (0)

#define OP_ERR(expr, err)						\
	do {								\
		int oe_e_ = (expr);					\
		if (oe_e_ != (err))					\
			FAIL("%s: expected %s, got %s", #expr,		\
			     errstr(err), errstr(oe_e_));		\
	} while (0)

/* "EINVAL (22: Invalid argument)"; 0 gives "success".  Rotating buffers. */
const char *errstr(int err);
/* "SIGSEGV" etc. */
const char *signame(int sig);

/* Prints "# ..." (figures, diagnostics) and flushes. */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic seconds. */
double now(void);

/* SKAS_SCALE (default 1.0) scales stress counts: scaled(n) = max(1, n*scale). */
unsigned long scaled(unsigned long n);
/* Integer from the environment, or def. */
long env_long(const char *name, long def);

/* The fuzzers' seeded walks: xorshift64* over fuzz_rng (seed it first). */
extern unsigned long long fuzz_rng;
unsigned long long rnd(void);
/* rnd() below n (0 for n == 0). */
unsigned long long below(unsigned long long n);

/*
 * Runs briefly on every allowed CPU: an idle CPU keeps the last exited
 * process's mm_struct as its lazy-TLB mm until it runs a user task again.
 */
void visit_all_cpus(void);

/*
 * Runs the registered tests: [-l] [-v] [GLOB...].  With need_procmm, exits 2
 * with a clear message when /proc/mm is missing.  Returns the exit code.
 */
int harness_main(int argc, char **argv, int need_procmm, const char *usage);

#endif
