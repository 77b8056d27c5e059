// SPDX-License-Identifier: GPL-2.0
/*
 * The module writes no audit record of its own (see "Security" in
 * docs/host-support.md).  It used to add an MMAP record to the writer's
 * write(2) for every file mapping (and, with any audit rule loaded, made
 * the kernel record that whole write): with audit enabled, a guest filled
 * the host's audit backlog at one record or more per page fault.
 *
 * The test becomes the audit daemon (AUDIT_SET pid), so that the records
 * come to its netlink socket, audits the write(2) calls of one child with
 * a rule, and lets the child map a memfd page by page through /proc/mm.
 * It expects the child's write events (the control: the collection
 * works) and no MMAP record in any of them.
 *
 * Audit once enabled stays in effect for what is forked afterwards (an
 * audit context each), so this test must run last: the runner orders
 * tests by link order, then line, and the Makefile links this file last.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "tracee.h"

#define NR_MAPS		20
#define MAX_SERIALS	4096

/* The serial numbers of the events seen: records of one event share it. */
static struct {
	pid_t child;
	int writes;		/* the child's write(2) events */
	int mmaps;		/* MMAP records, anyone's */
	int aux;		/* records but a write event's own kinds */
	unsigned int write_serial[MAX_SERIALS];
	unsigned int aux_serial[MAX_SERIALS];
	int aux_type[MAX_SERIALS];
} seen;

static union {
	struct nlmsghdr nlh;
	char buf[16384];
} rx;

/*
 * A record's text is "audit(SECONDS.MILLIS:SERIAL): ...".  The MMAP record
 * the module wrote has no pid= of its own, so it is tied to the child by
 * the serial of the child's SYSCALL record.
 */
static void log_record(int type, const char *text)
{
	char pid[32], nr[32];
	unsigned int serial;

	if (sscanf(text, "audit(%*u.%*u:%u)", &serial) != 1)
		return;
	snprintf(pid, sizeof(pid), " pid=%d ", seen.child);
	snprintf(nr, sizeof(nr), " syscall=%d ", SYS_write);
	if (type == AUDIT_MMAP)
		seen.mmaps++;
	if (type == AUDIT_SYSCALL && seen.child > 0 &&
	    strstr(text, pid) && strstr(text, nr)) {
		if (seen.writes < MAX_SERIALS)
			seen.write_serial[seen.writes] = serial;
		seen.writes++;
	} else if (type != AUDIT_SYSCALL && type != AUDIT_EOE &&
		   type != AUDIT_PROCTITLE && type != AUDIT_CWD &&
		   type != AUDIT_PATH) {
		/* any other kind in a write event would be the module's */
		if (seen.aux < MAX_SERIALS) {
			seen.aux_serial[seen.aux] = serial;
			seen.aux_type[seen.aux] = type;
		}
		seen.aux++;
	}
}

/*
 * Reads one message into rx within timeout_ms and logs it if it is a
 * record.  Returns > 0 when one came, 0 when none did, or -errno.  Records
 * come one per datagram and their nlmsg_len counts the text only (a quirk
 * the kernel keeps for auditd), so the length is what recv() returned.
 */
