// SPDX-License-Identifier: GPL-2.0
/*
 * I/O on extra ubd disks attached by the harness:
 *   /dev/ubdb  an empty ext4 file system: files written, the fs unmounted
 *              and mounted again (so reads come from the disk), checked;
 *              leaves /guest-wrote.txt for the host to check afterwards.
 *   /dev/ubdc  a raw scratch disk: a pattern written with O_DIRECT and
 *              through the page cache, read back after flushing the cache.
 */
#include "t.h"
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define MNT "/mnt"
#define FILE_SIZE (8u << 20)

static uint32_t word(uint32_t i, uint32_t seed)
{
	return (i + seed) * 2654435761u ^ seed;
}

static int write_pattern(int fd, uint32_t seed, size_t size)
{
	static uint32_t buf[16384];

	for (size_t off = 0; off < size; off += sizeof(buf)) {
		for (size_t i = 0; i < 16384; i++)
			buf[i] = word((uint32_t)(off / 4 + i), seed);
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return -1;
	}
	return 0;
}

/* Returns the first wrong byte offset, or -1 when all match. */
static long check_pattern(int fd, uint32_t seed, size_t size)
{
	static uint32_t buf[16384];

	for (size_t off = 0; off < size; off += sizeof(buf)) {
		if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return (long)off;
		for (size_t i = 0; i < 16384; i++)
			if (buf[i] != word((uint32_t)(off / 4 + i), seed))
				return (long)(off + i * 4);
	}
	return -1;
}

static void fs_io(void)
{
	int fd, nfiles = 200, bad = 0;
	long where;
	char name[64];

	mkdir(MNT, 0755);
	if (mount("/dev/ubdb", MNT, "ext4", 0, NULL) != 0) {
		t_fail("ubdb-mount-ext4", "%s", strerror(errno));
		return;
	}
	t_ok("ubdb-mount-ext4");
	fd = open(MNT "/big", O_CREAT | O_TRUNC | O_RDWR, 0644);
	t_check("ubdb-write-8MiB", fd >= 0 && write_pattern(fd, 7, FILE_SIZE) == 0 &&
		fsync(fd) == 0, "%s", strerror(errno));
	if (fd >= 0)
		close(fd);
	mkdir(MNT "/dir", 0755);
	for (int i = 0; i < nfiles; i++) {
		snprintf(name, sizeof(name), MNT "/dir/f%03d", i);
		fd = open(name, O_CREAT | O_WRONLY, 0644);
		if (fd < 0 || dprintf(fd, "file %d\n", i) < 0)
			bad = 1;
		if (fd >= 0)
			close(fd);
	}
	t_check("ubdb-create-200-files", !bad, "create failed: %s", strerror(errno));
	t_check("ubdb-rename", rename(MNT "/dir/f000", MNT "/dir/renamed") == 0,
		"%s", strerror(errno));

	/* The host checks this file's content after the guest shut down. */
	fd = open(MNT "/guest-wrote.txt", O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0 || dprintf(fd, "uml-skas guest wrote this\n") < 0 || fsync(fd))
		t_fail("ubdb-marker", "%s", strerror(errno));
	if (fd >= 0)
		close(fd);

	/* Unmount, so the data must come back from the disk. */
	if (umount(MNT) != 0 || mount("/dev/ubdb", MNT, "ext4", 0, NULL) != 0) {
		t_fail("ubdb-remount", "%s", strerror(errno));
		return;
	}
	fd = open(MNT "/big", O_RDONLY);
	where = fd >= 0 ? check_pattern(fd, 7, FILE_SIZE) : 0;
	t_check("ubdb-remount-read-back", fd >= 0 && where < 0,
		"data differs at byte %ld", where);
	if (fd >= 0)
		close(fd);
	bad = 0;
	for (int i = 1; i < nfiles; i++) {
		char buf[32] = { 0 }, want[32];

		snprintf(name, sizeof(name), MNT "/dir/f%03d", i);
		snprintf(want, sizeof(want), "file %d\n", i);
		fd = open(name, O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0 || strcmp(buf, want))
			bad = 1;
		if (fd >= 0)
			close(fd);
	}
	t_check("ubdb-remount-small-files", !bad &&
		access(MNT "/dir/renamed", F_OK) == 0 && access(MNT "/dir/f000", F_OK) != 0,
		"small files or rename lost");
	t_check("ubdb-umount", umount(MNT) == 0, "%s", strerror(errno));
}

static void raw_io(void)
{
	const size_t size = 16u << 20;
	uint64_t bytes = 0;
	long where;
	void *dbuf;
	int fd = open("/dev/ubdc", O_RDWR);

	if (fd < 0) {
		t_fail("ubdc-raw", "open /dev/ubdc: %s", strerror(errno));
		return;
	}
	t_check("ubdc-size", ioctl(fd, BLKGETSIZE64, &bytes) == 0 && bytes >= size,
		"BLKGETSIZE64: %llu bytes", (unsigned long long)bytes);
	t_check("ubdc-write-16MiB", write_pattern(fd, 99, size) == 0 && fsync(fd) == 0,
		"%s", strerror(errno));
	/* Drop the cached pages, then read through a fresh descriptor. */
	ioctl(fd, BLKFLSBUF, 0);
	close(fd);
	fd = open("/dev/ubdc", O_RDONLY);
	where = check_pattern(fd, 99, size);
	t_check("ubdc-read-back", where < 0, "data differs at byte %ld", where);
	close(fd);

	/* O_DIRECT bypasses the page cache in both directions. */
	fd = open("/dev/ubdc", O_RDWR | O_DIRECT);
	if (fd < 0 || posix_memalign(&dbuf, 4096, 65536)) {
		t_fail("ubdc-odirect", "open O_DIRECT: %s", strerror(errno));
		return;
	}
	memset(dbuf, 0x3c, 65536);
	if (pwrite(fd, dbuf, 65536, 1 << 20) != 65536) {
		t_fail("ubdc-odirect", "pwrite: %s", strerror(errno));
	} else {
		memset(dbuf, 0, 65536);
		t_check("ubdc-odirect", pread(fd, dbuf, 65536, 1 << 20) == 65536 &&
			((unsigned char *)dbuf)[65535] == 0x3c &&
			((unsigned char *)dbuf)[0] == 0x3c, "read back wrong data");
	}
	free(dbuf);
	close(fd);
}

int main(void)
{
	fs_io();
	raw_io();
	return t_exit();
}
