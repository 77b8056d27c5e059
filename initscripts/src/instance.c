/* instance.c: the state of one instance (from its runtime files), and
 * start, stop, kill, cleanup and status.  The runtime files of a running
 * instance are in RUN/instances/NAME/ (supervisor.id and uml.id: pid and
 * start time, see proc.c; supervisor.pid for systemd; cpu, started,
 * console.sock) and UML's own in RUN/uml/NAME/ (pid, mconsole); the state
 * in STATE/NAME/ (disk/disk.cow, meta.img, console.log, last-exit).
 * start, stop, kill and cleanup hold the instance's lock (lock.c). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "umlctl.h"

const char *state_name(enum inst_state s)
{
	switch (s) {
	case INST_RUNNING:
		return "running";
	case INST_DEAD:
		return "dead";
	case INST_FAILED:
		return "failed";
	default:
		return "stopped";
	}
}

static int run_file(const char *name, const char *file, char *out, size_t len)
{
	char dir[PATH_LEN];

	if (run_dir(dir, sizeof(dir), name) < 0)
		return -1;
	return snprintf_ok(out, len, "%s/%s", dir, file);
}

int state_file(const char *name, const char *file, char *out, size_t len)
{
	char dir[PATH_LEN];

	if (state_dir(dir, sizeof(dir), name) < 0)
		return -1;
	return snprintf_ok(out, len, "%s/%s", dir, file);
}

/* The first line of the file at path, without its newline: 1, or 0 when
 * the file is missing or empty. */
static int read_line(const char *path, char *buf, size_t len)
{
	if (read_file(path, buf, len) <= 0)
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	return 1;
}

void instance_info(const char *name, struct inst_info *info)
{
	char path[PATH_LEN], buf[PATH_LEN], udir[PATH_LEN];
	struct stat st;

	memset(info, 0, sizeof(*info));
	if (run_file(name, "supervisor.id", path, sizeof(path)) == 0)
		proc_id_read(path, &info->sup);
	if (run_file(name, "uml.id", path, sizeof(path)) == 0)
		proc_id_read(path, &info->uml);
	if (run_file(name, "cpu", path, sizeof(path)) == 0 &&
	    read_line(path, buf, sizeof(buf))) {
		cpu_set_t set;

		/* Written by the supervisor, but checked: it is shown. */
		if (config_cpu_list(buf, &set) > 0)
			snprintf(info->cpus, sizeof(info->cpus), "%s", buf);
	}
	if (run_file(name, "started", path, sizeof(path)) == 0 &&
	    read_file(path, buf, sizeof(buf)) > 0)
		info->started = (time_t)atoll(buf);
	if (run_file(name, "version", path, sizeof(path)) == 0 &&
	    read_line(path, buf, sizeof(buf))) {
		printable(buf);
		snprintf(info->version, sizeof(info->version), "%s", buf);
	}
	if (state_file(name, "last-exit", path, sizeof(path)) == 0 &&
	    read_line(path, buf, sizeof(buf)))
		snprintf(info->last_exit, sizeof(info->last_exit), "%s", buf);
	if (proc_id_alive(&info->sup)) {
		info->state = INST_RUNNING;
		return;
	}
	/* No supervisor: anything left behind means it died. */
	if (info->sup.pid || info->uml.pid ||
	    (uml_dir(udir, sizeof(udir)) == 0 &&
	     snprintf_ok(path, sizeof(path), "%s/%s", udir, name) == 0 &&
	     lstat(path, &st) == 0) ||
	    (run_dir(path, sizeof(path), name) == 0 && lstat(path, &st) == 0) ||
	    net_taps_left(name)) {
		info->state = INST_DEAD;
		return;
	}
	if (info->last_exit[0] && strcmp(info->last_exit, "powered off"))
		info->state = INST_FAILED;
	else
		info->state = INST_STOPPED;
}

/* Removes whatever a dead instance left: its UML (if the record in uml.id
 * still names a live process: never another one), TAP devices, UML's
 * directory (pid, mconsole socket), the runtime directory. */
int instance_cleanup(const char *name, const char *why)
{
	struct inst_info info;
	char path[PATH_LEN], udir[PATH_LEN], text[256];
	int what = 0, lock = lock_instance(name);

	if (lock < 0)
		return EX_FAIL;
	instance_info(name, &info);
	if (info.state == INST_RUNNING) {
		err("%s: is running; not cleaning up", name);
		unlock(lock);
		return EX_FAIL;
	}
	if (proc_id_signal(&info.uml, SIGKILL, true) == 0) {
		proc_id_wait_gone(&info.uml, 5000);
		what |= 1;
	}
	/* and whatever else runs as the instance's user (the UML itself when
	 * its record is gone; said, since its supervisor may clean up the rest
	 * before the checks below get there) */
	{
		uid_t id;

		if (instance_id_get(name, &id) == 1 && user_has_processes(id)) {
			kill_user(id);
			what |= 16;
		}
	}
	if (net_taps_left(name)) {
		int nl = lock_network();

		net_taps_down(name);
		unlock(nl);
		what |= 2;
	}
	forward_down(name);
	if (uml_dir(udir, sizeof(udir)) == 0 &&
	    snprintf_ok(path, sizeof(path), "%s/%s", udir, name) == 0 &&
	    access(path, F_OK) == 0) {
		remove_uml_dir(name);
		what |= 4;
	}
	if (run_dir(path, sizeof(path), name) == 0 && access(path, F_OK) == 0) {
		rm_rf(path);
		what |= 8;
	}
	if (why && state_file(name, "last-exit", path, sizeof(path)) == 0 &&
	    state_dir(udir, sizeof(udir), name) == 0 && access(udir, F_OK) == 0) {
		snprintf(text, sizeof(text), "%s\n", why);
		write_file(path, text, 0644);
	}
	if (what)
		msg("%s: cleaned up after a crash:%s%s%s%s%s", name,
		    what & 1 ? " killed the UML process left over;" : "",
		    what & 16 ? " killed the processes of its user id;" : "",
		    what & 2 ? " removed TAP devices;" : "",
		    what & 4 ? " removed the mconsole socket;" : "",
		    what & 8 ? " removed pid files;" : "");
	unlock(lock);
	return EX_OK;
}

