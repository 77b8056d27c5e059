/* systemd.c: umlctl where systemd is the init system.
 *
 * There every instance is the unit uml-skas@NAME.service and systemd is
 * the source of truth: `umlctl start|stop|restart NAME` ask systemctl, so
 * an instance started by hand is the same unit that boot and shutdown
 * handle, with the same limits and the same journal.  The unit itself runs
 * `umlctl start|stop --direct NAME`, which acts on the instance.  Autostart
 * is the unit's enablement (`umlctl enable|disable` keep the instance
 * file's autostart key, which the SysV script reads, in step).
 *
 * The instance file's limits (memory_max, tasks_max, allowed_cpus,
 * restart) reach the unit as a drop-in that uml-skas-generator writes at
 * boot and at every daemon-reload (`umlctl unit-config NAME` prints it).
 * Before it starts a unit, umlctl compares that drop-in with the file and
 * reloads systemd when they differ: an edited file never waits for a
 * reboot or for a reload nobody runs.
 *
 * Not in charge: under another init system, in a chroot (an installer or
 * a build root that bind-mounts the host's /run), with --root or
 * UMLSKAS_ROOT (the tests), when the unit template is not installed, with --direct,
 * and inside an instance's unit (a unit still running plain `umlctl
 * start %i` must not wait for its own start job).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlctl.h"

/* Where uml-skas-generator's drop-ins land: systemd's "normal" generator
 * directory (systemd.generator(7)). */
#define GENERATOR_DIR "/run/systemd/generator"
/* Early in the order of drop-ins, so that an administrator's own (an
 * override.conf, `systemctl set-property`) win over the instance file. */
#define DROPIN "10-instance.conf"

static const char *const unit_dirs[] = {
	"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system",
};

/* Whether this process runs in the control group of an instance unit. */
bool systemd_inside_unit(void)
{
	char cg[4096];

	if (read_file("/proc/self/cgroup", cg, sizeof(cg)) < 0)
		return false;
	return strstr(cg, "/uml-skas@") != NULL;
}

/* Whether / is not PID 1's root.  No /proc counts as a chroot (as for
 * systemd's own tools); not being allowed to look (not root) does not. */
static bool in_chroot(void)
{
	struct stat self, init;

	if (getpid() == 1)
		return false;
	if (stat("/proc/1/root", &init) < 0)
		return errno == ENOENT;
	if (stat("/", &self) < 0)
		return false;
	return self.st_dev != init.st_dev || self.st_ino != init.st_ino;
}

bool systemd_in_charge(void)
{
	const char *root = getenv("UMLSKAS_ROOT");

	if (root && root[0])
		return false;
	if (in_chroot())
		return false;
	if (systemd_inside_unit())
		return false;
	/* sd_booted(3): this directory exists only when systemd is PID 1. */
	if (access("/run/systemd/system", F_OK) < 0)
		return false;
	for (size_t i = 0; i < sizeof(unit_dirs) / sizeof(unit_dirs[0]); i++) {
		char path[PATH_LEN];

		if (snprintf_ok(path, sizeof(path), "%s/uml-skas@.service",
				unit_dirs[i]) == 0 && access(path, F_OK) == 0)
			return true;
	}
	return false;
}

/* A named network brought up from inside an instance's unit: its
 * dnsmasq would join that unit's control group and die when the unit
 * stops (KillMode=mixed), taking DHCP from the network's other
 * instances.  So the network is its own unit, uml-skas-network@NAME,
 * whose ExecStart is `umlctl network up NAME`; the default network's is
 * uml-skas-network.  With reload_only (a network that is up, whose
 * dnsmasq an earlier umlctl started) the unit is reloaded and never
 * restarted: a restart of the network's unit would stop the instances
 * that require it.  1: done by systemd; 0: not applicable (not inside an
 * instance's unit, or no such unit); -1: systemctl failed. */
