/* main.c: umlctl's command line.  Each command has its own option table
 * (getopt_long): an option that the command does not take is an error,
 * not silently ignored. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umlctl.h"


static const char usage_text[] =
"usage: umlctl [--root DIR] COMMAND [ARGS]\n"
"\n"
"Instances:\n"
"  create NAME [--image tiny|debian|PATH] [--mem SIZE]\n"
"              [--cpus N] [--cpus-pin CPUS|auto] [--net dhcp|none]\n"
"              [--mac MAC] [--ssh-key FILE] [--autostart] [--reuse-disk]\n"
"                          write /etc/uml-skas/instances/NAME.conf\n"
"  start NAME...|--autostart [--wait-ip[=S]]\n"
"                          boot instances (running ones are left alone;\n"
"                          under systemd through uml-skas@NAME.service)\n"
"  stop NAME...|--all [--timeout S]\n"
"                          clean shutdown (mconsole cad), kill after S seconds\n"
"  restart NAME... [--timeout S] [--wait-ip[=S]]\n"
"  enable|disable NAME...  start at boot or not (the unit's enablement)\n"
"  kill NAME...            kill at once (no guest shutdown)\n"
"  status [NAME...] [--autostart] [-o json]\n"
"                          state, pids, skas mode, address, CPU, uptime\n"
"  list [--autostart] [-o json]\n"
"                          one line per instance\n"
"  names [--autostart]     instance names, one per line\n"
"  console NAME [--run CMD [--timeout S]]\n"
"                          attach to the console (Ctrl-] detaches), or run CMD\n"
"  logs [-n N] [-f] NAME   the console log (-f: follow it)\n"
"  mconsole NAME CMD...    send an mconsole command (version, sysrq X, cad,\n"
"                          halt, config DEV, proc FILE, ...)\n"
"  ssh [--user U] NAME [COMMAND...]\n"
"                          ssh to the instance, its host key checked against\n"
"                          the one it printed on its console\n"
"  exec [--timeout S] NAME -- CMD...\n"
"                          run a command in the instance (its agent)\n"
"  destroy [--keep-disk] NAME...\n"
"                          stop, then remove the instance's file and state\n"
"  snapshot NAME [SNAP] | --list NAME | --delete NAME SNAP\n"
"                          keep a copy of a stopped instance's disk\n"
"  revert NAME [SNAP]      its disk back to a snapshot (default: the newest)\n"
"  clone FROM TO           a new instance TO with a copy of FROM's disk\n"
"  image keep FILE... | unpack NAME... | list\n"
"                          keep an image for the disks made on it\n"
"  check                   check every configuration file\n"
"  doctor                  check the host (module, network, firewall, disk)\n"
"                          and say how to fix what is wrong\n"
"  unit-config NAME        the systemd drop-in of NAME's unit (the generator's)\n"
"\n"
"Host networks (bridge, nftables NAT, dnsmasq DHCP and DNS):\n"
"  network up|down|status [NETWORK]\n"
"                          the default network, or networks/NETWORK.conf\n"
"  network list            every network and whether it is up\n"
"  (-o json: network status and list as JSON)\n"
"\n"
"Labs (Kathara/Netkit lab folders):\n"
"  lab up [--name LAB] DIR | down DIR | status [DIR] [-o json]\n"
"  lab exec DIR NODE -- CMD... | console DIR NODE\n"
"\n"
"Options:\n"
"  --root DIR   prefix of /etc/uml-skas, /var/lib/uml-skas and /run/uml-skas\n"
"               (also $UMLSKAS_ROOT)\n"
"  --help, --version; umlctl COMMAND --help for one command\n"
"\n"
"Instance names: " NAME_RULE ".\n"
"Exit status: 0 done; 1 failed (status: dead or failed); 2 usage;\n"
"3 not running (status); 6 bad configuration; 7 not running (console,\n"
"mconsole).  See umlctl(8) and uml-skas.conf(5).\n";

/* What a command line holds once parsed. */
struct args {
	const char *cmd;
	char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
	int n;
	char **words;          /* mconsole's command, network's verb */
	int nwords;
	bool all, autostart, wait_ip, direct;
	bool list, delete, keep_disk;  /* snapshot --list, --delete; destroy */
	bool json;             /* -o json */
	long lines;            /* logs -n; -1: all */
	bool follow;           /* logs -f */
	int wait_s, timeout;
	const char *run;
	const char *user;
	const char *lab_name;  /* lab up --name */
	struct create_opts co;
};

enum {
	OPT_ALL = 256, OPT_AUTOSTART, OPT_WAIT_IP, OPT_TIMEOUT, OPT_RUN,
	OPT_IMAGE, OPT_MEM, OPT_CPUS, OPT_CPUS_PIN, OPT_NET, OPT_MAC, OPT_SSH_KEY,
	OPT_DIRECT, OPT_USER, OPT_LINES, OPT_FOLLOW, OPT_NAME, OPT_LIST,
	OPT_DELETE, OPT_KEEP_DISK, OPT_REUSE_DISK,
};

#define O_OUTPUT { "output", required_argument, NULL, 'o' }

#define O_HELP { "help", no_argument, NULL, 'h' }
#define O_END { NULL, 0, NULL, 0 }

static const struct option opts_create[] = {
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "mem", required_argument, NULL, OPT_MEM },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "cpus-pin", required_argument, NULL, OPT_CPUS_PIN },
	{ "net", required_argument, NULL, OPT_NET },
	{ "mac", required_argument, NULL, OPT_MAC },
	{ "ssh-key", required_argument, NULL, OPT_SSH_KEY },
	{ "autostart", no_argument, NULL, OPT_AUTOSTART },
	{ "reuse-disk", no_argument, NULL, OPT_REUSE_DISK },
	O_HELP, O_END
};
static const struct option opts_start[] = {
	{ "autostart", no_argument, NULL, OPT_AUTOSTART },
	{ "wait-ip", optional_argument, NULL, OPT_WAIT_IP },
	{ "direct", no_argument, NULL, OPT_DIRECT },
	O_HELP, O_END
};
static const struct option opts_stop[] = {
	{ "all", no_argument, NULL, OPT_ALL },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "direct", no_argument, NULL, OPT_DIRECT },
	O_HELP, O_END
};
static const struct option opts_restart[] = {
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "wait-ip", optional_argument, NULL, OPT_WAIT_IP },
	{ "direct", no_argument, NULL, OPT_DIRECT },
	O_HELP, O_END
};
static const struct option opts_autostart[] = {
	{ "autostart", no_argument, NULL, OPT_AUTOSTART },
	O_HELP, O_END
};
static const struct option opts_status[] = {
	{ "autostart", no_argument, NULL, OPT_AUTOSTART },
	O_OUTPUT, O_HELP, O_END
};
static const struct option opts_output[] = { O_OUTPUT, O_HELP, O_END };
static const struct option opts_console[] = {
	{ "run", required_argument, NULL, OPT_RUN },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	O_HELP, O_END
};
static const struct option opts_ssh[] = {
	{ "user", required_argument, NULL, OPT_USER },
	O_HELP, O_END
};
static const struct option opts_logs[] = {
	{ "lines", required_argument, NULL, 'n' },
	{ "follow", no_argument, NULL, 'f' },
	O_HELP, O_END
};
static const struct option opts_exec[] = {
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	O_HELP, O_END
};
static const struct option opts_lab[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	O_OUTPUT, O_HELP, O_END
};
static const struct option opts_snapshot[] = {
	{ "list", no_argument, NULL, OPT_LIST },
	{ "delete", no_argument, NULL, OPT_DELETE },
	O_OUTPUT, O_HELP, O_END
};
static const struct option opts_destroy[] = {
	{ "keep-disk", no_argument, NULL, OPT_KEEP_DISK },
	O_HELP, O_END
};
static const struct option opts_none[] = { O_HELP, O_END };

