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
 * on the prerouting hook (and the same on input: frames to most
 * link-local group addresses take that way) sees every frame a TAP of
 * ours (us-*, uh-*: net.c) sends, before the bridge learns its source,
 * forwards or delivers it; the frames to the LLDP address (and to the STP
 * address where STP is on) skip both hooks and go up the host's stack on
 * the TAP itself, which net.c's tap_harden() leaves with no IPv6 and
 * strict reverse path filtering:
 *   - a TAP on a lab's collision domain (no DHCP: its nodes set their
 *     own addresses, MACs too; all of one lab), or on a network whose
 *     file says guard = no, is let through: set free;
 *   - a TAP on another network without DHCP (the administrator's: its
 *     guests set their own addresses, and may serve DHCP or route) must
 *     send the MAC its instance file gives it, as source and as ARP
 *     sender, and is let through then, IPv6 included (address6: its
 *     guests may claim each other's addresses and advertise routes to
 *     each other, as with IPv4 there; the host takes no advertisement:
 *     hostnet.c): sets static and ports, chain static_check;
 *   - every other TAP must be in set ports with the MAC the instance file
 *     gives its interface, as source and as ARP sender: a TAP that is in
 *     neither set (a file that no longer loads, a device named like a
 *     TAP) gets nothing through;
 *   - IPv4 and ARP, and IPv6 where the network has address6 (chain
 *     check6, below); no VLAN tags, no other protocol;
 *   - the IPv4 source, and an ARP sender's address, must be the one
 *     dnsmasq leased to the MAC (set leases, kept by dnsmasq's lease
 *     script, umlctl itself by a link guard_sync makes, which dnsmasq
 *     runs as root, also at each renewal, so that an entry lost is back
 *     within half a lease);
 *     0.0.0.0 only for a DHCP request (udp 68 to 67) and an ARP probe;
 *   - a DHCP request must name the TAP's MAC as its client (chaddr;
 *     dnsmasq ignores client ids and serves only the MACs of instance
 *     files: hostnet.c), unfragmented: chain dhcp, one rule per port
 *     that returns for its MAC, sends the others to dhcp_other, which
 *     counts and drops them;
 *   - nothing from UDP port 67 or to port 68: dnsmasq is the only DHCP
 *     server;
 *   - IPv6 (address6, a /64: config.c) from the two addresses SLAAC makes
 *     of the TAP's MAC (modified EUI-64: fe80::ID and PREFIX::ID; set
 *     addr6), or from :: for duplicate address detection of one of them,
 *     router solicitation and MLD; a neighbour advertisement only for one
 *     of them (set nd6: the target, 128 bits at offset 8 of the ICMPv6
 *     header); no router advertisement or redirect, no MLD query or
 *     multicast router discovery (the bridge's snooping would take the
 *     guest for a querier or a multicast router), no DHCPv6 server, no
 *     fragmented neighbour discovery (where the target may not be
 *     readable; receivers drop it anyway, RFC 6980), and nothing the
 *     guard cannot read to its upper protocol (AH hides an ICMPv6 type;
 *     extension headers nft cannot follow): fail closed.
 *     So a guest cannot take another's address or become its router.
 *     The link-layer address options of its solicitations and
 *     advertisements are not checked: they can only send traffic for its
 *     own addresses elsewhere.
 * The bridges do not learn from link-local frames (no_linklocal_learn,
 * hostnet.c), some of which skip the hooks (above).  Each drop is counted in its rule
 * (nft list table bridge uml_skas).
 *
 * net_write_hosts calls guard_sync with the sets for every network, in
 * one transaction with the table's creation when it is missing: so no
 * frame passes while the sets are refilled, and a start (which calls it)
 * puts back a guard that `nft flush ruleset` took away.  It is made once
 * a network with DHCP is up (its bridge exists) or a TAP's MAC is bound,
 * and goes when a refill finds neither (after a network down). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "umlctl.h"

