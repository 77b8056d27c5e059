/* file I/O in -d DIR (inside UML: an ext4 on a ubd disk): 4 KiB pwrite +
 * fsync (the full path to the host file), then 4 KiB pread of the same
 * 1 MiB file (page-cache hits: syscall plus copy).  Two RESULT lines. */
#include "common.h"
#include <fcntl.h>

#define BLK 4096
#define SPAN (1024 * 1024)

static int fd;
static long pos;
static char buf[BLK];

static void write_body(void *ctx, long n)
{
	(void)ctx;
	for (long i = 0; i < n; i++) {
		buf[0] = (char)i;
		if (pwrite(fd, buf, BLK, pos) != BLK)
			die("pwrite");
		if (fsync(fd) != 0)
			die("fsync");
		pos = (pos + BLK) % SPAN;
	}
}

static void read_body(void *ctx, long n)
{
	(void)ctx;
	for (long i = 0; i < n; i++) {
		if (pread(fd, buf, BLK, pos) != BLK)
			die("pread");
		pos = (pos + BLK) % SPAN;
	}
}

int main(int argc, char **argv)
{
	struct opts o = parse_opts(argc, argv);
	char path[4096];

	snprintf(path, sizeof(path), "%s/bench-file_io.%ld", o.dir, (long)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(path);
	/* The file is removed at once; it lives until fd is closed. */
	unlink(path);
	memset(buf, 'u', sizeof(buf));
	for (long off = 0; off < SPAN; off += BLK)
		if (pwrite(fd, buf, BLK, off) != BLK)
			die("pwrite");
	if (fsync(fd) != 0)
		die("fsync");
	run_bench("file_write_fsync", write_body, NULL, 1, &o);
	run_bench("file_read", read_body, NULL, 1, &o);
	close(fd);
	return 0;
}