/* How many NAME arguments a command takes. */
enum names { NAMES_NONE, NAMES_ONE, NAMES_ANY, NAMES_SOME };

struct command {
	const char *name;
	const char *synopsis;
	const char *help;
	const struct option *opts;
	enum names names;
	bool words;            /* free words after the names (mconsole, network) */
	bool as_user;          /* no root needed */
	int (*run)(const struct global_conf *g, struct args *a);
};

static int usage(const char *cmd, const char *why)
{
	if (cmd)
		err("%s: %s (see umlctl %s --help)", cmd, why, cmd);
	else
		err("%s (see umlctl --help)", why);
	return EX_USAGE;
}

/* Seconds: 1 to a day. */
static int seconds(const char *v, int *out)
{
	char *end;
	long n;

	if (!v || !*v)
		return -1;
	n = strtol(v, &end, 10);
	if (*end || n < 1 || n > 86400)
		return -1;
	*out = (int)n;
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* ------------------------------------------------------------ commands */

/* The instance files named, loaded and checked together: any error and
 * nothing is loaded (the caller does nothing). */
static int load_named(const struct global_conf *g, struct args *a,
		      struct instance_conf *ics)
{
	int bad = 0;

	for (int i = 0; i < a->n; i++) {
		int r = config_load_instance(g, a->names[i], &ics[i]);

		if (r < 0 || config_check_macs(g, &ics[i]) < 0)
			bad++;
	}
	if (bad) {
		err("configuration errors: nothing done");
		return -EX_CONFIG;
	}
	return a->n;
}

/* start --autostart: every instance file marked autostart that loads and
 * checks; the others are reported (each error once) and skipped, so one
 * bad file does not keep the rest from starting.  *bad counts them. */
static int load_autostart(const struct global_conf *g, struct args *a,
			  struct instance_conf *ics, int *bad)
{
	static char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
	int n;

	*bad = config_report_odd_files();
	n = config_instance_names(names, MAX_INSTANCES);
	a->n = 0;
	for (int i = 0; i < n; i++) {
		if (config_load_instance(g, names[i], &ics[a->n]) < 0) {
			err("%s: bad configuration: not started", names[i]);
			(*bad)++;
			continue;
		}
		if (!instance_autostart(&ics[a->n]))
			continue;
		if (config_check_macs(g, &ics[a->n]) < 0) {
			err("%s: bad configuration: not started", names[i]);
			(*bad)++;
			continue;
		}
		snprintf(a->names[a->n], NAME_MAX_LEN + 1, "%s", names[i]);
		a->n++;
	}
	return a->n;
}

static int cmd_create(const struct global_conf *g, struct args *a)
{
	int r = instance_create(g, a->names[0], &a->co);

	/* Under systemd autostart is the unit's enablement; enabling also
	 * reloads systemd, so the new file's limits are in its unit. */
	if (r == EX_OK && a->co.autostart && systemd_in_charge() &&
	    !systemd_unit_enabled(a->names[0]) && systemd_enable(a->names[0], true) < 0)
		return EX_FAIL;
	return r;
}

/* enable|disable NAME...: autostart at boot on or off. */
static int set_autostart(const struct global_conf *g, struct args *a, bool on)
{
	static struct instance_conf ic;
	int rc = EX_OK;

	for (int k = 0; k < a->n; k++) {
		int r;

		if (on && config_load_instance(g, a->names[k], &ic) < 0)
			r = EX_CONFIG;
		else
			r = instance_set_autostart(a->names[k], on);
		if (r == EX_OK && systemd_in_charge() &&
		    systemd_unit_enabled(a->names[k]) != on &&
		    systemd_enable(a->names[k], on) < 0)
			r = EX_FAIL;
		if (r == EX_OK)
			msg("%s: autostart %s", a->names[k], on ? "on" : "off");
		if (r && !rc)
			rc = r;
	}
	return rc;
}

static int cmd_enable(const struct global_conf *g, struct args *a)
{
	return set_autostart(g, a, true);
}

static int cmd_disable(const struct global_conf *g, struct args *a)
{
	return set_autostart(g, a, false);
}

/* The drop-in uml-skas-generator writes for NAME's unit. */
static int cmd_unit_config(const struct global_conf *g, struct args *a)
{
	static struct instance_conf ic;
	char text[1024];

	if (config_load_instance_unit(g, a->names[0], &ic) < 0)
		return EX_CONFIG;
	if (systemd_unit_config(&ic, text, sizeof(text)) < 0)
		return EX_FAIL;
	fputs(text, stdout);
	return EX_OK;
}

static int cmd_start(const struct global_conf *g, struct args *a)
{
	static struct instance_conf ics[MAX_INSTANCES];
	static bool was_running[MAX_INSTANCES];
	int n, bad = 0, rc = EX_OK;
	int wait = a->wait_ip ? (a->wait_s ? a->wait_s : 60) : 0;

	if (a->autostart && a->n)
		return usage(a->cmd, "name instances or --autostart, not both");
	if (!a->autostart && a->n == 0)
		return usage(a->cmd, "name an instance, or --autostart");
	n = a->autostart ? load_autostart(g, a, ics, &bad) : load_named(g, a, ics);
	if (n < 0)
		return -n;
	if (n == 0 && !bad)
		msg("no instance is marked autostart");
	/* The mode note below is for the instances this start starts. */
	for (int i = 0; i < n; i++) {
		struct inst_info info;

		instance_info(ics[i].name, &info);
		was_running[i] = info.state == INST_RUNNING;
	}
	if (!a->direct && systemd_in_charge()) {
		rc = systemd_start(ics, n);
		if (rc == EX_OK && wait && n == 1 && ics[0].nets[0].used) {
			char ip[64];

			if (instance_wait_lease(&ics[0], wait, ip, sizeof(ip)) < 0) {
				err("%s: no DHCP lease after %d s", ics[0].name, wait);
				rc = EX_FAIL;
			} else {
				msg("%s: address %s", ics[0].name, ip);
			}
		}
	} else {
		/* The unit's own start: an instance already running outside it
		 * must not be adopted (through PIDFile=) by a unit whose limits
		 * and journal it does not have. */
		for (int i = 0; i < n && systemd_inside_unit(); i++) {
			struct inst_info info;

			instance_info(ics[i].name, &info);
			if (info.state == INST_RUNNING) {
				err("%s: already running outside its unit; stop it first (umlctl stop --direct %s)",
				    ics[i].name, ics[i].name);
				return EX_FAIL;
			}
		}
		for (int i = 0; i < n; i++) {
			int r = instance_start(g, &ics[i], n == 1 ? wait : 0);

			if (r && !rc)
				rc = r;
		}
	}
	if (wait && n > 1) {
		double t0 = now_s();

		for (int i = 0; i < n; i++) {
			char ip[64];
			int left = wait - (int)(now_s() - t0);

			if (!ics[i].nets[0].used)
				continue;
			if (instance_wait_lease(&ics[i], left > 0 ? left : 1, ip,
						sizeof(ip)) < 0) {
				err("%s: no DHCP lease after %d s", ics[i].name, wait);
				rc = EX_FAIL;
			} else {
				msg("%s: address %s", ics[i].name, ip);
			}
		}
	}
	for (int i = 0; i < n; i++) {
		struct inst_info info;

		if (was_running[i])
			continue;
		instance_info(ics[i].name, &info);
		if (info.state == INST_RUNNING)
			instance_mode_note(&ics[i]);
	}
	if (bad) {
		err("%d bad instance file%s: not started (umlctl check)", bad,
		    bad == 1 ? "" : "s");
		return rc ? rc : EX_CONFIG;
	}
	return rc;
}

static int cmd_stop(const struct global_conf *g, struct args *a)
{
	if (a->all && a->n)
		return usage(a->cmd, "name instances or --all, not both");
	if (a->all) {
		/* Every instance with a valid name, a broken file or not. */
		a->n = config_instance_names(a->names, MAX_INSTANCES);
		if (a->n < 0)
			return EX_FAIL;
	} else if (a->n == 0) {
		return usage(a->cmd, "name an instance, or --all");
	}
	if (!a->direct && systemd_in_charge()) {
		/* Running units stop through systemd (their ExecStop is
		 * `umlctl stop --direct`); an instance running outside its
		 * unit is stopped here, as without systemd. */
		static char units[MAX_INSTANCES][NAME_MAX_LEN + 1];
		static char here[MAX_INSTANCES][NAME_MAX_LEN + 1];
		int nu = 0, nh = 0, r1, r2;

		if (a->timeout)
			msg("note: --timeout does not apply to units; their stop uses stop_timeout of uml-skas.conf");
		/* a->names stays as it is: restart starts the same list. */
		for (int i = 0; i < a->n; i++) {
			if (systemd_unit_active(a->names[i]))
				memcpy(units[nu++], a->names[i], NAME_MAX_LEN + 1);
			else
				memcpy(here[nh++], a->names[i], NAME_MAX_LEN + 1);
		}
		r1 = systemd_stop(units, nu);
		r2 = nh ? instance_stop_many(g, here, nh,
					     a->timeout ? a->timeout : g->stop_timeout) : EX_OK;
		return r1 ? r1 : r2;
	}
	return instance_stop_many(g, a->names, a->n,
				  a->timeout ? a->timeout : g->stop_timeout);
}

static int cmd_restart(const struct global_conf *g, struct args *a)
{
	int r = cmd_stop(g, a);

	return r ? r : cmd_start(g, a);
}

/* kill and destroy go on after a failure: the first one is the result. */
static int cmd_kill(const struct global_conf *g, struct args *a)
{
	int rc = EX_OK;

	(void)g;
	for (int k = 0; k < a->n; k++) {
		int r = instance_kill(a->names[k]);

		/* A unit waiting to restart (Restart=) would bring the
		 * instance back: its stop job cancels that. */
		if (systemd_in_charge() && systemd_unit_active(a->names[k])) {
			char one[1][NAME_MAX_LEN + 1];

			snprintf(one[0], sizeof(one[0]), "%s", a->names[k]);
			if (systemd_stop(one, 1) && !r)
				r = EX_FAIL;
		}

		if (r && !rc)
			rc = r;
	}
	return rc;
}

static int status_or_list(const struct global_conf *g, struct args *a, bool list)
{
	static struct instance_conf ic;
	int rc = EX_OK;

	if (a->n == 0) {
		a->n = config_instance_names(a->names, MAX_INSTANCES);
		if (a->n < 0)
			return EX_FAIL;
	}
	if (a->json)
		return json_instances(g, a->names, a->n, a->autostart);
	if (list)
		instance_list_header();
	for (int i = 0; i < a->n; i++) {
		int r;

		if (config_load_instance_quiet(g, a->names[i], &ic) < 0) {
			struct inst_info info;

			instance_info(a->names[i], &info);
			if (list) {
				msg("%-10s  %-8s  (bad or missing configuration file: umlctl check)",
				    a->names[i], state_name(info.state));
			} else {
				config_load_instance(g, a->names[i], &ic);
				msg("%s: %s (configuration error)", a->names[i],
				    state_name(info.state));
			}
			if (!rc)
				rc = EX_CONFIG;
			continue;
		}
		if (a->autostart && !instance_autostart(&ic))
			continue;
		if (list) {
			instance_list_line(g, &ic);
			continue;
		}
		r = instance_status(g, &ic);
		if (r && !rc)
			rc = r;
	}
	return list ? (rc == EX_CONFIG ? rc : EX_OK) : rc;
}

static int cmd_status(const struct global_conf *g, struct args *a)
{
	return status_or_list(g, a, false);
}

static int cmd_list(const struct global_conf *g, struct args *a)
{
	return status_or_list(g, a, true);
}

static int cmd_names(const struct global_conf *g, struct args *a)
{
	static struct instance_conf ic;
	int n = config_instance_names(a->names, MAX_INSTANCES);

	for (int k = 0; k < n; k++) {
		if (a->autostart &&
		    (config_load_instance_quiet(g, a->names[k], &ic) < 0 ||
		     !instance_autostart(&ic)))
			continue;
		msg("%s", a->names[k]);
	}
	return EX_OK;
}

static int cmd_logs(const struct global_conf *g, struct args *a)
{
	(void)g;
	return instance_logs(a->names[0], a->lines, a->follow);
}

static int cmd_console(const struct global_conf *g, struct args *a)
{
	(void)g;
	if (a->timeout && !a->run)
		return usage(a->cmd, "--timeout: only with --run");
	if (a->run)
		return console_run(a->names[0], a->run, a->timeout ? a->timeout : 30);
	return console_attach(a->names[0]);
}

static int cmd_mconsole(const struct global_conf *g, struct args *a)
{
	char cmd[512] = "", reply[65536];
	struct inst_info info;
	int r;

	(void)g;
	if (a->nwords == 0)
		return usage(a->cmd, "want a command after the name");
	for (int i = 0; i < a->nwords; i++) {
		if (strlen(cmd) + strlen(a->words[i]) + 2 > sizeof(cmd))
			return usage(a->cmd, "command too long");
		if (i > 0)
			strcat(cmd, " ");
		strcat(cmd, a->words[i]);
	}
	instance_info(a->names[0], &info);
	if (info.state != INST_RUNNING) {
		err("%s: not running", a->names[0]);
		return EX_NOTRUNNING;
	}
	r = mconsole_request(a->names[0], cmd, reply, sizeof(reply));
	if (r < 0) {
		err("%s: mconsole: %s", a->names[0], reply);
		return EX_FAIL;
	}
	if (reply[0])
		printf("%s%s", reply[0] == '\n' ? reply + 1 : reply,
		       reply[strlen(reply) - 1] == '\n' ? "" : "\n");
	if (r > 0)
		err("%s: mconsole %s: the guest answered with an error", a->names[0], cmd);
	return r ? EX_FAIL : EX_OK;
}

/* A login name ssh gets as one argument; kept to the usual characters. */
static bool valid_login(const char *u)
{
	size_t n = strlen(u);

	return n > 0 && n <= 32 && strchr("abcdefghijklmnopqrstuvwxyz_", u[0]) &&
	       strspn(u, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int cmd_ssh(const struct global_conf *g, struct args *a)
{
	const char *user = a->user ? a->user : "root";

	if (!valid_login(user))
		return usage(a->cmd, "--user: want a login name (a-z, 0-9, '_', '.', '-')");
	return instance_ssh(g, a->names[0], user, a->words, a->nwords);
}

/* Words as one shell command line (ssh's way); a leading "--" ends the
 * options. */
static int join_words(char **words, int n, char *out, size_t len)
{
	size_t used = 0;

	if (n > 0 && !strcmp(words[0], "--")) {
		words++;
		n--;
	}
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		size_t w = strlen(words[i]);

		if (used + w + 2 > len)
			return -1;
		if (i)
			out[used++] = ' ';
		memcpy(out + used, words[i], w + 1);
		used += w;
	}
	return n > 0 ? 0 : -1;
}

static int cmd_exec(const struct global_conf *g, struct args *a)
{
	static char cmd[65536];

	(void)g;
	if (join_words(a->words, a->nwords, cmd, sizeof(cmd)) < 0)
		return usage(a->cmd, "want a command (at most 64 KiB) after NAME --");
	return instance_exec(a->names[0], cmd, a->timeout, false);
}

static int cmd_destroy(const struct global_conf *g, struct args *a);

/* lab up: files, then the nodes started as any instance, then each
 * node's agent asked until it answers (lab-boot has run by then). */
static int lab_up(const struct global_conf *g, struct args *a, const char *dir)
{
	static struct lab lab;
	int r = lab_prepare(g, dir, a->lab_name, &lab), rc;
	int wait = a->timeout ? a->timeout : 120;
	double t0 = now_s();

	if (r)
		return r;
	if (!lab.n && lab_find(dir, &lab, false) < 0)
		return EX_FAIL;
	a->n = 0;
	for (int i = 0; i < lab.n; i++)
		snprintf(a->names[a->n++], NAME_MAX_LEN + 1, "%s", lab.nodes[i].instance);
	msg("lab %s: starting %d node%s", lab.name, lab.n, lab.n == 1 ? "" : "s");
	rc = cmd_start(g, a);
	for (int i = 0; i < lab.n && rc == EX_OK; i++) {
		int left = wait - (int)(now_s() - t0);

		if (instance_exec(lab.nodes[i].instance, "true", left > 1 ? left : 1,
				  true) != 0) {
			err("lab %s: node %s not ready after %d s (umlctl logs %s)",
			    lab.name, lab.nodes[i].name, wait, lab.nodes[i].instance);
			rc = EX_FAIL;
		}
	}
	if (rc == EX_OK)
		msg("lab %s: %d node%s up in %.1f s", lab.name, lab.n,
		    lab.n == 1 ? "" : "s", now_s() - t0);
	return rc;
}

static int lab_down(const struct global_conf *g, struct args *a, struct lab *lab)
{
	char name[NAME_MAX_LEN + 1], dir[PATH_LEN];
	int r;

	/* After a lab up or down of this lab that held its lock, the
	 * record as it is now: gone (down already), or of another folder
	 * (taken down and up again from there: not this lab any more). */
	snprintf(name, sizeof(name), "%s", lab->name);
	snprintf(dir, sizeof(dir), "%s", lab->dir);
	if (lock_lab(name) < 0)
		return EX_FAIL;
	errno = 0;
	if (lab_load(name, lab) < 0) {
		if (errno != ENOENT) {
			err("lab %s: cannot read its record: %s", name,
			    errno ? strerror(errno) : "not a lab record");
			return EX_FAIL;
		}
		msg("lab %s: down already", name);
		return EX_OK;
	}
	if (strcmp(lab->dir, dir)) {
		err("lab %s: now the lab of %s, brought up meanwhile: left alone", name, lab->dir);
		return EX_FAIL;
	}
	a->n = 0;
	for (int i = 0; i < lab->n; i++) {
		if (!lab_owns(lab, lab->nodes[i].instance)) {
			msg("lab %s: %s is not this lab's any more: left alone", lab->name,
			    lab->nodes[i].instance);
			continue;
		}
		snprintf(a->names[a->n++], NAME_MAX_LEN + 1, "%s", lab->nodes[i].instance);
	}
	/* All nodes stop at once (destroy stops one after the other). */
	r = a->n ? cmd_stop(g, a) : EX_OK;
	if (r == EX_OK && a->n)
		r = cmd_destroy(g, a);
	if (r == EX_OK)
		r = lab_remove(lab);
	if (r == EX_OK)
		msg("lab %s: down", lab->name);
	return r;
}

static int cmd_lab(const struct global_conf *g, struct args *a)
{
	static struct lab lab;
	const char *verb = a->nwords ? a->words[0] : "";
	const char *dir = a->nwords > 1 ? a->words[1] : NULL;
	static char cmd[65536];

	if (!strcmp(verb, "status") && !dir) {
		static char names[MAX_LABS][NAME_MAX_LEN + 1];
		int n = lab_names(names, MAX_LABS);

		struct json_object *all = a->json ? json_object_new_array() : NULL;

		for (int i = 0; i < n; i++) {
			if (lab_load(names[i], &lab) != 0)
				continue;
			if (all)
				json_object_array_add(all, lab_status_json(&lab));
			else
				lab_status(&lab, false);
		}
		if (all) {
			puts(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY));
			json_object_put(all);
		} else if (n <= 0) {
			msg("no lab is up");
		}
		return n < 0 ? EX_FAIL : EX_OK;
	}
	if (!dir)
		return usage(a->cmd, "want up|down|status|exec|console DIR");
	if (a->lab_name && strcmp(verb, "up"))
		return usage(a->cmd, "--name: only with up");
	if (a->json && strcmp(verb, "status"))
		return usage(a->cmd, "--output: only with status");
	if (geteuid() != 0 && strcmp(verb, "status")) {
		err("lab %s: needs root", verb);
		return EX_FAIL;
	}
	if (!strcmp(verb, "up") && a->nwords == 2)
		return lab_up(g, a, dir);
	if (!strcmp(verb, "down") && a->nwords == 2) {
		int found = lab_find(dir, &lab, true);

		return found < 0 ? EX_FAIL : found > 0 ? EX_OK : lab_down(g, a, &lab);
	}
	if (lab_find(dir, &lab, false) < 0)
		return EX_FAIL;
	if (!strcmp(verb, "status") && a->nwords == 2)
		return lab_status(&lab, a->json);
	if ((!strcmp(verb, "exec") && a->nwords >= 4) ||
	    (!strcmp(verb, "console") && a->nwords == 3)) {
		const char *node = a->words[2];

		for (int i = 0; i < lab.n; i++) {
			if (strcmp(lab.nodes[i].name, node))
				continue;
			if (!strcmp(verb, "console"))
				return console_attach(lab.nodes[i].instance);
			if (join_words(a->words + 3, a->nwords - 3, cmd, sizeof(cmd)) < 0)
				return usage(a->cmd, "want a command (at most 64 KiB) after NODE --");
			return instance_exec(lab.nodes[i].instance, cmd, a->timeout, false);
		}
		err("lab %s: no node %s", lab.name, node);
		return EX_USAGE;
	}
	return usage(a->cmd, "want up|down|status DIR, exec DIR NODE -- CMD, or console DIR NODE");
}

static int cmd_destroy(const struct global_conf *g, struct args *a)
{
	int rc = EX_OK;

	for (int k = 0; k < a->n; k++) {
		int r = EX_OK;

		/* Under systemd the unit goes first, outside the instance's
		 * lock (its ExecStop takes that lock): stopped, so that no
		 * Restart= brings it back, and disabled. */
		if (systemd_in_charge()) {
			char one[1][NAME_MAX_LEN + 1];

			snprintf(one[0], sizeof(one[0]), "%s", a->names[k]);
			if (systemd_unit_active(a->names[k]))
				r = systemd_stop(one, 1);
			if (r == EX_OK && systemd_unit_enabled(a->names[k]) &&
			    systemd_enable(a->names[k], false) < 0)
				r = EX_FAIL;
			if (r == EX_OK)
				systemd_forget(a->names[k]);
		}
		if (r == EX_OK)
			r = instance_destroy(g, a->names[k], a->keep_disk);

		if (r && !rc)
			rc = r;
	}
	return rc;
}

static int cmd_snapshot(const struct global_conf *g, struct args *a)
{
	const char *name = a->names[0];

	if (a->list && a->delete)
		return usage(a->cmd, "--list or --delete, not both");
	if (a->json && !a->list)
		return usage(a->cmd, "--output: only with --list");
	if (a->list) {
		if (a->nwords)
			return usage(a->cmd, "--list: want the instance name alone");
		return disk_snapshot_list(g, name, a->json);
	}
	if (a->delete) {
		if (a->nwords != 1)
			return usage(a->cmd, "--delete: want NAME SNAPSHOT");
		return disk_snapshot_delete(name, a->words[0]);
	}
	if (a->nwords > 1)
		return usage(a->cmd, "want NAME and at most one snapshot name");
	return disk_snapshot(name, a->nwords ? a->words[0] : NULL);
}

static int cmd_revert(const struct global_conf *g, struct args *a)
{
	if (a->nwords > 1)
		return usage(a->cmd, "want NAME and at most one snapshot name");
	return disk_revert(g, a->names[0], a->nwords ? a->words[0] : NULL);
}

static int cmd_clone(const struct global_conf *g, struct args *a)
{
	if (a->nwords != 1)
		return usage(a->cmd, "want FROM TO (two instance names)");
	return disk_clone(g, a->names[0], a->words[0]);
}

static int cmd_image(const struct global_conf *g, struct args *a)
{
	if (a->nwords >= 2 && !strcmp(a->words[0], "unpack"))
		return image_unpack(g, a->words + 1, a->nwords - 1);
	if (a->nwords == 1 && !strcmp(a->words[0], "list"))
		return image_list();
	if (a->nwords >= 2 && !strcmp(a->words[0], "keep")) {
		for (int i = 1; i < a->nwords; i++)
			if (a->words[i][0] != '/')
				return usage(a->cmd, "keep: want absolute paths of image files");
		return image_keep(a->words + 1, a->nwords - 1);
	}
	return usage(a->cmd, "want keep FILE..., unpack NAME... or list");
}

static int cmd_check(const struct global_conf *g, struct args *a)
{
	int nets = config_check_networks(g);
	int r = config_check_all(g);

	if (r < 0 || nets < 0)
		return EX_CONFIG;
	/* Under systemd autostart is the unit's enablement; a file saying
	 * otherwise was edited by hand (the SysV script would follow it). */
	if (systemd_in_charge()) {
		static struct instance_conf ic;
		int n = config_instance_names(a->names, MAX_INSTANCES);

		for (int k = 0; k < n; k++)
			if (config_load_instance_quiet(g, a->names[k], &ic) == 0 &&
			    ic.autostart != systemd_unit_enabled(ic.name))
				msg("note: %s: autostart = %s in %s, but uml-skas@%s.service is %s (umlctl %s %s)",
				    ic.name, ic.autostart ? "yes" : "no", ic.file, ic.name,
				    ic.autostart ? "not enabled" : "enabled",
				    ic.autostart ? "enable" : "disable", ic.name);
	}
	msg("configuration OK: %s%s, %d instance file%s and %d network file%s", g->file,
	    access(g->file, F_OK) ? " (missing: all defaults)" : "", r,
	    r == 1 ? "" : "s", nets, nets == 1 ? "" : "s");
	return EX_OK;
}

/* network up|down hold the network lock; down refuses while an instance
 * runs (it checks under the lock, and starts take it for their TAPs). */
static int cmd_doctor(const struct global_conf *g, struct args *a)
{
	(void)a;
	return doctor(g);
}

/* The ports on the bridge (TAPs of instances, running or starting: TAPs
 * are added under the network lock, which down holds), named in an error:
 * the one thing `network down` must not pull from under them. */
static int ports_on_bridge(const char *bridge)
{
	char path[PATH_LEN], names[1024] = "";
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/brif", bridge);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n++)
			strncat(names, " ", sizeof(names) - strlen(names) - 1);
		strncat(names, e->d_name, sizeof(names) - strlen(names) - 1);
	}
	closedir(d);
	if (n)
		err("network down: %s still has %s %s (stop the instances on it first)",
		    bridge, n == 1 ? "a port:" : "ports:", names);
	return n;
}

