/* net.c: the host side of an instance's network: one TAP device per
 * interface (owned by the instance user, enslaved to the bridge of the
 * interface's network), and the DHCP host list each network's dnsmasq
 * reads (static leases and names from the MACs on it), and its leases. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlctl.h"

/* us-NAME-N while it fits in a device name (15 bytes), else
 * uh-HASH-N: a different prefix, so that no name's plain TAP name is
 * another's hashed one. */
void tap_name(const char *name, int idx, char out[16])
{
	char hex[11];

	if (strlen(name) <= 10) {
		snprintf(out, 16, "us-%s-%d", name, idx);
		return;
	}
	name_hash_hex(name, hex, 10);
	snprintf(out, 16, "uh-%s-%d", hex, idx);
}

/* Whether dev is a TAP device of uid (its tun owner): a hashed name of
 * another instance, or any device not ours, is never deleted or taken. */
static bool tap_of(const char *dev, uid_t uid)
{
	char path[PATH_LEN], text[32];

	snprintf(path, sizeof(path), "/sys/class/net/%s/owner", dev);
	if (read_file(path, text, sizeof(text)) < 0)
		return false;
	return strtoul(text, NULL, 10) == (unsigned long)uid;
}

/* Whether dev, a port of bridge, is the interface's TAP, what the guard
 * may list for it: a TAP must be of the instance's user (id, if it has
 * one), so that an interface whose name hashes alike on another network
 * is not taken for it.  A device that is no TAP only root can have made
 * and enslaved under the name (the tests' fake guests): it is taken. */
static bool tap_on(const char *dev, const uid_t *id, const char *bridge)
{
	char path[PATH_LEN], target[PATH_LEN];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/master", dev);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	if (strcmp(strrchr(target, '/') ? strrchr(target, '/') + 1 : target, bridge))
		return false;
	snprintf(path, sizeof(path), "/sys/class/net/%s/owner", dev);
	if (access(path, F_OK) == 0)
		return id && tap_of(dev, *id);
	return true;
}

bool link_exists(const char *dev)
{
	char path[PATH_LEN];

	snprintf(path, sizeof(path), "/sys/class/net/%s", dev);
	return access(path, F_OK) == 0;
}

bool bridge_exists(const char *bridge)
{
	char path[PATH_LEN];

	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", bridge);
	return access(path, F_OK) == 0;
}

int net_bridge_exists(const struct global_conf *g)
{
	return bridge_exists(g->bridge);
}

/* Where a network's files are: its run folder (dnsmasq's pid file and
 * host list) and its leases file.  The default network's are where they
 * have always been, RUN and STATE/dnsmasq.leases; a named network's run
 * folder is RUN/networks/NAME and its leases STATE/dnsmasq.NAME.leases
 * (STATE/NAME is the instance NAME's: no folder of ours there).  Both
 * hold PATH_LEN bytes. */
int net_files(const char *network, char *run, char *leases)
{
	char r[PATH_LEN], st[PATH_LEN];
	bool def = !strcmp(network, DEFAULT_NETWORK);

	if (run_dir(r, sizeof(r), NULL) < 0 || state_dir(st, sizeof(st), NULL) < 0)
		return -1;
	if (def)
		return snprintf_ok(run, PATH_LEN, "%s", r) < 0 ||
		       snprintf_ok(leases, PATH_LEN, "%s/dnsmasq.leases", st) < 0 ? -1 : 0;
	return snprintf_ok(run, PATH_LEN, "%s/networks/%s", r, network) < 0 ||
	       snprintf_ok(leases, PATH_LEN, "%s/dnsmasq.%s.leases", st, network) < 0 ? -1 : 0;
}

/* /proc/sys/net/FAMILY/conf/DEV/KEY = V; -ENOENT when the file is not
 * there (no IPv6 on this host), -1 on another error. */
int net_dev_conf(const char *family, const char *dev, const char *key, const char *v)
{
	char path[PATH_LEN];
	int fd, r;

	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", family, dev, key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : -1;
	r = write(fd, v, strlen(v)) == (ssize_t)strlen(v) ? 0 : -1;
	close(fd);
	return r;
}

/* A TAP is a bridge port and nothing more to the host.  The bridge hands
 * some frames a guest sends to the link-local group addresses
 * (01:80:c2:00:00:0X: LLDP, and the STP address where STP is on) up the
 * host's own stack on the TAP itself, without its netfilter hooks: there
 * the guard never sees them, and the network's tables (which match the
 * bridge) do not apply.  So the TAP has no IPv6 (no router
 * advertisement, neighbour advertisement or address of a guest's making
 * on it), drops IPv4 whose source would not be routed back through it
 * (strict reverse path: none is, so all of it but what the kernel does
 * not check, from 0.0.0.0 to a broadcast or local multicast address),
 * and answers no ARP for the host's addresses.  0, or
 * -1 when a setting could not be made (the caller fails closed). */
