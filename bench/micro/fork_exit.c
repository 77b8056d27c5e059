/* fork+exit+wait: process creation and teardown (address-space copy and
 * destruction dominate in UML). */
#include "common.h"
#include <sys/wait.h>

static void body(void *ctx, long n)
{
	(void)ctx;
	for (long i = 0; i < n; i++) {
		pid_t p = fork();

		if (p < 0)
			die("fork");
		if (p == 0)
			_exit(0);
		if (waitpid(p, NULL, 0) < 0)
			die("waitpid");
	}
}

int main(int argc, char **argv)
{
	struct opts o = parse_opts(argc, argv);

	run_bench("fork_exit", body, NULL, 1, &o);
	return 0;
}