/* set as a list ("0-1,3") in out. */
static void cpu_set_text(const cpu_set_t *set, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE && n < len; c++) {
		int last = c;

		if (!CPU_ISSET(c, set))
			continue;
		while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set))
			last++;
		if (last > c)
			n += (size_t)snprintf(out + n, len - n, "%s%d-%d",
					      n ? "," : "", c, last);
		else
			n += (size_t)snprintf(out + n, len - n, "%s%d",
					      n ? "," : "", c);
		c = last;
	}
}

/* The host CPUs to pin UML to, as a list in out: the file's cpu key, or
 * the CPU with the fewest running instances on it, among those we may
 * use.  (A count, so that instances with several vCPUs can take several.) */
static void pick_cpus(const struct instance_conf *ic, char *out, size_t len)
{
	static char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
	int load[CPU_SETSIZE] = { 0 };
	cpu_set_t allowed, chosen;
	int n, want = ic->vcpus > 0 ? ic->vcpus : 1;

	if (ic->cpu[0]) {
		snprintf(out, len, "%s", ic->cpu);
		return;
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0) {
		CPU_ZERO(&allowed);
		CPU_SET(0, &allowed);
	}
	n = config_instance_names(names, MAX_INSTANCES);
	for (int i = 0; i < n; i++) {
		struct inst_info info;
		cpu_set_t used;

		if (!strcmp(names[i], ic->name))
			continue;
		instance_info(names[i], &info);
		if (info.state != INST_RUNNING || config_cpu_list(info.cpus, &used) < 0)
			continue;
		for (int c = 0; c < CPU_SETSIZE; c++)
			load[c] += CPU_ISSET(c, &used);
	}
	CPU_ZERO(&chosen);
	for (int k = 0; k < want && CPU_COUNT(&chosen) < CPU_COUNT(&allowed); k++) {
		int best = -1;

		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &allowed) && !CPU_ISSET(c, &chosen) &&
			    (best < 0 || load[c] < load[best]))
				best = c;
		CPU_SET(best, &chosen);
	}
	cpu_set_text(&chosen, out, len);
}

/* STATE/NAME/instance-id, made once with 128 random bits: the instance's
 * identity, which its copies (clone) do not share.  TEXT gets it and a
 * newline. */