static int tap_harden(const char *tap)
{
	int r = net_dev_conf("ipv6", tap, "disable_ipv6", "1\n");

	if (r < 0 && r != -ENOENT)
		return -1;
	if (net_dev_conf("ipv4", tap, "rp_filter", "1\n") < 0 ||
	    net_dev_conf("ipv4", tap, "arp_ignore", "8\n") < 0)
		return -1;
	return 0;
}

int net_taps_up(const struct global_conf *g, const struct instance_conf *ic,
		uid_t uid)
{
	char uidstr[16];

	snprintf(uidstr, sizeof(uidstr), "%u", (unsigned)uid);
	for (int i = 0; i < MAX_NETS; i++) {
		static struct network n;
		char tap[16];

		if (!ic->nets[i].used)
			continue;
		if (config_load_network(g, ic->nets[i].network, &n) < 0) {
			net_taps_down(ic->name);
			return -1;
		}
		tap_name(ic->name, i, tap);
		if (link_exists(tap) && !tap_of(tap, uid)) {
			err("%s: a device %s exists and is not this instance's TAP (a name that hashes alike?): not started",
			    ic->name, tap);
			net_taps_down(ic->name);
			return -1;
		}
		if (link_exists(tap)) {   /* left over: start afresh */
			char *del[] = { "ip", "link", "del", tap, NULL };

			run_cmd(del, true);
		}
		char *add[] = { "ip", "tuntap", "add", "dev", tap, "mode", "tap",
				"user", uidstr, NULL };
		char *master[] = { "ip", "link", "set", tap, "master",
				   n.bridge, NULL };
		char *up[] = { "ip", "link", "set", tap, "up", NULL };

		if (run_cmd(add, false) || run_cmd(master, false) || tap_harden(tap) < 0 ||
		    run_cmd(up, false)) {
			err("%s: cannot set up TAP device %s on bridge %s",
			    ic->name, tap, n.bridge);
			net_taps_down(ic->name);
			return -1;
		}
	}
	return 0;
}

/* The instance's TAP devices are those of its user: an instance without
 * an id has none, and a device of the name but of another owner (another
 * instance's hashed name, anything else) is never counted or deleted. */
bool net_taps_left(const char *name)
{
	uid_t uid;

	if (instance_id_get(name, &uid) != 1)
		return false;
	for (int i = 0; i < MAX_NETS; i++) {
		char tap[16];

		tap_name(name, i, tap);
		if (link_exists(tap) && tap_of(tap, uid))
			return true;
	}
	return false;
}

void net_taps_down(const char *name)
{
	uid_t uid;

	if (instance_id_get(name, &uid) != 1)
		return;
	for (int i = 0; i < MAX_NETS; i++) {
		char tap[16];

		tap_name(name, i, tap);
		if (link_exists(tap) && tap_of(tap, uid)) {
			char *del[] = { "ip", "link", "del", tap, NULL };

			run_cmd(del, true);
		}
	}
}

/* Whether the network is a collision domain of the instance's lab: its
 * name LAB-DOMAIN (lab up never takes a network file that is not the
 * lab's own: lab.c). */
static bool lab_domain_of(const struct network *net, const struct instance_conf *ic)
{
	size_t len = strlen(ic->lab);

	return len && !net->dhcp && !strncmp(net->name, ic->lab, len) && net->name[len] == '-';
}

/* Writes the network's dhcp-hosts from the interfaces on it of every
 * loadable instance file (the first such interface of an instance gets
 * its name), adds its TAPs (and, with DHCP, its leases) to the guard's
 * list (guard.c), and tells its running dnsmasq to read the hosts
 * again. */
