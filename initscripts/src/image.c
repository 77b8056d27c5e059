/* image.c: base images kept for the disks made on them.
 *
 * A disk boots only on its image as it was when the disk was made (the
 * COW header's size and mtime, cow.c).  When a package is about to
 * replace or remove an image, its maintainer script runs `umlctl image
 * keep FILE`: if a disk or a snapshot of any instance was made on FILE as
 * it is now, FILE is kept as STATE/.images/BASE@MTIME (BASE its file name,
 * MTIME its mtime in seconds): a hard link where STATE and FILE share a
 * file system, else a reflink or a copy with the same mtime; root's and
 * readable by everyone, as the image is.  start boots such a disk on the
 * kept copy, and says so (disk.c's disk_base_image).  Once no disk and no
 * snapshot was made on a kept copy, destroy, revert and snapshot --delete
 * remove it (images_prune).
 *
 * A disk names its image by the path UML was given (the header, which
 * UML rewrites to the kept copy's path once it boots on it): an image is
 * told by its file name without the "@MTIME" suffix, its size and its
 * mtime.  Nothing here opens the path a header names.
 *
 * Keeping and pruning hold the images lock (lock.c): two package
 * scripts keeping one image, or a destroy pruning while an image is
 * kept, would otherwise share the staging file or remove a copy just
 * made. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlctl.h"

/* The file name of PATH without a kept copy's "@MTIME". */
static void image_base(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/'), *at;
	const char *name = slash ? slash + 1 : path;

	at = strrchr(name, '@');
	if (at && at[1] && strspn(at + 1, "0123456789") == strlen(at + 1))
		snprintf(out, len, "%.*s", (int)(at - name), name);
	else
		snprintf(out, len, "%s", name);
}

bool same_image_name(const char *a, const char *b)
{
	char x[256], y[256];

	image_base(a, x, sizeof(x));
	image_base(b, y, sizeof(y));
	return !strcmp(x, y);
}

static int images_dir(char *out, size_t len)
{
	char state[PATH_LEN];

	if (state_dir(state, sizeof(state), NULL) < 0)
		return -1;
	return snprintf_ok(out, len, "%s/.images", state);
}

int image_kept_path(const struct cow_base *b, char *out, size_t len)
{
	char dir[PATH_LEN], base[256];
	struct stat st;

	image_base(b->path, base, sizeof(base));
	if (!base[0] || base[0] == '.' || images_dir(dir, sizeof(dir)) < 0 ||
	    snprintf_ok(out, len, "%s/%s@%u", dir, base, b->mtime) < 0)
		return -1;
	if (lstat(out, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (unsigned long long)st.st_size != b->size || (unsigned int)st.st_mtime != b->mtime)
		return -1;
	return 0;
}

struct wanted {
	char base[256];
	unsigned long long size;
	unsigned int mtime;
	int users;
};

static int count_made_on(const struct cow_base *b, void *arg)
{
	struct wanted *w = arg;
	char other[256];

	image_base(b->path, other, sizeof(other));
	w->users += b->size == w->size && b->mtime == w->mtime && !strcmp(other, w->base);
	return 0;
}

/* How many disks and snapshots of all instances were made on the image
 * BASE of that size and mtime; -1 when they cannot all be read. */
static int users_of(const char *base, unsigned long long size, unsigned int mtime)
{
	struct wanted w = { .size = size, .mtime = mtime };
	char state[PATH_LEN];
	struct dirent *e;
	int bad = 0;
	DIR *d;

	snprintf(w.base, sizeof(w.base), "%s", base);
	if (state_dir(state, sizeof(state), NULL) < 0)
		return -1;
	d = opendir(state);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)))
		if (valid_name(e->d_name))
			bad += disk_bases(e->d_name, count_made_on, &w) < 0;
	closedir(d);
	return bad ? -1 : w.users;
}

