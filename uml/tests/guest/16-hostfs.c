// SPDX-License-Identifier: GPL-2.0
/*
 * hostfs confined to the hostfs= directory (uml/patches/0005).
 *
 * Without hostfs= on the command line no hostfs mount is allowed: the
 * guest's root must not read or write the host's files with the rights of
 * the user that runs UML.  The suite's runs boot with hostfs=, so that
 * every run has the same checks; umlctl's instances boot without, and
 * initscripts/tests/labs.sh checks there that a mount is refused.
 *
 * With hostfs=ROOT (the harness says so with T_HOSTFS=1),
 * run-guest-suite and vm-guest-run lay out
 *   ROOT/../outside.txt   "hostfs outside\n": what must stay out of reach
 *   ROOT/inside.txt       "hostfs inside\n"
 *   ROOT/sub/             an empty directory
 *   ROOT/link-out         a link to the absolute host path of outside.txt
 * and every way a guest could try to reach outside.txt must fail: "..",
 * the host's link as mount root, a link the guest makes itself, and a
 * directory swapped for a link behind a dentry the guest still holds
 * (hostfs does not revalidate dentries: the host's lookup must hold).
 * Ordinary file operations through the confined paths must still work;
 * no host device node is made.
 */
#include "t.h"
#include <fcntl.h>
#include <libgen.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/time.h>

#define SECRET	"hostfs outside\n"
#define INSIDE	"hostfs inside\n"
#define MNT_A	"/hfs-a"
#define MNT_B	"/hfs-b"
#define MNT_C	"/hfs-c"

/*
 * UML takes hostfs= off the command line it shows, so the harness says
 * T_HOSTFS=1 (passed to init's environment) when it gave one.
 */
static int hostfs_given(void)
{
	const char *v = getenv("T_HOSTFS");

	return v && strcmp(v, "1") == 0;
}

static int mount_hostfs(const char *where, const char *data)
{
	mkdir(where, 0755);
	return mount("none", where, "hostfs", 0, data);
}

