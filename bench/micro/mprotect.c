/* mprotect: flip a touched 4-page region between read-write and read-only;
 * each flip is one operation (UML must change the host mapping too). */
#include "common.h"
#include <sys/mman.h>

static char *region;
static size_t len;

static void body(void *ctx, long n)
{
	(void)ctx;
	for (long i = 0; i < n; i++) {
		if (mprotect(region, len, PROT_READ) != 0 ||
		    mprotect(region, len, PROT_READ | PROT_WRITE) != 0)
			die("mprotect");
		/* Touch it so the next flip has a present page to change. */
		region[0]++;
	}
}

int main(int argc, char **argv)
{
	struct opts o = parse_opts(argc, argv);

	len = 4 * (size_t)sysconf(_SC_PAGESIZE);
	region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		die("mmap");
	memset(region, 1, len);
	run_bench("mprotect", body, NULL, 2, &o);
	return 0;
}
