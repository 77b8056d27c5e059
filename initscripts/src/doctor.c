/* doctor.c: `umlctl doctor`: checks what instances need from the host and
 * says, for each problem, the command that fixes it.
 *
 * One line per check: "ok", "warn" (instances run, but less well: no
 * host module means seccomp mode, no dnsmasq means no addresses) or
 * "FAIL" (instances cannot start as configured), each problem followed
 * by an indented "fix:" line.  Exit status 1 when something failed, else
 * 0.  Reads only; changes nothing.  Runs as any user, but an ordinary
 * user may not see everything (nft needs root): what could not be read
 * is a warning that says so. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "umlctl.h"

#define MODULE "uml_skas_host"
#define LOW_DISK_BYTES (1024ULL * 1024 * 1024)


struct verdict {
	int warned, failed;
};

static void report(struct verdict *v, const char *level, const char *fix,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(struct verdict *v, const char *level, const char *fix,
		   const char *fmt, ...)
{
	va_list ap;

	printf("%-5s ", level);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (fix)
		printf("      fix: %s\n", fix);
	if (!strcmp(level, "warn"))
		v->warned++;
	else if (!strcmp(level, "FAIL"))
		v->failed++;
}

/* Whether a file named NAME.ko* is somewhere below dir (depth-first). */
static bool module_file_below(const char *dir, int depth)
{
	struct dirent *e;
	bool found = false;
	DIR *d;

	if (depth > 6)
		return false;
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char path[PATH_LEN];

		if (e->d_name[0] == '.')
			continue;
		if (!strncmp(e->d_name, MODULE ".ko", strlen(MODULE ".ko")))
			found = true;
		else if (e->d_type == DT_DIR &&
			 snprintf_ok(path, sizeof(path), "%s/%s", dir, e->d_name) == 0)
			found = module_file_below(path, depth + 1);
	}
	closedir(d);
	return found;
}

static bool dkms_source_installed(void)
{
	struct dirent *e;
	bool found = false;
	DIR *d = opendir("/usr/src");

	if (!d)
		return false;
	while (!found && (e = readdir(d)))
		found = !strncmp(e->d_name, "uml-skas-host-", 14);
	closedir(d);
	return found;
}

static void check_module(const struct global_conf *g, struct verdict *v)
{
	struct utsname u;
	struct stat st;
	struct group *gr;
	char dir[PATH_LEN], fix[PATH_LEN + 128], version[64] = "";

	uname(&u);
	if (stat("/proc/mm", &st) < 0) {
		snprintf(dir, sizeof(dir), "/lib/modules/%s", u.release);
		if (module_file_below(dir, 0))
			report(v, "warn", "modprobe " MODULE "  (it then loads at every boot)",
			       "host module: built for %s but not loaded: instances run in seccomp mode",
			       u.release);
		else if (dkms_source_installed()) {
			snprintf(fix, sizeof(fix),
				 "apt install linux-headers-%s (or dnf install kernel-devel-%s), then dkms autoinstall",
				 u.release, u.release);
			report(v, "warn", fix,
			       "host module: not built for the running kernel %s (no headers when DKMS ran?): instances run in seccomp mode",
			       u.release);
		} else {
			report(v, "warn", "apt install uml-skas-host-dkms (or dnf install uml-skas-host-dkms)",
			       "host module: not installed: instances run in seccomp mode");
		}
		return;
	}
	if (read_file("/sys/module/" MODULE "/version", version, sizeof(version)) >= 0)
		version[strcspn(version, "\n")] = '\0';
	gr = getgrgid(st.st_gid);
	if (!gr || strcmp(gr->gr_name, g->group) || (st.st_mode & 0777) != 0660) {
		snprintf(fix, sizeof(fix),
			 "modprobe -r " MODULE " && modprobe " MODULE
			 " (the packages set its group option in /etc/modprobe.d), with no instance running");
		report(v, "warn", fix,
		       "host module: /proc/mm is %04o group %s, not 0660 group %s: instances cannot open it and run in seccomp mode",
		       st.st_mode & 07777, gr ? gr->gr_name : "?", g->group);
	} else if (access("/dev/uml-skas", F_OK) == 0) {
		report(v, "ok", NULL,
		       "host module: loaded%s%s, /proc/mm 0660 group %s, /dev/uml-skas: skas4 mode",
		       version[0] ? ", version " : "", version, g->group);
	} else {
		/* carrier=0 is the administrator's choice: not a warning. */
		report(v, "ok", NULL,
		       "host module: loaded%s%s, /proc/mm 0660 group %s, no /dev/uml-skas (carrier=0): skas3 mode",
		       version[0] ? ", version " : "", version, g->group);
	}
	if (version[0] && strcmp(version, UMLCTL_VERSION))
		report(v, "warn",
		       "stop the instances, then: modprobe -r " MODULE " && modprobe " MODULE,
		       "host module: version %s is loaded, the tools are %s (upgraded while instances ran?)",
		       version, UMLCTL_VERSION);
}

