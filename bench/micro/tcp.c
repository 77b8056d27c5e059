/* TCP round trip over loopback: a forked echo server, TCP_NODELAY, one byte
 * there and back per operation (network stack plus two process switches). */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>

static int conn;

static void body(void *ctx, long n)
{
	char c = 'x';

	(void)ctx;
	for (long i = 0; i < n; i++) {
		if (write(conn, &c, 1) != 1)
			die("write");
		if (read(conn, &c, 1) != 1)
			die("read");
	}
}

static void nodelay(int s)
{
	int one = 1;

	if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		die("setsockopt");
}

int main(int argc, char **argv)
{
	struct opts o = parse_opts(argc, argv);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int ls;
	pid_t p;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0)
		die("socket");
	/* Port 0: the kernel picks a free one, read back with getsockname. */
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&a, &alen))
		die("bind/listen (is lo up?)");
	p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		char c;
		int s = accept(ls, NULL, NULL);

		if (s < 0)
			_exit(1);
		nodelay(s);
		while (read(s, &c, 1) == 1)
			if (write(s, &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(ls);
	conn = socket(AF_INET, SOCK_STREAM, 0);
	if (conn < 0)
		die("socket");
	if (connect(conn, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	nodelay(conn);
	run_bench("tcp", body, NULL, 1, &o);
	close(conn);
	waitpid(p, NULL, 0);
	return 0;
}