static int write_hosts(const struct network *net, char names[][NAME_MAX_LEN + 1],
		       int n, const struct global_conf *g, struct guard_list *guard)
{
	static char text[MAX_INSTANCES * MAX_NETS * 64];
	char run[PATH_LEN], state[PATH_LEN], file[PATH_LEN];
	static struct instance_conf ic;
	struct proc_id dns;
	size_t used = 0;

	text[0] = '\0';
	for (int i = 0; i < n; i++) {
		bool named = false, has_id;
		uid_t uid;

		/* other instances' errors are reported where they matter */
		if (config_load_instance_quiet(g, names[i], &ic) < 0)
			continue;
		has_id = instance_id_get(ic.name, &uid) == 1;
		for (int j = 0; j < MAX_NETS; j++) {
			const struct net_conf *nc = &ic.nets[j];
			char tap[16];

			if (!nc->used || strcmp(nc->network, net->name))
				continue;
			used += snprintf(text + used, sizeof(text) - used,
					 "%s%s%s%s%s\n", nc->mac,
					 nc->address[0] ? "," : "", nc->address,
					 named ? "" : ",", named ? "" : ic.name);
			named = true;
			if (used >= sizeof(text))
				return -1;
			/* the guard lists the TAPs that are there, the
			 * instance's and on this bridge (a stopped one's
			 * TAP is not: its start writes the lists again) */
			tap_name(ic.name, j, tap);
			/* (a TAP of an instance started before this release
			 * is hardened at the next network up or start; one
			 * that cannot be gets nothing through the guard) */
			if (!tap_on(tap, has_id ? &uid : NULL, net->bridge))
				continue;
			if (tap_harden(tap) < 0)
				err("%s: cannot turn IPv6 off or reverse path filtering on: nothing of it gets through the guard",
				    tap);
			else
				guard_list_add(guard, tap, nc->mac,
					       !net->guard ? GUARD_FREE :
					       net->dhcp ? GUARD_DHCP :
					       lab_domain_of(net, &ic) ? GUARD_FREE :
					       GUARD_STATIC, net->address6);
		}
	}
	if (net_files(net->name, run, state) < 0 || mkdir_p(run, 0755) < 0 ||
	    snprintf_ok(file, sizeof(file), "%s/dhcp-hosts", run) < 0)
		return -1;
	/* a network with DHCP that is up (its bridge made): guarded */
	if (net->dhcp && bridge_exists(net->bridge))
		guard_list_leases(guard, state);
	if (write_file(file, text, 0644) < 0)
		return -1;
	if (hostnet_dnsmasq(net, &dns))
		proc_id_signal(&dns, SIGHUP, false);
	return 0;
}

/* Every network's host list: the default one's always, another's when
 * its file loads; then the guard, for all of them at once. */
int net_write_hosts(const struct global_conf *g)
{
	static char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
	static char nets[MAX_NETWORKS + 1][NAME_MAX_LEN + 1];
	static struct network net;
	struct guard_list guard;
	int n = config_instance_names(names, MAX_INSTANCES);
	int nn = config_network_names(nets, MAX_NETWORKS), bad = 0;

	if (n < 0)
		n = 0;
	if (nn < 0)
		nn = 0;
	strcpy(nets[nn++], DEFAULT_NETWORK);
	guard_list_init(&guard);
	for (int i = 0; i < nn; i++) {
		char dir[PATH_LEN], state[PATH_LEN];

		if (config_load_network(g, nets[i], &net) < 0)
			continue;
		/* only where the network has been up: no folders for the
		 * networks never used */
		if (strcmp(nets[i], DEFAULT_NETWORK) &&
		    (net_files(nets[i], dir, state) < 0 || access(dir, F_OK) < 0))
			continue;
		if (write_hosts(&net, names, n, g, &guard) < 0)
			bad++;
	}
	if (guard_sync(&guard) < 0)
		bad++;
	return bad ? -1 : 0;
}

static FILE *open_leases(const struct net_conf *nc)
{
	char run[PATH_LEN], file[PATH_LEN];

	if (net_files(nc->network[0] ? nc->network : DEFAULT_NETWORK, run, file) < 0)
		return NULL;
	return fopen(file, "r");
}

/* When the lease of the interface's MAC ends (dnsmasq's leases file of
 * its network), or 0. */
long long net_lease_expiry(const struct net_conf *nc)
{
	char line[512];
	long long found = 0;
	FILE *f = open_leases(nc);

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		long long exp;
		char lmac[32];

		if (sscanf(line, "%lld %31s", &exp, lmac) == 2 &&
		    !strcasecmp(lmac, nc->mac))
			found = exp;
	}
	fclose(f);
	return found;
}

/* The address the interface's network leased to its MAC, or NULL. */
const char *net_lease_address(const struct net_conf *nc, char *out, size_t len)
{
	char line[512];
	FILE *f = open_leases(nc);
	const char *found = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char lmac[32], ip[64];

		if (sscanf(line, "%*s %31s %63s", lmac, ip) == 2 &&
		    !strcasecmp(lmac, nc->mac)) {
			snprintf(out, len, "%s", ip);
			found = out;
		}
	}
	fclose(f);
	return found;
}
