/* supervisor.c: the process that runs one instance.  `umlctl start` forks
 * it (systemd sees it as the service's main process).  It
 *  - starts UML as the instance user, pinned to its host CPUs, in a process
 *    group of its own, with the console (con0) on a pseudo-terminal;
 *  - copies the console to STATE/console.log, to the journal when run by
 *    its systemd unit (journal.c) and to the clients of the
 *    console socket RUN/instances/NAME/console.sock (umlctl console), and their
 *    input to the console;
 *  - relays the agent channel, the guest's second serial line (ssl1, on
 *    a pseudo-terminal of its own), to one client at a time of
 *    RUN/instances/NAME/agent.sock (umlctl exec; exec.c has the protocol);
 *  - registers with systemd-machined when run by the instance's unit
 *    (machine.c), so that `machinectl list` shows the instance;
 *  - on SIGTERM (also SIGINT and SIGRTMIN+4: machinectl reboot and
 *    poweroff) asks the guest to shut down (mconsole cad); after
 *    stop_timeout syncs the guest's disks (sysrq s, u) and kills it a few
 *    seconds later; on SIGUSR1 kills it at once (umlctl kill);
 *  - when UML exits, however it exits: kills what is left of its process
 *    group, removes the TAP devices, sockets and pid files, and records
 *    how the instance ended in STATE/last-exit. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "umlctl.h"

#define MAX_CLIENTS 8
#define LOG_MAX (1024 * 1024)
#define AGENT_SEND_LIMIT 10  /* seconds an exec client may not read */
#define BOOT_WAIT 30   /* seconds for UML to open its mconsole socket */

struct sup {
	const struct launch *l;
	char state[PATH_LEN], run[PATH_LEN], log[PATH_LEN], sock[PATH_LEN];
	int master, logfd, lfd, sfd;
	int clients[MAX_CLIENTS];
	int agent_master;      /* the host side of the guest's ttyS1 */
	int agent_slave;       /* UML's side, until UML has it */
	int agent_lfd;         /* agent.sock */
	int agent_client;      /* its one client; -1: none */
	char agent_sock[PATH_LEN];
	int taps[MAX_NETS];    /* open TAP devices, passed to UML */
	int ntaps;
	pid_t uml;
	int status;
	bool exited;
	double kill_at;        /* 0: no stop in progress */
	bool cad_pending;      /* stop asked before init took over cad */
	bool synced;           /* sysrq s+u sent: the kill follows */
	struct jstream journal; /* the console to the unit's journal */
	bool kill_requested;   /* SIGUSR1: exit EXIT_KILLED */
	bool machine_tried;    /* registration with systemd-machined */
	pid_t machine_pid;     /* its helper, while it runs */
	int machine_fd;        /* the helper's reason for a failure */
	bool machine_reg;      /* the helper registers (else unregisters) */
};

static void logline(struct sup *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void log_write(struct sup *s, const char *buf, size_t n)
{
	struct stat st;
	char old[PATH_LEN + 8];

	if (s->logfd >= 0 && fstat(s->logfd, &st) == 0 && st.st_size > LOG_MAX) {
		snprintf(old, sizeof(old), "%s.1", s->log);
		rename(s->log, old);
		close(s->logfd);
		s->logfd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	}
	/* A full disk must not stop the console: errors are ignored. */
	if (s->logfd >= 0 && write(s->logfd, buf, n) < 0) {
	}
	journal_feed(&s->journal, buf, n);
}

static void logline(struct sup *s, const char *fmt, ...)
{
	char buf[512], ts[64];
	time_t t = time(NULL);
	va_list ap;
	int n;

	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime(&t));
	n = snprintf(buf, sizeof(buf), "\r\n[umlctl %s] ", ts);
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 3)
		n = (int)sizeof(buf) - 3;
	buf[n++] = '\r';
	buf[n++] = '\n';
	log_write(s, buf, (size_t)n);
}

static void ready(struct sup *s, const char *text)
{
	if (s->l->ready_fd < 0)
		return;
	if (write(s->l->ready_fd, text, strlen(text)) < 0)
		err("cannot report to umlctl start: %s", strerror(errno));
	close(s->l->ready_fd);
	((struct launch *)s->l)->ready_fd = -1;
}