int systemd_network_start(const char *network, bool reload_only)
{
	char unit[NAME_MAX_LEN + 40];
	/* reload-or-restart: starts the unit, or, when it is active but the
	 * network was taken down by hand since, brings it up again through
	 * ExecReload (which runs in the unit's control group too). */
	char *argv[] = { "systemctl", reload_only ? "reload" : "reload-or-restart", unit, NULL };
	bool installed = false, deflt = !strcmp(network, DEFAULT_NETWORK);
	const char *root = getenv("UMLSKAS_ROOT");

	if ((root && root[0]) || !systemd_inside_unit() ||
	    access("/run/systemd/system", F_OK) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(unit_dirs) / sizeof(unit_dirs[0]); i++) {
		char path[PATH_LEN];

		if (snprintf_ok(path, sizeof(path), "%s/uml-skas-network%s.service",
				unit_dirs[i], deflt ? "" : "@") == 0 && access(path, F_OK) == 0)
			installed = true;
	}
	if (!installed)
		return 0;
	if (deflt)
		snprintf(unit, sizeof(unit), "uml-skas-network.service");
	else
		snprintf(unit, sizeof(unit), "uml-skas-network@%s.service", network);
	return run_cmd(argv, false) == 0 ? 1 : -1;
}

void systemd_unit_name(const char *name, char out[UNIT_LEN])
{
	snprintf(out, UNIT_LEN, "uml-skas@%s.service", name);
}

/* systemctl ARGS... UNIT(NAME)...; its exit status. */
static int systemctl(const char *const *args, int nargs,
		     char names[][NAME_MAX_LEN + 1], int n, bool quiet)
{
	static char units[MAX_INSTANCES][UNIT_LEN];
	char *argv[MAX_INSTANCES + 8];
	int k = 0;

	if (nargs > 6 || n > MAX_INSTANCES)
		return -1;
	argv[k++] = "systemctl";
	for (int i = 0; i < nargs; i++)
		argv[k++] = (char *)args[i];
	for (int i = 0; i < n; i++) {
		systemd_unit_name(names[i], units[i]);
		argv[k++] = units[i];
	}
	argv[k] = NULL;
	return run_cmd(argv, quiet);
}

static int one(const char *verb, const char *name, bool quiet)
{
	char names[1][NAME_MAX_LEN + 1];
	const char *args[] = { verb, "--quiet" };

	snprintf(names[0], sizeof(names[0]), "%s", name);
	return systemctl(args, 2, names, 1, quiet);
}

bool systemd_unit_active(const char *name)
{
	/* "activating" and "deactivating" count: a job is under way. */
	char unit[UNIT_LEN], state[32];
	char *argv[] = { "systemctl", "is-active", unit, NULL };

	systemd_unit_name(name, unit);
	run_cmd_output(argv, state, sizeof(state));
	state[strcspn(state, "\n")] = '\0';
	return !strcmp(state, "active") || !strcmp(state, "activating") ||
	       !strcmp(state, "deactivating") || !strcmp(state, "reloading");
}

bool systemd_unit_enabled(const char *name)
{
	return one("is-enabled", name, true) == 0;
}

/* Whether uml-skas-network.service is enabled: an instance's unit then
 * brings the network up (Requires=), and boot does too. */
bool systemd_network_enabled(void)
{
	char *argv[] = { "systemctl", "is-enabled", "--quiet",
			 "uml-skas-network.service", NULL };

	return run_cmd(argv, true) == 0;
}

/* After destroy: no failed state left behind. */
void systemd_forget(const char *name)
{
	one("reset-failed", name, true);
}

int systemd_enable(const char *name, bool on)
{
	int r = one(on ? "enable" : "disable", name, false);

	if (r != 0)
		err("%s: systemctl %s uml-skas@%s.service failed", name,
		    on ? "enable" : "disable", name);
	return r == 0 ? 0 : -1;
}

/* The drop-in for NAME's unit, from its instance file: only the keys the
 * file sets, so that systemd's defaults (DefaultTasksMax=) stay. */