static int network_list(const struct global_conf *g, bool json)
{
	static char names[MAX_NETWORKS + 1][NAME_MAX_LEN + 1];
	static struct network n;
	struct proc_id dns;
	int count = config_network_names(names + 1, MAX_NETWORKS), st;

	strcpy(names[0], DEFAULT_NETWORK);
	if (json)
		return json_networks(g, names, (count < 0 ? 0 : count) + 1);
	msg("%-10s  %-15s  %-18s  %-8s  %s", "NETWORK", "BRIDGE", "ADDRESS", "STATE",
	    "KIND");
	for (int i = 0; i < (count < 0 ? 0 : count) + 1; i++) {
		if (config_load_network(g, names[i], &n) < 0) {
			msg("%-10s  %-15s  %-18s  %-8s  %s", names[i], "-", "-", "-",
			    "bad file (umlctl check)");
			continue;
		}
		st = hostnet_state(&n, &dns);
		msg("%-10s  %-15s  %-18s  %-8s  %s%s%s", n.name, n.bridge,
		    n.address[0] ? n.address : "none",
		    st == EX_OK ? "up" : st == EX_STOPPED ? "down" : "partly",
		    hostnet_kind(&n), !n.dhcp ? "" : n.dns ? ", dhcp" : ", dhcp without dns",
		    n.address6[0] ? ", ipv6" : "");
	}
	return EX_OK;
}