static int add_arg(char **argv, int *argc, int max, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int add_arg(char **argv, int *argc, int max, const char *fmt, ...)
{
	va_list ap;
	char *p;

	if (*argc >= max - 1)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	if (!p)
		return -1;
	argv[(*argc)++] = p;
	argv[*argc] = NULL;
	return 0;
}

/* The UML command line. */
static int build_argv(struct sup *s, char **argv, int max)
{
	const struct global_conf *g = s->l->g;
	const struct instance_conf *ic = s->l->ic;
	char udir[PATH_LEN], copy[sizeof(ic->append)];
	int argc = 0, r = 0, ubd = 2;

	if (instance_uml_dir(udir, sizeof(udir), ic->name) < 0)
		return -1;
	r |= add_arg(argv, &argc, max, "%s", g->kernel);
	r |= add_arg(argv, &argc, max, "umid=%s", ic->name);
	r |= add_arg(argv, &argc, max, "uml_dir=%s", udir);
	r |= add_arg(argv, &argc, max, "mem=%s", ic->memory);
	/* Left out for one vCPU, so that a uniprocessor kernel (which has
	 * no ncpus=) still boots the instance files of earlier versions. */
	if (ic->vcpus > 1)
		r |= add_arg(argv, &argc, max, "ncpus=%d", ic->vcpus);
	r |= add_arg(argv, &argc, max, "ubd0=%s/disk/disk.cow,%s", s->state,
		     s->l->image);
	r |= add_arg(argv, &argc, max, "ubd1r=%s/meta.img", s->state);
	for (int i = 0; i < ic->ndisks; i++)
		r |= add_arg(argv, &argc, max, "ubd%d=%s", ubd++, ic->disks[i]);
	r |= add_arg(argv, &argc, max, "root=/dev/ubda");
	r |= add_arg(argv, &argc, max, "con=null");
	r |= add_arg(argv, &argc, max, "ssl=null");
	r |= add_arg(argv, &argc, max, "con0=fd:0,fd:1");
	/* A lab's node: its /shared, the only host folder the guest may
	 * mount (hostfs; without hostfs= it may mount none). */
	if (s->l->hostfs[0])
		r |= add_arg(argv, &argc, max, "hostfs=%s", s->l->hostfs);
	/* The TAP devices are opened here and handed to UML as file
	 * descriptors 3, 4, ... (the vector driver's fd transport, without
	 * vectored I/O: plain readv/writev of frames), so UML itself never
	 * needs /dev/net/tun. */
	int fd = 3;

	for (int i = 0; i < MAX_NETS; i++) {
		if (!ic->nets[i].used)
			continue;
		r |= add_arg(argv, &argc, max, "vec%d:transport=fd,fd=%d,vec=0,mac=%s",
			     i, fd++, ic->nets[i].mac);
	}
	/* The agent channel, after the TAP devices (child() puts it there). */
	r |= add_arg(argv, &argc, max, "ssl1=fd:%d", fd);
	snprintf(copy, sizeof(copy), "%s", ic->append);
	for (char *save, *w = strtok_r(copy, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save))
		r |= add_arg(argv, &argc, max, "%s", w);
	return r ? -1 : 0;
}

static void child(struct sup *s, int slave, char **argv)
{
	const struct launch *l = s->l;
	sigset_t none;
	cpu_set_t set;
	char tmp[PATH_LEN + 8], home[PATH_LEN + 8];

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	dup2(slave, 0);
	dup2(slave, 1);
	dup2(slave, 2);
	/* TAP descriptors to 3, 4, ... (by way of high numbers, so that
	 * none is overwritten before it is moved). */
	for (int i = 0; i < s->ntaps; i++)
		s->taps[i] = fcntl(s->taps[i], F_DUPFD, 100);
	s->agent_slave = fcntl(s->agent_slave, F_DUPFD, 100);
	for (int i = 0; i < s->ntaps; i++)
		if (s->taps[i] < 0 || dup2(s->taps[i], 3 + i) < 0)
			_exit(126);
	if (s->agent_slave < 0 || dup2(s->agent_slave, 3 + s->ntaps) < 0)
		_exit(126);
	closefrom(4 + s->ntaps);
	if (chdir(s->state) < 0)
		_exit(126);
	if (config_cpu_list(l->cpus, &set) < 0)
		fprintf(stderr, "umlctl: cannot pin to host CPU %s: not a CPU list\n",
			l->cpus);
	else if (sched_setaffinity(0, sizeof(set), &set) < 0)
		fprintf(stderr, "umlctl: cannot pin to host CPU %s: %s\n", l->cpus,
			strerror(errno));
	gid_t groups[2];
	size_t ngroups = 0;

	if (l->has_extra)
		groups[ngroups++] = l->extra_gid;
	if (l->has_lab_gid)
		groups[ngroups++] = l->lab_gid;
	if (setgroups(ngroups, groups) < 0 || setgid(l->gid) < 0 ||
	    setuid(l->uid) < 0) {
		fprintf(stderr, "umlctl: cannot become uid %u: %s\n",
			(unsigned)l->uid, strerror(errno));
		_exit(126);
	}
	snprintf(tmp, sizeof(tmp), "TMPDIR=%s", l->g->tmpdir);
	snprintf(home, sizeof(home), "HOME=%s", s->state);
	clearenv();
	putenv("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
	putenv(tmp);
	putenv(home);
	putenv("TERM=linux");
	execv(argv[0], argv);
	fprintf(stderr, "umlctl: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void to_clients(struct sup *s, const char *buf, size_t n)
{
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (s->clients[i] < 0)
			continue;
		if (send(s->clients[i], buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN) {
			close(s->clients[i]);
			s->clients[i] = -1;
		}
	}
}

static void pump_master(struct sup *s)
{
	char buf[4096];
	ssize_t n = read(s->master, buf, sizeof(buf));

	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		close(s->master);   /* EIO: nobody has the terminal open */
		s->master = -1;
		return;
	}
	log_write(s, buf, (size_t)n);
	to_clients(s, buf, (size_t)n);
}

/* A client that left in the middle of a line must not leave its half
 * for the next one's to complete: a newline ends it (the agent drops a
 * line that does not check out). */
static void agent_client_gone(struct sup *s)
{
	close(s->agent_client);
	s->agent_client = -1;
	if (s->agent_master >= 0 && write(s->agent_master, "\n", 1) < 0) {
	}
}

/* The guest's agent line to its client; without one, it is dropped (what
 * a client that left asked for). */
static void pump_agent(struct sup *s)
{
	char buf[4096];
	ssize_t n = read(s->agent_master, buf, sizeof(buf));

	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		close(s->agent_master);
		s->agent_master = -1;
		if (s->agent_client >= 0)
			agent_client_gone(s);
		return;
	}
	/* Blocking, bounded by the client: exec reads all it is sent, and
	 * one that stops reading is cut off after AGENT_SEND_LIMIT. */
	if (s->agent_client >= 0 &&
	    send(s->agent_client, buf, (size_t)n, MSG_NOSIGNAL) != n)
		agent_client_gone(s);
}

/* To the guest's line, which the agent may not read yet (the master is
 * non-blocking): waits for room up to AGENT_SEND_LIMIT. */
static int to_agent(struct sup *s, const char *buf, size_t n)
{
	double give_up = now_s() + AGENT_SEND_LIMIT;

	while (n > 0) {
		ssize_t w = write(s->agent_master, buf, n);

		if (w < 0 && errno == EAGAIN && now_s() < give_up) {
			struct pollfd p = { .fd = s->agent_master, .events = POLLOUT };

			poll(&p, 1, 200);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

static void agent_from_client(struct sup *s)
{
	char buf[4096];
	ssize_t n = read(s->agent_client, buf, sizeof(buf));

	if (n <= 0) {
		agent_client_gone(s);
		return;
	}
	if (s->agent_master < 0 || to_agent(s, buf, (size_t)n) < 0)
		agent_client_gone(s);
}

/* The machined helper has ended with status st. */
static void machine_helper_done(struct sup *s, int st)
{
	char why[257];
	ssize_t n = read(s->machine_fd, why, sizeof(why) - 1);

	why[n > 0 ? n : 0] = '\0';
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		logline(s, "systemd-machined: %s: %s",
			!s->machine_reg ? "cannot unregister the instance" :
				    "the instance is not registered (machinectl list)",
			why[0] ? why : WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM ?
			"no answer in time" : WIFSIGNALED(st) ? "cut off by the stop" : "failed");
	close(s->machine_fd);
	s->machine_fd = -1;
	s->machine_pid = 0;
}

static void handle_signals(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			int st;

			if (waitpid(s->uml, &st, WNOHANG) == s->uml) {
				s->status = st;
				s->exited = true;
			}
			if (s->machine_pid > 0 &&
			    waitpid(s->machine_pid, &st, WNOHANG) == s->machine_pid)
				machine_helper_done(s, st);
		} else if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT ||
			    si.ssi_signo == (uint32_t)SIGRTMIN + 4) &&
			   !s->kill_at && !s->exited) {
			char reply[256];

			logline(s, "stop requested: asking the guest to shut down (cad)");
			s->kill_at = now_s() + s->l->g->stop_timeout;
			if (mconsole_cad_ready(s->l->ic->name) == 0)
				s->cad_pending = true;
			else if (mconsole_request(s->l->ic->name, "cad", reply,
						  sizeof(reply)) < 0)
				s->kill_at = now_s();
		} else if (si.ssi_signo == SIGUSR1 && !s->exited) {
			/* umlctl kill, or a stop past its timeout: UML is our
			 * child, so this cannot hit another process. */
			logline(s, "kill requested");
			s->kill_requested = true;
			kill(-s->uml, SIGKILL);
			kill(s->uml, SIGKILL);
		}
	}
}

/* One round of the event loop; timeout in ms. */
static void loop_once(struct sup *s, int timeout)
{
	struct pollfd p[6 + MAX_CLIENTS];
	int n = 0, c0, a0;

	p[n++] = (struct pollfd){ .fd = s->sfd, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = s->master, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	c0 = n;
	for (int i = 0; i < MAX_CLIENTS; i++)
		p[n++] = (struct pollfd){ .fd = s->clients[i], .events = POLLIN };
	/* One agent client at a time: the next waits in the backlog. */
	a0 = n;
	p[n++] = (struct pollfd){ .fd = s->agent_master, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = s->agent_client < 0 ? s->agent_lfd : -1,
				  .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = s->agent_client, .events = POLLIN };
	if (poll(p, (nfds_t)n, timeout) <= 0)
		return;
	if (s->agent_master >= 0 && p[a0].revents)
		pump_agent(s);
	if (s->agent_client < 0 && s->agent_lfd >= 0 && p[a0 + 1].revents) {
		struct timeval tv = { .tv_sec = AGENT_SEND_LIMIT };

		s->agent_client = accept4(s->agent_lfd, NULL, NULL, SOCK_CLOEXEC);
		if (s->agent_client >= 0)
			setsockopt(s->agent_client, SOL_SOCKET, SO_SNDTIMEO, &tv,
				   sizeof(tv));
	} else if (s->agent_client >= 0 && p[a0 + 2].revents) {
		agent_from_client(s);
	}
	if (p[0].revents)
		handle_signals(s);
	if (s->master >= 0 && p[1].revents)
		pump_master(s);
	if (s->lfd >= 0 && p[2].revents) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		int i;

		for (i = 0; fd >= 0 && i < MAX_CLIENTS; i++)
			if (s->clients[i] < 0) {
				s->clients[i] = fd;
				break;
			}
		if (fd >= 0 && i == MAX_CLIENTS)
			close(fd);
	}
	for (int i = 0; i < MAX_CLIENTS; i++) {
		char buf[1024];
		ssize_t r;

		if (s->clients[i] < 0 || !p[c0 + i].revents)
			continue;
		r = read(s->clients[i], buf, sizeof(buf));
		if (r <= 0) {
			close(s->clients[i]);
			s->clients[i] = -1;
		} else if (s->master >= 0 && write(s->master, buf, (size_t)r) < 0) {
			logline(s, "console input lost: %s", strerror(errno));
		}
	}
}

static void describe_exit(int st, char *out, size_t len)
{
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		snprintf(out, len, "powered off");
	else if (WIFEXITED(st))
		snprintf(out, len, "exited with status %d", WEXITSTATUS(st));
	else
		snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
}

/* A listening socket only root may connect to (RUN is root's, 0600). */
static int open_socket(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (snprintf_ok(a.sun_path, sizeof(a.sun_path), "%s", path) < 0) {
		err("%s: path too long for a socket", path);
		return -1;
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
		err("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int open_taps(struct sup *s)
{
	const struct instance_conf *ic = s->l->ic;

	for (int i = 0; i < MAX_NETS; i++) {
		struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
		int fd;

		if (!ic->nets[i].used)
			continue;
		tap_name(ic->name, i, ifr.ifr_name);
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
			err("TAP device %s: %s", ifr.ifr_name, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		s->taps[s->ntaps++] = fd;
	}
	return 0;
}

static int open_pty(int *slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	char *name;

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !(name = ptsname(m))) {
		err("pseudo-terminal: %s", strerror(errno));
		return -1;
	}
	*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0) {
		err("%s: %s", name, strerror(errno));
		return -1;
	}
	fcntl(m, F_SETFL, O_NONBLOCK);
	return m;
}

static void write_runfile(struct sup *s, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void write_runfile(struct sup *s, const char *file, const char *fmt, ...)
{
	char path[PATH_LEN + 32], text[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", s->run, file);
	write_file(path, text, 0644);
}

/* Registers the instance with systemd-machined, or unregisters it, in a
 * child bounded by MACHINE_CALL_LIMIT (machine.c); a failure's reason
 * comes back through a pipe and is logged when the child is reaped.
 * With wait, returns only then. */
static void machine_helper(struct sup *s, bool reg, bool wait)
{
	pid_t self = getpid(), pid;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		sigset_t none;
		char why[256];
		int r;

		/* None of the supervisor's descriptors stay open here: a
		 * console client must see its end when the supervisor closes
		 * it. */
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (s->clients[i] >= 0)
				close(s->clients[i]);
		if (s->master >= 0)
			close(s->master);
		if (s->lfd >= 0)
			close(s->lfd);
		if (s->agent_master >= 0)
			close(s->agent_master);
		if (s->agent_lfd >= 0)
			close(s->agent_lfd);
		if (s->agent_client >= 0)
			close(s->agent_client);
		if (s->sfd >= 0)
			close(s->sfd);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		alarm(reg ? 3 * MACHINE_CALL_LIMIT + 5 : MACHINE_CALL_LIMIT / 3);
		r = reg ? machine_register(s->l->ic, self, why, sizeof(why)) :
			  machine_unregister(s->l->ic->name, why, sizeof(why));
		if (r < 0 && write(fds[1], why, strlen(why)) < 0)
			_exit(2);
		_exit(r < 0 ? 1 : 0);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return;
	}
	s->machine_pid = pid;
	s->machine_fd = fds[0];
	s->machine_reg = reg;
	if (wait) {
		int st = 0;
		pid_t r;

		while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
			;
		if (r == pid)
			machine_helper_done(s, st);
	}
}

static void finish(struct sup *s, const char *how)
{
	char path[PATH_LEN + 32], text[256];
	time_t t = time(NULL);

	/* What the guest left behind: every process of the instance's
	 * user (UML's helpers, anything started in a session of its own). */
	kill_user(s->l->uid);
	net_taps_down(s->l->ic->name);
	forward_down(s->l->ic->name);
	remove_uml_dir(s->l->ic->name);
	logline(s, "instance %s: %s", s->l->ic->name, how);
	strftime(path, sizeof(path), "%Y-%m-%d %H:%M:%S", localtime(&t));
	snprintf(text, sizeof(text), "%s\n%s\n", how, path);
	snprintf(path, sizeof(path), "%s/last-exit", s->state);
	write_file(path, text, 0644);
	rm_rf(s->run);
	/* Last, and not after umlctl kill (which waits only a few seconds
	 * for this process): machined drops the machine when the unit
	 * stops anyway.  Also after a registration that failed, since one
	 * cut off by its time limit may have been carried out after all;
	 * machine_unregister removes only a machine of this unit. */
	if (s->machine_pid > 0) {
		int st = 0;

		kill(s->machine_pid, SIGKILL);
		if (waitpid(s->machine_pid, &st, 0) == s->machine_pid)
			machine_helper_done(s, st);
	}
	if (s->machine_tried && !s->kill_requested)
		machine_helper(s, false, true);
}

void supervise(const struct launch *l)
{
	static struct sup s;
	static char *argv[64 + MAX_DISKS + MAX_NETS];
	sigset_t mask;
	int slave = -1, devnull;
	char mcsock[PATH_LEN], how[160];
	double deadline;

	memset(&s, 0, sizeof(s));
	s.l = l;
	s.master = s.lfd = s.sfd = s.logfd = s.machine_fd = -1;
	s.agent_master = s.agent_slave = s.agent_lfd = s.agent_client = -1;
	for (int i = 0; i < MAX_CLIENTS; i++)
		s.clients[i] = -1;
	/* The supervisor lives on its own: no terminal, no inherited output,
	 * none of umlctl start's locks. */
	close_held_locks();
	setsid();
	journal_open(&s.journal);
	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		if (devnull > 2)
			close(devnull);
	}
	if (state_dir(s.state, sizeof(s.state), l->ic->name) < 0 ||
	    run_dir(s.run, sizeof(s.run), l->ic->name) < 0 ||
	    snprintf_ok(s.log, sizeof(s.log), "%s/console.log", s.state) < 0 ||
	    snprintf_ok(s.sock, sizeof(s.sock), "%s/console.sock", s.run) < 0 ||
	    snprintf_ok(s.agent_sock, sizeof(s.agent_sock), "%s/agent.sock", s.run) < 0 ||
	    mconsole_socket_path(l->ic->name, mcsock, sizeof(mcsock)) < 0 ||
	    build_argv(&s, argv, (int)(sizeof(argv) / sizeof(argv[0]))) < 0) {
		ready(&s, "error: cannot build the instance's paths or command line\n");
		_exit(1);
	}
	s.logfd = open(s.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	/* machinectl poweroff (and reboot: SIGINT, above) */
	sigaddset(&mask, SIGRTMIN + 4);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	s.master = open_pty(&slave);
	s.lfd = open_socket(s.sock);
	s.agent_master = open_pty(&s.agent_slave);
	if (s.agent_slave >= 0) {
		struct termios t;

		/* Bytes through unchanged, whatever UML does with the line. */
		if (tcgetattr(s.agent_slave, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(s.agent_slave, TCSANOW, &t);
		}
	}
	s.agent_lfd = open_socket(s.agent_sock);
	if (s.sfd < 0 || s.master < 0 || s.lfd < 0 || s.agent_master < 0 ||
	    s.agent_lfd < 0 || open_taps(&s) < 0) {
		ready(&s, "error: cannot set up the console or the TAP devices\n");
		rm_rf(s.run);
		_exit(1);
	}
	{
		char cmdline[2048] = "";

		for (int i = 0; argv[i]; i++)
			snprintf(cmdline + strlen(cmdline),
				 sizeof(cmdline) - strlen(cmdline), "%s%s",
				 i ? " " : "", argv[i]);
		logline(&s, "starting %s on host CPU %s as uid %u: %s", l->ic->name,
			l->cpus, (unsigned)l->uid, cmdline);
	}
	/* Where this boot's console output begins, out of the guest's reach
	 * (RUN is root's): `umlctl ssh` reads the host keys from there. */
	{
		char path[PATH_LEN + 32], text[96];
		struct stat st;

		if (s.logfd >= 0 && fstat(s.logfd, &st) == 0) {
			snprintf(path, sizeof(path), "%s/console.start", s.run);
			snprintf(text, sizeof(text), "%llu %llu %lld\n",
				 (unsigned long long)st.st_dev,
				 (unsigned long long)st.st_ino, (long long)st.st_size);
			write_file(path, text, 0644);
		}
	}
	s.uml = fork();
	if (s.uml < 0) {
		ready(&s, "error: fork failed\n");
		rm_rf(s.run);
		_exit(1);
	}
	if (s.uml == 0)
		child(&s, slave, argv);
	close(slave);
	close(s.agent_slave);
	s.agent_slave = -1;
	for (int i = 0; i < s.ntaps; i++)
		close(s.taps[i]);
	/* Who is who, as pid and start time (proc.c); supervisor.pid is
	 * for systemd's PIDFile=. */
	{
		char path[PATH_LEN + 32];

		snprintf(path, sizeof(path), "%s/supervisor.id", s.run);
		proc_id_write(path, getpid());
		snprintf(path, sizeof(path), "%s/uml.id", s.run);
		proc_id_write(path, s.uml);
	}
	write_runfile(&s, "supervisor.pid", "%d\n", (int)getpid());
	write_runfile(&s, "cpu", "%s\n", l->cpus);
	write_runfile(&s, "started", "%lld\n", (long long)time(NULL));
	/* Which uml-skas started it: after an upgrade, status tells the
	 * instances still running the old one (their kernel, their umlctl
	 * supervisor) from the restarted ones. */
	write_runfile(&s, "version", "%s\n", UMLCTL_VERSION);

	/* Started: once UML has its mconsole socket, or failed. */
	deadline = now_s() + BOOT_WAIT;
	while (!s.exited && access(mcsock, F_OK) < 0 && now_s() < deadline)
		loop_once(&s, 50);
	if (s.exited || access(mcsock, F_OK) < 0) {
		char text[PATH_LEN + 300];
		bool timed_out = !s.exited;

		if (timed_out) {
			kill(-s.uml, SIGKILL);
			while (!s.exited)
				loop_once(&s, 100);
		}
		for (int i = 0; i < 20 && s.master >= 0; i++)
			loop_once(&s, 10);
		describe_exit(s.status, how, sizeof(how));
		snprintf(text, sizeof(text),
			 "error: UML did not come up (%s); see %s\n",
			 timed_out ? "no mconsole socket after 30 s" : how, s.log);
		finish(&s, how);
		ready(&s, text);
		_exit(1);
	}
	ready(&s, "ok\n");
	if (s.logfd >= 0)
		dup2(s.logfd, 2);   /* later messages go to the console log */
	if (machine_registration_wanted()) {
		s.machine_tried = true;
		machine_helper(&s, true, false);
	}

	while (!s.exited) {
		if (s.cad_pending && mconsole_cad_ready(l->ic->name) != 0) {
			char reply[256];

			s.cad_pending = false;
			mconsole_request(l->ic->name, "cad", reply, sizeof(reply));
		}
		if (s.kill_at && now_s() >= s.kill_at && !s.synced) {
			char reply[256];

			/* Nothing the guest wrote is lost: sync, remount
			 * read-only, then the kill. */
			logline(&s, "the guest did not shut down in time: syncing its disks (sysrq s, u), then killing it");
			mconsole_request(l->ic->name, "sysrq s", reply, sizeof(reply));
			mconsole_request(l->ic->name, "sysrq u", reply, sizeof(reply));
			s.synced = true;
			s.kill_at = now_s() + SYNC_WAIT;
		} else if (s.kill_at && now_s() >= s.kill_at) {
			logline(&s, "killing the guest");
			kill(-s.uml, SIGKILL);
			s.kill_at = now_s() + 3600;
		}
		loop_once(&s, 200);
	}
	/* The last words on the console. */
	for (int i = 0; i < 20 && s.master >= 0; i++)
		loop_once(&s, 10);
	describe_exit(s.status, how, sizeof(how));
	finish(&s, how);
	journal_flush(&s.journal);
	/* A kill asked for is not a failure to restart from (the unit's
	 * RestartPreventExitStatus=). */
	if (s.kill_requested)
		_exit(EXIT_KILLED);
	_exit(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0 ? 0 : 1);
}
