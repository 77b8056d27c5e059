/* hostnet.c: a host network the instances' interfaces are on, like
 * libvirt's networks: a bridge with the configured address (if any),
 * forwarding rules and NAT in an nftables table of its own (ip uml_skas
 * for the default network, ip uml_skas_NAME for networks/NAME.conf), and
 * a dnsmasq of its own serving DHCP (static leases from the instances'
 * MACs) and DNS for the instance names, on that bridge only.  Each
 * network's files are where net_files() says.  Up and down are
 * idempotent and touch nothing of another network.
 *
 * Forwarding policy of a network's table: traffic from the bridge's
 * subnet may leave through any interface; into the bridge only replies
 * (so one network's instances cannot open connections into another's);
 * an isolated network, or one without an address, forwards nothing at
 * all, and of the host's own addresses reaches only the bridge's.  NAT
 * masquerades what leaves the subnet.  What guests may send onto a
 * network with DHCP (their own MAC and leased address only) is the
 * guard's (guard.c). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umlctl.h"

#define NFT_TABLE "uml_skas"

/* ip uml_skas, or uml_skas_NAME ('-' is not allowed in an nft name, and
 * network names have no '_', so the mapping keeps names apart). */
void hostnet_table(const struct network *n, char out[64])
{
	if (!strcmp(n->name, DEFAULT_NETWORK)) {
		strcpy(out, NFT_TABLE);
		return;
	}
	snprintf(out, 64, NFT_TABLE "_%s", n->name);
	for (char *c = out; *c; c++)
		if (*c == '-')
			*c = '_';
}

static int files(const struct network *n, char *pidfile, char *hosts,
		 char *leases)
{
	char run[PATH_LEN], state[PATH_LEN];

	if (net_files(n->name, run, leases) < 0 ||
	    state_dir(state, sizeof(state), NULL) < 0 ||
	    mkdir_p(run, 0755) < 0 || mkdir_p(state, 0755) < 0)
		return -1;
	if (snprintf_ok(pidfile, PATH_LEN, "%s/dnsmasq.pid", run) < 0 ||
	    snprintf_ok(hosts, PATH_LEN, "%s/dhcp-hosts", run) < 0)
		return -1;
	return 0;
}

/* RUN/.../resolved: the bridge is a link of systemd-resolved's for the
 * network's domain (resolved.c). */
static int resolved_marker(const struct network *n, char *out)
{
	char run[PATH_LEN], leases[PATH_LEN];

	if (net_files(n->name, run, leases) < 0)
		return -1;
	return snprintf_ok(out, PATH_LEN, "%s/resolved", run);
}

/* dnsmasq.id in the network's run folder: the dnsmasq we started, as pid
 * and start time (dnsmasq's own pid file has the pid alone). */
static int id_file(const struct network *n, char *out)
{
	char run[PATH_LEN], leases[PATH_LEN];

	if (net_files(n->name, run, leases) < 0)
		return -1;
	return snprintf_ok(out, PATH_LEN, "%s/dnsmasq.id", run);
}

