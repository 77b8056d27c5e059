/* mconsole.c: the UML management console protocol (version 2), spoken over
 * the unix datagram socket uml_dir/UMID/mconsole.  A request is
 * {magic, version, len, data[512]}; the reply comes back to the sender's
 * address as one or more {err, more, len, data[512]} packets, where len
 * counts the data's terminating NUL.  See the kernel's
 * arch/um/drivers/mconsole.h and mconsole_user.c.
 *
 * The socket is in the instance's UML folder RUN/uml/NAME, which the
 * instance's user owns: a guest that escaped could put a link there that
 * leads root's request to another instance's socket (root may enter its
 * folder), and any socket could send root a forged answer.  So every
 * exchange runs in a child that has become the instance's user: it
 * reaches what that user may reach and nothing more, and its answer
 * socket is in that same folder, where no one else gets in. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "umlctl.h"

#define MC_MAGIC 0xcafebabeu
#define MC_VERSION 2
#define MC_MAX_DATA 512

struct mc_request {
	uint32_t magic;
	uint32_t version;
	uint32_t len;
	char data[MC_MAX_DATA];
};

struct mc_reply {
	uint32_t err;
	uint32_t more;
	uint32_t len;
	char data[MC_MAX_DATA];
};

int mconsole_socket_path(const char *name, char *out, size_t len)
{
	char dir[PATH_LEN];

	if (instance_uml_dir(dir, sizeof(dir), name) < 0)
		return -1;
	return snprintf_ok(out, len, "%s/%s/mconsole", dir, name);
}

/* One request and its answer, in the child (as the instance's user).
 * Returns 0 when the guest answered OK, 1 when it answered with an error
 * (the text is in reply), -1 when it could not be reached. */
static int exchange(const char *name, const char *cmd, char *reply, size_t len)
{
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	struct sockaddr_un me = { .sun_family = AF_UNIX };
	struct mc_request req = { .magic = MC_MAGIC, .version = MC_VERSION };
	struct mc_reply rep;
	struct timeval tv = { .tv_sec = 5 };
	size_t used = 0;
	int fd, result = 0;

	if (mconsole_socket_path(name, to.sun_path, sizeof(to.sun_path)) < 0 ||
	    instance_uml_dir(me.sun_path, sizeof(me.sun_path), name) < 0 ||
	    snprintf_ok(me.sun_path + strlen(me.sun_path),
			sizeof(me.sun_path) - strlen(me.sun_path),
			"/.umlctl-%d.sock", (int)getpid()) < 0) {
		snprintf(reply, len, "socket path too long");
		return -1;
	}
	req.len = (uint32_t)strlen(cmd);
	memcpy(req.data, cmd, req.len);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(reply, len, "socket: %s", strerror(errno));
		return -1;
	}
	unlink(me.sun_path);
	umask(0077);
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		snprintf(reply, len, "answer socket %s: %s", me.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	if (sendto(fd, &req, sizeof(req) - MC_MAX_DATA + req.len, 0,
		   (struct sockaddr *)&to, sizeof(to)) < 0) {
		snprintf(reply, len, "cannot reach %s: %s", to.sun_path, strerror(errno));
		result = -1;
	}
	while (result >= 0) {
		ssize_t n = recv(fd, &rep, sizeof(rep), 0);
		size_t dlen;

		if (n < 0) {
			snprintf(reply, len, "no answer from %s: %s", to.sun_path,
				 errno == EAGAIN ? "timed out" : strerror(errno));
			result = -1;
			break;
		}
		if ((size_t)n < sizeof(rep) - MC_MAX_DATA) {
			snprintf(reply, len, "short mconsole reply (%zd bytes)", n);
			result = -1;
			break;
		}
		if (rep.err)
			result = 1;
		dlen = rep.len > 0 ? rep.len - 1 : 0;   /* without the NUL */
		if (dlen > (size_t)n - (sizeof(rep) - MC_MAX_DATA))
			dlen = (size_t)n - (sizeof(rep) - MC_MAX_DATA);
		if (used + dlen < len) {
			memcpy(reply + used, rep.data, dlen);
			used += dlen;
			reply[used] = '\0';
		}
		if (!rep.more)
			break;
	}
	unlink(me.sun_path);
	close(fd);
	return result;
}

/* Returns 0 when the guest answered OK, 1 when it answered with an error
 * (the text is in reply), -1 when it could not be reached (the reason is
 * in reply). */
int mconsole_request(const char *name, const char *cmd, char *reply,
		     size_t len)
{
	static char buf[65536 + 16];
	size_t used = 0;
	int pfd[2], st = 0, result;
	uid_t id;
	pid_t pid;

	reply[0] = '\0';
	if (strlen(cmd) >= MC_MAX_DATA) {
		snprintf(reply, len, "mconsole command too long");
		return -1;
	}
	if (geteuid() != 0) {
		snprintf(reply, len, "the management console is root's");
		return -1;
	}
	if (instance_id_get(name, &id) != 1) {
		snprintf(reply, len, "%s has no user id (never started?)", name);
		return -1;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(reply, len, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		snprintf(reply, len, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		/* Only the pipe goes with us into the instance's user (the
		 * supervisor's console and log stay root's). */
		int out = fcntl(pfd[1], F_DUPFD_CLOEXEC, 3);

		if (out < 0 || dup2(out, 3) < 0)
			_exit(3);
		closefrom(4);
		if (setgroups(0, NULL) < 0 || setgid((gid_t)id) < 0 || setuid(id) < 0)
			_exit(3);
		result = exchange(name, cmd, buf + 1, sizeof(buf) - 1);
		buf[0] = (char)(result + '1');	/* '0', '1', '2' */
		if (write(3, buf, 1 + strlen(buf + 1)) < 0)
			_exit(3);
		_exit(0);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n = read(pfd[0], buf + used, sizeof(buf) - 1 - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(pfd[0]);
	buf[used] = '\0';
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (used < 1 || buf[0] < '0' || buf[0] > '2') {
		snprintf(reply, len, "could not become the instance's user %u", (unsigned)id);
		return -1;
	}
	snprintf(reply, len, "%s", buf + 1);
	return buf[0] - '1';
}

/* Whether the guest's init handles Ctrl-Alt-Del itself (the kernel's
 * /proc/sys/kernel/ctrl-alt-del is 0 once init took it over: busybox init,
 * systemd and sysvinit all do at start).  Before that, "cad" makes the
 * kernel restart at once instead of shutting down.  1: yes, 0: not yet,
 * -1: no answer. */
int mconsole_cad_ready(const char *name)
{
	char reply[256];
	const char *p = reply;
	int r = mconsole_request(name, "proc sys/kernel/ctrl-alt-del", reply,
				 sizeof(reply));

	if (r < 0)
		return -1;
	if (r > 0)
		return 0;   /* early boot: /proc not there yet */
	while (*p == '\n' || *p == ' ')
		p++;
	return *p == '0';
}
