// SPDX-License-Identifier: GPL-2.0
/* Pipes and unix sockets between processes: bulk data with a checksum,
 * datagram boundaries, passing a file descriptor with SCM_RIGHTS, EPIPE.
 */
#include "t.h"
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#define BULK (4u << 20)

/* The byte at offset i of the bulk stream. */
static unsigned char pattern(uint32_t i)
{
	return (unsigned char)((i * 2654435761u) >> 24);
}

/* Child writes BULK bytes in odd-sized chunks to fd; parent reads them from
 * rfd and checks every byte.
 */
static int bulk(int wfd, int rfd, const char *name)
{
	unsigned char buf[7919];
	uint32_t off = 0;
	int st = 0, bad = 0;
	pid_t pid = fork();

	if (pid == 0) {
		close(rfd);
		while (off < BULK) {
			size_t n = sizeof(buf) < BULK - off ? sizeof(buf) : BULK - off;

			for (size_t i = 0; i < n; i++)
				buf[i] = pattern(off + (uint32_t)i);
			for (size_t done = 0; done < n;) {
				ssize_t w = write(wfd, buf + done, n - done);

				if (w <= 0)
					_exit(1);
				done += (size_t)w;
			}
			off += (uint32_t)n;
		}
		_exit(0);
	}
	close(wfd);
	for (;;) {
		ssize_t r = read(rfd, buf, sizeof(buf));

		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pattern(off + (uint32_t)i))
				bad = 1;
		off += (uint32_t)r;
	}
	close(rfd);
	waitpid(pid, &st, 0);
	t_check(name, !bad && off == BULK && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"got %u of %u bytes, %s, writer status 0x%x", off, BULK,
		bad ? "corrupt" : "intact", st);
	return 0;
}

static void pipes(void)
{
	int p[2];

	if (pipe(p) == 0)
		bulk(p[1], p[0], "pipe-4MiB");
	else
		t_fail("pipe-4MiB", "pipe: %s", strerror(errno));

	/* Writing to a pipe without readers: EPIPE (SIGPIPE ignored). */
	if (pipe(p) == 0) {
		ssize_t w;

		signal(SIGPIPE, SIG_IGN);
		close(p[0]);
		w = write(p[1], "x", 1);
		t_check("pipe-epipe", w == -1 && errno == EPIPE, "write returned %zd (%s)",
			w, strerror(errno));
		close(p[1]);
		signal(SIGPIPE, SIG_DFL);
	}
}

static void unix_stream(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0)
		bulk(sv[0], sv[1], "unix-stream-4MiB");
	else
		t_fail("unix-stream-4MiB", "socketpair: %s", strerror(errno));
}

static void unix_dgram(void)
{
	int sv[2], bad = 0;
	char buf[256];

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv)) {
		t_fail("unix-dgram-boundaries", "socketpair: %s", strerror(errno));
		return;
	}
	for (int i = 1; i <= 10; i++) {
		memset(buf, 'a' + i, (size_t)i * 10);
		if (send(sv[0], buf, (size_t)i * 10, 0) != i * 10)
			bad = 1;
	}
	for (int i = 1; i <= 10; i++) {
		ssize_t r = recv(sv[1], buf, sizeof(buf), 0);

		if (r != i * 10 || buf[0] != 'a' + i)
			bad = 1;
	}
	t_check("unix-dgram-boundaries", !bad, "datagrams merged, split or reordered");
	close(sv[0]);
	close(sv[1]);
}

/* A named socket: a child connects, and passes an open pipe end with
 * SCM_RIGHTS; the parent reads through the received descriptor.
 */
static void named_and_scm_rights(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ls, st = 0;
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/ipc-test.sock");
	unlink(sa.sun_path);
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1)) {
		t_fail("unix-named-scm-rights", "listen: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0), p[2];
		char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
		char one = 'F';
		struct iovec iov = { .iov_base = &one, .iov_len = 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) || pipe(p))
			_exit(1);
		if (write(p[1], "through-fd", 10) != 10)
			_exit(1);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &p[0], sizeof(int));
		if (sendmsg(c, &mh, 0) != 1)
			_exit(1);
		_exit(0);
	}
	{
		int c = accept(ls, NULL, NULL), fd = -1;
		char cbuf[CMSG_SPACE(sizeof(int))], one, data[16] = { 0 };
		struct iovec iov = { .iov_base = &one, .iov_len = 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;

		if (c >= 0 && recvmsg(c, &mh, 0) == 1) {
			cm = CMSG_FIRSTHDR(&mh);
			if (cm && cm->cmsg_type == SCM_RIGHTS)
				memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		}
		waitpid(pid, &st, 0);
		t_check("unix-named-scm-rights", fd >= 0 && read(fd, data, 10) == 10 &&
			strcmp(data, "through-fd") == 0,
			"fd %d, data '%s', child status 0x%x", fd, data, st);
		if (fd >= 0)
			close(fd);
		if (c >= 0)
			close(c);
	}
	close(ls);
	unlink(sa.sun_path);
}

int main(void)
{
	pipes();
	unix_stream();
	unix_dgram();
	named_and_scm_rights();
	return t_exit();
}