/* Keeps FILE for the disks made on it as it is now. */
static int keep_one(const char *file)
{
	char dir[PATH_LEN], base[256], kept[PATH_LEN], tmp[PATH_LEN];
	struct cow_base want;
	struct stat st;
	int users, src, dst;
	bool reflinked;

	char real[PATH_MAX];

	errno = 0;
	if (!realpath(file, real) || lstat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
		err("image keep: %s: %s", file, errno ? strerror(errno) : "not a plain file");
		return -1;
	}
	file = real;
	image_base(file, base, sizeof(base));
	users = users_of(base, (unsigned long long)st.st_size, (unsigned int)st.st_mtime);
	if (users < 0) {
		err("image keep: %s: cannot read every instance's disk: keeping it all the same", file);
		users = 0;
	} else if (!users) {
		msg("%s: no disk was made on it as it is: not kept", file);
		return 0;
	}
	snprintf(want.path, sizeof(want.path), "%s", file);
	want.size = (unsigned long long)st.st_size;
	want.mtime = (unsigned int)st.st_mtime;
	if (image_kept_path(&want, kept, sizeof(kept)) == 0) {
		msg("%s: kept already (%s)", file, kept);
		return 0;
	}
	if (images_dir(dir, sizeof(dir)) < 0 || mkdir_p(dir, 0755) < 0 ||
	    snprintf_ok(kept, sizeof(kept), "%s/%s@%u", dir, base, want.mtime) < 0 ||
	    snprintf_ok(tmp, sizeof(tmp), "%s/.%s.new", dir, base) < 0)
		return -1;
	unlink(tmp);
	/* A hard link only of root's file (a copy is root's anyway); the
	 * copy has the image's mode and group, not more. */
	if (st.st_uid != 0 || link(file, tmp) < 0) {
		struct timespec times[2] = { st.st_atim, st.st_mtim };

		src = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		dst = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (src < 0 || dst < 0 || cow_copy(src, dst, &reflinked) < 0 ||
		    fchown(dst, 0, st.st_gid) < 0 || fchmod(dst, st.st_mode & 0755) < 0 ||
		    futimens(dst, times) < 0 || fsync(dst) < 0) {
			err("image keep: %s: cannot copy it to %s: %s", file, tmp, strerror(errno));
			if (src >= 0)
				close(src);
			if (dst >= 0)
				close(dst);
			unlink(tmp);
			return -1;
		}
		close(src);
		close(dst);
	}
	/* Never over another image's copy (one of the same name and
	 * mtime, but another size). */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, kept, RENAME_NOREPLACE) < 0) {
		err("image keep: %s: %s", kept, errno == EEXIST ?
		    "a copy of another image of that name and mtime is kept there" : strerror(errno));
		unlink(tmp);
		return -1;
	}
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	msg("%s: kept as %s for the disks made on it (%d)", file, kept, users);
	return 0;
}

int image_keep(char **files, int n)
{
	int bad = 0, lock = lock_images();

	if (lock < 0)
		return EX_FAIL;
	for (int i = 0; i < n; i++)
		bad += keep_one(files[i]) < 0;
	unlock(lock);
	return bad ? EX_FAIL : EX_OK;
}

/* Each kept copy, and how many disks and snapshots were made on it;
 * with remove, those on which none was are removed. */
static int kept_walk(bool remove, bool print)
{
	char dir[PATH_LEN], path[PATH_LEN];
	struct dirent *e;
	int kept = 0;
	DIR *d;

	if (images_dir(dir, sizeof(dir)) < 0)
		return -1;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d))) {
		char base[256];
		struct stat st;
		int users;

		if (e->d_name[0] == '.' || !strchr(e->d_name, '@') ||
		    snprintf_ok(path, sizeof(path), "%s/%s", dir, e->d_name) < 0 ||
		    lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		image_base(e->d_name, base, sizeof(base));
		users = users_of(base, (unsigned long long)st.st_size, (unsigned int)st.st_mtime);
		if (print && users < 0)
			printf("%-48s  ? (cannot read every disk)\n", path);
		else if (print)
			printf("%-48s  %d disk%s or snapshot%s made on it\n", path, users,
			       users == 1 ? "" : "s", users == 1 ? "" : "s");
		if (remove && users == 0) {
			if (unlink(path) == 0)
				msg("%s: removed (no disk is made on it any more)", path);
			continue;
		}
		kept++;
	}
	closedir(d);
	return kept;
}

void images_prune(void)
{
	int lock = lock_images();

	if (lock < 0)
		return;
	kept_walk(true, false);
	unlock(lock);
}

int image_list(void)
{
	int n = kept_walk(false, true);

	if (n < 0) {
		err("image list: %s", strerror(errno));
		return EX_FAIL;
	}
	if (!n)
		msg("no images kept");
	return EX_OK;
}