int systemd_unit_config(const struct instance_conf *ic, char *out, size_t len)
{
	struct { const char *key, *v; } keys[] = {
		{ "MemoryMax", ic->memory_max }, { "TasksMax", ic->tasks_max },
		{ "AllowedCPUs", ic->allowed_cpus }, { "Restart", ic->restart },
	};
	size_t n;

	if (snprintf_ok(out, len, "# uml-skas-generator: from %s (umlctl unit-config %s)\n"
			"[Service]\n", ic->file, ic->name) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!keys[i].v[0])
			continue;
		n = strlen(out);
		if (snprintf_ok(out + n, len - n, "%s=%s\n", keys[i].key, keys[i].v) < 0)
			return -1;
	}
	/* Named networks: up before the instance, down only after it. */
	for (int i = 0; i < MAX_NETS; i++) {
		const char *net = ic->nets[i].network;
		bool seen = !ic->nets[i].used || !strcmp(net, DEFAULT_NETWORK);

		for (int j = 0; j < i && !seen; j++)
			seen = ic->nets[j].used && !strcmp(ic->nets[j].network, net);
		if (seen)
			continue;
		n = strlen(out);
		if (snprintf_ok(out + n, len - n, "%s"
				"Wants=uml-skas-network@%s.service\n"
				"After=uml-skas-network@%s.service\n",
				strstr(out, "[Unit]") ? "" : "[Unit]\n", net, net) < 0)
			return -1;
	}
	return 0;
}

/* 1 when the generator's drop-in for ic is what its file says now, 0
 * when not (edited, new, or never generated), -1 on error. */
static int dropin_current(const struct instance_conf *ic)
{
	char want[1024], have[1024] = "", path[PATH_LEN];

	if (systemd_unit_config(ic, want, sizeof(want)) < 0 ||
	    snprintf_ok(path, sizeof(path), GENERATOR_DIR "/uml-skas@%s.service.d/" DROPIN,
			ic->name) < 0)
		return -1;
	return read_file(path, have, sizeof(have)) >= 0 && !strcmp(have, want);
}

/* Reloads systemd when a drop-in is stale.  One still stale after the
 * reload means the generator did not run (masked, or removed): the unit
 * starts with the limits systemd has, and the administrator is told. */
static int refresh(const struct instance_conf *ics, int n)
{
	char *argv[] = { "systemctl", "daemon-reload", NULL };
	int i;

	for (i = 0; i < n; i++) {
		int r = dropin_current(&ics[i]);

		if (r < 0)
			return -1;
		if (r == 0)
			break;
	}
	if (i == n)
		return 0;
	if (run_cmd(argv, false) != 0) {
		err("systemctl daemon-reload failed");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (dropin_current(&ics[i]) == 0)
			err("%s: warning: uml-skas@%s.service does not have the limits of %s "
			     "after a daemon-reload (uml-skas-generator did not run: "
			     "masked or removed?)", ics[i].name, ics[i].name,
			     ics[i].file);
	return 0;
}

int systemd_start(const struct instance_conf *ics, int n)
{
	static char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
	const char *args[] = { "start" };
	int k = 0;

	if (refresh(ics, n) < 0)
		return EX_FAIL;
	for (int i = 0; i < n; i++) {
		struct inst_info info;

		/* Started with --direct, or before systemd was in charge:
		 * left alone (stop still reaches it). */
		instance_info(ics[i].name, &info);
		if (info.state == INST_RUNNING) {
			if (systemd_unit_active(ics[i].name))
				msg("%s: already running (uml-skas@%s.service)",
				    ics[i].name, ics[i].name);
			else
				msg("%s: already running, outside its unit (umlctl stop %s, then start)",
				    ics[i].name, ics[i].name);
			continue;
		}
		snprintf(names[k++], NAME_MAX_LEN + 1, "%s", ics[i].name);
	}
	if (k == 0)
		return EX_OK;
	if (systemctl(args, 1, names, k, false) != 0) {
		err("systemctl start failed (journalctl -u uml-skas@NAME shows why)");
		return EX_FAIL;
	}
	for (int i = 0; i < k; i++)
		msg("%s: started (uml-skas@%s.service)", names[i], names[i]);
	return EX_OK;
}

int systemd_stop(char names[][NAME_MAX_LEN + 1], int n)
{
	const char *args[] = { "stop" };

	if (n == 0)
		return EX_OK;
	if (systemctl(args, 1, names, n, false) != 0) {
		err("systemctl stop failed (journalctl -u uml-skas@NAME shows why)");
		return EX_FAIL;
	}
	for (int i = 0; i < n; i++)
		msg("%s: stopped (uml-skas@%s.service)", names[i], names[i]);
	return EX_OK;
}

/* Whether NAME starts at boot: under systemd its unit's enablement, else
 * the autostart key of its file (the SysV script's). */
bool instance_autostart(const struct instance_conf *ic)
{
	return systemd_in_charge() ? systemd_unit_enabled(ic->name) : ic->autostart;
}