/* Reads at most LEN - 1 bytes of PATH (or of DIRFD/PATH) into BUF. */
static int read_at(int dirfd, const char *path, char *buf, size_t len)
{
	int fd = openat(dirfd, path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* 1 when PATH (relative to DIRFD) holds the host's secret. */
static int leaks(int dirfd, const char *path)
{
	char buf[64];

	return read_at(dirfd, path, buf, sizeof(buf)) == 0 && strcmp(buf, SECRET) == 0;
}

static void refused(void)
{
	static const char *const data[] = { NULL, "/", "/etc" };

	for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		int r = mount_hostfs(MNT_A, data[i]);
		int e = errno;

		if (r == 0) {
			umount(MNT_A);
			t_fail("hostfs-refused-without-root",
			       "mount -t hostfs -o %s succeeded with no hostfs= given",
			       data[i] ? data[i] : "(none)");
			return;
		}
		if (e != EPERM) {
			t_fail("hostfs-refused-without-root", "mount failed with %s, not EPERM",
			       strerror(e));
			return;
		}
	}
	t_ok("hostfs-refused-without-root");
}

static int file_ops(char *why, size_t len)
{
	struct timeval tv[2] = { { 1000000000, 0 }, { 1200000000, 0 } };
	struct statfs sfs;
	struct stat st;
	char buf[64];
	int fd;

#define FAIL(...) do { snprintf(why, len, __VA_ARGS__); return -1; } while (0)
	if (mkdir(MNT_A "/d", 0755))
		FAIL("mkdir: %s", strerror(errno));
	fd = open(MNT_A "/d/f", O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (fd < 0 || write(fd, "0123456789", 10) != 10)
		FAIL("create/write: %s", strerror(errno));
	close(fd);
	if (truncate(MNT_A "/d/f", 4) || chmod(MNT_A "/d/f", 0600) ||
	    utimes(MNT_A "/d/f", tv))
		FAIL("truncate/chmod/utimes: %s", strerror(errno));
	if (stat(MNT_A "/d/f", &st) || st.st_size != 4 || (st.st_mode & 07777) != 0600 ||
	    st.st_mtime != 1200000000)
		FAIL("stat after truncate/chmod/utimes: size %lld mode %o mtime %lld",
		     (long long)st.st_size, st.st_mode & 07777, (long long)st.st_mtime);
	if (link(MNT_A "/d/f", MNT_A "/d/g") || rename(MNT_A "/d/g", MNT_A "/h") ||
	    symlink("d/f", MNT_A "/s"))
		FAIL("link/rename/symlink: %s", strerror(errno));
	if (read_at(AT_FDCWD, MNT_A "/s", buf, sizeof(buf)) || strcmp(buf, "0123"))
		FAIL("reading through the guest's link: %s", strerror(errno));
	if (readlink(MNT_A "/s", buf, sizeof(buf)) != 3)
		FAIL("readlink: %s", strerror(errno));
	if (statfs(MNT_A, &sfs) || sfs.f_blocks == 0)
		FAIL("statfs: %s", strerror(errno));
	if (unlink(MNT_A "/s") || unlink(MNT_A "/h") || unlink(MNT_A "/d/f") ||
	    rmdir(MNT_A "/d"))
		FAIL("unlink/rmdir: %s", strerror(errno));
	if (access(MNT_A "/h", F_OK) == 0)
		FAIL("/h still there after unlink");
#undef FAIL
	return 0;
}

static void confined(void)
{
	static const char *const dotdot[] = { "..", "../", "sub/../..", "/..", "sub/../../" };
	char buf[256], target[256], why[200];
	ssize_t n;
	int dfd;

	if (mount_hostfs(MNT_A, NULL)) {
		t_fail("hostfs-mount", "mount: %s", strerror(errno));
		return;
	}
	if (read_at(AT_FDCWD, MNT_A "/inside.txt", buf, sizeof(buf)) || strcmp(buf, INSIDE))
		t_fail("hostfs-mount", "inside.txt unreadable or wrong");
	else
		t_ok("hostfs-mount");
	t_check("hostfs-file-operations", file_ops(why, sizeof(why)) == 0, "%s", why);
	/* A device node on the host would be the host's device for whoever
	 * may open it there (the native runs' UML is root's). */
	if (mknod(MNT_A "/null", S_IFCHR | 0666, makedev(1, 3)) == 0) {
		unlink(MNT_A "/null");
		t_fail("hostfs-no-device-nodes", "mknod of a character device succeeded");
	} else {
		t_check("hostfs-no-device-nodes", errno == EPERM, "mknod: %s, not EPERM",
			strerror(errno));
	}

	/*
	 * ".." in the mount's root path: refused outright, since even a
	 * mount that shows nothing would let chmod, chown and utimes of its
	 * root reach the folder above.
	 */
	why[0] = '\0';
	for (size_t i = 0; i < sizeof(dotdot) / sizeof(dotdot[0]); i++)
		if (mount_hostfs(MNT_B, dotdot[i]) == 0) {
			snprintf(why, sizeof(why), "-o %s mounted%s", dotdot[i],
				 leaks(AT_FDCWD, MNT_B "/outside.txt") ?
				 ", and shows the file outside" : "");
			umount(MNT_B);
		}
	t_check("hostfs-dotdot", !why[0], "%s", why);

	/* The host's link as the mount's root: its target is outside. */
	n = readlink(MNT_A "/link-out", target, sizeof(target) - 1);
	if (n <= 0 || target[0] != '/') {
		t_fail("hostfs-host-link", "readlink link-out: %s", strerror(errno));
		goto out;
	}
	target[n] = '\0';
	why[0] = '\0';
	if (mount_hostfs(MNT_B, "link-out") == 0) {
		if (leaks(AT_FDCWD, MNT_B))
			snprintf(why, sizeof(why), "-o link-out mounts the file outside");
		umount(MNT_B);
	}
	t_check("hostfs-host-link", !why[0], "%s", why);

	/* A link the guest makes, to the host directory holding the secret. */
	char *outside_dir = dirname(target);

	why[0] = '\0';
	if (symlink(outside_dir, MNT_A "/esc")) {
		t_fail("hostfs-guest-link", "symlink: %s", strerror(errno));
		goto out;
	}
	/* Mounted at all, even showing nothing, its root's attributes
	 * would be the outside folder's (a trailing slash follows). */
	for (int slash = 0; slash < 2; slash++)
		if (mount_hostfs(MNT_B, slash ? "esc/" : "esc") == 0) {
			snprintf(why, sizeof(why), "-o esc%s (a link to %s) mounted%s",
				 slash ? "/" : "", outside_dir,
				 leaks(AT_FDCWD, MNT_B "/outside.txt") ?
				 ", and shows the file outside" : "");
			umount(MNT_B);
		}
	unlink(MNT_A "/esc");
	t_check("hostfs-guest-link", !why[0], "%s", why);

	/*
	 * A directory the guest holds open, made a link to the outside
	 * through a second mount (a second dentry cache, as another UML
	 * sharing the directory would be).
	 */
	why[0] = '\0';
	if (mount_hostfs(MNT_C, NULL) || mkdir(MNT_A "/d", 0755)) {
		t_fail("hostfs-stale-dir", "second mount or mkdir: %s", strerror(errno));
		goto out;
	}
	dfd = open(MNT_A "/d", O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || rmdir(MNT_C "/d") || symlink(outside_dir, MNT_C "/d")) {
		t_fail("hostfs-stale-dir", "open, rmdir or symlink: %s", strerror(errno));
	} else {
		int fd;

		if (leaks(dfd, "outside.txt"))
			snprintf(why, sizeof(why), "the held directory now reads outside");
		fd = openat(dfd, "made-by-guest", O_CREAT | O_WRONLY, 0644);
		if (fd >= 0) {
			close(fd);
			snprintf(why, sizeof(why), "created a file through the swapped directory");
		}
		t_check("hostfs-stale-dir", !why[0], "%s", why);
	}
	if (dfd >= 0)
		close(dfd);
	unlink(MNT_C "/d");
	umount(MNT_C);
out:
	umount(MNT_A);
}

int main(void)
{
	if (hostfs_given())
		confined();
	else
		refused();
	return t_exit();
}
