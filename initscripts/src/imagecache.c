/* imagecache.c: images shipped compressed, unpacked on first use.
 *
 * dpkg and rpm cannot store a sparse file, so a large image (the 2 GiB
 * Debian one, about 210 MB used) ships as image_dir/NAME.ext4.zst.  UML
 * needs it unpacked: umlctl unpacks it, sparse, into
 * /var/cache/uml-skas/images/NAME.ext4 when an instance needs it (start,
 * revert) or when told to (`umlctl image unpack`, which the image
 * packages run after installation).  Nothing is written under /usr.
 *
 * The cache file gets the .zst's mtime, which is the package's: an
 * instance's COW disk records its image's mtime, so a cache file removed
 * and unpacked again from the same package is the same image to it.  One
 * whose mtime differs from the .zst's is stale (a new package) and is
 * replaced; image keep (image.c), run by the package before the upgrade,
 * has kept the old one for the disks made on it.  So a package must not
 * ship other bytes with the same mtime (a new build is a new version,
 * with a new changelog date).
 *
 * Only root unpacks, and only a .zst that is root's and writable by no
 * one else (a file another user could change would become every
 * instance's root file system).  It is opened once, without following a
 * link, and zstd reads that descriptor: the mtime given to the copy is
 * the one of the bytes unpacked, even if a package replaces the .zst
 * meanwhile.  The copy has the .zst's group and mode (without write
 * bits), as a kept image has its image's (image.c).  The cache folders
 * must be root's and writable by no one else (checked on every use);
 * they are made 0755 whatever root's umask, since the instances' users
 * open the image through them.  The file is written beside the cache
 * file and renamed over it once complete, under the images lock
 * (lock.c), so an instance never sees half an image and two starts do
 * not unpack at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umlctl.h"

/* Where Debian and Fedora put it: root does not run what PATH finds. */
#define ZSTD "/usr/bin/zstd"

static int cache_dir(char *out, size_t len)
{
	return root_path(out, len, "/var/cache/uml-skas/images");
}

int image_find(const struct global_conf *g, const char *name, char *path,
	       size_t len, char *zst, size_t zlen)
{
	char dir[PATH_LEN];
	struct stat st;

	zst[0] = '\0';
	if (strchr(name, '/'))
		return snprintf_ok(path, len, "%s", name);
	if (snprintf_ok(path, len, "%s/%s.ext4", g->image_dir, name) < 0)
		return -1;
	if (stat(path, &st) == 0 || errno != ENOENT)
		return 0;
	if (snprintf_ok(zst, zlen, "%s.zst", path) < 0)
		return -1;
	if (stat(zst, &st) < 0) {
		zst[0] = '\0';
		return 0;
	}
	if (cache_dir(dir, sizeof(dir)) < 0)
		return -1;
	return snprintf_ok(path, len, "%s/%s.ext4", dir, name);
}

/* Whether a .zst may be unpacked: a file of root's that only root may
 * write to. */
static bool zst_trusted(const struct stat *z)
{
	return S_ISREG(z->st_mode) && z->st_uid == 0 && !(z->st_mode & 022);
}

/* The mode and group the copy of a .zst gets. */
static mode_t copy_mode(const struct stat *z)
{
	return z->st_mode & 0755;
}

/* Whether PATH is the image unpacked from the .zst Z. */
static bool unpacked(const char *path, const struct stat *z)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
	       st.st_gid == z->st_gid && (st.st_mode & 07777) == copy_mode(z) &&
	       st.st_mtime == z->st_mtime;
}

/* DIR is root's and only root may write to it; fix: made here, so it
 * gets 0755 whatever root's umask, and said when it is not. */
