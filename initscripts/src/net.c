/* net.c: the host side of an instance's network: one TAP device per
 * interface (owned by the instance user, enslaved to the bridge), and the
 * DHCP host list dnsmasq reads (static leases and names from the MACs). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlctl.h"

void tap_name(const char *name, int idx, char out[16])
{
	snprintf(out, 16, "us-%s-%d", name, idx);
}

bool link_exists(const char *dev)
{
	char path[PATH_LEN];

	snprintf(path, sizeof(path), "/sys/class/net/%s", dev);
	return access(path, F_OK) == 0;
}

int net_bridge_exists(const struct global_conf *g)
{
	char path[PATH_LEN];

	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", g->bridge);
	return access(path, F_OK) == 0;
}

int net_taps_up(const struct global_conf *g, const struct instance_conf *ic,
		uid_t uid)
{
	char uidstr[16];

	snprintf(uidstr, sizeof(uidstr), "%u", (unsigned)uid);
	for (int i = 0; i < MAX_NETS; i++) {
		char tap[16];

		if (!ic->nets[i].used)
			continue;
		tap_name(ic->name, i, tap);
		if (link_exists(tap)) {   /* left over: start afresh */
			char *del[] = { "ip", "link", "del", tap, NULL };

			run_cmd(del, true);
		}
		char *add[] = { "ip", "tuntap", "add", "dev", tap, "mode", "tap",
				"user", uidstr, NULL };
		char *master[] = { "ip", "link", "set", tap, "master",
				   (char *)g->bridge, NULL };
		char *up[] = { "ip", "link", "set", tap, "up", NULL };

		if (run_cmd(add, false) || run_cmd(master, false) ||
		    run_cmd(up, false)) {
			err("%s: cannot set up TAP device %s on bridge %s",
			    ic->name, tap, g->bridge);
			net_taps_down(ic->name);
			return -1;
		}
	}
	return 0;
}

bool net_taps_left(const char *name)
{
	for (int i = 0; i < MAX_NETS; i++) {
		char tap[16];

		tap_name(name, i, tap);
		if (link_exists(tap))
			return true;
	}
	return false;
}

void net_taps_down(const char *name)
{
	for (int i = 0; i < MAX_NETS; i++) {
		char tap[16];

		tap_name(name, i, tap);
		if (link_exists(tap)) {
			char *del[] = { "ip", "link", "del", tap, NULL };

			run_cmd(del, true);
		}
	}
}

/* Writes run/dhcp-hosts from every loadable instance file and tells a
 * running dnsmasq to read it again. */
int net_write_hosts(const struct global_conf *g)
{
	static char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
	static char text[MAX_INSTANCES * MAX_NETS * 64];
	char dir[PATH_LEN], file[PATH_LEN];
	struct instance_conf ic;
	struct proc_id dns;
	int n = config_instance_names(names, MAX_INSTANCES);
	size_t used = 0;

	text[0] = '\0';
	for (int i = 0; i < n; i++) {
		/* other instances' errors are reported where they matter */
		if (config_load_instance_quiet(g, names[i], &ic) < 0)
			continue;
		for (int j = 0; j < MAX_NETS; j++) {
			const struct net_conf *nc = &ic.nets[j];

			if (!nc->used)
				continue;
			used += snprintf(text + used, sizeof(text) - used,
					 "%s%s%s%s%s\n", nc->mac,
					 nc->address[0] ? "," : "", nc->address,
					 j == 0 ? "," : "", j == 0 ? ic.name : "");
			if (used >= sizeof(text))
				return -1;
		}
	}
	if (run_dir(dir, sizeof(dir), NULL) < 0 || mkdir_p(dir, 0755) < 0 ||
	    snprintf_ok(file, sizeof(file), "%s/dhcp-hosts", dir) < 0)
		return -1;
	if (write_file(file, text, 0644) < 0)
		return -1;
	if (hostnet_dnsmasq(&dns))
		proc_id_signal(&dns, SIGHUP, false);
	return 0;
}

/* The address dnsmasq leased to MAC, or NULL. */
const char *net_lease_address(const char *mac, char *out, size_t len)
{
	char file[PATH_LEN], line[512];
	FILE *f;
	const char *found = NULL;

	if (state_dir(file, sizeof(file), NULL) < 0)
		return NULL;
	strncat(file, "/dnsmasq.leases", sizeof(file) - strlen(file) - 1);
	f = fopen(file, "r");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char lmac[32], ip[64];

		if (sscanf(line, "%*s %31s %63s", lmac, ip) == 2 &&
		    !strcasecmp(lmac, mac)) {
			snprintf(out, len, "%s", ip);
			found = out;
		}
	}
	fclose(f);
	return found;
}
