// SPDX-License-Identifier: GPL-2.0
/* A large anonymous allocation touched page by page, then verified.  Size
 * in MiB from T_BIGALLOC_MB (default 512; the harness passes it on the
 * kernel command line, which init hands on as environment).
 */
#include "t.h"
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

int main(void)
{
	const char *env = getenv("T_BIGALLOC_MB");
	size_t mb = env ? strtoul(env, NULL, 10) : 512;
	size_t size = mb << 20, pages = size / 4096, bad = 0;
	struct timespec t0, t1;
	/* The size is a parameter (scaled down in the VM runs); the check's
	 * name stays the same so that runs can be compared by name.
	 */
	const char *name = "alloc-touch-every-page";
	uint64_t *m;

	t_note("allocating %zu MiB", mb);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		t_fail(name, "mmap: %s", strerror(errno));
		return t_exit();
	}
	/* One write per page: each one is a separate page fault. */
	for (size_t p = 0; p < pages; p++)
		m[p * 512] = p ^ 0xa5a5a5a5a5a5ULL;
	for (size_t p = 0; p < pages; p++)
		if (m[p * 512] != (p ^ 0xa5a5a5a5a5a5ULL) || m[p * 512 + 1] != 0)
			bad++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t_check(name, bad == 0, "%zu of %zu pages wrong", bad, pages);
	t_note("%zu page faults in %.2f s", pages,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	t_check("munmap-big", munmap(m, size) == 0, "%s", strerror(errno));
	return t_exit();
}
