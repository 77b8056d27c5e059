// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel features uml/config asks for, seen from inside the guest:
 * file systems registered and mountable (overlay on tmpfs, cgroup2),
 * namespaces that can be created, the hardware-free RNG, magic SysRq and
 * the embedded config.
 */
#include "t.h"
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int has_fs(const char *fs)
{
	char line[128];
	int found = 0;
	FILE *f = fopen("/proc/filesystems", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *tab = strrchr(line, '\t');

		line[strcspn(line, "\n")] = '\0';
		if (strcmp(tab ? tab + 1 : line, fs) == 0)
			found = 1;
	}
	if (f)
		fclose(f);
	return found;
}

static void filesystems(void)
{
	static const char *const want[] = { "ext4", "tmpfs", "overlay", "hostfs",
					    "devtmpfs", "cgroup2", "proc", "sysfs" };
	char missing[256] = "";

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!has_fs(want[i])) {
			strcat(missing, " ");
			strcat(missing, want[i]);
		}
	t_check("filesystems-registered", !missing[0], "missing:%s", missing);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	int ok = fd >= 0 && write(fd, s, strlen(s)) == (ssize_t)strlen(s);

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static void overlay(void)
{
	char buf[16] = { 0 };
	int fd;

	mkdir("/tmp/ov", 0755);
	if (mount("tmpfs", "/tmp/ov", "tmpfs", 0, NULL)) {
		t_fail("overlayfs-mount", "tmpfs: %s", strerror(errno));
		return;
	}
	mkdir("/tmp/ov/lower", 0755);
	mkdir("/tmp/ov/upper", 0755);
	mkdir("/tmp/ov/work", 0755);
	mkdir("/tmp/ov/merged", 0755);
	write_file("/tmp/ov/lower/f", "lower");
	if (mount("overlay", "/tmp/ov/merged", "overlay", 0,
		  "lowerdir=/tmp/ov/lower,upperdir=/tmp/ov/upper,workdir=/tmp/ov/work")) {
		t_fail("overlayfs-mount", "%s", strerror(errno));
		umount("/tmp/ov");
		return;
	}
	t_ok("overlayfs-mount");
	/* A write through the overlay copies up; the lower file stays. */
	write_file("/tmp/ov/merged/f", "upper");
	fd = open("/tmp/ov/lower/f", O_RDONLY);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = '\0';
		close(fd);
	}
	t_check("overlayfs-copy-up", strcmp(buf, "lower") == 0 &&
		access("/tmp/ov/upper/f", F_OK) == 0, "lower now '%s'", buf);
	umount("/tmp/ov/merged");
	umount("/tmp/ov");
}

static void cgroup2(void)
{
	mkdir("/tmp/cg", 0755);
	if (mount("cgroup2", "/tmp/cg", "cgroup2", 0, NULL)) {
		t_fail("cgroup2-mount", "%s", strerror(errno));
		return;
	}
	t_ok("cgroup2-mount");
	t_check("cgroup2-create-group", mkdir("/tmp/cg/test", 0755) == 0 &&
		access("/tmp/cg/test/cgroup.procs", F_OK) == 0, "%s", strerror(errno));
	rmdir("/tmp/cg/test");
	umount("/tmp/cg");
}

static void namespaces(void)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		if (unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS |
			    CLONE_NEWPID | CLONE_NEWCGROUP))
			_exit(1);
		if (sethostname("inner", 5))
			_exit(2);
		pid = fork();	/* first process of the new pid namespace */
		if (pid == 0)
			_exit(getpid() == 1 ? 0 : 3);
		waitpid(pid, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 4);
	}
	waitpid(pid, &st, 0);
	t_check("namespaces-unshare", WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"child status 0x%x (1 unshare, 2 sethostname, 3 pid ns)", st);

	pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
	waitpid(pid, &st, 0);
	t_check("user-namespace", WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
}

static void devices(void)
{
	unsigned char rnd[16] = { 0 };
	int fd = open("/dev/hwrng", O_RDONLY), nonzero = 0;
	ssize_t r = fd >= 0 ? read(fd, rnd, sizeof(rnd)) : -1;

	for (size_t i = 0; i < sizeof(rnd); i++)
		nonzero |= rnd[i];
	t_check("uml-random-hwrng", r == (ssize_t)sizeof(rnd) && nonzero,
		"/dev/hwrng: read %zd (%s)", r, strerror(errno));
	if (fd >= 0)
		close(fd);
	t_check("magic-sysrq", access("/proc/sysrq-trigger", W_OK) == 0, "%s", strerror(errno));
	t_check("config-gz", access("/proc/config.gz", R_OK) == 0, "%s", strerror(errno));
}

int main(void)
{
	filesystems();
	overlay();
	cgroup2();
	namespaces();
	devices();
	return t_exit();
}
