/* guard.c: what a guest may send onto a network that has DHCP.
 *
 * Instances of different users share a network's bridge.  Without a
 * guard, a guest's root could take another instance's MAC (and with it
 * that instance's lease and the frames the bridge sends it), claim
 * another instance's address with ARP (and get what the host sends
 * there), answer the other guests' DHCP requests as a server of its own
 * (and become their gateway and DNS server), or announce itself as an
 * IPv6 router.  So each network with DHCP gets a table of the bridge
 * family, named as its ip table (bridge uml_skas, bridge uml_skas_NAME),
 * whose chain sees every frame one of the network's TAPs sends (set
 * taps: the TAPs of the interfaces the instance files put on it, net.c;
 * a chain of the bridge family sees every bridge's frames, and the
 * bridge's name cannot be matched on every kernel), before the bridge
 * forwards or delivers it:
 *   - its source MAC, and an ARP sender's MAC, must be the one the
 *     instance file gives that interface (set ports: TAP . MAC, written
 *     with the network's DHCP host list: net.c);
 *   - IPv4 and ARP only: no IPv6 (the network offers none), no VLAN tags;
 *   - its IPv4 source address, and an ARP sender's, must be the one
 *     dnsmasq leased to that MAC, or 0.0.0.0 (a DHCP client without an
 *     address yet): set leases, which dnsmasq's lease script (written
 *     here, run by dnsmasq as root) keeps, and which guard_up fills from
 *     the lease file when it makes the table;
 *   - nothing from UDP port 67: dnsmasq is the only DHCP server.
 * Each drop is counted in its rule (nft list table bridge uml_skas).
 * Ports that are not our TAPs (an uplink the administrator enslaved) are
 * not guarded, nor are networks without DHCP, whose guests set their
 * own addresses (a lab's collision domains): there every guest is the
 * same lab's, or the administrator's choice.
 *
 * An instance whose TAP could not be entered does not start (net.c,
 * instance.c): no guest of a guarded network runs unguarded. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "umlctl.h"

#define RULES_MAX (64 * 1024)

/* Whether s is a lower-case MAC, as the files and dnsmasq write them. */
static bool mac_text(const char *s)
{
	unsigned int b[6];
	char extra;

	return strlen(s) == 17 &&
	       sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
		      &b[5], &extra) == 6 &&
	       strspn(s, "0123456789abcdef:") == 17;
}

static bool ipv4_text(const char *s)
{
	struct in_addr a;

	return strspn(s, "0123456789.") == strlen(s) && inet_pton(AF_INET, s, &a) == 1;
}

/* RUN/.../lease-hook: dnsmasq's --dhcp-script for the network. */
int guard_hook_path(const struct network *n, char *out)
{
	char run[PATH_LEN], leases[PATH_LEN];

	if (net_files(n->name, run, leases) < 0)
		return -1;
	return snprintf_ok(out, PATH_LEN, "%s/lease-hook", run);
}

/* The lease script: dnsmasq runs it as root with add|old|del MAC IP
 * [HOSTNAME] (the host name is the guest's word: never used).  The MAC
 * and address are checked before they reach nft's command line. */
static int write_hook(const struct network *n, const char *table)
{
	char path[PATH_LEN], text[2048];

	if (guard_hook_path(n, path) < 0)
		return -1;
	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "# Written by umlctl for network %s: dnsmasq's lease script.  The\n"
		 "# address a lease gives a MAC may be used by that MAC on the bridge\n"
		 "# (the guard: bridge %s, umlctl(8)); an ended lease no longer.\n"
		 "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
		 "[ ${#2} = 17 ] || exit 0\n"
		 "case $2 in *[!0-9a-f:]*) exit 0 ;; esac\n"
		 "case $3 in '' | *[!0-9.]*) exit 0 ;; esac\n"
		 "case $1 in\n"
		 "add | old) exec nft add element bridge %s leases \"{ $2 . $3 }\" ;;\n"
		 "del) exec nft delete element bridge %s leases \"{ $2 . $3 }\" 2>/dev/null ;;\n"
		 "esac\n"
		 "exit 0\n", n->name, table, table, table);
	return write_file(path, text, 0755);
}

/* The leases in the lease file that have not ended, as one nft command
 * appended to rules (len bytes; nothing when there are none). */
