/* null system call: the raw getppid system call (no libc caching), the
 * smallest guest-to-kernel round trip. */
#include "common.h"
#include <sys/syscall.h>

static void body(void *ctx, long n)
{
	(void)ctx;
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
}

int main(int argc, char **argv)
{
	struct opts o = parse_opts(argc, argv);

	run_bench("syscall", body, NULL, 1, &o);
	return 0;
}