/* network up|down hold the network lock; down refuses while an instance
 * runs on the network (the default one: while any instance runs).  It
 * checks under the lock, and starts take it for their TAPs. */
static int cmd_network(const struct global_conf *g, struct args *a)
{
	const char *verb = a->nwords >= 1 ? a->words[0] : "";
	const char *name = a->nwords == 2 ? a->words[1] : DEFAULT_NETWORK;
	static struct network n;
	int lock, r = EX_FAIL, lr;

	if (!strcmp(verb, "list") && a->nwords == 1)
		return network_list(g, a->json);
	if ((strcmp(verb, "up") && strcmp(verb, "down") && strcmp(verb, "status")) ||
	    a->nwords > 2)
		return usage(a->cmd, "want up, down or status [NETWORK], or list");
	if (a->json && strcmp(verb, "status"))
		return usage(a->cmd, "--output: only with status and list");
	if (a->json) {
		char one[1][NAME_MAX_LEN + 1];

		if (strcmp(name, DEFAULT_NETWORK) && !valid_name(name))
			return usage(a->cmd, "not a network name");
		snprintf(one[0], sizeof(one[0]), "%s", name);
		return json_networks(g, one, 1);
	}
	lr = config_load_network(g, name, &n);
	/* down takes apart what up made even when the file is gone or
	 * broken: the bridge up recorded, the table and rules of the name. */
	if (lr < 0 && !strcmp(verb, "down") && strcmp(name, DEFAULT_NETWORK) &&
	    valid_name(name)) {
		hostnet_leftover(name, &n);
		lr = 0;
	}
	if (lr < 0)
		return EX_CONFIG;
	if (!strcmp(verb, "status"))
		return hostnet_status(&n);
	if (geteuid() != 0) {
		err("network %s: needs root", verb);
		return EX_FAIL;
	}
	lock = lock_network();
	if (lock < 0)
		return EX_FAIL;
	if (!strcmp(verb, "up")) {
		r = hostnet_up(g, &n) ? EX_FAIL : EX_OK;
	} else if (!strcmp(n.name, DEFAULT_NETWORK)) {
		static char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
		int count = config_instance_names(names, MAX_INSTANCES), running = 0;

		for (int i = 0; i < count; i++) {
			struct inst_info info;

			instance_info(names[i], &info);
			if (info.state == INST_RUNNING) {
				err("network down: %s is running (stop it first)", names[i]);
				running++;
			}
		}
		r = running ? EX_FAIL : hostnet_down(&n) ? EX_FAIL : EX_OK;
	} else {
		r = ports_on_bridge(n.bridge) ? EX_FAIL :
		    hostnet_down(&n) ? EX_FAIL : EX_OK;
	}
	/* the guard without that network (guard.c: it goes with the
	 * last network it guards) */
	if (r == EX_OK && net_write_hosts(g) < 0)
		r = EX_FAIL;
	unlock(lock);
	return r;
}

