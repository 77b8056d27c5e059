/* cow.c: UML's copy-on-write disk files, as umlctl needs them.
 *
 * An instance's disk is a COW file over its image (ubd0=COW,IMAGE).  The
 * file's header (UML's format version 3, big-endian, packed: magic,
 * version, the image's mtime as 32 bits, its size, sector size,
 * alignment, format, then the image's path) says which image it was made
 * on and as it was then: UML refuses the file once the image's size or
 * mtime differ, since the blocks the COW file does not hold would come
 * from another file system.  cow_check() tells that before a boot fails
 * on it.
 *
 * cow_copy() copies one: a reflink (FICLONE) where the file system shares
 * blocks between files, otherwise a copy of the data runs only, so that
 * the copy keeps the original's holes (a COW file is mostly holes), and
 * only when the file system has room for it. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "umlctl.h"

#define COW_MAGIC 0x4f4f4f4du	/* "OOOM" on disk */
#define COW_HEADER_V3 (4 + 4 + 4 + 8 + 4 + 4 + 4)	/* then the path */
#define COW_PATH_LEN 4096

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

int cow_read_base(int fd, struct cow_base *b)
{
	static unsigned char h[COW_HEADER_V3 + COW_PATH_LEN];
	ssize_t got = pread(fd, h, sizeof(h), 0);

	memset(b, 0, sizeof(*b));
	if (got < COW_HEADER_V3 + 2 || be32(h) != COW_MAGIC || be32(h + 4) != 3)
		return -1;
	b->mtime = be32(h + 8);
	b->size = be64(h + 12);
	/* The path ends at its NUL, within the field. */
	if (!memchr(h + COW_HEADER_V3, '\0', (size_t)got - COW_HEADER_V3) ||
	    !h[COW_HEADER_V3])
		return -1;
	snprintf(b->path, sizeof(b->path), "%s", (const char *)h + COW_HEADER_V3);
	/* Whoever wrote the disk wrote the path: nothing of it that a
	 * terminal would act on reaches root's. */
	for (char *c = b->path; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return 0;
}

int cow_check(const struct cow_base *b, const char *image, char *why, size_t len)
{
	struct stat st;

	if (stat(image, &st) < 0) {
		snprintf(why, len, "%s: %s", image, strerror(errno));
		return -1;
	}
	/* A block device's size is not in stat (UML asks the device). */
	if ((!S_ISBLK(st.st_mode) && (uint64_t)st.st_size != b->size) ||
	    (uint32_t)st.st_mtime != b->mtime) {
		char then[32];
		time_t t = (time_t)b->mtime;
		struct tm tm;

		strftime(then, sizeof(then), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
		snprintf(why, len,
			 "it was made on %s as it was at %s (%llu bytes); that image has changed since",
			 b->path, then, (unsigned long long)b->size);
		return -1;
	}
	return 0;
}

static bool all_zero(const char *buf, size_t n)
{
	return n == 0 || (buf[0] == 0 && !memcmp(buf, buf + 1, n - 1));
}

/* The data runs of SRC (SEEK_DATA to SEEK_HOLE) copied to DST at the
 * same offsets; DST, as long as SRC, has holes everywhere else, and
 * where SRC has blocks of zeros too. */
static int copy_runs(int src, int dst, off_t size)
{
	static char buf[1 << 20];
	off_t pos = 0;

	if (ftruncate(dst, size) < 0)
		return -1;
	while (pos < size) {
		off_t data = lseek(src, pos, SEEK_DATA), hole;

		if (data < 0)
			return errno == ENXIO ? 0 : -1;
		hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0)
			return -1;
		for (pos = data; pos < hole;) {
			size_t want = (size_t)(hole - pos) < sizeof(buf) ?
				      (size_t)(hole - pos) : sizeof(buf);
			ssize_t got = pread(src, buf, want, pos);

			if (got <= 0)
				return got < 0 ? -1 : (errno = EIO, -1);
			if (!all_zero(buf, (size_t)got) &&
			    write_all_at(dst, buf, (size_t)got, pos) < 0)
				return -1;
			pos += got;
		}
	}
	return 0;
}

/* Whether DST's file system has room for SRC's blocks and a margin:
 * root's copy must not take the blocks kept for root and leave the
 * host without them.  ENOSPC when not. */
static int room_for(int src, int dst)
{
	struct statvfs vfs;
	struct stat st;

	if (fstat(src, &st) < 0 || fstatvfs(dst, &vfs) < 0)
		return -1;
	if ((unsigned long long)st.st_blocks * 512 + 64ULL * 1024 * 1024 >
	    (unsigned long long)vfs.f_bavail * vfs.f_frsize) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

int cow_copy(int src, int dst, bool *reflinked)
{
	struct stat st;

	*reflinked = false;
	if (ioctl(dst, FICLONE, src) == 0)
		*reflinked = true;
	else if (room_for(src, dst) < 0 || fstat(src, &st) < 0 ||
		 copy_runs(src, dst, st.st_size) < 0)
		return -1;
	return fsync(dst);
}
