// SPDX-License-Identifier: GPL-2.0
/* fork/exec/wait and exit codes; copy-on-write after fork. */
#include "t.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

static void exit_codes(void)
{
	static const int codes[] = { 0, 1, 2, 42, 127, 128, 200, 255 };
	int bad = 0;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		int st;
		pid_t pid = fork();

		if (pid == 0)
			_exit(codes[i]);
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != codes[i]) {
			t_fail("exit-codes", "child exiting %d: status 0x%x", codes[i], st);
			bad = 1;
			break;
		}
	}
	if (!bad)
		t_ok("exit-codes");
}

static void killed_status(void)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	t_check("wait-signaled", WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		"status 0x%x, want killed by SIGKILL", st);
}

/* exec: the program runs itself with an argument and must see it, and the
 * exec'ed image's exit code must come back through wait.
 */
static void exec_self(const char *self)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		execl(self, self, "exec-child", "abc", (char *)NULL);
		_exit(99);
	}
	waitpid(pid, &st, 0);
	t_check("exec-wait", WIFEXITED(st) && WEXITSTATUS(st) == 33,
		"exec'ed child status 0x%x, want exit 33", st);

	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
		_exit(99);
	}
	waitpid(pid, &st, 0);
	t_check("exec-busybox-sh", WIFEXITED(st) && WEXITSTATUS(st) == 7,
		"sh -c 'exit 7' status 0x%x", st);

	pid = fork();
	if (pid == 0) {
		execl("/nonexistent", "x", (char *)NULL);
		_exit(errno == ENOENT ? 5 : 6);
	}
	waitpid(pid, &st, 0);
	t_check("exec-enoent", WIFEXITED(st) && WEXITSTATUS(st) == 5,
		"exec of a missing file: status 0x%x, want ENOENT", st);
}

/* Copy-on-write: after fork, writes on either side stay private, in many
 * pages, while a MAP_SHARED mapping stays shared.
 */
static void cow(void)
{
	const size_t pages = 256, psz = 4096;
	unsigned char *priv = mmap(NULL, pages * psz, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *shr = mmap(NULL, psz, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int c2p[2], p2c[2], st = 0, bad = 0;
	char c;
	pid_t pid;

	if (priv == MAP_FAILED || shr == MAP_FAILED || pipe(c2p) || pipe(p2c)) {
		t_fail("cow", "setup: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < pages; i++)
		priv[i * psz] = (unsigned char)i;
	pid = fork();
	if (pid == 0) {
		int cbad = 0;

		/* Child: sees the parent's values, then overwrites them. */
		for (size_t i = 0; i < pages; i++) {
			if (priv[i * psz] != (unsigned char)i)
				cbad = 1;
			priv[i * psz] = 0xee;
		}
		shr[0] = 0x5a;
		if (write(c2p[1], "x", 1) != 1)
			cbad = 1;
		/* Wait until the parent wrote its pages too. */
		if (read(p2c[0], &c, 1) != 1)
			cbad = 1;
		for (size_t i = 0; i < pages; i++)
			if (priv[i * psz] != 0xee)
				cbad = 1;
		_exit(cbad ? 1 : 0);
	}
	/* Parent: wait for the child's writes, check ours are intact. */
	if (read(c2p[0], &c, 1) != 1)
		bad = 1;
	for (size_t i = 0; i < pages; i++) {
		if (priv[i * psz] != (unsigned char)i)
			bad = 1;
		priv[i * psz] = 0x11;
	}
	if (write(p2c[1], "y", 1) != 1)
		bad = 1;
	waitpid(pid, &st, 0);
	t_check("cow-parent-private", !bad, "the child's writes showed in the parent");
	t_check("cow-child-private", WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"child saw wrong data (status 0x%x)", st);
	t_check("shared-anon-shared", shr[0] == 0x5a,
		"MAP_SHARED page not shared: 0x%x", shr[0]);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exec-child") == 0)
		return strcmp(argv[2], "abc") == 0 ? 33 : 34;
	exit_codes();
	killed_status();
	exec_self("/proc/self/exe");
	cow();
	return t_exit();
}
