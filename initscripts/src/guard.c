/* guard.c: what a guest may send onto a network that has DHCP.
 *
 * Instances of different users share a network's bridge.  Without a
 * guard, a guest's root (or a lab's owner, whose startup scripts run as
 * root in a node bridged to the default network) could take another
 * instance's MAC (and with it that instance's frames and lease), claim
 * another instance's address with ARP, release or take over another's
 * lease with forged DHCP requests, answer the other guests' DHCP as a
 * server of its own (and become their gateway and DNS server), or
 * announce itself as an IPv6 router.
 *
 * One table, bridge uml_skas, guards every network with DHCP.  Its chain
 * on the prerouting hook (and the same on input: link-local frames for
 * the host take that way) sees every frame a TAP of ours (us-*, uh-*:
 * net.c) sends, before the bridge learns its source, forwards or
 * delivers it:
 *   - a TAP on a network without DHCP (a lab's collision domain, whose
 *     guests set their own addresses; all of one lab, or the
 *     administrator's choice) is let through: set free;
 *   - every other TAP must be in set ports with the MAC the instance file
 *     gives its interface, as source and as ARP sender: a TAP that is in
 *     neither set (a file that no longer loads, a device named like a
 *     TAP) gets nothing through;
 *   - IPv4 and ARP only: no IPv6 (these networks offer none), no VLAN
 *     tags, no other protocol;
 *   - the IPv4 source, and an ARP sender's address, must be the one
 *     dnsmasq leased to the MAC (set leases, kept by dnsmasq's lease
 *     script, which guard_sync writes and dnsmasq runs as root, also at
 *     each renewal, so that an entry lost is back within half a lease);
 *     0.0.0.0 only for a DHCP request (udp 68 to 67) and an ARP probe;
 *   - a DHCP request must name the TAP's MAC as its client (chaddr;
 *     dnsmasq ignores client ids and serves only the MACs of instance
 *     files: hostnet.c), unfragmented: chain dhcp, one rule per port
 *     that returns for its MAC, sends the others to dhcp_other, which
 *     counts and drops them;
 *   - nothing from UDP port 67 or to port 68: dnsmasq is the only DHCP
 *     server.
 * The bridges do not learn from link-local frames (no_linklocal_learn,
 * hostnet.c), which skip the hooks.  Each drop is counted in its rule
 * (nft list table bridge uml_skas).
 *
 * net_write_hosts calls guard_sync with the sets for every network, in
 * one transaction with the table's creation when it is missing: so no
 * frame passes while the sets are refilled, and a start (which calls it)
 * puts back a guard that `nft flush ruleset` took away.  It is made once
 * a network with DHCP is up (its bridge exists), and goes with the last
 * network's dnsmasq (guard_retire). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "umlctl.h"

#define GUARD_TABLE "uml_skas"

/* Whether s is a lower-case MAC, as the files and dnsmasq write them. */
static bool mac_text(const char *s)
{
	unsigned int b[6];
	char extra;

	return strlen(s) == 17 && strspn(s, "0123456789abcdef:") == 17 &&
	       sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
		      &b[5], &extra) == 6;
}

static bool ipv4_text(const char *s)
{
	struct in_addr a;

	return strspn(s, "0123456789.") == strlen(s) && inet_pton(AF_INET, s, &a) == 1;
}

/* RUN/lease-hook: dnsmasq's --dhcp-script, for every network. */
int guard_hook_path(char *out)
{
	char run[PATH_LEN];

	if (run_dir(run, sizeof(run), NULL) < 0)
		return -1;
	return snprintf_ok(out, PATH_LEN, "%s/lease-hook", run);
}

/* The lease script: dnsmasq runs it as root with add|old|del MAC IP
 * [HOSTNAME] (the host name is the guest's word: never used).  The MAC
 * and address are checked before they reach nft's command line; a MAC
 * of another hardware type (06-...) is no Ethernet guest's. */
static int write_hook(void)
{
	static const char text[] =
		"#!/bin/sh\n"
		"# Written by umlctl: dnsmasq's lease script.  The address a lease\n"
		"# gives a MAC may be used by that MAC on the bridge (the guard,\n"
		"# table bridge " GUARD_TABLE ": umlctl(8)); an ended lease no longer.\n"
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
		"[ ${#2} = 17 ] || exit 0\n"
		"case $2 in *[!0-9a-f:]*) exit 0 ;; esac\n"
		"case $3 in '' | *[!0-9.]*) exit 0 ;; esac\n"
		"case $1 in\n"
		"add | old) exec nft add element bridge " GUARD_TABLE " leases \"{ $2 . $3 }\" ;;\n"
		"del) exec nft delete element bridge " GUARD_TABLE " leases \"{ $2 . $3 }\" 2>/dev/null ;;\n"
		"esac\n"
		"exit 0\n";
	char path[PATH_LEN], cur[sizeof(text) + 1];

	if (guard_hook_path(path) < 0)
		return -1;
	if (read_file(path, cur, sizeof(cur)) == (ssize_t)strlen(text) && !strcmp(cur, text))
		return 0;
	return write_file(path, text, 0755);
}

