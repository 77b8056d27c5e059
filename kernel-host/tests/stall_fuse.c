// SPDX-License-Identifier: GPL-2.0
/*
 * A FUSE file system whose one file never finishes a read: the way an
 * unprivileged user (fusermount is setuid) can make any kernel path that
 * reads that file block for as long as the user likes.  Spoken straight
 * over /dev/fuse (no libfuse in a static test binary): INIT, LOOKUP of
 * "f", GETATTR, OPEN and RELEASE are answered, READ is noted and never
 * answered, anything else is ENOSYS.  Killing the server aborts the
 * connection, which fails the stalled reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "stall_fuse.h"

#define FILE_NODE	2
#define FILE_SIZE	(64 * 4096)

static void reply(int dev, uint64_t unique, int error, const void *data, size_t len)
{
	char buf[sizeof(struct fuse_out_header) + 512];
	struct fuse_out_header *out = (void *)buf;

	out->len = sizeof(*out) + len;
	out->error = error;
	out->unique = unique;
	memcpy(buf + sizeof(*out), data, len);
	if (write(dev, buf, out->len) < 0) {
		/* The connection is going away; the loop will see it. */
	}
}

static void fill_attr(struct fuse_attr *a, uint64_t node)
{
	memset(a, 0, sizeof(*a));
	a->ino = node;
	a->nlink = 1;
	a->blksize = 4096;
	if (node == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
	} else {
		a->mode = S_IFREG | 0444;
		a->size = FILE_SIZE;
		a->blocks = FILE_SIZE / 512;
	}
}

static void serve(int dev, int seen)
{
	static char buf[FUSE_MIN_READ_BUFFER + 65536];

	for (;;) {
		ssize_t n = read(dev, buf, sizeof(buf));
		struct fuse_in_header *in = (void *)buf;
		void *arg = buf + sizeof(*in);

		if (n < 0 && (errno == EINTR || errno == ENOENT))
			continue;
		if (n < (ssize_t)sizeof(*in))
			_exit(0);	/* unmounted or aborted */
		switch (in->opcode) {
		case FUSE_INIT: {
			struct fuse_init_in *ii = arg;
			struct fuse_init_out io = {
				.major = FUSE_KERNEL_VERSION,
				.minor = ii->minor < FUSE_KERNEL_MINOR_VERSION ?
					 ii->minor : FUSE_KERNEL_MINOR_VERSION,
				.max_readahead = 0,
				.max_write = 4096,
				.max_background = 16,
				.congestion_threshold = 12,
			};
			reply(dev, in->unique, 0, &io, sizeof(io));
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out e = { 0 };

			if (in->nodeid != FUSE_ROOT_ID || strcmp(arg, "f")) {
				reply(dev, in->unique, -ENOENT, NULL, 0);
				break;
			}
			e.nodeid = FILE_NODE;
			e.entry_valid = 3600;
			e.attr_valid = 3600;
			fill_attr(&e.attr, FILE_NODE);
			reply(dev, in->unique, 0, &e, sizeof(e));
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out a = { .attr_valid = 3600 };

			fill_attr(&a.attr, in->nodeid);
			reply(dev, in->unique, 0, &a, sizeof(a));
			break;
		}
		case FUSE_OPEN:
		case FUSE_OPENDIR: {
			struct fuse_open_out o = { .fh = 1 };

			reply(dev, in->unique, 0, &o, sizeof(o));
			break;
		}
		case FUSE_READ:
			/* Tell the test, and never answer. */
			if (write(seen, "r", 1) < 0) {
				/* The test is gone. */
			}
			break;
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
		case FUSE_INTERRUPT:
			break;
		case FUSE_RELEASE:
		case FUSE_RELEASEDIR:
		case FUSE_FLUSH:
			reply(dev, in->unique, 0, NULL, 0);
			break;
		default:
			reply(dev, in->unique, -ENOSYS, NULL, 0);
		}
	}
}

pid_t stall_fuse_mount(const char *dir, int *seen_fd)
{
	char opts[128];
	int dev, pipefd[2];
	pid_t pid;

	dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	CHECK(dev >= 0, "/dev/fuse: %s (no FUSE in this kernel?)", errstr(errno));
	mkdir(dir, 0755);
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other",
		 dev);
	SYSCHK(mount("skas-stall", dir, "fuse", MS_NOSUID | MS_NODEV, opts));
	SYSCHK(pipe2(pipefd, O_CLOEXEC));
	pid = SYSCHK(fork());
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pipefd[0]);
		serve(dev, pipefd[1]);
		_exit(0);
	}
	close(dev);
	close(pipefd[1]);
	*seen_fd = pipefd[0];
	return pid;
}

void stall_fuse_unmount(const char *dir, pid_t server)
{
	int st;

	kill(server, SIGKILL);
	waitpid(server, &st, 0);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}
