/* hostnet.c: the host network the instances share, like libvirt's default
 * network: a bridge with the configured address, NAT to the outside in an
 * nftables table of its own (ip uml_skas), and dnsmasq serving DHCP (static
 * leases from the instances' MACs) and DNS for the instance names, on the
 * bridge only.  Up and down are idempotent. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umlctl.h"

#define NFT_TABLE "uml_skas"

static int files(char *pidfile, char *hosts, char *leases)
{
	char run[PATH_LEN], state[PATH_LEN];

	if (run_dir(run, sizeof(run), NULL) < 0 ||
	    state_dir(state, sizeof(state), NULL) < 0 ||
	    mkdir_p(run, 0755) < 0 || mkdir_p(state, 0755) < 0)
		return -1;
	if (snprintf_ok(pidfile, PATH_LEN, "%s/dnsmasq.pid", run) < 0 ||
	    snprintf_ok(hosts, PATH_LEN, "%s/dhcp-hosts", run) < 0 ||
	    snprintf_ok(leases, PATH_LEN, "%s/dnsmasq.leases", state) < 0)
		return -1;
	return 0;
}

/* RUN/dnsmasq.id: the dnsmasq we started, as pid and start time (dnsmasq's
 * own pid file has the pid alone). */
static int id_file(char *out)
{
	char run[PATH_LEN];

	if (run_dir(run, sizeof(run), NULL) < 0)
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
bool hostnet_dnsmasq(struct proc_id *id)
{
	char path[PATH_LEN];

	if (id_file(path) < 0 || proc_id_read(path, id) < 0)
		return false;
	return proc_id_alive(id) && is_dnsmasq(id->pid);
}

/* The bridge's network in CIDR form (10.77.0.0/24), its address and mask. */
static int subnet(const struct global_conf *g, char *net, char *ip, char *mask)
{
	struct in_addr a, m;
	int prefix;
	const char *slash = strchr(g->address, '/');

	if (!slash)
		return -1;
	snprintf(ip, 64, "%.*s", (int)(slash - g->address), g->address);
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

static int bridge_up(const struct global_conf *g)
{
	char *add[] = { "ip", "link", "add", "name", (char *)g->bridge, "type",
			"bridge", NULL };
	char *addr[] = { "ip", "addr", "replace", (char *)g->address, "dev",
			 (char *)g->bridge, NULL };
	char *up[] = { "ip", "link", "set", (char *)g->bridge, "up", NULL };

	if (link_exists(g->bridge) && !net_bridge_exists(g)) {
		err("network: %s exists and is not a bridge", g->bridge);
		return -1;
	}
	if (!link_exists(g->bridge) && run_cmd(add, false)) {
		err("network: cannot create bridge %s", g->bridge);
		return -1;
	}
	if (run_cmd(addr, false) || run_cmd(up, false)) {
		err("network: cannot configure bridge %s", g->bridge);
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

static void forwarding_restore(void)
{
	char marker[PATH_LEN];

	if (forward_marker(marker) < 0 || access(marker, F_OK) < 0)
		return;
	if (write_forward("0\n") < 0)
		err("network: cannot turn IPv4 forwarding off again: %s", strerror(errno));
	else
		unlink(marker);
}

static int nat_up(const struct global_conf *g, const char *net)
{
	char rules[2048];
	char *nft[] = { "nft", "-f", "-", NULL };

	/* Declaring the table first makes the delete succeed when it is
	 * new; the whole file is one transaction. */
	snprintf(rules, sizeof(rules),
		 "table ip " NFT_TABLE "\n"
		 "delete table ip " NFT_TABLE "\n"
		 "table ip " NFT_TABLE " {\n"
		 "  chain forward {\n"
		 "    type filter hook forward priority filter; policy accept;\n"
		 "    iifname \"%s\" ip saddr %s accept\n"
		 "    oifname \"%s\" ip daddr %s ct state established,related accept\n"
		 "    oifname \"%s\" reject\n"
		 "    iifname \"%s\" reject\n"
		 "  }\n"
		 "}\n",
		 g->bridge, net, g->bridge, net, g->bridge, g->bridge);
	if (g->nat) {
		size_t n = strlen(rules) - 2;   /* before the final "}\n" */

		snprintf(rules + n, sizeof(rules) - n,
			 "  chain postrouting {\n"
			 "    type nat hook postrouting priority srcnat; policy accept;\n"
			 "    ip saddr %s ip daddr != %s masquerade\n"
			 "  }\n"
			 "}\n", net, net);
	}
	if (run_cmd_input(nft, rules, false)) {
		err("network: nft could not load table ip " NFT_TABLE);
		return -1;
	}
	if (g->nat && forwarding_on() < 0)
		return -1;
	return 0;
}

static int dnsmasq_up(const struct global_conf *g, const char *ip,
		      const char *mask)
{
	char pidfile[PATH_LEN], hosts[PATH_LEN], leases[PATH_LEN];
	char a_pid[PATH_LEN + 16], a_hosts[PATH_LEN + 32], a_leases[PATH_LEN + 32];
	char a_range[256], a_if[64], a_listen[96], a_domain[128], a_local[128];
	char first[64], last[64];

	struct proc_id id;
	char idpath[PATH_LEN], buf[32];

	if (hostnet_dnsmasq(&id))
		return net_write_hosts(g);   /* running: new host list only */
	if (files(pidfile, hosts, leases) < 0 || net_write_hosts(g) < 0)
		return -1;
	if (sscanf(g->dhcp_range, "%63[0-9.] , %63[0-9.]", first, last) != 2)
		return -1;
	snprintf(a_pid, sizeof(a_pid), "--pid-file=%s", pidfile);
	snprintf(a_hosts, sizeof(a_hosts), "--dhcp-hostsfile=%s", hosts);
	snprintf(a_leases, sizeof(a_leases), "--dhcp-leasefile=%s", leases);
	snprintf(a_range, sizeof(a_range), "--dhcp-range=%s,%s,%s,%d", first,
		 last, mask, DHCP_LEASE_SECONDS);
	snprintf(a_if, sizeof(a_if), "--interface=%s", g->bridge);
	snprintf(a_listen, sizeof(a_listen), "--listen-address=%s", ip);
	snprintf(a_domain, sizeof(a_domain), "--domain=%s", g->domain);
	snprintf(a_local, sizeof(a_local), "--local=/%s/", g->domain);

	char *argv[] = { "dnsmasq", "--conf-file=/dev/null", a_pid, a_hosts,
			 a_leases, a_range, a_if, a_listen, "--bind-interfaces",
			 "--except-interface=lo", "--strict-order",
			 "--dhcp-authoritative", "--dhcp-no-override",
			 "--dhcp-rapid-commit", "--no-ping", a_domain, a_local,
			 "--expand-hosts", "--domain-needed", "--bogus-priv",
			 /* No --log-facility: syslog, which is the journal of
			  * uml-skas-network.service under systemd; rotated by
			  * journald or the syslog daemon, not by us. */
			 "--log-dhcp", NULL };

	if (id_file(idpath) < 0)
		return -1;
	unlink(pidfile);
	if (run_cmd(argv, false)) {
		err("network: dnsmasq did not start on %s", g->bridge);
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
	err("network: dnsmasq started but wrote no pid file %s", pidfile);
	return -1;
}

int hostnet_up(const struct global_conf *g)
{
	char net[64], ip[64], mask[64];
	int opened;

	if (subnet(g, net, ip, mask) < 0) {
		err("network: bad address %s", g->address);
		return -1;
	}
	if (bridge_up(g) < 0 || nat_up(g, net) < 0)
		return -1;
	opened = firewall_open(g);
	if (opened < 0 || dnsmasq_up(g, ip, mask) < 0)
		return -1;
	msg("network: %s %s up (NAT %s, DHCP %s, DNS .%s%s)", g->bridge,
	    g->address, g->nat ? "on" : "off", g->dhcp_range, g->domain,
	    opened ? "; the host firewall opened for it (input and forward)" : "");
	return 0;
}

int hostnet_down(const struct global_conf *g)
{
	char pidfile[PATH_LEN], hosts[PATH_LEN], leases[PATH_LEN];
	char *nft[] = { "nft", "delete", "table", "ip", NFT_TABLE, NULL };
	char *list[] = { "nft", "list", "table", "ip", NFT_TABLE, NULL };
	char *del[] = { "ip", "link", "del", (char *)g->bridge, NULL };
	char idpath[PATH_LEN];
	struct proc_id id;
	int bad = 0;

	if (files(pidfile, hosts, leases) < 0 || id_file(idpath) < 0)
		return -1;
	if (hostnet_dnsmasq(&id)) {
		proc_id_signal(&id, SIGTERM, false);
		if (!proc_id_wait_gone(&id, 5000))
			proc_id_signal(&id, SIGKILL, false);
	}
	unlink(pidfile);
	unlink(idpath);
	if (firewall_close() < 0)
		bad++;
	forwarding_restore();
	if (run_cmd(list, true) == 0 && run_cmd(nft, false)) {
		err("network: cannot delete nftables table ip " NFT_TABLE);
		bad++;
	}
	if (net_bridge_exists(g) && run_cmd(del, false)) {
		err("network: cannot delete bridge %s", g->bridge);
		bad++;
	}
	if (!bad)
		msg("network: %s down", g->bridge);
	return bad ? -1 : 0;
}

/* 0: everything up; 3: down; 1: partly up (something is missing). */
int hostnet_status(const struct global_conf *g)
{
	char *list[] = { "nft", "list", "table", "ip", NFT_TABLE, NULL };
	bool br = net_bridge_exists(g);
	struct proc_id id;
	bool dns = hostnet_dnsmasq(&id);
	bool nft = run_cmd(list, true) == 0;

	msg("bridge   %s: %s", g->bridge, br ? "up" : "missing");
	msg("address  %s", g->address);
	msg("nftables table ip " NFT_TABLE ": %s (NAT %s)",
	    nft ? "loaded" : "missing", g->nat ? "on" : "off");
	if (dns)
		msg("dnsmasq  running, pid %d", (int)id.pid);
	else
		msg("dnsmasq  not running");
	if (br && dns && nft)
		return EX_OK;
	return (br || dns || nft) ? EX_FAIL : EX_STOPPED;
}
