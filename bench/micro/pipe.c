/* pipe ping-pong: one byte there and back between two processes over two
 * pipes; per round trip (two process switches). */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

static int to_child[2], to_parent[2];

static void body(void *ctx, long n)
{
	char c = 'x';

	(void)ctx;
	for (long i = 0; i < n; i++) {
		if (write(to_child[1], &c, 1) != 1)
			die("write");
		if (read(to_parent[0], &c, 1) != 1)
			die("read");
	}
}

int main(int argc, char **argv)
{
	struct opts o = parse_opts(argc, argv);
	pid_t p;

	if (pipe(to_child) || pipe(to_parent))
		die("pipe");
	p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		char c;

		/* Only the parent's ends stay open in the parent, so that the
		 * echo loop sees end-of-file when the parent closes its end.
		 */
		close(to_child[1]);
		close(to_parent[0]);
		/* Echo until the parent closes its end. */
		while (read(to_child[0], &c, 1) == 1)
			if (write(to_parent[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	run_bench("pipe", body, NULL, 1, &o);
	close(to_child[1]);
	waitpid(p, NULL, 0);
	return 0;
}
