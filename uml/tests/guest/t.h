/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the guest test programs.  Each program prints one line
 * per check, "ok NAME" or "not ok NAME: REASON" (or "ok NAME # SKIP WHY");
 * the guest runner (runner.c) numbers them and counts.  A program's exit
 * status is 0 when all its checks passed, 1 otherwise.
 */
#ifndef UML_TEST_T_H
#define UML_TEST_T_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int t_failures;

/* Output goes through stdio; flush after each line so that lines survive a
 * crash of the program and are not duplicated in fork()ed children.
 */
static inline void t_ok(const char *name)
{
	printf("ok %s\n", name);
	fflush(stdout);
}

__attribute__((format(printf, 2, 3)))
static inline void t_fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("not ok %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	t_failures++;
}

__attribute__((format(printf, 2, 3)))
static inline void t_skip(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("ok %s # SKIP ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Diagnostic line: shown by the runner, not counted. */
__attribute__((format(printf, 1, 2)))
static inline void t_note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* t_check(name, cond, fmt...): ok when cond holds, else not ok with reason. */
#define t_check(name, cond, ...)                      \
	do {                                          \
		if (cond)                             \
			t_ok(name);                   \
		else                                  \
			t_fail(name, __VA_ARGS__);    \
	} while (0)

/* A wait status in words; two buffers: a message may describe two children. */
static inline const char *how(int st)
{
	static char bufs[2][64];
	static int next;
	char *s = bufs[next++ % 2];

	if (WIFEXITED(st))
		snprintf(s, sizeof(bufs[0]), "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(s, sizeof(bufs[0]), "signal %d", WTERMSIG(st));
	else
		snprintf(s, sizeof(bufs[0]), "status %#x", st);
	return s;
}

/* Runs fn in a child under a 10 s alarm (fn may set another); returns its
 * wait status, or -1.
 */
static inline int in_child(void (*fn)(void))
{
	pid_t pid = fork();
	int st = -1;

	if (pid == 0) {
		alarm(10);
		fn();
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

/* Seconds on the monotonic clock. */
static inline double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline int t_exit(void)
{
	return t_failures ? 1 : 0;
}

#endif