static void check_kernel(const struct global_conf *g, struct verdict *v)
{
	if (access(g->kernel, X_OK) == 0)
		report(v, "ok", NULL, "UML kernel: %s", g->kernel);
	else
		report(v, "FAIL", "apt install uml-skas-kernel, or set kernel = in uml-skas.conf",
		       "UML kernel: %s: %s", g->kernel, strerror(errno));
}

static void check_tmpdir(const struct global_conf *g, struct verdict *v)
{
	struct statvfs s;

	if (statvfs(g->tmpdir, &s) < 0)
		report(v, "FAIL", "set tmpdir = in uml-skas.conf to a tmpfs that exists",
		       "tmpdir %s: %s", g->tmpdir, strerror(errno));
	else if (s.f_flag & ST_NOEXEC)
		report(v, "FAIL", "set tmpdir = in uml-skas.conf to a tmpfs mounted without noexec",
		       "tmpdir %s is mounted noexec: UML maps its memory from there with PROT_EXEC and stops at once",
		       g->tmpdir);
	else
		report(v, "ok", NULL, "tmpdir %s: exec allowed", g->tmpdir);
}

static void check_disk(struct verdict *v)
{
	char dir[PATH_LEN] = "/var/lib/uml-skas";
	struct statvfs s;
	unsigned long long avail;

	if (state_dir(dir, sizeof(dir), NULL) < 0 || statvfs(dir, &s) < 0) {
		report(v, "warn", NULL, "disk: cannot look at %s: %s", dir, strerror(errno));
		return;
	}
	avail = (unsigned long long)s.f_bavail * s.f_frsize;
	if (avail < LOW_DISK_BYTES)
		report(v, "warn", "free space there, or move /var/lib/uml-skas to a larger file system",
		       "disk: %llu MiB free for %s: copy-on-write files grow as guests write",
		       avail >> 20, dir);
	else
		report(v, "ok", NULL, "disk: %llu MiB free for %s", avail >> 20, dir);
}

/* The command that brings network NAME (the default one: DEFAULT_NETWORK)
 * up again, as a fix.  Under systemd it is the network's unit, whose
 * ExecReload runs `umlctl network up`: dnsmasq then runs in the unit's
 * control group, where the unit's stop finds it, and not in the
 * administrator's login session. */
static void network_up_command(const char *name, char *out, size_t size)
{
	bool def = !strcmp(name, DEFAULT_NETWORK);

	if (systemd_in_charge())
		snprintf(out, size, "systemctl reload-or-restart uml-skas-network%s%s.service",
			 def ? "" : "@", def ? "" : name);
	else
		snprintf(out, size, "umlctl network up%s%s", def ? "" : " ", def ? "" : name);
}

/* One network that is up: its dnsmasq (if it has DHCP) and the host
 * firewall's openings for its bridge.  The default network's lines say
 * "network:", a named one's "network NAME:". */
static void check_network_up(const struct network *n, bool *nft_unread,
			     struct verdict *v)
{
	bool def = !strcmp(n->name, DEFAULT_NETWORK);
	char what[NAME_MAX_LEN + 16], up[NAME_MAX_LEN + 64], fix[NAME_MAX_LEN + 256];
	char table[80];
	char chains[2048];
	struct proc_id id;
	int count;

