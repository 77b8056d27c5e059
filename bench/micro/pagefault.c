/* first-touch page fault: map an anonymous region, write one byte to each
 * page, unmap it; the figure is per page (one fault each, with the map and
 * unmap amortised over the region). */
#include "common.h"
#include <sys/mman.h>

static long page, pages;

static void body(void *ctx, long n)
{
	(void)ctx;
	for (long i = 0; i < n; i++) {
		char *p = mmap(NULL, (size_t)(pages * page), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			die("mmap");
		for (long j = 0; j < pages; j++)
			((volatile char *)p)[j * page] = 1;
		if (munmap(p, (size_t)(pages * page)) != 0)
			die("munmap");
	}
}

int main(int argc, char **argv)
{
	struct opts o = parse_opts(argc, argv);

	page = sysconf(_SC_PAGESIZE);
	pages = o.mib * 1024 * 1024 / page;
	run_bench("pagefault", body, NULL, pages, &o);
	return 0;
}