static int audit_read(int sk, int timeout_ms)
{
	struct pollfd pfd = { .fd = sk, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	memset(&rx.nlh, 0, sizeof(rx.nlh));	/* a runt is no message */
	n = recv(sk, rx.buf, sizeof(rx.buf) - 1, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n < NLMSG_HDRLEN)
		return 1;
	rx.buf[n] = 0;
	log_record(rx.nlh.nlmsg_type, rx.buf + NLMSG_HDRLEN);
	return n;
}

/*
 * Sends one request with NLM_F_ACK and reads up to its ack and, if reply
 * is given, its reply (a kernel thread sends that one, after the ack).
 * Records that arrive meanwhile are logged.  Returns 0 or -errno.
 */
static int audit_request(int sk, int type, const void *data, size_t len,
			 void *reply, size_t reply_len)
{
	static unsigned int seq;
	struct {
		struct nlmsghdr nlh;
		char data[sizeof(struct audit_rule_data)];
	} req;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int acked = 0, replied = !reply;
	double deadline = now() + 5;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = NLMSG_LENGTH(len);
	req.nlh.nlmsg_type = type;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nlh.nlmsg_seq = ++seq;
	if (len)
		memcpy(NLMSG_DATA(&req.nlh), data, len);
	if (sendto(sk, &req, req.nlh.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		return -errno;
	while (!acked || !replied) {
		int n = audit_read(sk, 100);

		if (n < 0)
			return n;
		if (now() > deadline)
			return -ETIMEDOUT;
		if (!n || rx.nlh.nlmsg_seq != seq)
			continue;
		if (rx.nlh.nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(&rx.nlh);

			if (e->error)
				return e->error;
			acked = 1;
		} else if (reply && rx.nlh.nlmsg_type == type) {
			size_t got = n - NLMSG_HDRLEN;

			/* struct audit_status grew over the versions. */
			memcpy(reply, NLMSG_DATA(&rx.nlh), got < reply_len ? got : reply_len);
			replied = 1;
		}
	}
	return 0;
}

/* Audit write(2) of pid at system call exit. */
static void write_rule(struct audit_rule_data *r, pid_t pid)
{
	memset(r, 0, sizeof(*r));
	r->flags = AUDIT_FILTER_EXIT;
	r->action = AUDIT_ALWAYS;
	r->mask[AUDIT_WORD(SYS_write)] = AUDIT_BIT(SYS_write);
	/* System call numbers are per arch: a syscall rule names its arch. */
	r->fields[0] = AUDIT_ARCH;
	r->values[0] = AUDIT_ARCH_X86_64;
	r->fieldflags[0] = AUDIT_EQUAL;
	/* Only the child: nobody else's writes reach the socket. */
	r->fields[1] = AUDIT_PID;
	r->values[1] = pid;
	r->fieldflags[1] = AUDIT_EQUAL;
	r->field_count = 2;
}

/* The child: once the rule is in, maps a memfd page by page, as UML does. */
static void map_pages(int go)
{
	int fd, mfd, i;
	char c;

	if (read(go, &c, 1) != 1)
		_exit(0);	/* the parent gave up */
	mfd = memfd_words(NR_MAPS, 0);
	fd = space_open();
	/* One write per mapping. */
	for (i = 0; i < NR_MAPS; i++)
		OP_OK(op_mmap(fd, DATA_ADDR + i * PAGE, PAGE, PROT_READ,
			      MAP_PRIVATE | MAP_FIXED, mfd, i * PAGE));
	_exit(0);
}

static int serial_in(unsigned int serial, const unsigned int *set, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (set[i] == serial)
			return 1;
	return 0;
}

TEST(audit_no_record_per_mapping, T_DEFAULT)
{
	int sk, go[2], st = 0, err, e, i, rcvbuf = 4 << 20;
	int daemon = 0, rule_added = 0, in_writes = 0;
	struct audit_status saved, set;
	struct audit_rule_data rule;
	const char *what = "";
	double quiet_by;

	sk = SYSCHK(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT));
	/* Room for every record: what the daemon cannot take is lost. */
	SYSCHK(setsockopt(sk, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)));
	SYSCHK(pipe2(go, O_CLOEXEC));
	memset(&saved, 0, sizeof(saved));
	err = audit_request(sk, AUDIT_GET, NULL, 0, &saved, sizeof(saved));
	CHECK(!err, "AUDIT_GET: %s", errstr(-err));
	note("audit before the test: enabled %u, daemon pid %u", saved.enabled, saved.pid);
	CHECK(!saved.pid, "an audit daemon runs (pid %u): the test must be the daemon",
	      saved.pid);

	/*
	 * From here on nothing FAILs before audit is restored.  Audit on, and
	 * this process the daemon: the records come to sk.
	 */
	memset(&set, 0, sizeof(set));
	set.mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_PID;
	set.enabled = 1;
	set.pid = getpid();
	err = audit_request(sk, AUDIT_SET, &set, sizeof(set), NULL, 0);
	if (err) {
		what = "AUDIT_SET enabled 1, pid ours";
		goto restore;
	}
	daemon = 1;

	/* Only tasks forked after audit was enabled get an audit context. */
	seen.child = fork();
	if (seen.child < 0) {
		err = -errno;
		what = "fork";
		goto restore;
	}
	if (!seen.child) {
		close(sk);
		close(go[1]);
		map_pages(go[0]);
	}
	close(go[0]);
	write_rule(&rule, seen.child);
	err = audit_request(sk, AUDIT_ADD_RULE, &rule, sizeof(rule), NULL, 0);
	if (err) {
		what = "AUDIT_ADD_RULE";
	} else {
		rule_added = 1;
		if (write(go[1], "g", 1) != 1) {
			err = -errno;
			what = "write to the child";
		}
	}
	close(go[1]);	/* without the go the child sees EOF and exits */
	/* A write that hangs (a module bug) must not keep audit changed:
	 * the harness's alarm would end the test before the restore. */
	quiet_by = now() + 20;
	while ((e = waitpid(seen.child, &st, WNOHANG)) == 0 && now() < quiet_by)
		usleep(10000);
	if (e == 0) {
		kill(seen.child, SIGKILL);
		waitpid(seen.child, &st, 0);
		if (!err) {
			err = -ETIMEDOUT;
			what = "the child's mappings (20 s)";
		}
	} else if (e < 0 && !err) {
		err = -errno;
		what = "waitpid";
	}
	/* Until the kernel has had nothing to send for a second. */
	quiet_by = now() + 10;
	while (!err && now() < quiet_by) {
		e = audit_read(sk, 1000);
		if (!e)
			break;
		if (e < 0) {
			err = e;
			what = "reading the records";
		}
	}

restore:
	if (rule_added) {
		e = audit_request(sk, AUDIT_DEL_RULE, &rule, sizeof(rule), NULL, 0);
		if (e && !err) {
			err = e;
			what = "AUDIT_DEL_RULE";
		}
	}
	/* Only the daemon itself may unregister (pid 0). */
	set.mask = AUDIT_STATUS_ENABLED | (daemon ? AUDIT_STATUS_PID : 0);
	set.enabled = saved.enabled;
	set.pid = 0;
	e = audit_request(sk, AUDIT_SET, &set, sizeof(set), NULL, 0);
	if (e && !err) {
		err = e;
		what = "AUDIT_SET to restore enabled and pid";
	}
	close(sk);
	CHECK(!err, "%s: %s", what, errstr(-err));

	CHECK(WIFEXITED(st) && !WEXITSTATUS(st), "child: status 0x%x", st);
	for (i = 0; i < seen.aux && i < MAX_SERIALS; i++)
		if (serial_in(seen.aux_serial[i], seen.write_serial,
			      seen.writes < MAX_SERIALS ? seen.writes : MAX_SERIALS)) {
			note("record of type %d in the child's write event %u",
			     seen.aux_type[i], seen.aux_serial[i]);
			in_writes++;
		}
	note("child's write events %d; MMAP records %d; other records in the child's writes %d",
	     seen.writes, seen.mmaps, in_writes);
	CHECK(seen.writes >= NR_MAPS,
	      "%d write events of the child audited, expected at least %d: no records to judge by",
	      seen.writes, NR_MAPS);
	CHECK(!in_writes,
	      "%d records of the module's in the child's writes to /proc/mm: it logs mappings",
	      in_writes);
	/* Nothing else here maps files in an audited call: a record of the
	 * module's with an event of its own would show up only here. */
	CHECK(!seen.mmaps, "%d MMAP records in all: the module logs mappings", seen.mmaps);
}
