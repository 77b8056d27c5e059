// SPDX-License-Identifier: GPL-2.0
/* Built as a dynamically linked program (not -static): the dynamic loader
 * and libc.so must load and relocate; the check looks for them in
 * /proc/self/maps and calls into libm and libc.
 */
#include "t.h"
#include <math.h>

int main(void)
{
	char line[512];
	int ld = 0, libc = 0;
	FILE *f = fopen("/proc/self/maps", "r");
	volatile double x = 2.0;

	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, "ld-linux"))
			ld = 1;
		if (strstr(line, "libc.so"))
			libc = 1;
	}
	if (f)
		fclose(f);
	t_check("dynamic-loader-mapped", ld && libc, "ld.so %d, libc.so %d in maps", ld, libc);
	t_check("dynamic-libm-call", fabs(sqrt(x) * sqrt(x) - 2.0) < 1e-12,
		"sqrt(2)^2 = %.17g", sqrt(x) * sqrt(x));
	return t_exit();
}
