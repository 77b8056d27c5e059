// SPDX-License-Identifier: GPL-2.0
/* 1,000 processes alive at the same time (T_NPROCS overrides): each child
 * reports that it runs, then waits for the parent to release them all.
 */
#include "t.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

int main(void)
{
	const char *env = getenv("T_NPROCS");
	int n = env ? atoi(env) : 1000, started = 0, reaped = 0, bad = 0;
	int alive[2], release[2];
	struct timespec t0, t1;
	/* n is a parameter (scaled down in the VM runs); the name is fixed. */
	const char *name = "processes-alive-at-once";
	char c;

	t_note("%d processes", n);
	if (pipe(alive) || pipe(release)) {
		t_fail(name, "pipe: %s", strerror(errno));
		return t_exit();
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			t_note("fork %d failed: %s", i, strerror(errno));
			break;
		}
		if (pid == 0) {
			close(alive[0]);
			close(release[1]);
			if (write(alive[1], "a", 1) != 1)
				_exit(1);
			/* Blocks until the parent closes its write end. */
			_exit(read(release[0], &c, 1) == 0 ? 0 : 2);
		}
		started++;
	}
	close(alive[1]);
	close(release[0]);
	/* Every child that started has written its byte before blocking. */
	int running = 0;

	while (running < started && read(alive[0], &c, 1) == 1)
		running++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t_check(name, started == n && running == n, "%d forked, %d running at once",
		started, running);
	t_note("%d processes up in %.2f s", running,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	close(release[1]);	/* release them all */
	for (;;) {
		int st;
		pid_t pid = wait(&st);

		if (pid < 0)
			break;
		reaped++;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	t_check("all-reaped-cleanly", reaped == started && bad == 0,
		"%d reaped of %d, %d with a bad status", reaped, started, bad);
	return t_exit();
}
