/* mmap+munmap of a 64 KiB anonymous region that is never touched: the cost
 * of the mapping calls alone (in UML also of mirroring them on the host). */
#include "common.h"
#include <sys/mman.h>

#define LEN (64 * 1024)

static void body(void *ctx, long n)
{
	(void)ctx;
	for (long i = 0; i < n; i++) {
		void *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			die("mmap");
		if (munmap(p, LEN) != 0)
			die("munmap");
	}
}

int main(int argc, char **argv)
{
	struct opts o = parse_opts(argc, argv);

	run_bench("mmap", body, NULL, 1, &o);
	return 0;
}