/* The leases of the file that have not ended, as elements "MAC . IP"
 * written to f after the before written already (", " between); the
 * number written. */
static int leases_of(const char *file, FILE *f, int before)
{
	char line[512];
	FILE *in = fopen(file, "r");
	int n = 0;

	if (!in)
		return 0;
	while (fgets(line, sizeof(line), in)) {
		long long expiry;
		char mac[32], ip[32];

		if (sscanf(line, "%lld %31s %31s", &expiry, mac, ip) != 3 ||
		    (expiry != 0 && expiry <= (long long)time(NULL)) ||
		    !mac_text(mac) || !ipv4_text(ip))
			continue;
		fprintf(f, "%s%s . %s", n + before ? ", " : "", mac, ip);
		n++;
	}
	fclose(in);
	return n;
}

void guard_list_init(struct guard_list *l)
{
	memset(l, 0, sizeof(*l));
	l->free = open_memstream(&l->free_text, &l->free_len);
	l->ports = open_memstream(&l->ports_text, &l->ports_len);
	l->dhcp = open_memstream(&l->dhcp_text, &l->dhcp_len);
	l->leases = open_memstream(&l->leases_text, &l->leases_len);
	l->failed = !l->free || !l->ports || !l->dhcp || !l->leases;
}

/* One interface: its TAP on a network with DHCP (guarded, with its MAC)
 * or without.  A MAC that cannot be read leaves the TAP out: nothing of
 * it gets through (fail closed), and the others are still listed. */
void guard_list_add(struct guard_list *l, const char *tap, const char *mac, bool dhcp)
{
	unsigned int b[6];
	char extra;

	if (l->failed)
		return;
	if (!dhcp) {
		fprintf(l->free, "%s\"%s\"", l->nfree++ ? ", " : "", tap);
		return;
	}
	if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &extra) != 6 || strlen(mac) != 17) {
		err("guard: %s: MAC '%s' not understood: nothing of that TAP gets through", tap, mac);
		return;
	}
	/* written in lower case, as dnsmasq gives them to the lease script */
	fprintf(l->ports, "%s\"%s\" . %02x:%02x:%02x:%02x:%02x:%02x", l->nports++ ? ", " : "",
		tap, b[0], b[1], b[2], b[3], b[4], b[5]);
	fprintf(l->dhcp,
		"add rule bridge " GUARD_TABLE " dhcp iifname \"%s\" @th,288,48 0x%02x%02x%02x%02x%02x%02x return\n",
		tap, b[0], b[1], b[2], b[3], b[4], b[5]);
}

/* A network with DHCP: its lease file's current leases. */
void guard_list_leases(struct guard_list *l, const char *lease_file)
{
	if (l->failed)
		return;
	l->nleases += leases_of(lease_file, l->leases, l->nleases);
	l->guarded = true;
}

static void list_close(struct guard_list *l)
{
	FILE **f[] = { &l->free, &l->ports, &l->dhcp, &l->leases };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (*f[i]) {
			fclose(*f[i]);
			*f[i] = NULL;
		}
}

void guard_list_free(struct guard_list *l)
{
	list_close(l);
	free(l->free_text);
	free(l->ports_text);
	free(l->dhcp_text);
	free(l->leases_text);
	memset(l, 0, sizeof(*l));
}

bool guard_loaded(void)
{
	char *list[] = { "nft", "list", "table", "bridge", GUARD_TABLE, NULL };

	return run_cmd(list, true) == 0;
}

