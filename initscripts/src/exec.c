/* exec.c: umlctl exec NAME -- CMD: one command run in a guest by its
 * agent (uml/rootfs/tiny/usr/lib/uml-skas/agent), through the supervisor's
 * agent socket RUN/instances/NAME/agent.sock, which it relays to the
 * guest's second serial line.  The protocol is lines:
 *   HELLO ID -> READY ID              the agent listens (sent again each
 *                                     second until it answers: before the
 *                                     guest has booted nobody reads)
 *   RUN ID LEN CMD64 -> OUT ID DATA64... ERR ID DATA64... END ID STATUS
 *                                     (LEN: CMD64's length; a shorter line
 *                                     is a cut one, and never run)
 * with base64 for the command and its output, so nothing the guest sends
 * can be taken for a line of the protocol or reach the terminal except as
 * the command's own output.  ID is random for each call: an answer to an
 * earlier, abandoned call is told apart and dropped.  The guest is not
 * trusted: lines are bounded, anything malformed is ignored. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "umlctl.h"

#define LINE_MAX_LEN 8192   /* longer lines from the guest are dropped */
#define HELLO_WAIT 30       /* seconds for the agent to answer, by default */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const char *in, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* Decodes in place; returns the length, -1 on a character outside the
 * alphabet. */
static ssize_t base64_decode(char *s)
{
	size_t n = 0;
	unsigned v = 0;
	int bits = 0;

	for (char *c = s; *c && *c != '='; c++) {
		const char *p = strchr(b64, *c);

		if (!p)
			return -1;
		v = (v << 6) | (unsigned)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			s[n++] = (char)((v >> bits) & 0xff);
		}
	}
	return (ssize_t)n;
}

struct reader {
	int fd;
	char buf[LINE_MAX_LEN + 1];
	size_t len;
	bool overlong;         /* dropping the rest of a line too long */
};

/* The next line (without its newline) into out; 1 when one is there, 0
 * when none came before until, -1 at the end of the stream. */
static int next_line(struct reader *r, char *out, double until)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		int left;
		ssize_t got;

		if (nl) {
			size_t n = (size_t)(nl - r->buf);
			bool drop = r->overlong;

			memcpy(out, r->buf, n);
			out[n] = '\0';
			if (n && out[n - 1] == '\r')
				out[n - 1] = '\0';
			memmove(r->buf, nl + 1, r->len - n - 1);
			r->len -= n + 1;
			r->overlong = false;
			if (drop)
				continue;
			return 1;
		}
		if (r->len == LINE_MAX_LEN) {
			r->len = 0;
			r->overlong = true;
		}
		left = (int)((until - now_s()) * 1000);
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return 0;
		got = read(r->fd, r->buf + r->len, LINE_MAX_LEN - r->len);
		if (got <= 0)
			return -1;
		r->len += (size_t)got;
	}
}

static int send_line(int fd, const char *a, const char *b, const char *c)
{
	if (write_all(fd, a, strlen(a)) < 0 || write_all(fd, " ", 1) < 0 ||
	    write_all(fd, b, strlen(b)) < 0)
		return -1;
	if (c && (write_all(fd, " ", 1) < 0 || write_all(fd, c, strlen(c)) < 0))
		return -1;
	return write_all(fd, "\n", 1);
}

/* "VERB ID REST": REST of a line for this call, or NULL. */
static const char *ours(const char *line, const char *verb, const char *id)
{
	size_t v = strlen(verb), i = strlen(id);

	if (strncmp(line, verb, v) || line[v] != ' ' || strncmp(line + v + 1, id, i))
		return NULL;
	line += v + 1 + i;
	if (*line == ' ')
		return line + 1;
	return *line ? NULL : line;
}

static int connect_agent(const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char dir[PATH_LEN];
	int fd;

	if (run_dir(dir, sizeof(dir), name) < 0 ||
	    snprintf_ok(a.sun_path, sizeof(a.sun_path), "%s/agent.sock", dir) < 0) {
		err("%s: agent socket path too long", name);
		return -EX_FAIL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -EX_FAIL;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED) {
			err("%s: not running (or started by an umlctl without exec)", name);
			return -EX_NOTRUNNING;
		}
		err("%s: %s: %s", name, a.sun_path, strerror(e));
		return -EX_FAIL;
	}
	return fd;
}

int instance_exec(const char *name, const char *cmd, int timeout_s, bool quiet)
{
	static struct reader r;
	static char line[LINE_MAX_LEN + 1];
	unsigned char rnd[8];
	char id[17], *cmd64;
	double deadline = timeout_s > 0 ? now_s() + timeout_s : 0, next_hello = 0;
	/* Without an agent (an image that has none, a guest still booting
	 * for long) nobody ever answers HELLO. */
	double hello_limit = now_s() + (timeout_s > 0 ? timeout_s : HELLO_WAIT);
	bool ready = false;
	int fd = connect_agent(name), status = -1;

	if (fd < 0)
		return -fd;
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		close(fd);
		return EX_FAIL;
	}
	for (int i = 0; i < 8; i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	cmd64 = base64_encode(cmd, strlen(cmd));
	if (!cmd64) {
		close(fd);
		return EX_FAIL;
	}
	memset(&r, 0, sizeof(r));
	r.fd = fd;
	for (;;) {
		const char *rest;
		double until;
		int got;

		if (!ready && now_s() >= hello_limit)
			break;
		if (!ready && now_s() >= next_hello) {
			if (send_line(fd, "HELLO", id, NULL) < 0)
				break;
			next_hello = now_s() + 1;
		}
		until = ready ? now_s() + 1 : next_hello;
		if (deadline > 0 && deadline < until)
			until = deadline;
		got = next_line(&r, line, until);
		if (got < 0)
			break;
		if (got == 0) {
			if (deadline > 0 && now_s() >= deadline)
				break;
			continue;
		}
		if (!ready && ours(line, "READY", id)) {
			char head[64];

			ready = true;
			/* The length: a line cut short is never run. */
			snprintf(head, sizeof(head), "%s %zu", id, strlen(cmd64));
			if (send_line(fd, "RUN", head, cmd64) < 0)
				break;
		} else if (ready && ((rest = ours(line, "OUT", id)) ||
				     (rest = ours(line, "ERR", id)))) {
			char data[LINE_MAX_LEN + 1];
			ssize_t n;

			snprintf(data, sizeof(data), "%s", rest);
			n = base64_decode(data);
			if (n > 0 && !quiet)
				write_all(line[0] == 'O' ? 1 : 2, data, (size_t)n);
		} else if (ready && (rest = ours(line, "END", id))) {
			char *end;
			long v = strtol(rest, &end, 10);

			if (end != rest && !*end && v >= 0 && v <= 255)
				status = (int)v;
			break;
		}
	}
	free(cmd64);
	close(fd);
	if (status >= 0)
		return status;
	if (quiet)
		return !ready ? EX_FAIL : 124;
	if (!ready && now_s() >= hello_limit)
		err("%s: no agent answers after %d s (the tiny image has one; is the guest up?)",
		    name, timeout_s > 0 ? timeout_s : HELLO_WAIT);
	else if (deadline > 0 && now_s() >= deadline)
		err("%s: no end of the command after %d s", name, timeout_s);
	else
		err("%s: the agent's line closed before the command ended (instance stopped?)",
		    name);
	return deadline > 0 && now_s() >= deadline ? 124 : EX_FAIL;
}