	snprintf(what, sizeof(what), "network%s%s", def ? "" : " ", def ? "" : n->name);
	network_up_command(n->name, up, sizeof(up));
	snprintf(fix, sizeof(fix), "%s (it starts dnsmasq again)", up);
	report(v, "ok", NULL, "%s: bridge %s", what, n->bridge);
	if (!n->dhcp)
		report(v, "ok", NULL, "%s: no DHCP (dhcp = no): no dnsmasq to check", what);
	else if (hostnet_dnsmasq(n, &id) && hostnet_dnsmasq_stale(n))
		report(v, "warn", fix, "%s: dnsmasq (pid %d) was started by an earlier umlctl: new instances get no address through the guard",
		       what, (int)id.pid);
	else if (hostnet_dnsmasq(n, &id))
		report(v, "ok", NULL, "%s: dnsmasq runs (pid %d): DHCP and DNS", what, (int)id.pid);
	else
		report(v, "warn", fix, "%s: dnsmasq is not running: instances get no address", what);
	snprintf(fix, sizeof(fix), "%s (it loads it again)", up);
	if (hostnet_missing_table(n, table) > 0)
		report(v, "warn", fix, "%s: its nftables table %s is missing (a firewall reload flushes it): its guests are not kept to their subnet",
		       what, table);
	/* (read once: an ordinary user cannot, and is told so once) */
	count = *nft_unread ? -2 : firewall_unopened(n, chains, sizeof(chains));
	if (count == -1) {
		*nft_unread = true;
		report(v, "warn", geteuid() ? "run umlctl doctor as root" : "install nftables",
		       "firewall: cannot read the nftables rules (nft -j list ruleset)");
	} else if (count > 0) {
		snprintf(fix, sizeof(fix), "%s (it opens those chains again), or let DHCP and DNS from the bridge (input) and its forwarding (forward) through in your firewall",
			 up);
		report(v, "warn", fix,
		       "firewall: %s drop%s by default with no opening for %s: DHCP, DNS or forwarding of its instances are dropped",
		       chains, count == 1 ? "s" : "", n->bridge);
	} else if (count == 0) {
		report(v, "ok", NULL, "firewall: every nftables input and forward chain with policy drop has the openings for %s (rules that drop or reject are not judged)",
		       n->bridge);
	}
}

/* The default network, every named network that is up, then the guard,
 * which is one table for all of them: a missing default bridge does not
 * end the checks, since named networks may be up without it. */
static void check_network(const struct global_conf *g, struct verdict *v)
{
	static char names[MAX_NETWORKS][NAME_MAX_LEN + 1];
	static struct network def, net;
	char up[NAME_MAX_LEN + 64], fix[NAME_MAX_LEN + 128];
	int count = config_network_names(names, MAX_NETWORKS);
	bool guarded, nft_unread = false;

	config_load_network(g, DEFAULT_NETWORK, &def);
	/* Under systemd an instance's unit requires the network's unit:
	 * starting an instance brings the bridge up. */
	if (net_bridge_exists(g))
		check_network_up(&def, &nft_unread, v);
	else if (systemd_in_charge())
		report(v, "ok", NULL, "network: not up yet; uml-skas-network.service brings it up with the first instance%s",
		       systemd_network_enabled() ? ", and at boot" : "");
	else
		report(v, "FAIL", "umlctl network up",
		       "network: the bridge %s is missing: instances on the default network cannot start",
		       g->bridge);
	for (int i = 0; i < count; i++) {
		if (config_load_network_quiet(g, names[i], &net) < 0)
			continue;       /* named by the configuration check */
		if (bridge_exists(net.bridge))
			check_network_up(&net, &nft_unread, v);
		else
			report(v, "ok", NULL, "network %s: down; its first instance brings it up (or: umlctl network up %s)",
			       net.name, net.name);
	}
	/* The guard goes with `nft flush ruleset` (a firewall reload).  It
	 * is checked while any guarded network is up, the default network's
	 * guard = no or not, or while the last sync wanted it (a TAP bound
	 * to its MAC on a network without DHCP). */
	guarded = config_guarded_network_up(g) || guard_wanted();
	network_up_command(DEFAULT_NETWORK, up, sizeof(up));
	snprintf(fix, sizeof(fix), "%s (it loads the guard again)", up);
	if (!def.guard)
		report(v, "ok", NULL, "network: the guard is off for it (guard = no in %s): guests may send any MAC and address",
		       g->file);
	if (geteuid() == 0 && guarded && !guard_loaded())
		report(v, "warn", fix,
		       guard_state() == GUARD_MISSING ?
		       "network: the guard (nftables table bridge uml_skas) is missing: guests may send with the MACs and addresses of other instances" :
		       "network: the guard (nftables table bridge uml_skas) is of an earlier umlctl or was changed since: it may let guests send with the MACs and addresses of other instances");
	else if (geteuid() == 0 && guarded)
		report(v, "ok", NULL, "network: the guard (table bridge uml_skas): guests send their own MAC and leased address only");
}

int doctor(const struct global_conf *g)
{
	struct verdict v = { 0 };

	check_module(g, &v);
	check_kernel(g, &v);
	check_tmpdir(g, &v);
	check_disk(&v);
	check_network(g, &v);
	fflush(stdout);
	if (config_check_all(g) >= 0)
		report(&v, "ok", NULL, "configuration: %s and the instance files", g->file);
	else
		report(&v, "FAIL", "edit the files named above (umlctl check shows the same)",
		       "configuration: errors above");
	printf("%d failed, %d warnings\n", v.failed, v.warned);
	return v.failed ? EX_FAIL : EX_OK;
}
