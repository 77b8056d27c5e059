// SPDX-License-Identifier: GPL-2.0
/*
 * Guest networking without any host device: bring up the loopback
 * interface, then TCP over IPv4 and IPv6 loopback between two processes,
 * and a UDP round trip.
 */
#include "t.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0), r;

	if (s < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return r;
}

/* A child connects to the listening socket and sends 1 MiB; the parent
 * counts the bytes and checks them. */
static void tcp(const char *name, int family, const struct sockaddr *sa, socklen_t len)
{
	static char buf[65536];
	int ls = socket(family, SOCK_STREAM, 0), one = 1, st = 0, bad = 0;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	long total = 0;
	pid_t pid;

	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, sa, len) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&bound, &blen)) {
		t_fail(name, "listen: %s", strerror(errno));
		if (ls >= 0)
			close(ls);
		return;
	}
	pid = fork();
	if (pid == 0) {
		int c = socket(family, SOCK_STREAM, 0);

		if (c < 0 || connect(c, (struct sockaddr *)&bound, blen))
			_exit(1);
		for (int i = 0; i < 16; i++) {
			memset(buf, 'A' + i, sizeof(buf));
			if (write(c, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				_exit(2);
		}
		_exit(0);
	}
	int c = accept(ls, NULL, NULL);

	for (;;) {
		ssize_t r = c >= 0 ? read(c, buf, sizeof(buf)) : -1;

		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != 'A' + (total + i) / 65536)
				bad = 1;
		total += r;
	}
	waitpid(pid, &st, 0);
	t_check(name, total == 16 * 65536 && !bad && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"%ld bytes, %s, sender status 0x%x", total, bad ? "corrupt" : "intact", st);
	if (c >= 0)
		close(c);
	close(ls);
}

static void udp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[32] = { 0 };

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(s, (struct sockaddr *)&a, &alen)) {
		t_fail("udp-loopback", "%s", strerror(errno));
		return;
	}
	sendto(s, "datagram", 8, 0, (struct sockaddr *)&a, alen);
	t_check("udp-loopback", recv(s, buf, sizeof(buf) - 1, 0) == 8 &&
		strcmp(buf, "datagram") == 0, "got '%s'", buf);
	close(s);
}

int main(void)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	t_check("loopback-up", lo_up() == 0, "SIOCSIFFLAGS lo: %s", strerror(errno));
	tcp("tcp-ipv4-loopback-1MiB", AF_INET, (struct sockaddr *)&a4, sizeof(a4));
	tcp("tcp-ipv6-loopback-1MiB", AF_INET6, (struct sockaddr *)&a6, sizeof(a6));
	udp();
	return t_exit();
}