#define GUARD_TABLE "uml_skas"
/* An empty chain that names the table's make: a table without it (an
 * earlier umlctl's, whose chains the rules here do not fit) is made
 * again.  Its number goes up whenever table_text changes. */
#define GUARD_LAYOUT "layout_3"

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

/* The lease script, RUN/lease-hook: a link to umlctl itself, which runs
 * guard_lease_hook when its name is lease-hook (main.c).  A link, not a
 * script in RUN: Debian mounts /run noexec, and exec follows the link to
 * umlctl's own file system.  dnsmasq runs it as root, with its own
 * environment (UMLSKAS_ROOT too), at each lease change and renewal. */
static int write_hook(void)
{
	char path[PATH_LEN], tmp[PATH_LEN + 8], self[PATH_LEN], cur[PATH_LEN];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1), c;

	if (n <= 0 || guard_hook_path(path) < 0)
		return -1;
	self[n] = '\0';
	/* a supervisor older than an upgrade: its file was replaced, and
	 * the path now holds the new umlctl, which is the one wanted */
	if (n > 10 && !strcmp(self + n - 10, " (deleted)"))
		self[n - 10] = '\0';
	c = readlink(path, cur, sizeof(cur) - 1);
	if (c > 0) {
		cur[c] = '\0';
		if (!strcmp(cur, self))
			return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	unlink(tmp);
	if (symlink(self, tmp) < 0 || rename(tmp, path) < 0) {
		err("%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int lock_leases(void);

/* umlctl as dnsmasq's lease script: add|old|del MAC IP [HOSTNAME] (the
 * host name is the guest's word: never used).  The MAC and address are
 * checked before they reach nft; a MAC of another hardware type
 * (06-...) is no Ethernet guest's and is left alone.  It holds the lock
 * guard_sync holds: a table made from the lease files is never followed
 * by an older change.  Exit status 0 unless nft failed on an add. */
int guard_lease_hook(int argc, char **argv)
{
	char elem[64];
	char *add[] = { "nft", "add", "element", "bridge", GUARD_TABLE, "leases", elem, NULL };
	char *del[] = { "nft", "delete", "element", "bridge", GUARD_TABLE, "leases", elem, NULL };
	bool adding;
	int lock, r;

	if (argc < 4 || !mac_text(argv[2]) || !ipv4_text(argv[3]))
		return 0;
	adding = !strcmp(argv[1], "add") || !strcmp(argv[1], "old");
	if (!adding && strcmp(argv[1], "del"))
		return 0;
	snprintf(elem, sizeof(elem), "{ %s . %s }", argv[2], argv[3]);
	lock = lock_leases();
	if (lock < 0)
		return 1;
	r = adding ? run_cmd(add, false) : (run_cmd(del, true), 0);
	close(lock);
	return r ? 1 : 0;
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

		/* (a line cut short: dnsmasq writing the file meanwhile) */
		if (!strchr(line, '\n') ||
		    sscanf(line, "%lld %31s %31s", &expiry, mac, ip) != 3 ||
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
	l->statics = open_memstream(&l->statics_text, &l->statics_len);
	l->dhcp = open_memstream(&l->dhcp_text, &l->dhcp_len);
	l->lease_files = open_memstream(&l->lease_files_text, &l->lease_files_len);
	l->v6 = open_memstream(&l->v6_text, &l->v6_len);
	l->addr6 = open_memstream(&l->addr6_text, &l->addr6_len);
	l->nd6 = open_memstream(&l->nd6_text, &l->nd6_len);
	l->failed = !l->free || !l->ports || !l->statics || !l->dhcp || !l->lease_files ||
		    !l->v6 || !l->addr6 || !l->nd6;
}

/* A guarded TAP on a network with address6: the addresses SLAAC makes of
 * its MAC, the link-local one and the one in address6's /64 (interface
 * id: the MAC with the universal/local bit flipped and ff:fe in the
 * middle, RFC 4291), in sets addr6 (as addresses) and nd6 (as the
 * 128-bit numbers a raw payload match compares), and the TAP in set v6.
 * An address6 that is not a /64 (config.c refuses it) lists nothing:
 * no IPv6 of the TAP gets through. */
static void list_addr6(struct guard_list *l, const char *tap, const unsigned int b[6],
		       const char *address6)
{
	const unsigned char id[8] = { b[0] ^ 0x02, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5] };
	const char *slash = strchr(address6, '/');
	struct in6_addr a[2] = { { { { 0xfe, 0x80 } } } };
	char prefix[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN];

	if (!slash || strcmp(slash, "/64") ||
	    snprintf(prefix, sizeof(prefix), "%.*s", (int)(slash - address6), address6) >=
	    (int)sizeof(prefix) || inet_pton(AF_INET6, prefix, &a[1]) != 1) {
		err("guard: %s: address6 %s is no /64: no IPv6 of that TAP gets through", tap,
		    address6);
		return;
	}
	for (int i = 0; i < 2; i++) {
		const char *sep = l->nv6 || i ? ", " : "";

		memcpy(a[i].s6_addr + 8, id, sizeof(id));
		inet_ntop(AF_INET6, &a[i], text, sizeof(text));
		fprintf(l->addr6, "%s\"%s\" . %s", sep, tap, text);
		fprintf(l->nd6, "%s\"%s\" . 0x", sep, tap);
		for (int k = 0; k < 16; k++)
			fprintf(l->nd6, "%02x", a[i].s6_addr[k]);
	}
	fprintf(l->v6, "%s\"%s\"", l->nv6++ ? ", " : "", tap);
}

/* One interface: its TAP on a network with DHCP (guarded, with its MAC,
 * and the IPv6 addresses of its MAC where the network has address6), on
 * another network (its MAC only) or on a lab's collision domain (free).
 * A MAC that cannot be read leaves the TAP out: nothing of it gets
 * through (fail closed), and the others are still listed. */
void guard_list_add(struct guard_list *l, const char *tap, const char *mac,
		    enum guard_kind kind, const char *address6)
{
	unsigned int b[6];
	char extra;

	if (l->failed)
		return;
	if (kind == GUARD_FREE) {
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
	if (kind == GUARD_STATIC) {
		fprintf(l->statics, "%s\"%s\"", l->nstatic++ ? ", " : "", tap);
		return;
	}
	fprintf(l->dhcp,
		"add rule bridge " GUARD_TABLE " dhcp iifname \"%s\" @th,288,48 0x%02x%02x%02x%02x%02x%02x return\n",
		tap, b[0], b[1], b[2], b[3], b[4], b[5]);
	if (address6 && address6[0])
		list_addr6(l, tap, b, address6);
}

/* A network with DHCP: its lease file, read if the table is made. */
void guard_list_leases(struct guard_list *l, const char *lease_file)
{
	if (l->failed)
		return;
	fprintf(l->lease_files, "%s%c", lease_file, '\0');
	l->guarded = true;
}

/* The lists' texts complete (or l->failed). */
static void list_close(struct guard_list *l)
{
	FILE **f[] = { &l->free, &l->ports, &l->statics, &l->dhcp, &l->lease_files,
		       &l->v6, &l->addr6, &l->nd6 };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (*f[i]) {
			if (ferror(*f[i]) | fclose(*f[i]))
				l->failed = true;
			*f[i] = NULL;
		}
}

void guard_list_free(struct guard_list *l)
{
	list_close(l);
	free(l->free_text);
	free(l->ports_text);
	free(l->statics_text);
	free(l->dhcp_text);
	free(l->lease_files_text);
	free(l->v6_text);
	free(l->addr6_text);
	free(l->nd6_text);
	memset(l, 0, sizeof(*l));
}

/* RUN/guard.nft: the table as nft listed it right after guard_sync made
 * it (listing()), to tell a table changed since from ours. */
static int snapshot_path(char *out)
{
	char run[PATH_LEN];

	if (run_dir(run, sizeof(run), NULL) < 0)
		return -1;
	return snprintf_ok(out, PATH_LEN, "%s/guard.nft", run);
}

#define LISTING_MAX (1 << 20)

/* The table as `nft -s -t` lists it (no counters, no set elements), less
 * the rules of chain dhcp (each sync refills it), in *out (malloc'ed).
 * 0; -ENOENT when there is no table; -1 when it cannot be listed whole. */
static int listing(char **out)
{
	char *list[] = { "nft", "-s", "-t", "list", "table", "bridge", GUARD_TABLE, NULL };
	char *text = malloc(LISTING_MAX), *w, *line;
	bool dhcp = false;

	*out = NULL;
	if (!text)
		return -1;
	if (run_cmd_output(list, text, LISTING_MAX)) {
		free(text);
		return -ENOENT;
	}
	if (strlen(text) >= LISTING_MAX - 1) {   /* cut short */
		free(text);
		return -1;
	}
	for (w = line = text; *line;) {
		char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
		bool keep = true;

		if (!strncmp(line, "\tchain dhcp {", 13))
			dhcp = true;
		else if (dhcp && !strncmp(line, "\t}", 2))
			dhcp = false;
		else
			keep = !dhcp;
		if (keep) {
			memmove(w, line, len);
			w += len;
		}
		line += len;
	}
	*w = '\0';
	*out = text;
	return 0;
}

/* After guard_sync made the table: its listing, for guard_state. */
static void save_snapshot(void)
{
	char path[PATH_LEN], *now;

	if (snapshot_path(path) < 0 || listing(&now) < 0)
		return;
	if (write_file(path, now, 0600) < 0)
		err("%s: cannot save the guard's listing: the next network up makes the table again", path);
	free(now);
}

/* GUARD_MISSING; GUARD_OLD: of another make (no GUARD_LAYOUT chain), or
 * listed otherwise than guard_sync made it (a rule replaced, put in or
 * deleted, a chain flushed or its hook changed: listing()); or
 * GUARD_CURRENT.  One nft run. */
int guard_state(void)
{
	char path[PATH_LEN], *now, *saved;
	int r = listing(&now), state = GUARD_OLD;
	ssize_t len;

	if (r == -ENOENT)
		return GUARD_MISSING;
	if (r < 0 || snapshot_path(path) < 0) {
		free(now);
		return GUARD_OLD;
	}
	saved = malloc(LISTING_MAX);
	len = saved ? read_file(path, saved, LISTING_MAX) : -1;
	if (len > 0 && len < LISTING_MAX - 1 && !strcmp(saved, now) &&
	    strstr(now, "\tchain " GUARD_LAYOUT " {"))
		state = GUARD_CURRENT;
	free(saved);
	free(now);
	return state;
}

bool guard_loaded(void)
{
	return guard_state() == GUARD_CURRENT;
}

/* Whether the last sync made the table and none retired it since (its
 * listing is saved): what guards a TAP on a network without DHCP as
 * well as the networks with DHCP. */
bool guard_wanted(void)
{
	char path[PATH_LEN];

	return snapshot_path(path) == 0 && access(path, F_OK) == 0;
}

/* The chains that check a guarded TAP's frames. */
static void table_text(FILE *f)
{
	fputs("table bridge " GUARD_TABLE " {\n"
	      "  set free { type ifname; }\n"
	      "  set ports { type ifname . ether_addr; }\n"
	      "  set static { type ifname; }\n"
	      "  set leases { type ether_addr . ipv4_addr; }\n"
	      "  set v6 { type ifname; }\n"
	      "  set addr6 { type ifname . ipv6_addr; }\n"
	      "  set nd6 { typeof iifname . @th,64,128; }\n"
	      "  chain " GUARD_LAYOUT " {\n"
	      "  }\n"
	      "  chain dhcp {\n"
	      "  }\n"
	      "  chain dhcp_other {\n"
	      "    counter drop comment \"DHCP for a MAC not its own\"\n"
	      "  }\n"
	      "  chain static_check {\n"
	      "    iifname . ether saddr != @ports counter drop comment \"a MAC not its own (no DHCP)\"\n"
	      "    iifname . arp saddr ether != @ports counter drop comment \"ARP for a MAC not its own (no DHCP)\"\n"
	      "    accept\n"
	      "  }\n"
	      /* (return: to the hook's chain, whose policy accepts) */
	      "  chain check6 {\n"
	      "    iifname != @v6 counter drop comment \"IPv6 on a network without address6\"\n"
	      "    icmpv6 type { nd-router-advert, nd-redirect } counter drop comment \"a router advertisement or redirect\"\n"
	      "    udp sport 547 counter drop comment \"a DHCPv6 server\"\n"
	      "    udp dport 546 counter drop comment \"to a DHCPv6 client\"\n"
	      "    icmpv6 type { mld-listener-query, 151, 152, 153 } counter drop comment \"an MLD query or multicast router discovery\"\n"
	      "    icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } exthdr frag exists counter drop comment \"fragmented neighbour discovery\"\n"
	      "    ip6 saddr :: icmpv6 type nd-neighbor-solicit iifname . @th,64,128 @nd6 return\n"
	      "    ip6 saddr :: icmpv6 type { nd-router-solicit, mld-listener-report, mld2-listener-report } return\n"
	      "    ip6 saddr :: counter drop comment \"from :: but no duplicate address detection of its own\"\n"
	      "    iifname . ip6 saddr != @addr6 counter drop comment \"an IPv6 address not its own\"\n"
	      "    icmpv6 type nd-neighbor-advert iifname . @th,64,128 != @nd6 counter drop comment \"a neighbour advertisement for an address not its own\"\n"
	      /* (an upper protocol nft could not find matches nothing) */
	      "    meta l4proto != ah return\n"
	      "    counter drop comment \"IPv6 the guard cannot read (AH, or headers it cannot follow)\"\n"
	      "  }\n"
	      "  chain check {\n"
	      "    iifname . ether saddr != @ports counter drop comment \"a MAC not its own\"\n"
	      "    ether type ip6 goto check6\n"
	      "    ether type != { ip, arp } counter drop comment \"neither IPv4, ARP nor IPv6\"\n"
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
	      "    iifname @static goto static_check\n"
	      "    iifname \"us-*\" jump check\n"
	      "    iifname \"uh-*\" jump check\n"
	      "  }\n"
	      "  chain local {\n"
	      "    type filter hook input priority filter; policy accept;\n"
	      "    iifname @free accept\n"
	      "    iifname @static goto static_check\n"
	      "    iifname \"us-*\" jump check\n"
	      "    iifname \"uh-*\" jump check\n"
	      "  }\n"
	      "}\n", f);
}

/* The leases of the lease files (NUL-separated paths in files) as one
 * nft command, to f. */
static void leases_text(FILE *f, const char *files, size_t len)
{
	char *elems = NULL;
	size_t elen = 0;
	FILE *e = open_memstream(&elems, &elen);
	int n = 0;

	if (!e) {
		fputs("# out of memory\n", f);
		return;
	}
	for (size_t i = 0; i < len; i += strlen(files + i) + 1)
		n += leases_of(files + i, e, n);
	if (fclose(e) == 0 && n)
		fprintf(f, "add element bridge " GUARD_TABLE " leases { %s }\n", elems);
	free(elems);
}

/* The nft script that loads the list: with make, the table's own
 * definition first (after deleting a table of another make), with the
 * lease files' leases; then the sets and the dhcp chain emptied and
 * refilled.  NULL when out of memory. */
static char *script(const struct guard_list *l, bool make)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	if (make) {
		fputs("table bridge " GUARD_TABLE "\ndelete table bridge " GUARD_TABLE "\n", f);
		table_text(f);
		leases_text(f, l->lease_files_text, l->lease_files_len);
	}
	/* (the counting rules are in chains never flushed) */
	fputs("flush set bridge " GUARD_TABLE " free\n"
	      "flush set bridge " GUARD_TABLE " ports\n"
	      "flush set bridge " GUARD_TABLE " static\n"
	      "flush set bridge " GUARD_TABLE " v6\n"
	      "flush set bridge " GUARD_TABLE " addr6\n"
	      "flush set bridge " GUARD_TABLE " nd6\n"
	      "flush chain bridge " GUARD_TABLE " dhcp\n", f);
	if (l->nfree)
		fprintf(f, "add element bridge " GUARD_TABLE " free { %s }\n", l->free_text);
	if (l->nports)
		fprintf(f, "add element bridge " GUARD_TABLE " ports { %s }\n", l->ports_text);
	if (l->nstatic)
		fprintf(f, "add element bridge " GUARD_TABLE " static { %s }\n", l->statics_text);
	if (l->nv6)
		fprintf(f, "add element bridge " GUARD_TABLE " v6 { %s }\n"
			"add element bridge " GUARD_TABLE " addr6 { %s }\n"
			"add element bridge " GUARD_TABLE " nd6 { %s }\n",
			l->v6_text, l->addr6_text, l->nd6_text);
	fputs(l->dhcp_text ? l->dhcp_text : "", f);
	/* a request that no port's rule took names a MAC not its own */
	fputs("add rule bridge " GUARD_TABLE " dhcp goto dhcp_other\n", f);
	if (ferror(f) | fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

/* The lease script's lock (guard_hook_path and ".lock"), held: its
 * descriptor, or -1. */
static int lock_leases(void)
{
	char path[PATH_LEN + 8];
	int fd;

	if (guard_hook_path(path) < 0)
		return -1;
	strcat(path, ".lock");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		err("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The table and the lease script, once nothing is to be guarded. */
static void retire(void)
{
	char *del[] = { "nft", "delete", "table", "bridge", GUARD_TABLE, NULL };
	char path[PATH_LEN];

	if (guard_state() != GUARD_MISSING)
		run_cmd(del, false);
	if (guard_hook_path(path) == 0)
		unlink(path);
	if (snapshot_path(path) == 0)
		unlink(path);
}

/* Loads the list, in one transaction: the table made when it is missing
 * or of another make (an earlier umlctl's, whose chains the rules here
 * do not fit), with the leases of the lease files; its sets and its
 * dhcp chain refilled.  Under the lease script's lock, so that a lease
 * the script took out since dnsmasq wrote the file is never put back.
 * The leases of a table that was there are the script's alone.
 * Consumes l. */
int guard_sync(struct guard_list *l)
{
	char *nft[] = { "nft", "-f", "-", NULL };
	char *text = NULL;
	int r = -1, lock = -1, state;
	bool make;

	list_close(l);
	if (l->failed || write_hook() < 0)
		goto out;
	lock = lock_leases();
	if (lock < 0)
		goto out;
	state = guard_state();
	make = state != GUARD_CURRENT;
	if (!l->guarded && !l->nports) {
		/* no network with DHCP is up, no TAP on another network
		 * with its MAC bound: nothing to guard */
		if (state != GUARD_MISSING)
			retire();
		r = 0;
		goto out;
	}
	text = script(l, make);
	if (!text || run_cmd_input(nft, text, false)) {
		err("nft could not load table bridge " GUARD_TABLE " (the guard of the networks with DHCP)");
		goto out;
	}
	if (make)
		save_snapshot();
	r = 0;
out:
	if (lock >= 0)
		close(lock);
	free(text);
	guard_list_free(l);
	return r;
}
