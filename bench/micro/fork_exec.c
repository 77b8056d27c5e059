/* fork+exec+wait of a tiny static program (nop): adds exec's fresh
 * address space and ELF loading to fork_exit. */
#include "common.h"
#include <libgen.h>
#include <sys/wait.h>

static char prog[4096];

static void body(void *ctx, long n)
{
	char *args[] = { prog, NULL };
	char *env[] = { NULL };

	(void)ctx;
	for (long i = 0; i < n; i++) {
		int status;
		pid_t p = fork();

		if (p < 0)
			die("fork");
		if (p == 0) {
			execve(prog, args, env);
			_exit(127);
		}
		if (waitpid(p, &status, 0) < 0)
			die("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "fork_exec: %s did not exit 0\n", prog);
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	struct opts o = parse_opts(argc, argv);

	if (o.prog) {
		snprintf(prog, sizeof(prog), "%s", o.prog);
	} else {
		char self[4096];

		/* nop is installed next to this program. */
		snprintf(self, sizeof(self), "%s", argv[0]);
		snprintf(prog, sizeof(prog), "%s/nop", dirname(self));
	}
	if (access(prog, X_OK) != 0)
		die(prog);
	run_bench("fork_exec", body, NULL, 1, &o);
	return 0;
}