static const struct command commands[] = {
	{ "create", "NAME [--image tiny|debian|PATH] [--mem SIZE]\n"
"              [--cpus N] [--cpus-pin CPUS|auto] [--net dhcp|none]\n"
"              [--mac MAC] [--ssh-key FILE] [--autostart] [--reuse-disk]",
	  "Writes /etc/uml-skas/instances/NAME.conf (checked like any other\n"
	  "instance file).  A second create with the same options does nothing;\n"
	  "with other options it is an error.\n"
	  "  --image     tiny, debian or an image file (default: image= of uml-skas.conf)\n"
	  "  --mem       memory, like 256M\n"
	  "  --cpus      virtual CPUs, 1 (the default) to the host's CPUs\n"
	  "  --cpus-pin  the host CPUs to run on, like 1 or 0-1, or auto (the\n"
	  "              least used ones, as many as --cpus)\n"
	  "  --net       dhcp (one interface on the bridge) or none\n"
	  "  --mac       the interface's MAC (default: derived from NAME)\n"
	  "  --ssh-key   a public key file for root's authorized_keys\n"
	  "  --autostart start at boot\n"
	  "  --reuse-disk  boot the disk destroy --keep-disk kept of NAME\n"
	  "              (without it, such a disk makes create fail)",
	  opts_create, NAMES_ONE, false, false, cmd_create },
	{ "start", "NAME...|--autostart [--wait-ip[=S]] [--direct]",
	  "Boots the instances (running ones are left alone) and returns when\n"
	  "UML answers on its management console.  --autostart: every instance\n"
	  "marked autostart; a bad instance file is reported and skipped (exit 6).\n"
	  "Where systemd runs, this starts uml-skas@NAME.service.\n"
	  "  --wait-ip[=S]  also wait for the DHCP lease, S seconds (default 60)\n"
	  "  --direct       start the instance here, not through its unit (the\n"
	  "                 unit's own ExecStart)",
	  opts_start, NAMES_ANY, false, false, cmd_start },
	{ "stop", "NAME...|--all [--timeout S] [--direct]",
	  "Clean shutdown of all named instances at once (mconsole cad), killed\n"
	  "after S seconds (default: stop_timeout of uml-skas.conf).  Where\n"
	  "systemd runs, a running unit is stopped through systemctl.\n"
	  "  --direct  stop the instance here, not through its unit (the unit's\n"
	  "            own ExecStop)",
	  opts_stop, NAMES_ANY, false, false, cmd_stop },
	{ "restart", "NAME... [--timeout S] [--wait-ip[=S]] [--direct]",
	  "stop, then start.",
	  opts_restart, NAMES_SOME, false, false, cmd_restart },
	{ "enable", "NAME...",
	  "Starts the instances at boot: under systemd, enables\n"
	  "uml-skas@NAME.service; also sets autostart = yes in the file.",
	  opts_none, NAMES_SOME, false, false, cmd_enable },
	{ "disable", "NAME...",
	  "No start at boot: disables the unit, sets autostart = no.",
	  opts_none, NAMES_SOME, false, false, cmd_disable },
	{ "unit-config", "NAME",
	  "Prints the systemd drop-in of NAME's unit (MemoryMax=, TasksMax=,\n"
	  "AllowedCPUs=, Restart=), as uml-skas-generator writes it.",
	  opts_none, NAMES_ONE, false, true, cmd_unit_config },
	{ "kill", "NAME...", "Kills the instances at once (no guest shutdown).",
	  opts_none, NAMES_SOME, false, false, cmd_kill },
	{ "status", "[NAME...] [--autostart] [-o text|json]",
	  "State, pids, process mode, addresses, CPU, uptime, last exit.\n"
	  "Exit status (LSB): 0 running, 1 dead or failed, 3 stopped.\n"
	  "-o json: an array of one object per instance (keys in umlctl(8));\n"
	  "exit status 0, or 6 when an instance file has errors.",
	  opts_status, NAMES_ANY, false, true, cmd_status },
	{ "list", "[--autostart] [-o text|json]",
	  "One line per instance; with -o json the same array as status -o json.",
	  opts_status, NAMES_NONE, false, true, cmd_list },
	{ "names", "[--autostart]", "Instance names, one per line (for scripts).",
	  opts_autostart, NAMES_NONE, false, true, cmd_names },
	{ "logs", "[-n N] [-f] NAME",
	  "Prints the instance's console log (what it printed at its boots),\n"
	  "with escape sequences and control characters left out.\n"
	  "  -n, --lines N   only the last N lines\n"
	  "  -f, --follow    keep printing what it prints (Ctrl-C ends)",
	  opts_logs, NAMES_ONE, false, true, cmd_logs },
	{ "console", "NAME [--run CMD [--timeout S]]",
	  "Attaches to the instance's console (Ctrl-] detaches), or with --run\n"
	  "types one command line and returns its output and exit status\n"
	  "(--timeout: seconds to wait for it, default 30).",
	  opts_console, NAMES_ONE, false, false, cmd_console },
	{ "mconsole", "NAME CMD...",
	  "Sends one management console request (version, sysrq X, cad, halt,\n"
	  "config DEV, proc FILE, ...) and prints the answer.",
	  opts_none, NAMES_ONE, true, false, cmd_mconsole },
	{ "ssh", "[--user U] NAME [COMMAND...]",
	  "Runs ssh to the instance's DHCP address (as root, or --user U), with\n"
	  "the host keys the instance printed on its console at this boot as the\n"
	  "only known ones: a machine answering there with another key is\n"
	  "refused, and ~/.ssh/known_hosts is left alone (when the console log\n"
	  "cannot be read, ssh checks the key there as usual).  ssh uses your keys\n"
	  "and agent as usual: give the public one to create --ssh-key.  Options\n"
	  "go before NAME; words after it are the remote command.",
	  opts_ssh, NAMES_ONE, true, true, cmd_ssh },
	{ "destroy", "[--keep-disk] NAME...",
	  "Stops the instances, then removes their files and state\n"
	  "(/var/lib/uml-skas/NAME: the COW disk, its snapshots, the console log).\n"
	  "  --keep-disk  keep the disk and its snapshots: create --reuse-disk\n"
	  "               NAME boots it again; destroy NAME (without it) removes them",
	  opts_destroy, NAMES_SOME, false, false, cmd_destroy },
	{ "snapshot", "NAME [SNAP] | --list NAME [-o json] | --delete NAME SNAP",
	  "Keeps a copy of the stopped instance's disk as SNAP (default\n"
	  "snap-DATE-TIME, UTC), root's alone, in /var/lib/uml-skas/NAME/snapshots:\n"
	  "a reflink where the file system has them (it costs no space until\n"
	  "the disks differ), else a copy of the blocks in use.\n"
	  "  --list    the snapshots, oldest first, and whether each can boot\n"
	  "            on the instance's image as it is now\n"
	  "  --delete  removes SNAP",
	  opts_snapshot, NAMES_ONE, true, false, cmd_snapshot },
	{ "revert", "NAME [SNAP]",
	  "Puts the stopped instance's disk back to snapshot SNAP (default:\n"
	  "the newest).  What the disk had since is lost; the snapshot stays.\n"
	  "A snapshot made on an image that has changed since is refused.",
	  opts_none, NAMES_ONE, true, false, cmd_revert },
	{ "clone", "FROM TO",
	  "A new instance TO with FROM's settings and a copy of its disk (FROM\n"
	  "stopped; a reflink where the file system has them).  TO gets MACs,\n"
	  "a user and an identity of its own (the Debian image makes a new\n"
	  "machine id and SSH host keys at its first boot), autostart = no;\n"
	  "fixed addresses, port forwards and extra disks are not cloned (each\n"
	  "one left out is said); a lab's node is not cloned at all.  Snapshots\n"
	  "stay FROM's.",
	  opts_none, NAMES_ONE, true, false, cmd_clone },
	{ "exec", "[--timeout S] NAME -- COMMAND...",
	  "Runs COMMAND (one shell command line: the words joined by spaces) in\n"
	  "the instance as root, by the guest's agent on its second serial line\n"
	  "(not by typing into a shell).  Prints its output and standard error\n"
	  "and exits with its exit status; 124 when --timeout S passed first.",
	  opts_exec, NAMES_ONE, true, false, cmd_exec },
	{ "lab", "up [--name LAB] [--timeout S] DIR | down DIR | status [DIR] [-o json]\n"
	  "             | exec DIR NODE -- COMMAND... | console DIR NODE",
	  "A Kathara/Netkit lab folder (lab.conf, NODE/, NODE.startup, shared/,\n"
	  "shared.startup) as instances LAB-NODE and networks LAB-DOMAIN (one\n"
	  "isolated bridge per collision domain).  up writes their files, starts\n"
	  "the nodes and waits (S seconds, default 120) until each has run its\n"
	  "startup scripts; LAB is the folder's name unless --name gives one.\n"
	  "down stops the nodes and removes everything up made.  exec runs a\n"
	  "command in a node (see exec), console attaches to its console.",
	  opts_lab, NAMES_NONE, true, false, cmd_lab },
	{ "image", "keep FILE... | unpack NAME... | list",
	  "keep: for the disks made on each image FILE as it is now, keeps a\n"
	  "copy of it in /var/lib/uml-skas/.images (a hard link, reflink or copy\n"
	  "with its mtime), which start then boots those disks on once FILE\n"
	  "has changed; the image packages run it before an upgrade.\n"
	  "A kept copy goes once no disk or snapshot is made on it (destroy,\n"
	  "revert, snapshot --delete).  list: the kept copies and their users.\n"
	  "unpack: an image shipped compressed (image_dir/NAME.ext4.zst) is\n"
	  "unpacked into /var/cache/uml-skas/images/NAME.ext4 when an instance\n"
	  "first needs it; unpack does it now (the image packages run it).",
	  opts_none, NAMES_NONE, true, false, cmd_image },
	{ "check", "", "Checks uml-skas.conf, every instance file and every network file.",
	  opts_none, NAMES_NONE, false, true, cmd_check },
	{ "doctor", "",
	  "Checks what instances need from the host: the host module (loaded,\n"
	  "its group, its version), the UML kernel, tmpdir, free disk, the\n"
	  "bridge, dnsmasq, nftables chains that would drop DHCP, and the\n"
	  "configuration files.  Prints ok, warn or FAIL per check with a fix\n"
	  "for each problem.  Exit status 1 when something failed.",
	  opts_none, NAMES_NONE, false, true, cmd_doctor },
	{ "network", "up|down|status [NETWORK] | list  [-o text|json]",
	  "A host network: bridge and address, nftables table ip uml_skas\n"
	  "(uml_skas_NETWORK for networks/NETWORK.conf: forwarding, NAT),\n"
	  "dnsmasq (DHCP and DNS on the bridge).  Without NETWORK, the default\n"
	  "network of uml-skas.conf.  down refuses while an instance runs on the\n"
	  "network.  list shows every network and whether it is up.",
	  opts_output, NAMES_NONE, true, true, cmd_network },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void command_help(const struct command *c)
{
	printf("usage: umlctl %s %s\n\n%s\n", c->name, c->synopsis, c->help);
}

static int add_name(struct args *a, const char *s)
{
	if (!valid_name(s)) {
		err("%s: bad instance name '%s': %s", a->cmd, s, NAME_RULE);
		return EX_USAGE;
	}
	if (a->n >= MAX_INSTANCES)
		return usage(a->cmd, "too many names");
	snprintf(a->names[a->n++], NAME_MAX_LEN + 1, "%s", s);
	return EX_OK;
}

/* Parses argv (argv[0]: the command) into a.  Returns EX_OK, EX_USAGE, or
 * -1 after printing the command's help. */
static int parse(const struct command *c, int argc, char **argv, struct args *a)
{
	/* mconsole's and ssh's words may start with '-': options only
	 * before NAME.  -o is the short --output. */
	bool output = false;
	const char *shortopts;
	int o;

	for (const struct option *op = c->opts; op->name; op++)
		output |= !strcmp(op->name, "output");
	shortopts = c->words && c->names != NAMES_NONE ? (output ? "+:ho:" : "+:h") :
		    output ? ":ho:" :
		    c->opts == opts_logs ? ":hn:f" : ":h";
	a->lines = -1;
	a->cmd = c->name;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, shortopts, c->opts, NULL)) != -1) {
		const char *v = optarg;

		switch (o) {
		case 'h':
			command_help(c);
			return -1;
		case ':':
			err("%s: %s: needs a value (see umlctl %s --help)", c->name,
			    argv[optind - 1], c->name);
			return EX_USAGE;
		case '?':
			err("%s: %s: not an option of %s (see umlctl %s --help)", c->name,
			    optopt ? (char[]){ '-', (char)optopt, '\0' } : argv[optind - 1],
			    c->name, c->name);
			return EX_USAGE;
		case OPT_ALL:
			a->all = true;
			break;
		case OPT_AUTOSTART:
			a->autostart = true;
			a->co.autostart = true;
			break;
		case OPT_WAIT_IP:
			a->wait_ip = true;
			/* "--wait-ip 30" too: a name never is all digits */
			if (!v && optind < argc && all_digits(argv[optind]))
				v = argv[optind++];
			if (v && seconds(v, &a->wait_s) < 0)
				return usage(c->name, "--wait-ip: want seconds, 1 to 86400");
			break;
		case OPT_TIMEOUT:
			if (seconds(v, &a->timeout) < 0)
				return usage(c->name, "--timeout: want seconds, 1 to 86400");
			break;
		case OPT_RUN:
			a->run = v;
			break;
		case OPT_DIRECT:
			a->direct = true;
			break;
		case OPT_IMAGE:
			a->co.image = v;
			break;
		case OPT_MEM:
			a->co.memory = v;
			break;
		case OPT_CPUS:
			a->co.vcpus = v;
			break;
		case OPT_CPUS_PIN:
			a->co.cpu = v;
			break;
		case OPT_NET:
			a->co.net = v;
			break;
		case OPT_MAC:
			a->co.mac = v;
			break;
		case OPT_SSH_KEY:
			a->co.ssh_key = v;
			break;
		case OPT_USER:
			a->user = v;
			break;
		case OPT_NAME:
			a->lab_name = v;
			break;
		case 'n': {
			char *end;

			errno = 0;
			a->lines = strtol(v, &end, 10);
			if (!*v || *end || errno || a->lines < 0 || v[0] == '-' || v[0] == '+')
				return usage(c->name, "--lines: want a number of lines");
			break;
		}
		case 'f':
			a->follow = true;
			break;
		case OPT_LIST:
			a->list = true;
			break;
		case OPT_DELETE:
			a->delete = true;
			break;
		case OPT_KEEP_DISK:
			a->keep_disk = true;
			break;
		case OPT_REUSE_DISK:
			a->co.reuse_disk = true;
			break;
		case 'o':
			if (strcmp(v, "json") && strcmp(v, "text"))
				return usage(c->name, "--output: want text or json");
			a->json = !strcmp(v, "json");
			break;
		}
	}
	argv += optind;
	argc -= optind;
	if (c->words && c->names == NAMES_NONE) {
		a->words = argv;
		a->nwords = argc;
		return EX_OK;
	}
	for (int i = 0; i < argc; i++) {
		int r;

		if (c->words && a->n == 1) {
			a->words = argv + i;
			a->nwords = argc - i;
			break;
		}
		r = add_name(a, argv[i]);
		if (r)
			return r;
	}
	switch (c->names) {
	case NAMES_NONE:
		if (a->n)
			return usage(c->name, "takes no instance names");
		break;
	case NAMES_ONE:
		if (a->n != 1)
			return usage(c->name, "want one instance name");
		break;
	case NAMES_SOME:
		if (a->n == 0)
			return usage(c->name, "name an instance");
		break;
	case NAMES_ANY:
		break;
	}
	return EX_OK;
}

