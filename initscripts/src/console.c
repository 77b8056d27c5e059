/* console.c: the client side of an instance's console socket
 * (RUN/NAME/console.sock, served by the supervisor).  console_attach is
 * interactive (the terminal in raw mode, Ctrl-] detaches); console_run
 * types one shell command line on the console and returns its output and
 * exit status, for scripts. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "umlctl.h"

#define DETACH_KEY 0x1d   /* Ctrl-] */

static int connect_console(const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char dir[PATH_LEN];
	struct inst_info info;
	int fd;

	instance_info(name, &info);
	if (info.state != INST_RUNNING) {
		err("%s: not running", name);
		return -EX_NOTRUNNING;
	}
	if (run_dir(dir, sizeof(dir), name) < 0 ||
	    snprintf_ok(a.sun_path, sizeof(a.sun_path), "%s/console.sock", dir) < 0)
		return -EX_FAIL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		err("%s: console %s: %s", name, a.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EX_FAIL;
	}
	return fd;
}

int console_attach(const char *name)
{
	struct termios saved, raw;
	bool tty = isatty(0);
	int fd = connect_console(name);
	int rc = EX_OK;

	if (fd < 0)
		return -fd;
	if (tty) {
		tcgetattr(0, &saved);
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
		fprintf(stderr, "Connected to the console of %s; detach with Ctrl-]\r\n", name);
		/* A fresh prompt. */
		write_all(fd, "\n", 1);
	}
	for (;;) {
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN },
				       { .fd = fd, .events = POLLIN } };
		char buf[4096];
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0) {
				fprintf(stderr, "\r\n%s: the console of %s closed (instance stopped)\r\n",
					prog, name);
				break;
			}
			if (write_all(1, buf, (size_t)n) < 0)
				break;
		}
		if (p[0].revents) {
			char *k;

			n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				/* End of input (not a terminal): let the last
				 * output arrive, then leave. */
				shutdown(fd, SHUT_WR);
				if (!tty) {
					struct pollfd q = { .fd = fd, .events = POLLIN };

					while (poll(&q, 1, 1000) > 0 &&
					       (n = read(fd, buf, sizeof(buf))) > 0)
						write_all(1, buf, (size_t)n);
				}
				break;
			}
			k = tty ? memchr(buf, DETACH_KEY, (size_t)n) : NULL;
			if (k)
				n = k - buf;
			if (n > 0 && write_all(fd, buf, (size_t)n) < 0) {
				rc = EX_FAIL;
				break;
			}
			if (k) {
				fprintf(stderr, "\r\ndetached from %s\r\n", name);
				break;
			}
		}
	}
	if (tty)
		tcsetattr(0, TCSANOW, &saved);
	close(fd);
	return rc;
}

/* Types "CMD" on the console between two markers and collects what comes
 * out between them; the end marker carries the exit status.  The markers
 * are split in the typed line, so the terminal's echo never matches. */
int console_run(const char *name, const char *cmd, int timeout)
{
	char mark[48], line[1024 + 256], *out = NULL, *begin, *end;
	size_t used = 0, cap = 0;
	int fd = connect_console(name), status = -1;
	double deadline = now_s() + timeout;

	if (fd < 0)
		return -fd;
	if (strlen(cmd) > 1024) {
		err("%s: command too long for the console (at most 1024 characters)", name);
		close(fd);
		return EX_USAGE;
	}
	snprintf(mark, sizeof(mark), "umlctl%d%ld", (int)getpid(), (long)time(NULL));
	/* Ctrl-U clears a half-typed line; the markers are printed by the
	 * shell from two quoted halves. */
	snprintf(line, sizeof(line),
		 "\025echo '%.8s''%s:B'; %s; echo '%.8s''%s:E'\"$?\"\n",
		 mark, mark + 8, cmd, mark, mark + 8);
	if (write_all(fd, line, strlen(line)) < 0) {
		err("%s: cannot write to the console", name);
		close(fd);
		return EX_FAIL;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)((deadline - now_s()) * 1000);
		char buf[4096];
		ssize_t n;

		if (left <= 0) {
			err("%s: no end of the command after %d s", name, timeout);
			break;
		}
		if (poll(&p, 1, left) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0) {
			err("%s: the console closed", name);
			break;
		}
		if (used + (size_t)n + 1 > cap) {
			cap = (used + (size_t)n + 1) * 2;
			out = realloc(out, cap);
			if (!out) {
				close(fd);
				return EX_FAIL;
			}
		}
		memcpy(out + used, buf, (size_t)n);
		used += (size_t)n;
		out[used] = '\0';
		snprintf(line, sizeof(line), "\n%s:B", mark);
		begin = strstr(out, line);
		snprintf(line, sizeof(line), "\n%s:E", mark);
		end = begin ? strstr(begin + 1, line) : NULL;
		if (end && strchr(end + 1, '\n')) {
			char *p2 = strchr(begin + 1, '\n');

			status = atoi(end + strlen(line));
			if (p2 && p2 < end) {
				size_t k = 0;

				/* The terminal's CR LF become LF. */
				for (char *c = p2 + 1; c <= end; c++)
					if (*c != '\r')
						p2[k++] = *c;
				write_all(1, p2, k);
			}
			break;
		}
	}
	close(fd);
	free(out);
	if (status < 0)
		return EX_FAIL;
	return status;
}
