// SPDX-License-Identifier: GPL-2.0
/*
 * runner DIR: runs every executable in DIR (in name order) inside the UML
 * guest, each in its own process group with a time limit, and turns the
 * "ok NAME" / "not ok NAME: REASON" lines they print into numbered results:
 *
 *   ok 1 prog/check
 *   not ok 2 prog/check: reason
 *   # prog: any other output line
 *   ...
 *   N passed, N failed
 *
 * A program that crashes, times out or exits non-zero without reporting a
 * failure gets a "not ok" line of its own, so no failure goes unnoticed.
 * Environment: T_TIMEOUT (seconds per program, default 120).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int num, passed, failed, skipped;

/* Per-program state while its output is read. */
struct prog {
	const char *name;
	int reported;		/* result lines seen */
	int reported_fail;	/* "not ok" lines seen */
	char line[4096];
	size_t len;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void result(int ok, const char *name, const char *rest)
{
	num++;
	if (ok) {
		if (strstr(rest, " # SKIP"))
			skipped++;
		else
			passed++;
		printf("ok %d %s%s\n", num, name, rest);
	} else {
		failed++;
		printf("not ok %d %s%s\n", num, name, rest);
	}
	fflush(stdout);
}

static void handle_line(struct prog *p, const char *line)
{
	char full[4400];
	const char *rest;
	int ok;

	if (strncmp(line, "ok ", 3) == 0) {
		ok = 1;
		rest = line + 3;
	} else if (strncmp(line, "not ok ", 7) == 0) {
		ok = 0;
		rest = line + 7;
		p->reported_fail++;
	} else {
		/* Diagnostics: drop the program's own "# " prefix, add its name. */
		if (strncmp(line, "# ", 2) == 0)
			line += 2;
		printf("# %s: %s\n", p->name, line);
		fflush(stdout);
		return;
	}
	p->reported++;
	/* "prog/check: reason": the program's name makes checks unique. */
	snprintf(full, sizeof(full), "%s/", p->name);
	result(ok, full, rest);
}

/* feed: splits what was read into lines. */
static void feed(struct prog *p, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || p->len == sizeof(p->line) - 1) {
			p->line[p->len] = '\0';
			handle_line(p, p->line);
			p->len = 0;
			if (buf[i] == '\n')
				continue;
		}
		p->line[p->len++] = buf[i];
	}
}

static void run_one(const char *dir, const char *name, int timeout)
{
	struct prog p = { .name = name };
	char path[4096], buf[4096], why[256];
	int fds[2], status = 0, exited = 0, timed_out = 0;
	double deadline = now() + timeout;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (pipe2(fds, O_CLOEXEC) != 0) {
		result(0, name, ": pipe failed");
		return;
	}
	pid = fork();
	if (pid < 0) {
		result(0, name, ": fork failed");
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		/* Own process group, so that a timeout kills all it started. */
		setpgid(0, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execl(path, name, (char *)NULL);
		printf("not ok exec: %s\n", strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(fds[1]);

	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int r;
		ssize_t n;

		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = 1;
		/* Wake up regularly: the program may exit while children it
		 * left behind keep the pipe open.
		 */
		r = poll(&pfd, 1, 100);
		if (r > 0) {
			n = read(fds[0], buf, sizeof(buf));
			if (n > 0) {
				feed(&p, buf, (size_t)n);
				continue;
			}
			if (n == 0 || errno != EINTR)
				break;	/* EOF: every writer is gone */
		}
		if (exited) {
			/* Drain what is left without blocking, then stop. */
			fcntl(fds[0], F_SETFL, O_NONBLOCK);
			while ((n = read(fds[0], buf, sizeof(buf))) > 0)
				feed(&p, buf, (size_t)n);
			break;
		}
		if (now() > deadline) {
			timed_out = 1;
			break;
		}
	}
	close(fds[0]);
	kill(-pid, SIGKILL);
	if (!exited)
		waitpid(pid, &status, 0);
	if (p.len) {
		p.line[p.len] = '\0';
		handle_line(&p, p.line);
	}

	why[0] = '\0';
	if (timed_out)
		snprintf(why, sizeof(why), ": timed out after %d s", timeout);
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), ": killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WEXITSTATUS(status) != 0 && !p.reported_fail)
		snprintf(why, sizeof(why), ": exit status %d without a failed check",
			 WEXITSTATUS(status));
	else if (p.reported == 0)
		snprintf(why, sizeof(why), ": reported no results");
	if (why[0])
		result(0, name, why);
	/* Where a run's time goes (a comment line: not a result). */
	printf("# time %s: %.1f s\n", name, now() - (deadline - timeout));
	fflush(stdout);
}

static int is_test(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	struct dirent **list;
	const char *env = getenv("T_TIMEOUT");
	int timeout = env ? atoi(env) : 120;
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: runner DIR\n");
		return 2;
	}
	if (timeout <= 0)
		timeout = 120;
	n = scandir(argv[1], &list, is_test, alphasort);
	if (n < 0) {
		printf("not ok 1 runner: cannot list %s: %s\n", argv[1], strerror(errno));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", argv[1], list[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
			run_one(argv[1], list[i]->d_name, timeout);
		free(list[i]);
	}
	free(list);
	if (skipped)
		printf("# %d skipped (not counted: not applicable to this kernel)\n", skipped);
	printf("%d passed, %d failed\n", passed, failed);
	fflush(stdout);
	return failed ? 1 : 0;
}
