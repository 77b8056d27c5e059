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
 * has kept the old one for the disks made on it.
 *
 * Only root unpacks; the cache folder must be root's and writable by
 * no one else (checked, as a file planted there would be booted by
 * every instance).  The file is written beside the cache file and
 * renamed over it once complete, under the images lock (lock.c), so an
 * instance never sees half an image and two starts do not unpack at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlctl.h"

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

/* Whether PATH is the image unpacked from a .zst of that mtime. */
static bool unpacked(const char *path, const struct stat *z)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
	       (st.st_mode & 07777) == 0644 && st.st_mtime == z->st_mtime;
}

/* The cache folder, made if missing; refused unless root's alone. */
static int cache_dir_safe(const char *dir)
{
	struct stat st;

	if (mkdir_p(dir, 0755) < 0)
		return -1;
	if (lstat(dir, &st) < 0) {
		err("image unpack: %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		err("image unpack: %s: not a folder of root's that only root may write to: refusing to unpack there",
		    dir);
		return -1;
	}
	return 0;
}

static int unpack(const char *zst, const struct stat *z, const char *path)
{
	char dir[PATH_LEN], tmp[PATH_LEN];
	char *argv[] = { "zstd", "-q", "-d", "-f", "--sparse", (char *)zst,
			 "-o", tmp, NULL };
	struct timespec times[2] = { z->st_atim, z->st_mtim };
	int fd, rc;

	if (cache_dir(dir, sizeof(dir)) < 0 || cache_dir_safe(dir) < 0 ||
	    snprintf_ok(tmp, sizeof(tmp), "%s.new", path) < 0)
		return -1;
	msg("unpacking %s into %s", zst, path);
	unlink(tmp);
	rc = run_cmd(argv, false);
	if (rc) {
		err("image unpack: %s: zstd failed (exit status %d)", zst, rc);
		unlink(tmp);
		return -1;
	}
	fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, 0, 0) < 0 || fchmod(fd, 0644) < 0 ||
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

int image_ready(const char *path, const char *zst)
{
	struct stat z;
	int lock, rc = 0;

	if (!zst[0])
		return 0;
	if (stat(zst, &z) < 0) {
		err("image %s: %s", zst, strerror(errno));
		return -1;
	}
	if (unpacked(path, &z))
		return 0;
	if (geteuid() != 0) {
		err("image %s: not unpacked from %s yet; root unpacks it (umlctl image unpack)",
		    path, zst);
		return -1;
	}
	lock = lock_images();
	if (lock < 0)
		return -1;
	if (!unpacked(path, &z))
		rc = unpack(zst, &z, path);
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