/* The chains that check a guarded TAP's frames. */
static void table_text(FILE *f)
{
	fputs("table bridge " GUARD_TABLE " {\n"
	      "  set free { type ifname; }\n"
	      "  set ports { type ifname . ether_addr; }\n"
	      "  set leases { type ether_addr . ipv4_addr; }\n"
	      "  chain dhcp {\n"
	      "  }\n"
	      "  chain dhcp_other {\n"
	      "    counter drop comment \"DHCP for a MAC not its own\"\n"
	      "  }\n"
	      "  chain check {\n"
	      "    iifname . ether saddr != @ports counter drop comment \"a MAC not its own\"\n"
	      "    ether type != { ip, arp } counter drop comment \"neither IPv4 nor ARP\"\n"
	      "    iifname . arp saddr ether != @ports counter drop comment \"ARP for a MAC not its own\"\n"
	      "    arp saddr ip 0.0.0.0 arp operation != request counter drop comment \"ARP from 0.0.0.0 but no probe\"\n"
	      "    arp saddr ip 0.0.0.0 ether saddr . arp daddr ip != @leases counter drop comment \"a probe for an address not leased to it\"\n"
	      "    arp saddr ip != 0.0.0.0 ether saddr . arp saddr ip != @leases counter drop comment \"ARP for an address not leased to it\"\n"
	      "    ip frag-off & 0x3fff != 0 udp dport 67 counter drop comment \"a fragmented DHCP request\"\n"
	      "    udp dport 67 jump dhcp\n"
	      "    ip saddr 0.0.0.0 udp sport 68 udp dport 67 accept\n"
	      "    ip saddr 0.0.0.0 counter drop comment \"0.0.0.0 but no DHCP request\"\n"
	      "    ether type ip ether saddr . ip saddr != @leases counter drop comment \"an address not leased to it\"\n"
	      "    udp sport 67 counter drop comment \"a DHCP server\"\n"
	      "    udp dport 68 counter drop comment \"to a DHCP client\"\n"
	      "  }\n"
	      /* (plain wildcards: a set of them needs a newer nft) */
	      "  chain guests {\n"
	      "    type filter hook prerouting priority filter; policy accept;\n"
	      "    iifname @free accept\n"
	      "    iifname \"us-*\" jump check\n"
	      "    iifname \"uh-*\" jump check\n"
	      "  }\n"
	      "  chain local {\n"
	      "    type filter hook input priority filter; policy accept;\n"
	      "    iifname @free accept\n"
	      "    iifname \"us-*\" jump check\n"
	      "    iifname \"uh-*\" jump check\n"
	      "  }\n"
	      "}\n", f);
}

/* The nft script that loads the list: with create, the table's own
 * definition first (with replace, after deleting a table of another
 * make); then the sets and the dhcp chain emptied and refilled, and the
 * leases added.  NULL when out of memory. */
static char *script(const struct guard_list *l, bool create, bool replace)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	if (replace)
		fputs("table bridge " GUARD_TABLE "\ndelete table bridge " GUARD_TABLE "\n", f);
	if (create)
		table_text(f);
	/* (the counting rules are in chains never flushed) */
	fputs("flush set bridge " GUARD_TABLE " free\n"
	      "flush set bridge " GUARD_TABLE " ports\n"
	      "flush chain bridge " GUARD_TABLE " dhcp\n", f);
	if (l->nfree)
		fprintf(f, "add element bridge " GUARD_TABLE " free { %s }\n", l->free_text);
	if (l->nports)
		fprintf(f, "add element bridge " GUARD_TABLE " ports { %s }\n", l->ports_text);
	fputs(l->dhcp_text ? l->dhcp_text : "", f);
	/* a request that no port's rule took names a MAC not its own */
	fputs("add rule bridge " GUARD_TABLE " dhcp goto dhcp_other\n", f);
	if (l->nleases)
		fprintf(f, "add element bridge " GUARD_TABLE " leases { %s }\n", l->leases_text);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Loads the list, in one transaction: the table made when it is missing
 * (with the leases of the lease files), or made again when it is of
 * another make (an earlier umlctl's, whose chains the new rules do not
 * fit); its sets and its dhcp chain refilled.  Then the leases are added
 * again, for a lease script that ran meanwhile into the table before.
 * Consumes l. */
int guard_sync(struct guard_list *l)
{
	char *nft[] = { "nft", "-f", "-", NULL };
	char *text = NULL;
	bool make = !guard_loaded();
	int r = -1;

	list_close(l);
	if (l->failed || write_hook() < 0)
		goto out;
	if (!l->guarded && make) {
		r = 0;   /* no network with DHCP is up: nothing to guard */
		goto out;
	}
	text = script(l, make, false);
	if (!text)
		goto out;
	if (run_cmd_input(nft, text, !make)) {
		free(text);
		text = make ? NULL : script(l, true, true);
		if (!text || run_cmd_input(nft, text, false)) {
			err("nft could not load table bridge " GUARD_TABLE " (the guard of the networks with DHCP)");
			goto out;
		}
	}
	if (l->nleases) {
		free(text);
		text = NULL;
		if (asprintf(&text, "add element bridge " GUARD_TABLE " leases { %s }\n",
			     l->leases_text) < 0) {
			text = NULL;
			goto out;
		}
		run_cmd_input(nft, text, true);
	}
	r = 0;
out:
	free(text);
	guard_list_free(l);
	return r;
}

/* The table, once no network's dnsmasq runs any more (hostnet_down). */
void guard_retire(bool dhcp_up)
{
	char *del[] = { "nft", "delete", "table", "bridge", GUARD_TABLE, NULL };
	char path[PATH_LEN];

	if (dhcp_up)
		return;
	if (guard_loaded())
		run_cmd(del, false);
	if (guard_hook_path(path) == 0)
		unlink(path);
}