static bool is_dnsmasq(pid_t pid)
{
	char path[64], comm[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	return read_file(path, comm, sizeof(comm)) > 0 && !strcmp(comm, "dnsmasq\n");
}

/* True, and its identity in *id, when the dnsmasq we started runs. */
bool hostnet_dnsmasq(const struct network *n, struct proc_id *id)
{
	char path[PATH_LEN];

	if (id_file(n, path) < 0 || proc_id_read(path, id) < 0)
		return false;
	return proc_id_alive(id) && is_dnsmasq(id->pid);
}

/* The bridge's network in CIDR form (10.77.0.0/24), its address and mask. */
static int subnet(const struct network *n, char *net, char *ip, char *mask)
{
	struct in_addr a, m;
	int prefix;
	const char *slash = strchr(n->address, '/');

	if (!slash)
		return -1;
	snprintf(ip, 64, "%.*s", (int)(slash - n->address), n->address);
	prefix = atoi(slash + 1);
	if (inet_pton(AF_INET, ip, &a) != 1 || prefix < 8 || prefix > 30)
		return -1;
	m.s_addr = htonl(~0u << (32 - prefix));
	a.s_addr &= m.s_addr;
	inet_ntop(AF_INET, &m, mask, 64);
	inet_ntop(AF_INET, &a, net, 64);
	snprintf(net + strlen(net), 64 - strlen(net), "/%d", prefix);
	return 0;
}

/* A bridge without an address of its own set takes the lowest MAC of its
 * ports: each TAP that comes or goes could change it, and every guest's
 * ARP entry for the gateway would be wrong until it expires.  So the
 * bridge gets a fixed one, locally administered, from its name
 * (02:75:62 is "ub"; instances' MACs are 02:75:6d). */
static void bridge_mac(const char *bridge, char mac[18])
{
	uint32_t h = 2166136261u;   /* FNV-1a */

	for (const char *c = bridge; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	snprintf(mac, 18, "02:75:62:%02x:%02x:%02x", (h >> 16) & 0xff,
		 (h >> 8) & 0xff, h & 0xff);
}

/* Whether the bridge carries the MAC bridge_mac gives it: made here. */
static bool bridge_ours(const char *bridge)
{
	char path[PATH_LEN], cur[32], mac[18];

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", bridge);
	bridge_mac(bridge, mac);
	return read_file(path, cur, sizeof(cur)) > 0 && !strncmp(cur, mac, 17);
}

/* /proc/sys/net/ipv6/conf/BRIDGE/KEY = V.  -ENOENT: no IPv6 on this
 * host; -1: another error. */
static int ipv6_conf(const char *bridge, const char *key, const char *v)
{
	return net_dev_conf("ipv6", bridge, key, v);
}

/* Before the tables: a bridge umlctl made takes no router advertisement,
 * redirect or SLAAC address from the guests (they would give the host
 * addresses and a default route through a guest: guard = no lets a
 * guest's advertisements by, and the guard lets IPv6 from guests through
 * where the network has address6).  A named network's bridge has no
 * IPv6 at all without address6 (the bridge's link-local address would
 * open the host to the guests, and IPv6 forwarding would join the
 * networks the tables keep apart), and none with it either until its ip6
 * table is loaded (bridge_ipv6_up).  A bridge of the host's own (the
 * default network's bridge = br0) is left as its administrator set it. */
static int bridge_ipv6_prepare(const struct network *n, bool named)
{
	static const char *const keys[] = { "accept_ra", "accept_redirects", "autoconf" };
	char table[64];
	char *list[] = { "nft", "list", "table", "ip6", table, NULL };
	int r = 0;

	if (!named && !bridge_ours(n->bridge)) {
		if (!n->address6[0])
			return 0;
		/* Its settings are the administrator's: it would take the
		 * guests' router advertisements (guard = no lets them by). */
		err("network %s: address6 needs a bridge umlctl makes; %s is the host's own or an older umlctl's (%s): put IPv6 on a named network, or take the bridge down so that umlctl makes it",
		    n->name, n->bridge, n->file);
		return -1;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && r == 0; i++)
		r = ipv6_conf(n->bridge, keys[i], "0\n");
	if (r == -ENOENT) {   /* no IPv6 on this host */
		if (!n->address6[0])
			return 0;
		err("network %s: address6 %s: this host has no IPv6", n->name, n->address6);
		return -1;
	}
	if (r < 0 || !named)
		return r;
	hostnet_table(n, table);
	if (!n->address6[0] || run_cmd(list, true) != 0)
		return ipv6_conf(n->bridge, "disable_ipv6", "1\n");
	return 0;
}

/* The default network's bridge may have addresses of the host's own
 * (networkd's, an administrator's): umlctl adds address6's with replace
 * (an address it has stays, and so do the guests' connections) and takes
 * off only the one it added before, which RUN/address6 remembers. */
static int default_ipv6_up(const struct network *n)
{
	char run[PATH_LEN], leases[PATH_LEN], record[PATH_LEN], old[64] = "", text[80];
	char *add[] = { "ip", "-6", "addr", "replace", (char *)n->address6, "dev",
			(char *)n->bridge, "nodad", NULL };
	char *del[] = { "ip", "-6", "addr", "del", old, "dev", (char *)n->bridge, NULL };

	if (net_files(n->name, run, leases) < 0 || mkdir_p(run, 0755) < 0 ||
	    snprintf_ok(record, sizeof(record), "%s/address6", run) < 0)
		return -1;
	if (read_file(record, old, sizeof(old)) > 0)
		old[strcspn(old, "\n")] = '\0';
	if (n->address6[0]) {
		if (ipv6_conf(n->bridge, "disable_ipv6", "0\n") < 0 || run_cmd(add, false)) {
			err("network %s: cannot give bridge %s the address %s", n->name,
			    n->bridge, n->address6);
			return -1;
		}
	}
	/* gone with the bridge, or taken off by hand: nothing to do */
	if (old[0] && strcmp(old, n->address6))
		run_cmd(del, true);
	if (!n->address6[0])
		return unlink(record) < 0 && errno != ENOENT ? -1 : 0;
	snprintf(text, sizeof(text), "%s\n", n->address6);
	return write_file(record, text, 0644);
}

/* After the tables: address6's address on the bridge, and IPv6 with it.
 * A named network's bridge has only the file's global address: another
 * (an earlier address6's) goes; the address is left as it is when it is
 * the only one, so that network up does not cut the guests' connections. */
static int bridge_ipv6_up(const struct network *n)
{
	char *show[] = { "ip", "-6", "-o", "addr", "show", "dev", (char *)n->bridge,
			 "scope", "global", NULL };
	char *flush[] = { "ip", "-6", "addr", "flush", "dev", (char *)n->bridge,
			  "scope", "global", NULL };
	char *add[] = { "ip", "-6", "addr", "add", (char *)n->address6, "dev",
			(char *)n->bridge, "nodad", NULL };
	char have[4096], want[80], *second;

	if (!strcmp(n->name, DEFAULT_NETWORK))
		return default_ipv6_up(n);
	if (!n->address6[0])
		return 0;
	if (ipv6_conf(n->bridge, "disable_ipv6", "0\n") < 0) {
		err("network %s: cannot turn IPv6 on for bridge %s", n->name, n->bridge);
		return -1;
	}
	snprintf(want, sizeof(want), " inet6 %s ", n->address6);
	if (run_cmd_output(show, have, sizeof(have)) == 0 && strstr(have, want)) {
		second = strchr(have, '\n');
		if (!second || !strchr(second + 1, ' '))
			return 0;
	}
	if (run_cmd(flush, false) || run_cmd(add, false)) {
		err("network %s: cannot give bridge %s the address %s", n->name, n->bridge,
		    n->address6);
		return -1;
	}
	return 0;
}

static int bridge_up(const struct network *n)
{
	bool named = strcmp(n->name, DEFAULT_NETWORK) != 0;
	char mac[18];
	char *add[] = { "ip", "link", "add", "name", (char *)n->bridge, "address", mac,
			"type", "bridge", NULL };
	char *addr[] = { "ip", "addr", "replace", (char *)n->address, "dev",
			 (char *)n->bridge, NULL };
	char *flush[] = { "ip", "-4", "addr", "flush", "dev", (char *)n->bridge, NULL };
	char *up[] = { "ip", "link", "set", (char *)n->bridge, "up", NULL };
	/* Frames to link-local group addresses (LLDP) reach the bridge's
	 * learning without a netfilter hook: a guest could move another's
	 * MAC to its own port with them (guard.c). */
	char *nolearn[] = { "ip", "link", "set", (char *)n->bridge, "type", "bridge",
			    "no_linklocal_learn", "1", NULL };

	if (link_exists(n->bridge) && !bridge_exists(n->bridge)) {
		err("network %s: %s exists and is not a bridge", n->name, n->bridge);
		return -1;
	}
	/* A named network never takes over a bridge of the host's (br0,
	 * virbr0, docker0): down would delete it.  The default network's
	 * bridge predates the fixed MAC, so it is not asked. */
	if (named && link_exists(n->bridge) && !bridge_ours(n->bridge)) {
		err("network %s: bridge %s exists and was not made by umlctl (name another bridge in %s)",
		    n->name, n->bridge, n->file);
		return -1;
	}
	bridge_mac(n->bridge, mac);
	/* The MAC only on a bridge made here: changing it under running
	 * guests would cost them their gateway until ARP expires.  It is
	 * given at creation, so the device is never one with a random
	 * address, which udev (MACAddressPolicy=persistent) would replace
	 * with one of its own as it handles the new device: set afterwards,
	 * the MAC was lost when udev came second, and with it the sign that
	 * umlctl made the bridge. */
	if (!link_exists(n->bridge) && run_cmd(add, false)) {
		err("network %s: cannot create bridge %s", n->name, n->bridge);
		return -1;
	}
	if (bridge_ipv6_prepare(n, named) < 0 || run_cmd(nolearn, false) ||
	    run_cmd(n->address[0] ? addr : flush, false) || run_cmd(up, false)) {
		err("network %s: cannot configure bridge %s", n->name, n->bridge);
		return -1;
	}
	return 0;
}

/* RUN/ip_forward.ours: present while IPv4 forwarding is on because we
 * turned it on; network down turns it off again then, and only then. */
static int forward_marker(char *out)
{
	char run[PATH_LEN];

	if (run_dir(run, sizeof(run), NULL) < 0)
		return -1;
	return snprintf_ok(out, PATH_LEN, "%s/ip_forward.ours", run);
}

static int write_forward(const char *v)
{
	int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	int r = fd >= 0 && write(fd, v, strlen(v)) == (ssize_t)strlen(v) ? 0 : -1;

	if (fd >= 0)
		close(fd);
	return r;
}

static int forwarding_on(void)
{
	char marker[PATH_LEN], cur[8];

	if (forward_marker(marker) < 0)
		return -1;
	if (read_file("/proc/sys/net/ipv4/ip_forward", cur, sizeof(cur)) > 0 && cur[0] == '1')
		return 0;	/* on already: someone else's, or ours */
	if (write_forward("1\n") < 0) {
		err("network: cannot enable IPv4 forwarding: %s", strerror(errno));
		return -1;
	}
	return write_file(marker, "1\n", 0644);
}

/* Turns forwarding off again if we turned it on and no network of ours
 * that forwards is left.  Only a forwarding network's forward chain lets
 * replies back in; every network with an address has "ip saddr" rules
 * (its input chain), isolated ones included. */
static void forwarding_restore(void)
{
	char marker[PATH_LEN];
	static char tables[65536], table[65536];
	char *list[] = { "nft", "list", "tables", "ip", NULL };
	char *p;

	if (forward_marker(marker) < 0 || access(marker, F_OK) < 0)
		return;
	if (run_cmd_output(list, tables, sizeof(tables)) == 0) {
		for (p = tables; (p = strstr(p, "table ip " NFT_TABLE)); p++) {
			char name[64], *one[] = { "nft", "list", "table", "ip", name, NULL };

			if (sscanf(p, "table ip %63s", name) == 1 &&
			    run_cmd_output(one, table, sizeof(table)) == 0 &&
			    strstr(table, "ct state established,related accept"))
				return;	/* a network that forwards is still up */
		}
	}
	if (write_forward("0\n") < 0)
		err("network: cannot turn IPv4 forwarding off again: %s", strerror(errno));
	else
		unlink(marker);
}

/* Appends to rules (RULES_LEN bytes); *len past the end once it is full,
 * which the caller checks once. */
#define RULES_LEN 4096
static void append(char *rules, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void append(char *rules, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= RULES_LEN)
		return;
	va_start(ap, fmt);
	n = vsnprintf(rules + *len, RULES_LEN - *len, fmt, ap);
	va_end(ap);
	*len = n < 0 ? RULES_LEN : *len + (size_t)n;
}

/* Whether the network has an ip6 table: with address6, or on the default
 * network's bridge of ours with guard = no (when the host has IPv6). */
static bool needs_table6(const struct network *n)
{
	char path[PATH_LEN];

	if (n->address6[0])
		return true;
	if (strcmp(n->name, DEFAULT_NETWORK) || n->guard || !bridge_ours(n->bridge))
		return false;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s", n->bridge);
	return access(path, F_OK) == 0;
}

/* The network's ip6 table: with address6, or on the default network's
 * bridge of ours with guard = no (the guests' IPv6 reaches the host
 * then); else none.  IPv6 is never routed: umlctl does not turn IPv6
 * forwarding on (a host that forwards takes no router advertisements on
 * any interface), and where the host forwards anyway, nothing goes in or
 * out of the bridge.  To the host, the network sends from its IPv6
 * subnet (link-local addresses only without address6) and from :: only
 * what duplicate address detection, MLD and router solicitation send; an isolated network
 * reaches the bridge's own addresses and no other address of the host.
 * A table of an earlier run is deleted in the same transaction (only if
 * it exists: a kernel without nf_tables IPv6 refuses the family). */
static void table6(const struct network *n, const char *table, char *rules, size_t *len)
{
	const char *b = n->bridge;
	char net6[80], ip6[64];
	char *list[] = { "nft", "list", "table", "ip6", (char *)table, NULL };

	if (!needs_table6(n)) {
		if (run_cmd(list, true) == 0)
			append(rules, len, "delete table ip6 %s\n", table);
		return;
	}
	append(rules, len,
		"table ip6 %s\n"
		"delete table ip6 %s\n"
		"table ip6 %s {\n"
		"  chain forward {\n"
		"    type filter hook forward priority filter; policy accept;\n"
		"    iifname \"%s\" oifname \"%s\" accept\n"
		"    iifname \"%s\" reject\n"
		"    oifname \"%s\" reject\n"
		"  }\n"
		"  chain input {\n"
		"    type filter hook input priority filter; policy accept;\n"
		"    iifname \"%s\" ip6 saddr :: icmpv6 type { nd-neighbor-solicit, nd-router-solicit, mld-listener-report, mld2-listener-report } accept\n",
		table, table, table, b, b, b, b, b);
	if (!n->address6[0]) {
		append(rules, len, "    iifname \"%s\" ip6 saddr != fe80::/10 drop\n  }\n}\n", b);
		return;
	}
	config_subnet6(n->address6, net6, sizeof(net6));
	snprintf(ip6, sizeof(ip6), "%.*s", (int)strcspn(n->address6, "/"), n->address6);
	append(rules, len, "    iifname \"%s\" ip6 saddr != { %s, fe80::/10 } drop\n", b, net6);
	if (n->isolated)
		append(rules, len,
			"    iifname \"%s\" fib daddr type local ip6 daddr != { %s, fe80::/10 } reject\n",
			b, ip6);
	append(rules, len, "  }\n}\n");
}

static int table_up(const struct network *n, const char *net)
{
	char rules[RULES_LEN], table[64];
	char *nft[] = { "nft", "-f", "-", NULL };
	const char *b = n->bridge;
	size_t len = 0;

	hostnet_table(n, table);
	/* Declaring the table first makes the delete succeed when it is
	 * new; the whole file is one transaction. */
	append(rules, &len,
		"table ip %s\n"
		"delete table ip %s\n"
		"table ip %s {\n"
		"  chain forward {\n"
		"    type filter hook forward priority filter; policy accept;\n"
		/* with br_netfilter, traffic between two ports of
		 * the bridge passes here too: always its own */
		"    iifname \"%s\" oifname \"%s\" accept\n",
		table, table, table, b, b);
	if (n->isolated || !n->address[0])
		append(rules, &len,
			"    iifname \"%s\" reject\n"
			"    oifname \"%s\" reject\n"
			"  }\n", b, b);
	else
		append(rules, &len,
			"    iifname \"%s\" ip saddr %s accept\n"
			"    oifname \"%s\" ip daddr %s ct state established,related accept\n"
			/* port forwards (forward.c), or the admin's own DNAT */
			"    oifname \"%s\" ip daddr %s ct status dnat accept\n"
			"    oifname \"%s\" reject\n"
			"    iifname \"%s\" reject\n"
			"  }\n", b, net, b, net, b, net, b, b);
	/* To the host, a network with an address sends from its subnet
	 * (or 0.0.0.0, asking for a lease) only: where the guard checks no
	 * addresses (no DHCP, guard = no), a guest could otherwise reach
	 * the host's services with another network's addresses.  An
	 * isolated network reaches the host at the bridge's own address
	 * (DHCP, DNS) and no other address of the host. */
	{
		char ip[64];

		snprintf(ip, sizeof(ip), "%.*s", (int)strcspn(n->address, "/"), n->address);
		append(rules, &len,
			"  chain input {\n"
			"    type filter hook input priority filter; policy accept;\n");
		if (n->address[0])
			append(rules, &len,
				"    iifname \"%s\" ip saddr != { %s, 0.0.0.0 } drop\n", b, net);
		if (n->isolated || !n->address[0])
			append(rules, &len,
				"    iifname \"%s\" fib daddr type local%s%s reject\n",
				b, ip[0] ? " ip daddr != " : "", ip);
		append(rules, &len, "  }\n");
	}
	if (n->nat)
		append(rules, &len,
			"  chain postrouting {\n"
			"    type nat hook postrouting priority srcnat; policy accept;\n"
			"    ip saddr %s ip daddr != %s masquerade\n"
			"  }\n", net, net);
	append(rules, &len, "}\n");
	table6(n, table, rules, &len);
	if (len >= sizeof(rules))
		return -1;
	if (run_cmd_input(nft, rules, false)) {
		err("network %s: nft could not load tables ip%s %s", n->name,
		    needs_table6(n) ? " and ip6" : "", table);
		/* no IPv6 without its table */
		if (strcmp(n->name, DEFAULT_NETWORK))
			ipv6_conf(n->bridge, "disable_ipv6", "1\n");
		return -1;
	}
	if (!n->isolated && n->address[0] && forwarding_on() < 0)
		return -1;
	return 0;
}

static void dnsmasq_down(const struct network *n);

/* Whether dnsmasq PID runs with today's options: --dhcp-ignore-names
 * (one started by umlctl 0.1.0 had none) and the guard's (guard.c; none
 * before 0.2.0): its lease script, and leases for known MACs only.  In
 * *dns_off (may be NULL) whether it runs without DNS (--port=0), in
 * *ra_on (may be NULL) whether it sends router advertisements. */
static bool dnsmasq_current(pid_t pid, bool *dns_off, bool *ra_on)
{
	/* (its arguments: a few paths and options) */
	static char args[8 * PATH_LEN];
	char path[64], hook[PATH_LEN], script_arg[PATH_LEN + 16];
	ssize_t len;
	bool names = false, script = false, known = false, port0 = false, ra = false;

	if (guard_hook_path(hook) < 0 ||
	    snprintf_ok(script_arg, sizeof(script_arg), "--dhcp-script=%s", hook) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	len = read_file(path, args, sizeof(args));
	for (ssize_t i = 0; i < len;) {
		names |= !strcmp(args + i, "--dhcp-ignore-names");
		script |= !strcmp(args + i, script_arg);
		known |= !strcmp(args + i, "--dhcp-ignore=tag:!known");
		port0 |= !strcmp(args + i, "--port=0");
		ra |= !strcmp(args + i, "--enable-ra");
		i += (ssize_t)strnlen(args + i, (size_t)(len - i)) + 1;
	}
	if (dns_off)
		*dns_off = port0;
	if (ra_on)
		*ra_on = ra;
	return names && script && known;
}

static int dnsmasq_up(const struct global_conf *g, const struct network *n,
		      const char *ip, const char *mask)
{
	char pidfile[PATH_LEN], hosts[PATH_LEN], leases[PATH_LEN];
	char a_pid[PATH_LEN + 16], a_hosts[PATH_LEN + 32], a_leases[PATH_LEN + 32];
	char a_range[256], a_if[64], a_listen[96], a_domain[128], a_local[128];
	char first[64], last[64], hook[PATH_LEN], a_script[PATH_LEN + 16];
	char a_range6[64], a_ra[64];

	struct proc_id id;
	char idpath[PATH_LEN], buf[32];
	bool dns_off, ra_on;

	if (guard_hook_path(hook) < 0)
		return -1;
	snprintf(a_script, sizeof(a_script), "--dhcp-script=%s", hook);
	if (hostnet_dnsmasq(n, &id)) {
		if (!dnsmasq_current(id.pid, &dns_off, &ra_on))
			msg("network %s: dnsmasq was started by an earlier umlctl (without the guard of this release): started again",
			    n->name);
		else if (dns_off == n->dns)
			msg("network %s: dns = %s in %s: dnsmasq started again",
			    n->name, n->dns ? "yes" : "no", n->file);
		else if (ra_on != n->ra)
			msg("network %s: ra = %s in %s: dnsmasq started again",
			    n->name, n->ra ? "yes" : "no", n->file);
		else
			return net_write_hosts(g);   /* running: new host list only */
		dnsmasq_down(n);
	}
	if (files(n, pidfile, hosts, leases) < 0 || net_write_hosts(g) < 0)
		return -1;
	if (sscanf(n->dhcp_range, "%63[0-9.] , %63[0-9.]", first, last) != 2)
		return -1;
	snprintf(a_pid, sizeof(a_pid), "--pid-file=%s", pidfile);
	snprintf(a_hosts, sizeof(a_hosts), "--dhcp-hostsfile=%s", hosts);
	snprintf(a_leases, sizeof(a_leases), "--dhcp-leasefile=%s", leases);
	snprintf(a_range, sizeof(a_range), "--dhcp-range=%s,%s,%s,%d", first,
		 last, mask, DHCP_LEASE_SECONDS);
	snprintf(a_if, sizeof(a_if), "--interface=%s", n->bridge);
	snprintf(a_listen, sizeof(a_listen), "--listen-address=%s", ip);
	snprintf(a_domain, sizeof(a_domain), "--domain=%s", n->domain);
	snprintf(a_local, sizeof(a_local), "--local=/%s/", n->domain);

	char *argv[] = { "dnsmasq", "--conf-file=/dev/null", a_pid, a_hosts,
			 a_leases, a_range, a_if, a_listen, "--bind-interfaces",
			 "--except-interface=lo", "--strict-order",
			 "--dhcp-authoritative", "--dhcp-no-override",
			 "--dhcp-rapid-commit", "--no-ping", a_domain, a_local,
			 "--expand-hosts", "--domain-needed", "--bogus-priv",
			 /* DNS names from the instance files only: a guest
			  * that sends another's host name gets no name. */
			 "--dhcp-ignore-names",
			 /* the guard's leases (guard.c), run as root, also
			  * at renewals (an entry lost comes back) */
			 a_script, "--script-on-renewal",
			 /* a client is its MAC (the guard checks it), and only
			  * the instance files' MACs get leases: no guest
			  * takes another's lease by its client id, or empties
			  * the range with MACs of its making */
			 "--dhcp-ignore-clid", "--dhcp-ignore=tag:!known",
			 /* No --log-facility: syslog, which is the journal of
			  * uml-skas-network.service under systemd; rotated by
			  * journald or the syslog daemon, not by us. */
			 "--log-dhcp",
			 /* room for the options below, and the end */
			 NULL, NULL, NULL, NULL, NULL, NULL, NULL };
	size_t tail = sizeof(argv) / sizeof(argv[0]) - 7;

	/* dns = no: no DNS server, and none named in the leases (option 6
	 * with no value is left out).  The leases still name the domain. */
	if (!n->dns) {
		argv[tail++] = "--port=0";
		argv[tail++] = "--dhcp-option=option:dns-server";
	}
	/* ra = yes: address6's /64 (the bridge's only global address)
	 * announced for stateless autoconfiguration (no DHCPv6), every 60 s
	 * and when a guest solicits, valid for an hour (how long a guest
	 * keeps its address after ra = no), with a router lifetime of 0:
	 * IPv6 is never routed here, so no guest may take the host for its
	 * default router.  No DNS server in them: the guests have DHCP's. */
	if (n->ra) {
		snprintf(a_range6, sizeof(a_range6), "--dhcp-range=::,constructor:%s,ra-only,1h",
			 n->bridge);
		snprintf(a_ra, sizeof(a_ra), "--ra-param=%s,60,0", n->bridge);
		argv[tail++] = "--enable-ra";
		argv[tail++] = a_range6;
		argv[tail++] = a_ra;
		argv[tail++] = "--dhcp-option=option6:dns-server";
	}
	if (id_file(n, idpath) < 0)
		return -1;
	unlink(pidfile);
	if (run_cmd(argv, false)) {
		err("network %s: dnsmasq did not start on %s", n->name, n->bridge);
		return -1;
	}
	/* dnsmasq writes its pid file before it returns to us (it forks
	 * after); the record is made from the pid file and checked to be
	 * a dnsmasq. */
	for (int i = 0; i < 50; i++) {
		long pid = read_file(pidfile, buf, sizeof(buf)) > 0 ? atol(buf) : 0;

		if (pid > 1 && is_dnsmasq((pid_t)pid))
			return proc_id_write(idpath, (pid_t)pid);
		sleep_ms(100);
	}
	err("network %s: dnsmasq started but wrote no pid file %s", n->name, pidfile);
	return -1;
}

/* Whether the network's dnsmasq runs with the options of an earlier
 * umlctl (an upgrade): a network up must start it again. */
bool hostnet_dnsmasq_stale(const struct network *n)
{
	struct proc_id id;

	return n->dhcp && hostnet_dnsmasq(n, &id) && !dnsmasq_current(id.pid, NULL, NULL);
}

/* The dnsmasq of a network with DHCP off, or left from before it was
 * turned off: stopped. */
static void dnsmasq_down(const struct network *n)
{
	char pidfile[PATH_LEN], hosts[PATH_LEN], leases[PATH_LEN], idpath[PATH_LEN];
	struct proc_id id;

	if (files(n, pidfile, hosts, leases) < 0 || id_file(n, idpath) < 0)
		return;
	if (hostnet_dnsmasq(n, &id)) {
		proc_id_signal(&id, SIGTERM, false);
		if (!proc_id_wait_gone(&id, 5000))
			proc_id_signal(&id, SIGKILL, false);
	}
	unlink(pidfile);
	unlink(idpath);
}

/* RUN/networks/NAME/bridge: what `network down NAME` takes apart when
 * the network's file is gone or broken (hostnet_leftover). */
static int remember_bridge(const struct network *n)
{
	char run[PATH_LEN], leases[PATH_LEN], path[PATH_LEN + 8], text[24];

	if (!strcmp(n->name, DEFAULT_NETWORK))
		return 0;
	if (net_files(n->name, run, leases) < 0 || mkdir_p(run, 0755) < 0 ||
	    snprintf_ok(path, sizeof(path), "%s/bridge", run) < 0)
		return -1;
	snprintf(text, sizeof(text), "%s\n", n->bridge);
	return write_file(path, text, 0644);
}

/* A named network whose file no longer loads, as far as down needs it:
 * the bridge it was brought up with (the default one if none is on record). */
void hostnet_leftover(const char *name, struct network *n)
{
	char run[PATH_LEN], leases[PATH_LEN], path[PATH_LEN + 8], text[32];

	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->file, sizeof(n->file), "(no loadable file)");
	network_default_bridge(name, n->bridge);
	if (net_files(name, run, leases) == 0 &&
	    snprintf_ok(path, sizeof(path), "%s/bridge", run) == 0 &&
	    read_file(path, text, sizeof(text)) > 0 &&
	    sscanf(text, "%15[A-Za-z0-9_.-]", n->bridge) == 1)
		return;
}

int hostnet_up(const struct global_conf *g, const struct network *n)
{
	char net[64] = "", ip[64] = "", mask[64] = "", range[192], marker[PATH_LEN];
	bool resolved = false;
	int opened;

	if (n->address[0] && subnet(n, net, ip, mask) < 0) {
		err("network %s: bad address %s", n->name, n->address);
		return -1;
	}
	/* A network file in conflict with the default network must not keep
	 * the default one (and every instance on it) from coming up: that
	 * file's own network is refused instead. */
	if (config_network_conflicts(g, n) < 0) {
		if (strcmp(n->name, DEFAULT_NETWORK))
			return -1;
		err("network default: warning: brought up all the same; the other file is refused when its network comes up");
	}
	if (bridge_up(n) < 0 || table_up(n, net) < 0 || bridge_ipv6_up(n) < 0 ||
	    remember_bridge(n) < 0)
		return -1;
	opened = firewall_open(n);
	if (opened < 0)
		return -1;
	if (resolved_marker(n, marker) < 0)
		return -1;
	/* dnsmasq_up writes the host lists, and with them the guard
	 * (guard.c), before dnsmasq, whose lease script fills it, starts. */
	if (n->dhcp) {
		if (dnsmasq_up(g, n, ip, mask) < 0)
			return -1;
	} else {
		dnsmasq_down(n);
	}
	/* The host's resolver only on a bridge of ours. */
	if (n->dhcp && n->dns && n->host_dns && bridge_ours(n->bridge))
		resolved = resolved_link_up(n, ip, marker);
	else
		resolved_link_down(n, marker);
	if (n->dns)
		snprintf(range, sizeof(range), "DHCP %s, DNS .%s%s", n->dhcp_range,
			 n->domain, resolved ? " (the host resolves it)" : "");
	else
		snprintf(range, sizeof(range), "DHCP %s, no DNS", n->dhcp_range);
	msg("network %s: %s %s%s%s up (%s, %s%s)", n->name, n->bridge,
	    n->address[0] ? n->address : "without address",
	    n->address6[0] ? " and " : "", n->address6,
	    n->isolated || !n->address[0] ? "isolated" : n->nat ? "NAT on" : "NAT off",
	    n->dhcp ? range : "no DHCP",
	    opened ? "; the host firewall opened for it" : "");
	return 0;
}

int hostnet_down(const struct network *n)
{
	char table[64];
	char *nft[] = { "nft", "delete", "table", "ip", table, NULL };
	char *list[] = { "nft", "list", "table", "ip", table, NULL };
	char *del[] = { "ip", "link", "del", (char *)n->bridge, NULL };
	char run[PATH_LEN], leases[PATH_LEN], marker[PATH_LEN];
	bool named = strcmp(n->name, DEFAULT_NETWORK) != 0;
	int bad = 0;

	hostnet_table(n, table);
	dnsmasq_down(n);
	if (firewall_close(n) < 0)
		bad++;
	if (run_cmd(list, true) == 0 && run_cmd(nft, false)) {
		err("network %s: cannot delete nftables table ip %s", n->name, table);
		bad++;
	}
	nft[3] = list[3] = "ip6";
	if (run_cmd(list, true) == 0 && run_cmd(nft, false)) {
		err("network %s: cannot delete nftables table ip6 %s", n->name, table);
		bad++;
	}
	forwarding_restore();
	if (resolved_marker(n, marker) == 0)
		unlink(marker);   /* resolved forgets the link with the bridge */
	if (named && bridge_exists(n->bridge) && !bridge_ours(n->bridge)) {
		err("network %s: bridge %s was not made by umlctl: left alone", n->name,
		    n->bridge);
	} else if (bridge_exists(n->bridge) && run_cmd(del, false)) {
		err("network %s: cannot delete bridge %s", n->name, n->bridge);
		bad++;
	}
	if (named && !bad && net_files(n->name, run, leases) == 0)
		rm_rf(run);
	if (!bad)
		msg("network %s: %s down", n->name, n->bridge);
	return bad ? -1 : 0;
}

bool hostnet_is_up(const struct network *n)
{
	struct proc_id dns;

	return hostnet_state(n, &dns) == EX_OK;
}

/* EX_OK: everything up; EX_STOPPED: down; EX_FAIL: partly up (something
 * is missing).  The running dnsmasq in *dns (pid 0: none). */
int hostnet_state(const struct network *n, struct proc_id *dns)
{
	char missing[80];
	bool br, up_dns, nft;

	br = bridge_exists(n->bridge);
	up_dns = hostnet_dnsmasq(n, dns);
	if (!up_dns)
		dns->pid = 0;
	/* Reading nftables needs CAP_NET_ADMIN: a user's status goes by the
	 * bridge and dnsmasq alone. */
	nft = geteuid() == 0 ? hostnet_missing_table(n, missing) == 0 &&
			       (!n->dhcp || !n->guard || guard_loaded()) : br;
	if (br && nft && ((up_dns && !hostnet_dnsmasq_stale(n)) || !n->dhcp))
		return EX_OK;
	return (br || up_dns || nft) ? EX_FAIL : EX_STOPPED;
}

/* For doctor: the network's nftables table that is missing (a firewall
 * reload's `nft flush ruleset` takes them with it), as "ip NAME" or
 * "ip6 NAME" in out: 1; 0 when both are there, -1 when only root can
 * tell. */
int hostnet_missing_table(const struct network *n, char out[80])
{
	char table[64];
	char *list[] = { "nft", "list", "table", "ip", table, NULL };

	if (geteuid() != 0)
		return -1;
	hostnet_table(n, table);
	if (run_cmd(list, true) != 0) {
		snprintf(out, 80, "ip %s", table);
		return 1;
	}
	list[3] = "ip6";
	if (needs_table6(n) && run_cmd(list, true) != 0) {
		snprintf(out, 80, "ip6 %s", table);
		return 1;
	}
	return 0;
}

const char *hostnet_kind(const struct network *n)
{
	return n->isolated || !n->address[0] ? "isolated" : n->nat ? "nat" : "routed";
}

int hostnet_status(const struct network *n)
{
	char table[64];
	char *list[] = { "nft", "list", "table", "ip", table, NULL };
	struct proc_id id;
	int r = hostnet_state(n, &id), gs;

	hostnet_table(n, table);
	msg("network  %s (%s)", n->name, n->file);
	msg("bridge   %s: %s", n->bridge, bridge_exists(n->bridge) ? "up" : "missing");
	msg("address  %s", n->address[0] ? n->address : "none");
	if (needs_table6(n)) {
		list[3] = "ip6";
		msg("address6 %s (not routed%s; nftables table ip6 %s: %s)",
		    n->address6[0] ? n->address6 : "none, link-local only (guard = no)",
		    n->ra ? "; announced for SLAAC" : "", table,
		    geteuid() ? "(root can tell)" : run_cmd(list, true) == 0 ? "loaded" : "missing");
		list[3] = "ip";
	}
	msg("nftables table ip %s: %s (%s)", table,
	    geteuid() ? "(root can tell)" : run_cmd(list, true) == 0 ? "loaded" : "missing",
	    n->isolated || !n->address[0] ? "isolated" : n->nat ? "NAT on" : "NAT off");
	if (!n->guard)
		msg("guard    off for this network (guard = no)");
	else if (n->dhcp)
		msg("guard    table bridge uml_skas: %s",
		    geteuid() ? "(root can tell)" :
		    (gs = guard_state()) == GUARD_CURRENT ? "loaded" :
		    gs == GUARD_OLD ? "made by an earlier umlctl or changed since (umlctl network up)" :
		    "missing");
	if (!n->dhcp)
		msg("dnsmasq  none (DHCP off)");
	else if (id.pid && hostnet_dnsmasq_stale(n))
		msg("dnsmasq  running, pid %d, started by an earlier umlctl (umlctl network up)",
		    (int)id.pid);
	else if (id.pid) {
		bool off = false, ra = false;

		/* what it serves, from its arguments: the file may have
		 * changed since it started */
		dnsmasq_current(id.pid, &off, &ra);
		msg("dnsmasq  running, pid %d (%s%s%s%s)", (int)id.pid,
		    off ? "DHCP only" : "DHCP and DNS",
		    ra ? ", router advertisements for SLAAC" : "",
		    off == !n->dns ? "" : n->dns ?
		    "; dns = yes in the file now: umlctl network up applies it" :
		    "; dns = no in the file now: umlctl network up applies it",
		    ra == n->ra ? "" : n->ra ?
		    "; ra = yes in the file now: umlctl network up applies it" :
		    "; ra = no in the file now: umlctl network up applies it");
	}
	else
		msg("dnsmasq  not running");
	return r;
}
