/* forward.c: port forwards, `forward = tcp:8080:80` in an instance file:
 * a connection to port 8080 of any of the host's addresses reaches port 80
 * of the instance, while it runs.
 *
 * Each running instance with forwards has an nftables table of its own,
 * ip uml_skas__fwd_NAME ("__": no network's table, uml_skas_NETWORK, can
 * be named so), with DNAT in prerouting (from outside) and output (from
 * the host itself) for destinations of type local.  The target is the
 * fixed address of [net0]: a leased one could pass to another instance,
 * and the forward with it.  The network's own table lets connections so
 * translated into the bridge (ct status dnat; hostnet.c), and so do the
 * host firewall's openings (firewall.c).  Made at start under the network
 * lock, removed when the instance stops or is cleaned up.  Not reached:
 * 127.0.0.1 (the kernel does not route loopback addresses out without
 * route_localnet), and the instance's own network through the host's
 * address (no hairpin NAT). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "umlctl.h"

static void table_name(const char *name, char out[64])
{
	snprintf(out, 64, "uml_skas__fwd_%s", name);
	for (char *c = out; *c; c++)
		if (*c == '-')
			*c = '_';
}

void forward_down(const char *name)
{
	char table[64];
	char *list[] = { "nft", "list", "table", "ip", table, NULL };
	char *del[] = { "nft", "delete", "table", "ip", table, NULL };

	table_name(name, table);
	if (run_cmd(list, true) == 0 && run_cmd(del, false))
		err("%s: cannot delete nftables table ip %s", name, table);
}

int forward_up(const struct instance_conf *ic)
{
	char table[64], rules[4096], dnat[MAX_FORWARDS * 96] = "";
	char *nft[] = { "nft", "-f", "-", NULL };
	size_t used = 0;

	if (ic->nforwards == 0) {
		forward_down(ic->name);   /* one from an earlier version of the file */
		return 0;
	}
	for (int i = 0; i < ic->nforwards; i++) {
		const struct forward *f = &ic->forwards[i];

		used += (size_t)snprintf(dnat + used, sizeof(dnat) - used,
					 "    fib daddr type local %s dport %d dnat to %s:%d\n",
					 f->proto, f->host_port, ic->nets[0].address,
					 f->guest_port);
		if (used >= sizeof(dnat))
			return -1;
	}
	table_name(ic->name, table);
	if (snprintf_ok(rules, sizeof(rules),
			"table ip %s\n"
			"delete table ip %s\n"
			"table ip %s {\n"
			"  chain prerouting {\n"
			"    type nat hook prerouting priority dstnat; policy accept;\n"
			"%s"
			"  }\n"
			"  chain output {\n"
			"    type nat hook output priority -100; policy accept;\n"
			"%s"
			"  }\n"
			"}\n", table, table, table, dnat, dnat) < 0)
		return -1;
	if (run_cmd_input(nft, rules, false)) {
		err("%s: nft could not load the port forwards (table ip %s)", ic->name, table);
		return -1;
	}
	return 0;
}
