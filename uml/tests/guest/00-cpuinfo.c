// SPDX-License-Identifier: GPL-2.0
/* Reports what the guest kernel says about itself: the "mode" line of
 * /proc/cpuinfo (UML prints its process mode there) and the version.
 */
#include "t.h"

static int show(const char *path, const char *prefix)
{
	char line[512];
	int found = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (prefix && strncmp(line, prefix, strlen(prefix)) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		t_note("%s: %s", path, line);
		found++;
	}
	fclose(f);
	return found;
}

int main(void)
{
	int n = show("/proc/cpuinfo", "mode\t");

	t_check("proc-cpuinfo-readable", n >= 0, "%s", strerror(errno));
	if (n == 0)
		t_note("/proc/cpuinfo has no mode line");
	show("/proc/cpuinfo", "model name");
	t_check("proc-version", show("/proc/version", NULL) > 0, "cannot read /proc/version");
	show("/proc/cmdline", NULL);
	return t_exit();
}