static void current_leases(const struct network *n, const char *table, char *rules,
			   size_t len)
{
	char run[PATH_LEN], file[PATH_LEN], line[512];
	FILE *f;
	bool first = true;
	size_t used = strlen(rules);

	if (net_files(n->name, run, file) < 0 || !(f = fopen(file, "r")))
		return;
	while (fgets(line, sizeof(line), f) && used < len) {
		long long expiry;
		char mac[32], ip[32];

		if (sscanf(line, "%lld %31s %31s", &expiry, mac, ip) != 3 ||
		    (expiry != 0 && expiry <= (long long)time(NULL)) ||
		    !mac_text(mac) || !ipv4_text(ip))
			continue;
		if (first)
			used += (size_t)snprintf(rules + used, len - used,
						 "add element bridge %s leases { ", table);
		if (used < len)
			used += (size_t)snprintf(rules + used, len - used, "%s%s . %s",
						 first ? "" : ", ", mac, ip);
		first = false;
	}
	fclose(f);
	if (!first && used < len)
		snprintf(rules + used, len - used, " }\n");
}

int guard_up(const struct network *n)
{
	static char rules[RULES_MAX];
	char table[64];
	char *nft[] = { "nft", "-f", "-", NULL };
	int len;

	hostnet_table(n, table);
	if (write_hook(n, table) < 0) {
		err("network %s: cannot write its lease script", n->name);
		return -1;
	}
	/* Declared first so that the delete succeeds when it is new; the
	 * whole file is one transaction, so no frame passes unguarded. */
	len = snprintf(rules, sizeof(rules),
		"table bridge %s\n"
		"delete table bridge %s\n"
		"table bridge %s {\n"
		"  set taps { type ifname; }\n"
		"  set ports { type ifname . ether_addr; }\n"
		"  set leases { type ether_addr . ipv4_addr; }\n"
		"  chain guests {\n"
		"    type filter hook prerouting priority filter; policy accept;\n"
		"    iifname != @taps accept\n"
		"    iifname . ether saddr != @ports counter drop comment \"a MAC not its own\"\n"
		"    ether type != { ip, arp } counter drop comment \"neither IPv4 nor ARP\"\n"
		"    iifname . arp saddr ether != @ports counter drop comment \"ARP for a MAC not its own\"\n"
		"    arp saddr ip != 0.0.0.0 ether saddr . arp saddr ip != @leases counter drop comment \"ARP for an address not leased to it\"\n"
		"    ether type ip ip saddr != 0.0.0.0 ether saddr . ip saddr != @leases counter drop comment \"an address not leased to it\"\n"
		"    udp sport 67 counter drop comment \"a DHCP server\"\n"
		"  }\n"
		"}\n", table, table, table);
	if (len < 0 || (size_t)len >= sizeof(rules) - 1) {
		err("network %s: the guard's rules do not fit", n->name);
		return -1;
	}
	current_leases(n, table, rules, sizeof(rules) - 1);
	if (strlen(rules) >= sizeof(rules) - 2) {
		err("network %s: the guard's leases do not fit", n->name);
		return -1;
	}
	if (run_cmd_input(nft, rules, false)) {
		err("network %s: nft could not load table bridge %s (the guard)", n->name, table);
		return -1;
	}
	return 0;
}

/* Sets the guard's taps to taps ("\"TAP\", ...") and its ports to
 * elements ("\"TAP\" . MAC, ..."); empty: none. */
int guard_ports(const struct network *n, const char *taps, const char *elements)
{
	static char rules[RULES_MAX + 256];
	char table[64];
	char *nft[] = { "nft", "-f", "-", NULL };
	char *list[] = { "nft", "list", "table", "bridge", table, NULL };
	int len;

	hostnet_table(n, table);
	if (!n->dhcp || run_cmd(list, true))
		return 0;   /* no guard (yet): guard_up fills it */
	len = snprintf(rules, sizeof(rules), "flush set bridge %s taps\nflush set bridge %s ports\n",
		       table, table);
	if (taps[0])
		len += snprintf(rules + len, sizeof(rules) - (size_t)len,
				"add element bridge %s taps { %s }\n", table, taps);
	if (elements[0] && (size_t)len < sizeof(rules))
		len += snprintf(rules + len, sizeof(rules) - (size_t)len,
				"add element bridge %s ports { %s }\n", table, elements);
	if ((size_t)len >= sizeof(rules) || run_cmd_input(nft, rules, false)) {
		err("network %s: nft could not set the guard's ports", n->name);
		return -1;
	}
	return 0;
}

void guard_down(const struct network *n)
{
	char table[64], path[PATH_LEN];
	char *list[] = { "nft", "list", "table", "bridge", table, NULL };
	char *del[] = { "nft", "delete", "table", "bridge", table, NULL };

	hostnet_table(n, table);
	if (run_cmd(list, true) == 0)
		run_cmd(del, false);
	if (guard_hook_path(n, path) == 0)
		unlink(path);
}

bool guard_loaded(const struct network *n)
{
	char table[64];
	char *list[] = { "nft", "list", "table", "bridge", table, NULL };

	hostnet_table(n, table);
	return run_cmd(list, true) == 0;
}