int main(int argc, char **argv)
{
	static struct args a;
	static struct global_conf g;
	const struct command *c;
	const char *root;
	int i = 1, r;
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	/* dnsmasq's lease script (guard.c): a link named lease-hook */
	if (!strcmp(name, "lease-hook"))
		return guard_lease_hook(argc, argv);
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_text, stdout);
			return EX_OK;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("umlctl %s\n", UMLCTL_VERSION);
			return EX_OK;
		}
		if (!strncmp(argv[i], "--root", 6) && (argv[i][6] == '=' || !argv[i][6])) {
			const char *v = argv[i][6] == '=' ? argv[i] + 7 :
					i + 1 < argc ? argv[++i] : NULL;

			if (!v || v[0] != '/')
				return usage(NULL, "--root: want an absolute directory");
			setenv("UMLSKAS_ROOT", v, 1);
			i++;
			continue;
		}
		err("%s: not an option (see umlctl --help)", argv[i]);
		return EX_USAGE;
	}
	if (i >= argc)
		return usage(NULL, "no command");
	if (!strcmp(argv[i], "help")) {
		if (i + 1 < argc) {
			c = find_command(argv[i + 1]);
			if (!c) {
				err("help: unknown command '%s' (see umlctl --help)", argv[i + 1]);
				return EX_USAGE;
			}
			command_help(c);
			return EX_OK;
		}
		fputs(usage_text, stdout);
		return EX_OK;
	}
	c = find_command(argv[i]);
	if (!c) {
		err("unknown command '%s' (see umlctl --help)", argv[i]);
		return EX_USAGE;
	}
	r = parse(c, argc - i, argv + i, &a);
	if (r < 0)
		return EX_OK;	/* --help */
	if (r)
		return r;
	root = getenv("UMLSKAS_ROOT");
	if (root && root[0] && root[0] != '/')
		return usage(NULL, "UMLSKAS_ROOT: want an absolute directory");
	if (config_load_global(&g) < 0)
		return EX_CONFIG;
	/* Reading is for everyone; changing instances and the network, and
	 * talking to consoles, is for root. */
	if (!c->as_user && geteuid() != 0) {
		err("%s: needs root", c->name);
		return EX_FAIL;
	}
	return c->run(&g, &a);
}
