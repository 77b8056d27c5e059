/* mconsole.c: the UML management console protocol (version 2), spoken over
 * the unix datagram socket uml_dir/UMID/mconsole.  A request is
 * {magic, version, len, data[512]}; the reply comes back to the sender's
 * address as one or more {err, more, len, data[512]} packets, where len
 * counts the data's terminating NUL.  See the kernel's
 * arch/um/drivers/mconsole.h and mconsole_user.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
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

/* Returns 0 when the guest answered OK, 1 when it answered with an error
 * (the text is in reply), -1 when it could not be reached. */
int mconsole_request(const char *name, const char *cmd, char *reply,
		     size_t len)
{
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	struct sockaddr_un me = { .sun_family = AF_UNIX };
	struct mc_request req = { .magic = MC_MAGIC, .version = MC_VERSION };
	struct mc_reply rep;
	struct timeval tv = { .tv_sec = 5 };
	size_t used = 0;
	int fd, result = 0;
	bool bound;

	reply[0] = '\0';
	if (strlen(cmd) >= MC_MAX_DATA) {
		err("mconsole command too long");
		return -1;
	}
	if (mconsole_socket_path(name, to.sun_path, sizeof(to.sun_path)) < 0)
		return -1;
	req.len = (uint32_t)strlen(cmd);
	memcpy(req.data, cmd, req.len);

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err("socket: %s", strerror(errno));
		return -1;
	}
	/* The guest answers to the sender's address: a socket file in the
	 * runtime directory, which is root's (an abstract address would not
	 * do: those belong to a network namespace, and the instance may run
	 * in another).  UML runs as the instance user, so the socket is
	 * writable for all (umask at bind time: no chmod on a path). */
	if (run_dir(me.sun_path, sizeof(me.sun_path), NULL) < 0 ||
	    snprintf_ok(me.sun_path + strlen(me.sun_path),
			sizeof(me.sun_path) - strlen(me.sun_path),
			"/.mconsole-%d.sock", (int)getpid()) < 0) {
		close(fd);
		return -1;
	}
	unlink(me.sun_path);
	{
		mode_t old = umask(0111);

		bound = bind(fd, (struct sockaddr *)&me, sizeof(me)) == 0;
		umask(old);
	}
	if (!bound ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		err("mconsole socket %s: %s", me.sun_path, strerror(errno));
		unlink(me.sun_path);
		close(fd);
		return -1;
	}
	if (sendto(fd, &req, sizeof(req) - MC_MAX_DATA + req.len, 0,
		   (struct sockaddr *)&to, sizeof(to)) < 0) {
		snprintf(reply, len, "cannot reach %s: %s", to.sun_path,
			 strerror(errno));
		unlink(me.sun_path);
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n = recv(fd, &rep, sizeof(rep), 0);
		size_t dlen;

		if (n < 0) {
			snprintf(reply, len, "no answer from %s: %s", to.sun_path,
				 errno == EAGAIN ? "timed out" : strerror(errno));
			unlink(me.sun_path);
			close(fd);
			return -1;
		}
		if ((size_t)n < sizeof(rep) - MC_MAX_DATA) {
			snprintf(reply, len, "short mconsole reply (%zd bytes)", n);
			unlink(me.sun_path);
			close(fd);
			return -1;
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