static int dir_safe(const char *dir, bool fix)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		if (fix)
			err("image unpack: %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		if (fix)
			err("image unpack: %s: not a folder of root's that only root may write to: refusing to use it",
			    dir);
		return -1;
	}
	if (fix && (st.st_mode & 0755) != 0755 && chmod(dir, 0755) < 0) {
		err("image unpack: %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The cache folder and its parent: made if missing (fix), then checked. */
static int cache_dirs_safe(bool fix)
{
	char dir[PATH_LEN], parent[PATH_LEN];
	char *slash;

	if (cache_dir(dir, sizeof(dir)) < 0 ||
	    snprintf_ok(parent, sizeof(parent), "%s", dir) < 0)
		return -1;
	slash = strrchr(parent, '/');
	*slash = '\0';
	if (fix && mkdir_p(dir, 0755) < 0)
		return -1;
	return dir_safe(parent, fix) < 0 || dir_safe(dir, fix) < 0 ? -1 : 0;
}

/* The .zst, opened without following a link; refused unless root's and
 * writable by root alone. */
static int open_zst(const char *zst, struct stat *z)
{
	int fd = open(zst, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fstat(fd, z) < 0) {
		err("image %s: %s", zst, errno == ELOOP ?
		    "a symbolic link: refusing to unpack it" : strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!zst_trusted(z)) {
		err("image %s: not a file of root's that only root may write to: refusing to unpack it",
		    zst);
		close(fd);
		return -1;
	}
	return fd;
}

/* zstd, reading zfd, writing tmp; its exit status or -1. */
static int run_zstd(int zfd, const char *tmp)
{
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* dup2 onto itself would keep close-on-exec. */
		if (zfd == 0 ? fcntl(0, F_SETFD, 0) < 0 : dup2(zfd, 0) < 0)
			_exit(127);
		execl(ZSTD, ZSTD, "-q", "-d", "-f", "--sparse", "-o", tmp, "-", (char *)NULL);
		fprintf(stderr, "%s: cannot run %s: %s\n", prog, ZSTD, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int unpack(const char *zst, int zfd, const struct stat *z, const char *path)
{
	char dir[PATH_LEN], tmp[PATH_LEN];
	struct timespec times[2] = { z->st_atim, z->st_mtim };
	int fd, rc;

	if (cache_dir(dir, sizeof(dir)) < 0 ||
	    snprintf_ok(tmp, sizeof(tmp), "%s.new", path) < 0)
		return -1;
	msg("unpacking %s into %s", zst, path);
	unlink(tmp);
	rc = run_zstd(zfd, tmp);
	if (rc) {
		err("image unpack: %s: zstd failed (exit status %d)", zst, rc);
		unlink(tmp);
		return -1;
	}
	fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, 0, z->st_gid) < 0 || fchmod(fd, copy_mode(z)) < 0 ||
	    futimens(fd, times) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0) {
		err("image unpack: %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

/* As root would find it: the .zst trusted, the copy and folders current
 * (quietly: for list commands). */
bool image_current(const char *path, const char *zst)
{
	struct stat z;

	if (!zst[0])
		return true;
	return lstat(zst, &z) == 0 && zst_trusted(&z) && unpacked(path, &z) &&
	       cache_dirs_safe(false) == 0;
}

int image_ready(const char *path, const char *zst)
{
	struct stat z;
	int lock, zfd, rc = 0;

	if (!zst[0])
		return 0;
	if (geteuid() != 0) {
		if (image_current(path, zst))
			return 0;
		err("image %s: not unpacked from %s yet; root unpacks it (umlctl image unpack)",
		    path, zst);
		return -1;
	}
	lock = lock_images();
	if (lock < 0)
		return -1;
	zfd = open_zst(zst, &z);
	if (zfd < 0)
		rc = -1;
	else if (cache_dirs_safe(true) < 0)
		rc = -1;
	else if (!unpacked(path, &z))
		rc = unpack(zst, zfd, &z, path);
	if (zfd >= 0)
		close(zfd);
	unlock(lock);
	return rc;
}

int image_unpack(const struct global_conf *g, char **names, int n)
{
	char path[PATH_LEN], zst[PATH_LEN];
	int bad = 0;

	for (int i = 0; i < n; i++) {
		if (!names[i][0] || names[i][0] == '.' || strchr(names[i], '/')) {
			err("image unpack: '%s': not an image name (tiny, debian, ...)", names[i]);
			bad++;
			continue;
		}
		if (image_find(g, names[i], path, sizeof(path), zst, sizeof(zst)) < 0) {
			bad++;
			continue;
		}
		if (!zst[0]) {
			if (access(path, R_OK) < 0) {
				err("image unpack: %s: no %s nor %s.zst", names[i], path, path);
				bad++;
			} else {
				msg("%s: %s is not compressed: nothing to unpack", names[i], path);
			}
			continue;
		}
		bad += image_ready(path, zst) < 0;
	}
	return bad ? EX_FAIL : EX_OK;
}