static int instance_identity(const char *state, char *text, size_t len)
{
	char path[PATH_LEN];
	unsigned char r[16];
	int got;

	if (snprintf_ok(path, sizeof(path), "%s/instance-id", state) < 0)
		return -1;
	got = read_file(path, text, len);
	if (got == 33 && strspn(text, "0123456789abcdef") == 32 && text[32] == '\n')
		return 0;
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		err("getrandom: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < 16; i++)
		snprintf(text + 2 * i, len - 2 * (size_t)i, "%02x", r[i]);
	snprintf(text + 32, len - 32, "\n");
	return write_file(path, text, 0644);
}

/* The metadata disk (ext2, label uml-meta) that the images read at boot:
 * hostname, network (dhcp or none), authorized_keys, instance-id. */
static int make_metadata(const struct instance_conf *ic, const char *state,
			 const char *run, gid_t gid)
{
	char dir[PATH_LEN], file[PATH_LEN], img[PATH_LEN], tmpimg[PATH_LEN];
	char text[128], keys[16384];
	long long size = 1024 * 1024, inodes = 64;
	char ninodes[32];
	int fd, r;

	if (snprintf_ok(dir, sizeof(dir), "%s/meta.d", run) < 0 ||
	    snprintf_ok(img, sizeof(img), "%s/meta.img", state) < 0 ||
	    snprintf_ok(tmpimg, sizeof(tmpimg), "%s/meta.img.tmp", state) < 0)
		return -1;
	rm_rf(dir);
	/* Root's alone: mke2fs -d reads it by name. */
	if (mkdir_p(dir, 0700) < 0 || chmod(dir, 0700) < 0)
		return -1;
	/* A lab's node is called as the lab calls it (LAB-NODE -> NODE). */
	{
		size_t l = strlen(ic->lab);
		bool node = l && !strncmp(ic->name, ic->lab, l) && ic->name[l] == '-';

		snprintf(text, sizeof(text), "%s\n", node ? ic->name + l + 1 : ic->name);
	}
	snprintf(file, sizeof(file), "%s/hostname", dir);
	if (write_file(file, text, 0644) < 0)
		return -1;
	snprintf(file, sizeof(file), "%s/network", dir);
	if (write_file(file, ic->network ? "dhcp\n" : "none\n", 0644) < 0)
		return -1;
	/* Who the guest is: a clone has a new one, and its guest makes
	 * itself a new machine id and new SSH host keys. */
	if (instance_identity(state, text, sizeof(text)) < 0)
		return -1;
	snprintf(file, sizeof(file), "%s/instance-id", dir);
	if (write_file(file, text, 0644) < 0)
		return -1;
	snprintf(file, sizeof(file), "%s/cloned", state);
	if (access(file, F_OK) == 0) {
		snprintf(file, sizeof(file), "%s/cloned", dir);
		if (write_file(file, "yes\n", 0644) < 0)
			return -1;
	}
	if (ic->ssh_key[0]) {
		if (read_file(ic->ssh_key, keys, sizeof(keys)) < 0) {
			err("%s: ssh key %s: %s", ic->name, ic->ssh_key,
			    strerror(errno));
			return -1;
		}
		snprintf(file, sizeof(file), "%s/authorized_keys", dir);
		if (write_file(file, keys, 0644) < 0)
			return -1;
	}
	/* A lab's node: its files (lab.c put them in STATE/NAME/lab, root's),
	 * on a disk large enough for them. */
	if (ic->lab[0]) {
		char from[PATH_LEN + 8], to[PATH_LEN + 8], out[64], count[64];
		char *cp[] = { "cp", "-a", "--no-dereference", from, to, NULL };
		char *du[] = { "du", "-s", "--block-size=1", "--apparent-size", to, NULL };
		char *dui[] = { "du", "-s", "--inodes", to, NULL };

		snprintf(from, sizeof(from), "%s/lab", state);
		snprintf(to, sizeof(to), "%s/lab", dir);
		if (run_cmd(cp, false) || run_cmd_output(du, out, sizeof(out)) < 0 ||
		    run_cmd_output(dui, count, sizeof(count)) < 0) {
			err("%s: the lab's files (%s): cannot copy them", ic->name, from);
			return -1;
		}
		/* ext2 needs an inode and at least a block for each file
		 * besides the data, and room for its own structures. */
		inodes = strtoll(count, NULL, 10) + 64;
		size = 2 * strtoll(out, NULL, 10) + 2048 * inodes + 4 * 1024 * 1024;
	}
	/* Readable by this instance's UML alone (root:ID 0640). */
	unlink(tmpimg);
	fd = open(tmpimg, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0 || ftruncate(fd, size) < 0 || fchown(fd, 0, gid) < 0 ||
	    fchmod(fd, 0640) < 0) {
		err("%s: %s", tmpimg, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	{
		char *argv[] = { "mke2fs", "-q", "-F", "-t", "ext2", "-L",
				 "uml-meta", "-E", "root_owner=0:0", "-N", ninodes,
				 "-d", dir, tmpimg, NULL };

		snprintf(ninodes, sizeof(ninodes), "%lld", inodes);
		r = run_cmd(argv, false);
	}
	rm_rf(dir);
	if (r || rename(tmpimg, img) < 0) {
		err("%s: cannot make the metadata disk %s", ic->name, img);
		unlink(tmpimg);
		return -1;
	}
	return 0;
}

/* A COW layer made when the instance ran as another user (an older
 * umlctl ran every instance as one shared user) goes to the instance's
 * own: the regular files directly in disk/, opened without following a
 * link, with one name only (a hard link to a system file has two) and
 * not root's. */
static void adopt_disk_files(const char *disk, uid_t uid, gid_t gid)
{
	struct dirent *e;
	DIR *d;
	int dfd = open(disk, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((e = readdir(d))) {
		struct stat st;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
		    st.st_uid != 0 && (st.st_uid != uid || st.st_gid != gid) &&
		    fchown(fd, uid, gid) < 0)
			err("%s/%s: cannot give it to user %u: %s", disk, e->d_name,
			    (unsigned)uid, strerror(errno));
		close(fd);
	}
	closedir(d);
}

/* Gives the folder path to uid:gid with mode, through a descriptor opened
 * without following a link (a link planted in its place by an older
 * instance user must not lead root's chown elsewhere). */
static int own_dir(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0 ? -1 : 0;
	close(fd);
	return r;
}

/* The instance user owns only what UML writes: STATE/NAME/disk/ (the COW
 * layer) and its UML folder RUN/uml/NAME (0700 both, so no other
 * instance reaches them).  STATE/NAME itself, where the root supervisor
 * writes the console log, stays root's, as do RUN/uml and RUN/instances:
 * no link the user plants can redirect root's writes. */
static int prepare_dirs(const struct instance_conf *ic, uid_t uid, gid_t gid,
			const char *state, char *run)
{
	char base[PATH_LEN], udir[PATH_LEN], disk[PATH_LEN + 16];

	if (run_dir(run, PATH_LEN, ic->name) < 0 || uml_dir(base, sizeof(base)) < 0 ||
	    instance_uml_dir(udir, sizeof(udir), ic->name) < 0)
		return -1;
	snprintf(disk, sizeof(disk), "%s/disk", state);
	if (mkdir_p(disk, 0700) < 0 || mkdir_p(run, 0755) < 0 ||
	    mkdir_p(base, 0755) < 0 || mkdir_p(udir, 0700) < 0)
		return -1;
	if (own_dir(base, 0, 0, 0755) < 0 || own_dir(disk, uid, gid, 0700) < 0 ||
	    own_dir(udir, uid, gid, 0700) < 0) {
		err("%s: cannot set the owners of %s and %s: %s", ic->name, disk, udir,
		    strerror(errno));
		return -1;
	}
	adopt_disk_files(disk, uid, gid);
	return 0;
}

/* STATE/NAME, root's: made before the instance's user id is chosen (its
 * record is kept there). */
static int prepare_state(const struct instance_conf *ic, char *state)
{
	if (state_dir(state, PATH_LEN, ic->name) < 0 || mkdir_p(state, 0755) < 0)
		return -1;
	if (own_dir(state, 0, 0, 0755) < 0) {
		err("%s: cannot make %s root's: %s", ic->name, state, strerror(errno));
		return -1;
	}
	return 0;
}

/* Whether UML answers on its management console. */
static bool uml_answers(const char *name)
{
	char reply[256];

	return mconsole_request(name, "version", reply, sizeof(reply)) == 0;
}

/* Waits for the supervisor's "ok" (or its error) on fd. */
static int wait_ready(int fd, const char *name, int timeout_s)
{
	char buf[PATH_LEN + 512];
	size_t used = 0;
	double end = now_s() + timeout_s;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)((end - now_s()) * 1000);
		ssize_t n;

		if (left <= 0) {
			err("%s: no word from the supervisor after %d s", name, timeout_s);
			return -1;
		}
		if (poll(&p, 1, left) <= 0)
			continue;
		n = read(fd, buf + used, sizeof(buf) - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	if (!strncmp(buf, "ok\n", 3))
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	err("%s: %s", name, used ? buf : "the supervisor died");
	return -1;
}

/* The lease expiry dnsmasq recorded for mac (0: none). */
/* Waits until dnsmasq leases an address to net0 (a lease newer than the
 * one before the start, if any).  0 and the address, or -1 (also at once
 * when the instance stops meanwhile). */
static int wait_new_lease(const struct instance_conf *ic, long long before,
			  int timeout, char *ip, size_t len)
{
	double end = now_s() + timeout;

	for (int i = 0; now_s() < end; i++) {
		long long exp = net_lease_expiry(&ic->nets[0]);

		if (exp && exp != before &&
		    net_lease_address(&ic->nets[0], ip, len))
			return 0;
		if (i % 5 == 4) {
			struct inst_info info;

			instance_info(ic->name, &info);
			if (info.state != INST_RUNNING) {
				err("%s: stopped while waiting for its address (%s)",
				    ic->name, info.last_exit[0] ? info.last_exit : state_name(info.state));
				return -1;
			}
		}
		sleep_ms(100);
	}
	return -1;
}

/* dnsmasq records a lease's expiry in whole seconds, so a lease granted
 * in the same second as the one before looks unchanged (seen after a
 * restart that followed a quick boot).  Starting the guest in a later
 * second than the last grant keeps the new lease distinguishable; this
 * waits at most a second, and only right after a grant. */
static void leave_grant_second(long long before)
{
	for (int i = 0; i < 25 && before &&
	     (long long)time(NULL) <= before - DHCP_LEASE_SECONDS; i++)
		sleep_ms(50);
}

/* Whether uid/gid may access path with all the given bits (owner, group,
 * other; root's access() would say yes to everything). */
static bool user_may(const char *path, uid_t uid, gid_t gid, mode_t u, mode_t g,
		     mode_t o)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return false;
	if (st.st_uid == uid)
		return (st.st_mode & u) == u;
	if (st.st_gid == gid)
		return (st.st_mode & g) == g;
	return (st.st_mode & o) == o;
}

/* For an instance started earlier (by this command): the lease newer
 * than the one it had before its start (RUN/NAME/lease-before). */
int instance_wait_lease(const struct instance_conf *ic, int timeout, char *ip,
			size_t len)
{
	char path[PATH_LEN], buf[64];
	long long before = 0;

	if (!ic->nets[0].used)
		return -1;
	if (run_file(ic->name, "lease-before", path, sizeof(path)) == 0 &&
	    read_file(path, buf, sizeof(buf)) > 0)
		before = atoll(buf);
	return wait_new_lease(ic, before, timeout, ip, len);
}

static int start_locked(const struct global_conf *g, const struct instance_conf *ic,
			int wait_lease);

/* Each network the instance's interfaces are on: the default one must
 * be up (uml-skas-network.service or `umlctl network up` own it); a
 * named one that is down is brought up here, under the network lock,
 * as nothing else brings it up at boot.  A network whose dnsmasq an
 * earlier umlctl started (before an upgrade: it would not feed the
 * guard, and the guest would get no address through it) is brought up
 * again the same way. */
static int networks_ready(const struct global_conf *g, const struct instance_conf *ic)
{
	static struct network n;
	struct proc_id dns;

	for (int i = 0; i < MAX_NETS; i++) {
		const struct net_conf *nc = &ic->nets[i];
		bool seen = false, down, stale;

		if (!nc->used)
			continue;
		for (int j = 0; j < i; j++)
			seen |= ic->nets[j].used && !strcmp(ic->nets[j].network, nc->network);
		if (seen)
			continue;
		if (config_load_network(g, nc->network, &n) < 0)
			return -1;
		if (!strcmp(n.name, DEFAULT_NETWORK) && !bridge_exists(n.bridge)) {
			err("%s: the bridge %s is missing: run 'umlctl network up' first",
			    ic->name, n.bridge);
			return -1;
		}
		down = strcmp(n.name, DEFAULT_NETWORK) && !hostnet_is_up(&n);
		stale = !down && hostnet_dnsmasq_stale(&n);
		if (down || stale) {
			int r = systemd_network_start(n.name, stale), nl;

			/* Not systemd's: here, under the lock, if no other
			 * start brought it up meanwhile; but never a dnsmasq
			 * in this instance's own unit, which would die with
			 * it (a unit without the network's unit installed). */
			if (r == 0 && stale && systemd_inside_unit()) {
				r = -1;
			} else if (r == 0) {
				nl = lock_network();
				r = nl < 0 ? -1 :
				    hostnet_is_up(&n) && !hostnet_dnsmasq_stale(&n) ? 0 :
				    hostnet_up(g, &n);
				unlock(nl);
			}
			if (r < 0 && stale) {
				err("%s: warning: network %s: dnsmasq was started by an earlier umlctl and could not be started again: no DHCP address (umlctl network up%s%s)",
				    ic->name, n.name, strcmp(n.name, DEFAULT_NETWORK) ? " " : "",
				    strcmp(n.name, DEFAULT_NETWORK) ? n.name : "");
			} else if (r < 0) {
				err("%s: network %s could not be brought up", ic->name, n.name);
				return -1;
			}
		}
		if (n.dhcp && !hostnet_dnsmasq(&n, &dns) && !strcmp(n.name, DEFAULT_NETWORK))
			err("%s: warning: dnsmasq is not running: no DHCP address (umlctl network up)",
			    ic->name);
		else if (n.dhcp && !hostnet_dnsmasq(&n, &dns))
			err("%s: warning: dnsmasq of network %s is not running: no DHCP address (umlctl network up %s)",
			    ic->name, n.name, n.name);
	}
	return 0;
}

int instance_start(const struct global_conf *g, const struct instance_conf *ic,
		   int wait_lease)
{
	int lock = lock_instance(ic->name), r;

	if (lock < 0)
		return EX_FAIL;
	r = start_locked(g, ic, wait_lease);
	unlock(lock);
	return r;
}

static int start_locked(const struct global_conf *g, const struct instance_conf *ic,
			int wait_lease)
{
	struct inst_info info;
	struct launch l = { .g = g, .ic = ic };
	char state[PATH_LEN], run[PATH_LEN], path[PATH_LEN + 32];
	char kernel[PATH_MAX];
	int pfd[2];
	long long before = 0;
	double t0 = now_s();
	pid_t pid;

	instance_info(ic->name, &info);
	if (info.state == INST_RUNNING) {
		msg("%s: already running (pid %d)", ic->name, (int)info.uml.pid);
		return EX_OK;
	}
	if (info.state == INST_DEAD && proc_id_alive(&info.uml) && uml_answers(ic->name)) {
		err("%s: UML (pid %d) runs on without its supervisor: stop it first (umlctl stop %s), or kill it",
		    ic->name, (int)info.uml.pid, ic->name);
		return EX_FAIL;
	}
	if (info.state == INST_DEAD)
		instance_cleanup(ic->name, "lost: the supervisor and UML died");
	if (prepare_state(ic, state) < 0 || instance_id(g, ic->name, &l.uid) < 0)
		return EX_FAIL;
	l.gid = (gid_t)l.uid;
	l.has_extra = instance_extra_group(g, &l.extra_gid) == 1;
	if (ic->lab[0]) {
		int r = labshare_node(ic->lab, ic->name, &l.lab_gid, l.hostfs, sizeof(l.hostfs));

		if (r < 0)
			return EX_FAIL;
		l.has_lab_gid = r == 1;
	}
	if (!l.has_lab_gid)
		l.hostfs[0] = '\0';
	if (!realpath(g->kernel, kernel) || access(kernel, X_OK) < 0) {
		err("%s: kernel %s: %s (set kernel= in %s)", ic->name, g->kernel,
		    strerror(errno), g->file);
		return EX_CONFIG;
	}
	if (!user_may(kernel, l.uid, l.gid, S_IXUSR, S_IXGRP, S_IXOTH)) {
		err("%s: kernel %s: the instance user %u may not run it", ic->name,
		    kernel, (unsigned)l.uid);
		return EX_CONFIG;
	}
	if (image_ready(ic->image_path, ic->image_zst) < 0)
		return EX_FAIL;
	if (!user_may(ic->image_path, l.uid, l.gid, S_IRUSR, S_IRGRP, S_IROTH)) {
		err("%s: image %s: the instance user %u may not read it", ic->name,
		    ic->image_path, (unsigned)l.uid);
		return EX_CONFIG;
	}
	for (int i = 0; i < ic->ndisks; i++) {
		if (!user_may(ic->disks[i], l.uid, l.gid, S_IRUSR | S_IWUSR,
			      S_IRGRP | S_IWGRP, S_IROTH | S_IWOTH)) {
			err("%s: disk %s: the instance user %u may not read and write it (chown %u:%u %s)",
			    ic->name, ic->disks[i], (unsigned)l.uid, (unsigned)l.uid,
			    (unsigned)l.uid, ic->disks[i]);
			return EX_CONFIG;
		}
	}
	if (networks_ready(g, ic) < 0)
		return EX_FAIL;
	if (prepare_dirs(ic, l.uid, l.gid, state, run) < 0 ||
	    disk_base_image(ic->name, ic->image_path, l.image, sizeof(l.image)) < 0 ||
	    make_metadata(ic, state, run, l.gid) < 0) {
		/* Nothing half-done (a full /run, say): the runtime folders
		 * this start made go, or the instance would count as dead. */
		remove_uml_dir(ic->name);
		if (run_dir(path, sizeof(path), ic->name) == 0)
			rm_rf(path);
		return EX_FAIL;
	}
	pick_cpus(ic, l.cpus, sizeof(l.cpus));
	{
		int nl = lock_network(), r = nl < 0 ? -1 : net_taps_up(g, ic, l.uid);

		if (r == 0 && forward_up(ic) < 0) {
			net_taps_down(ic->name);
			r = -1;
		}
		/* The host lists and the guard's TAPs (guard.c): a guest
		 * of a guarded network never runs without its entry. */
		if (r == 0 && net_write_hosts(g) < 0) {
			err("%s: cannot write the networks' host lists and guards", ic->name);
			forward_down(ic->name);
			net_taps_down(ic->name);
			r = -1;
		}
		unlock(nl);
		if (r < 0) {
			rm_rf(run);
			return EX_FAIL;
		}
	}
	if (ic->nets[0].used) {
		char text[32];

		before = net_lease_expiry(&ic->nets[0]);
		snprintf(text, sizeof(text), "%lld\n", before);
		snprintf(path, sizeof(path), "%s/lease-before", run);
		write_file(path, text, 0644);
		leave_grant_second(before);
	}
	snprintf(path, sizeof(path), "%s/last-exit", state);
	unlink(path);

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		err("pipe: %s", strerror(errno));
		return EX_FAIL;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		err("fork: %s", strerror(errno));
		return EX_FAIL;
	}
	if (pid == 0) {
		close(pfd[0]);
		l.ready_fd = pfd[1];
		supervise(&l);
	}
	close(pfd[1]);
	if (wait_ready(pfd[0], ic->name, 45) < 0) {
		struct proc_id sup;

		close(pfd[0]);
		/* our child until we reap it: its pid cannot be reused */
		if (proc_id_of(pid, &sup) == 0)
			proc_id_signal(&sup, SIGKILL, false);
		waitpid(pid, NULL, 0);
		instance_info(ic->name, &info);
		proc_id_signal(&info.uml, SIGKILL, true);
		instance_cleanup(ic->name, NULL);
		return EX_FAIL;
	}
	close(pfd[0]);
	instance_info(ic->name, &info);
	msg("%s: started (pid %d, host CPU %s, %.1f s)", ic->name,
	    (int)info.uml.pid, l.cpus, now_s() - t0);
	if (wait_lease > 0 && ic->nets[0].used) {
		char ip[64];

		if (wait_new_lease(ic, before, wait_lease, ip, sizeof(ip)) < 0) {
			err("%s: no DHCP lease after %d s", ic->name, wait_lease);
			return EX_FAIL;
		}
		msg("%s: address %s (DHCP lease %.1f s after start)", ic->name, ip,
		    now_s() - t0);
	}
	return EX_OK;
}

struct stopping {
	char name[NAME_MAX_LEN + 1];
	struct proc_id sup, uml;
	bool unsupervised;     /* the supervisor died, UML still answers */
	bool killed, done, cad_sent, synced;
	double t0, kill_at;
};

/* The last step before a kill: the guest writes out its page cache
 * (sysrq s) and remounts its file systems read-only (sysrq u), so that
 * a guest that ignored the shutdown request loses nothing it wrote. */
static void sync_guest(const char *name)
{
	char reply[256];

	mconsole_request(name, "sysrq s", reply, sizeof(reply));
	mconsole_request(name, "sysrq u", reply, sizeof(reply));
}

/* Sends cad once the guest's init handles it (or, failing that, at half
 * the timeout); an unreachable mconsole means UML is killed. */
static void try_cad(struct stopping *s, double half)
{
	char reply[256];
	int ready = mconsole_cad_ready(s->name);

	if (ready == 0 && now_s() < half)
		return;
	if (ready < 0 ||
	    mconsole_request(s->name, "cad", reply, sizeof(reply)) != 0) {
		err("%s: the management console does not answer: killing it",
		    s->name);
		if (s->unsupervised)
			proc_id_signal(&s->uml, SIGKILL, true);
		else
			proc_id_signal(&s->sup, SIGUSR1, false);
		s->killed = true;
	}
	s->cad_sent = true;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int stop_locked(char names[][NAME_MAX_LEN + 1], int n, int timeout);

/* Stops the named instances at once, holding all their locks (taken in
 * name order, so two umlctl stopping overlapping sets cannot deadlock). */
int instance_stop_many(const struct global_conf *g, char names[][NAME_MAX_LEN + 1],
		       int n, int timeout)
{
	static char sorted[MAX_INSTANCES][NAME_MAX_LEN + 1];
	static int locks[MAX_INSTANCES];
	int nlocks = 0, r = EX_FAIL;

	(void)g;
	if (n > MAX_INSTANCES)
		n = MAX_INSTANCES;
	memcpy(sorted, names, sizeof(sorted[0]) * (size_t)n);
	qsort(sorted, (size_t)n, sizeof(sorted[0]), cmp_name);
	for (int i = 0; i < n; i++) {
		if (i > 0 && !strcmp(sorted[i], sorted[i - 1]))
			continue;
		locks[nlocks] = lock_instance(sorted[i]);
		if (locks[nlocks] < 0)
			goto out;
		nlocks++;
	}
	r = stop_locked(names, n, timeout);
out:
	while (nlocks > 0)
		unlock(locks[--nlocks]);
	return r;
}

static int stop_locked(char names[][NAME_MAX_LEN + 1], int n, int timeout)
{
	static struct stopping st[MAX_INSTANCES];
	int pending = 0, bad = 0;
	double deadline;

	deadline = now_s() + timeout;
	for (int i = 0; i < n && i < MAX_INSTANCES; i++) {
		struct inst_info info;

		memset(&st[i], 0, sizeof(st[i]));
		snprintf(st[i].name, sizeof(st[i].name), "%s", names[i]);
		st[i].done = true;
		/* named twice: stopped once */
		for (int k = 0; k < i; k++)
			if (!strcmp(names[k], names[i]))
				goto next;
		instance_info(names[i], &info);
		/* A dead supervisor is no reason to kill a guest that still
		 * answers: it is shut down like any other, and watched by its
		 * UML process instead. */
		if (info.state == INST_DEAD && proc_id_alive(&info.uml) &&
		    uml_answers(names[i])) {
			msg("%s: its supervisor died; shutting the guest down", names[i]);
			st[i].unsupervised = true;
		} else if (info.state == INST_DEAD) {
			instance_cleanup(names[i], "lost: the supervisor and UML died");
			continue;
		} else if (info.state != INST_RUNNING) {
			msg("%s: not running", names[i]);
			continue;
		}
		st[i].done = false;
		st[i].sup = info.sup;
		st[i].uml = info.uml;
		st[i].t0 = now_s();
		pending++;
		try_cad(&st[i], deadline - timeout / 2.0);
next:;
	}
	while (pending > 0) {
		bool late = now_s() >= deadline;

		for (int i = 0; i < n; i++) {
			if (st[i].done)
				continue;
			if (!proc_id_alive(st[i].unsupervised ? &st[i].uml : &st[i].sup)) {
				struct inst_info info;

				st[i].done = true;
				pending--;
				instance_info(st[i].name, &info);
				if (info.state == INST_DEAD)
					instance_cleanup(st[i].name, st[i].unsupervised ?
							 (st[i].killed ? "killed" : "powered off") : NULL);
				instance_info(st[i].name, &info);
				if (st[i].killed)
					msg("%s: stopped (killed)", st[i].name);
				else
					msg("%s: stopped (guest shut down in %.1f s: %s)",
					    st[i].name, now_s() - st[i].t0,
					    info.last_exit[0] ? info.last_exit : "?");
				continue;
			}
			if (!st[i].cad_sent)
				try_cad(&st[i], deadline - timeout / 2.0);
			if (late && !st[i].synced && !st[i].killed) {
				err("%s: did not shut down within %d s: syncing its disks, then killing it",
				    st[i].name, timeout);
				sync_guest(st[i].name);
				st[i].synced = true;
				st[i].kill_at = now_s() + SYNC_WAIT;
			}
			if (st[i].synced && !st[i].killed && now_s() >= st[i].kill_at) {
				if (st[i].unsupervised)
					proc_id_signal(&st[i].uml, SIGKILL, true);
				else
					proc_id_signal(&st[i].sup, SIGUSR1, false);
				st[i].killed = true;
			}
			if (now_s() >= deadline + SYNC_WAIT + 10) {
				err("%s: the %s (pid %d) hangs: killing it", st[i].name,
				    st[i].unsupervised ? "UML process" : "supervisor",
				    (int)(st[i].unsupervised ? st[i].uml.pid : st[i].sup.pid));
				proc_id_signal(&st[i].uml, SIGKILL, true);
				proc_id_signal(&st[i].sup, SIGKILL, false);
				proc_id_wait_gone(&st[i].sup, 1000);
				instance_cleanup(st[i].name, "killed: the supervisor hung");
				st[i].done = true;
				pending--;
				bad++;
			}
		}
		if (pending > 0)
			sleep_ms(100);
	}
	return bad ? EX_FAIL : EX_OK;
}

int instance_kill(const char *name)
{
	struct inst_info info;
	int lock = lock_instance(name), r = EX_OK;

	if (lock < 0)
		return EX_FAIL;
	instance_info(name, &info);
	if (info.state == INST_DEAD) {
		r = instance_cleanup(name, "lost: the supervisor and UML died");
	} else if (info.state != INST_RUNNING) {
		msg("%s: not running", name);
	} else {
		/* The supervisor kills its child: right even if uml.id is not. */
		proc_id_signal(&info.sup, SIGUSR1, false);
		if (!proc_id_wait_gone(&info.sup, 5000)) {
			proc_id_signal(&info.uml, SIGKILL, true);
			proc_id_signal(&info.sup, SIGKILL, false);
			proc_id_wait_gone(&info.sup, 1000);
		}
		instance_info(name, &info);
		if (info.state == INST_DEAD)
			instance_cleanup(name, "killed");
		msg("%s: killed", name);
	}
	unlock(lock);
	return r;
}

/* The process mode and the number of online vCPUs, from the guest's
 * /proc/cpuinfo ("mode : seccomp", one "processor : N" per online CPU);
 * "-" and 0 when it does not answer. */
void instance_guest_cpuinfo(const char *name, char *mode, size_t len, int *vcpus)
{
	char reply[16384];
	char *p;

	snprintf(mode, len, "-");
	if (vcpus)
		*vcpus = 0;
	if (mconsole_request(name, "proc cpuinfo", reply, sizeof(reply)) != 0)
		return;
	for (p = reply; p && *p; p = strchr(p, '\n')) {
		char word[32];

		while (*p == '\n')
			p++;
		if (!strncmp(p, "mode", 4) &&
		    sscanf(p, "mode%*[ \t]: %31s", word) == 1)
			snprintf(mode, len, "%s", word);
		else if (vcpus && !strncmp(p, "processor", 9))
			(*vcpus)++;
	}
}

void instance_guest_mode(const char *name, char *out, size_t len)
{
	instance_guest_cpuinfo(name, out, len, NULL);
}

/* After a start: where the instance runs in a mode other than the best
 * the host module offers (skas4, or skas3 where it has no carriers), says
 * so and what to do (not when the instance file chooses its mode with
 * skas= itself). */
void instance_mode_note(const struct instance_conf *ic)
{
	char mode[32];

	if (strstr(ic->append, "skas="))
		return;
	instance_guest_mode(ic->name, mode, sizeof(mode));
	if (!strcmp(mode, "seccomp") || !strcmp(mode, "ptrace")) {
		if (access("/proc/mm", F_OK) < 0)
			err("%s: runs in %s mode: the host module is not loaded, so skas4 and skas3 mode are not available (modprobe uml_skas_host; umlctl doctor tells more)",
			    ic->name, mode);
		else
			err("%s: runs in %s mode although the host module is loaded: umlctl doctor tells why",
			    ic->name, mode);
	} else if (!strcmp(mode, "skas3") && access("/dev/uml-skas", F_OK) == 0) {
		err("%s: runs in skas3 mode although the host module offers skas4 (/dev/uml-skas): its console log says why",
		    ic->name);
	}
}

static void format_uptime(time_t started, char *out, size_t len)
{
	long s = (long)(time(NULL) - started);

	if (!started || s < 0)
		snprintf(out, len, "-");
	else if (s < 120)
		snprintf(out, len, "%lds", s);
	else if (s < 7200)
		snprintf(out, len, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(out, len, "%ldh%02ldm", s / 3600, (s / 60) % 60);
}

int instance_status(const struct global_conf *g, const struct instance_conf *ic)
{
	struct inst_info info;
	char mode[32], ip[64], up[32], log[PATH_LEN];
	int vcpus;

	(void)g;
	instance_info(ic->name, &info);
	msg("%s: %s", ic->name, state_name(info.state));
	if (info.state == INST_RUNNING) {
		instance_guest_cpuinfo(ic->name, mode, sizeof(mode), &vcpus);
		format_uptime(info.started, up, sizeof(up));
		msg("  pid        %d (supervisor %d)", (int)info.uml.pid,
		    (int)info.sup.pid);
		msg("  mode       %s", mode);
		if (vcpus)
			msg("  vcpus      %d", vcpus);
		else
			msg("  vcpus      ? (%d configured)", ic->vcpus);
		msg("  cpu        %s", info.cpus[0] ? info.cpus : "?");
		msg("  uptime     %s", up);
		if (!info.version[0])
			msg("  version    unknown (started by an older uml-skas: restart it for %s)",
			    UMLCTL_VERSION);
		else if (strcmp(info.version, UMLCTL_VERSION))
			msg("  version    %s (restart it for %s)", info.version,
			    UMLCTL_VERSION);
		else
			msg("  version    %s", info.version);
	}
	for (int i = 0; i < MAX_NETS; i++) {
		if (!ic->nets[i].used)
			continue;
		msg("  net%d       %s %s (network %s)", i, ic->nets[i].mac,
		    info.state == INST_RUNNING &&
		    net_lease_address(&ic->nets[i], ip, sizeof(ip)) ? ip : "-",
		    ic->nets[i].network);
	}
	{
		uid_t id;

		if (instance_id_get(ic->name, &id) == 1)
			msg("  user       %u", (unsigned)id);
	}
	msg("  memory     %s", ic->memory);
	msg("  image      %s", ic->image_path);
	msg("  autostart  %s", instance_autostart(ic) ? "yes" : "no");
	if (state_file(ic->name, "console.log", log, sizeof(log)) == 0)
		msg("  console    %s", log);
	if (info.last_exit[0])
		msg("  last exit  %s", info.last_exit);
	if (info.state == INST_DEAD)
		msg("  (stale runtime files: the next start or stop cleans them up)");
	switch (info.state) {
	case INST_RUNNING:
		return EX_OK;
	case INST_DEAD:
	case INST_FAILED:
		return EX_FAIL;
	default:
		return EX_STOPPED;
	}
}

void instance_list_header(void)
{
	msg("%-10s  %-8s  %-7s  %-7s  %-15s  %-5s  %-7s  %s", "NAME", "STATE",
	    "PID", "MODE", "ADDRESS", "CPU", "UPTIME", "AUTOSTART");
}

void instance_list_line(const struct global_conf *g, const struct instance_conf *ic)
{
	struct inst_info info;
	char mode[32] = "-", ip[64] = "-", up[32] = "-", pid[16] = "-", cpu[64] = "-";

	(void)g;
	instance_info(ic->name, &info);
	if (info.state == INST_RUNNING) {
		instance_guest_mode(ic->name, mode, sizeof(mode));
		if (!ic->nets[0].used ||
		    !net_lease_address(&ic->nets[0], ip, sizeof(ip)))
			snprintf(ip, sizeof(ip), "-");
		format_uptime(info.started, up, sizeof(up));
		snprintf(pid, sizeof(pid), "%d", (int)info.uml.pid);
		snprintf(cpu, sizeof(cpu), "%s", info.cpus[0] ? info.cpus : "-");
	}
	msg("%-10s  %-8s  %-7s  %-7s  %-15s  %-5s  %-7s  %s", ic->name,
	    state_name(info.state), pid, mode, ip, cpu, up,
	    instance_autostart(ic) ? "yes" : "no");
}
