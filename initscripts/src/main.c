/* main.c: umlctl's command line. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "umlctl.h"

#ifndef UMLCTL_VERSION
#define UMLCTL_VERSION "0"
#endif

static const char usage_text[] =
"usage: umlctl [--root DIR] COMMAND [ARGS]\n"
"\n"
"Instances:\n"
"  create NAME [--image tiny|debian|PATH] [--mem SIZE] [--cpus-pin N|auto]\n"
"              [--net dhcp|none] [--mac MAC] [--ssh-key FILE] [--autostart]\n"
"                          write /etc/uml-skas/instances/NAME.conf\n"
"  start NAME...|--autostart [--wait-ip[=S]]\n"
"                          boot instances (running ones are left alone)\n"
"  stop NAME...|--all [--timeout S]\n"
"                          clean shutdown (mconsole cad), kill after S seconds\n"
"  restart NAME... [--timeout S] [--wait-ip[=S]]\n"
"  kill NAME...            kill at once (no guest shutdown)\n"
"  status [NAME...|--autostart]\n"
"                          state, pids, skas mode, address, CPU, uptime\n"
"  list [--autostart]      one line per instance\n"
"  names [--autostart]     instance names, one per line\n"
"  console NAME [--run CMD [--timeout S]]\n"
"                          attach to the console (Ctrl-] detaches), or run CMD\n"
"  mconsole NAME CMD...    send an mconsole command (version, sysrq X, cad,\n"
"                          halt, config DEV, proc FILE, ...)\n"
"  destroy NAME...         stop, then remove the instance's file and state\n"
"  check                   check every configuration file\n"
"\n"
"Host network (bridge, nftables NAT, dnsmasq DHCP and DNS):\n"
"  network up|down|status\n"
"\n"
"Options:\n"
"  --root DIR   prefix of /etc/uml-skas, /var/lib/uml-skas and /run/uml-skas\n"
"               (also $UMLSKAS_ROOT)\n"
"  --help, --version\n"
"\n"
"Exit status: 0 done; 1 failed (status: dead or failed); 2 usage;\n"
"3 not running (status); 6 bad configuration; 7 not running (console,\n"
"mconsole).  See umlctl(8) and uml-skas.conf(5).\n";

static int usage(const char *why)
{
	if (why)
		err("%s (see umlctl --help)", why);
	return EX_USAGE;
}

/* Collects NAME arguments; options are handled by the caller's table. */
struct args {
	char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
	int n;
	bool all, autostart, wait_ip;
	int wait_s, timeout;
	const char *run;
	struct create_opts co;
};

static const char *optval(int argc, char **argv, int *i, const char *opt)
{
	size_t n = strlen(opt);

	if (!strncmp(argv[*i], opt, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int positive(const char *v, int *out)
{
	char *end;
	long n = v ? strtol(v, &end, 10) : 0;

	if (!v || *end || end == v || n < 1 || n > 86400)
		return -1;
	*out = (int)n;
	return 0;
}

static bool is_opt(const char *arg, const char *opt)
{
	size_t n = strlen(opt);

	return !strncmp(arg, opt, n) && (arg[n] == '\0' || arg[n] == '=');
}

static int parse_args(int argc, char **argv, struct args *a, const char *cmd)
{
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];

		if (!strcmp(s, "--all")) {
			a->all = true;
		} else if (!strcmp(s, "--autostart")) {
			a->autostart = true;
			a->co.autostart = true;
		} else if (is_opt(s, "--wait-ip")) {
			a->wait_ip = true;
			if (s[9] == '=' && positive(s + 10, &a->wait_s) < 0)
				return usage("--wait-ip=S: want seconds");
		} else if (is_opt(s, "--timeout")) {
			if (positive(optval(argc, argv, &i, "--timeout"), &a->timeout) < 0)
				return usage("--timeout: want seconds");
		} else if (is_opt(s, "--run")) {
			if (!(a->run = optval(argc, argv, &i, "--run")))
				return usage("--run: want a command");
		} else if (is_opt(s, "--image")) {
			if (!(a->co.image = optval(argc, argv, &i, "--image")))
				return usage("--image: want tiny, debian or a path");
		} else if (is_opt(s, "--mem")) {
			if (!(a->co.memory = optval(argc, argv, &i, "--mem")))
				return usage("--mem: want a size");
		} else if (is_opt(s, "--cpus-pin")) {
			if (!(a->co.cpu = optval(argc, argv, &i, "--cpus-pin")))
				return usage("--cpus-pin: want a CPU number or auto");
		} else if (is_opt(s, "--net")) {
			if (!(a->co.net = optval(argc, argv, &i, "--net")))
				return usage("--net: want dhcp or none");
		} else if (is_opt(s, "--mac")) {
			if (!(a->co.mac = optval(argc, argv, &i, "--mac")))
				return usage("--mac: want a MAC address");
		} else if (is_opt(s, "--ssh-key")) {
			if (!(a->co.ssh_key = optval(argc, argv, &i, "--ssh-key")))
				return usage("--ssh-key: want a file");
		} else if (s[0] == '-') {
			err("%s: unknown option %s (see umlctl --help)", cmd, s);
			return EX_USAGE;
		} else {
			if (!valid_name(s)) {
				err("%s: bad instance name '%s': 1-%d of a-z, 0-9 and '-'",
				    cmd, s, NAME_MAX_LEN);
				return EX_USAGE;
			}
			if (a->n >= MAX_INSTANCES)
				return usage("too many names");
			snprintf(a->names[a->n++], NAME_MAX_LEN + 1, "%s", s);
		}
	}
	return EX_OK;
}

/* The instance files named (or all autostart ones), loaded and checked
 * together: any error and nothing is loaded. */
static int load_set(const struct global_conf *g, struct args *a,
		    struct instance_conf *ics, bool autostart_only)
{
	int bad = 0;

	if (autostart_only || a->all) {
		static char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
		int n;

		if (autostart_only && config_check_all(g) < 0) {
			err("configuration errors: nothing started");
			return -EX_CONFIG;
		}
		n = config_instance_names(names, MAX_INSTANCES);
		a->n = 0;
		for (int i = 0; i < n; i++) {
			if (config_load_instance_quiet(g, names[i], &ics[a->n]) < 0) {
				if (autostart_only)
					return -EX_CONFIG;
				/* stop --all: a broken file still names an instance */
				memset(&ics[a->n], 0, sizeof(ics[0]));
				snprintf(ics[a->n].name, sizeof(ics[0].name), "%s", names[i]);
			} else if (autostart_only && !ics[a->n].autostart) {
				continue;
			}
			snprintf(a->names[a->n], NAME_MAX_LEN + 1, "%s", names[i]);
			a->n++;
		}
		return a->n;
	}
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

static int cmd_start(const struct global_conf *g, struct args *a)
{
	static struct instance_conf ics[MAX_INSTANCES];
	int n, rc = EX_OK;
	int wait = a->wait_ip ? (a->wait_s ? a->wait_s : 60) : 0;

	if (a->all)
		return usage("start: name instances, or --autostart");
	n = load_set(g, a, ics, a->autostart);
	if (n < 0)
		return -n;
	if (n == 0 && !a->autostart)
		return usage("start: name an instance, or --autostart");
	if (n == 0)
		msg("no instance is marked autostart");
	for (int i = 0; i < n; i++) {
		int r = instance_start(g, &ics[i], n == 1 ? wait : 0);

		if (r && !rc)
			rc = r;
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
	return rc;
}

static int cmd_stop(const struct global_conf *g, struct args *a)
{
	static struct instance_conf ics[MAX_INSTANCES];

	if (a->all) {
		int n = load_set(g, a, ics, false);

		if (n < 0)
			return -n;
	} else if (a->n == 0) {
		return usage("stop: name an instance, or --all");
	}
	return instance_stop_many(g, a->names, a->n,
				  a->timeout ? a->timeout : g->stop_timeout);
}

static int cmd_status(const struct global_conf *g, struct args *a, bool list)
{
	static struct instance_conf ic;
	int rc = EX_OK;

	if (a->n == 0) {
		a->n = config_instance_names(a->names, MAX_INSTANCES);
		if (a->n < 0)
			return EX_FAIL;
	}
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
		if (a->autostart && !ic.autostart)
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

static int cmd_mconsole(int argc, char **argv)
{
	char cmd[512] = "", reply[65536];
	struct inst_info info;
	int r;

	if (argc < 2)
		return usage("mconsole: want NAME and a command");
	if (!valid_name(argv[0]))
		return usage("mconsole: bad instance name");
	for (int i = 1; i < argc; i++) {
		if (strlen(cmd) + strlen(argv[i]) + 2 > sizeof(cmd))
			return usage("mconsole: command too long");
		if (i > 1)
			strcat(cmd, " ");
		strcat(cmd, argv[i]);
	}
	instance_info(argv[0], &info);
	if (info.state != INST_RUNNING) {
		err("%s: not running", argv[0]);
		return EX_NOTRUNNING;
	}
	r = mconsole_request(argv[0], cmd, reply, sizeof(reply));
	if (r < 0) {
		err("%s: mconsole: %s", argv[0], reply);
		return EX_FAIL;
	}
	if (reply[0])
		printf("%s%s", reply[0] == '\n' ? reply + 1 : reply,
		       reply[strlen(reply) - 1] == '\n' ? "" : "\n");
	if (r > 0)
		err("%s: mconsole %s: the guest answered with an error", argv[0], cmd);
	return r ? EX_FAIL : EX_OK;
}

static int cmd_network(const struct global_conf *g, int argc, char **argv)
{
	if (argc != 1)
		return usage("network: want up, down or status");
	if (!strcmp(argv[0], "up"))
		return hostnet_up(g) ? EX_FAIL : EX_OK;
	if (!strcmp(argv[0], "status"))
		return hostnet_status(g);
	if (!strcmp(argv[0], "down")) {
		static char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
		int n = config_instance_names(names, MAX_INSTANCES), running = 0;

		for (int i = 0; i < n; i++) {
			struct inst_info info;

			instance_info(names[i], &info);
			if (info.state == INST_RUNNING) {
				err("network down: %s is running (stop it first)", names[i]);
				running++;
			}
		}
		if (running)
			return EX_FAIL;
		return hostnet_down(g) ? EX_FAIL : EX_OK;
	}
	return usage("network: want up, down or status");
}

int main(int argc, char **argv)
{
	static struct args a;
	static struct global_conf g;
	const char *cmd;
	int i = 1, r;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_text, stdout);
			return EX_OK;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("umlctl %s\n", UMLCTL_VERSION);
			return EX_OK;
		}
		if (is_opt(argv[i], "--root")) {
			const char *v = optval(argc, argv, &i, "--root");

			if (!v || v[0] != '/')
				return usage("--root: want an absolute directory");
			setenv("UMLSKAS_ROOT", v, 1);
			i++;
			continue;
		}
		err("unknown option %s (see umlctl --help)", argv[i]);
		return EX_USAGE;
	}
	if (i >= argc)
		return usage("no command");
	cmd = argv[i++];
	if (!strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return EX_OK;
	}
	{
		const char *root = getenv("UMLSKAS_ROOT");

		if (root && root[0] && root[0] != '/')
			return usage("UMLSKAS_ROOT: want an absolute directory");
	}
	if (config_load_global(&g) < 0)
		return EX_CONFIG;
	/* Reading is for everyone; changing instances and the network, and
	 * talking to consoles, is for root. */
	if (geteuid() != 0 && strcmp(cmd, "status") && strcmp(cmd, "list") &&
	    strcmp(cmd, "names") && strcmp(cmd, "check") &&
	    !(!strcmp(cmd, "network") && i < argc && !strcmp(argv[i], "status"))) {
		err("%s: needs root", cmd);
		return EX_FAIL;
	}
	if (!strcmp(cmd, "mconsole"))
		return cmd_mconsole(argc - i, argv + i);
	if (!strcmp(cmd, "network"))
		return cmd_network(&g, argc - i, argv + i);
	r = parse_args(argc - i, argv + i, &a, cmd);
	if (r)
		return r;
	if (!strcmp(cmd, "create")) {
		if (a.n != 1)
			return usage("create: want one NAME");
		return instance_create(&g, a.names[0], &a.co);
	}
	if (!strcmp(cmd, "start"))
		return cmd_start(&g, &a);
	if (!strcmp(cmd, "stop"))
		return cmd_stop(&g, &a);
	if (!strcmp(cmd, "restart")) {
		if (a.n == 0 || a.all)
			return usage("restart: name an instance");
		r = cmd_stop(&g, &a);
		return r ? r : cmd_start(&g, &a);
	}
	if (!strcmp(cmd, "kill")) {
		if (a.n == 0)
			return usage("kill: name an instance");
		for (int k = 0; k < a.n; k++)
			if ((r = instance_kill(a.names[k])))
				return r;
		return EX_OK;
	}
	if (!strcmp(cmd, "status"))
		return cmd_status(&g, &a, false);
	if (!strcmp(cmd, "list"))
		return cmd_status(&g, &a, true);
	if (!strcmp(cmd, "console")) {
		if (a.n != 1)
			return usage("console: want one NAME");
		if (a.run)
			return console_run(a.names[0], a.run, a.timeout ? a.timeout : 30);
		return console_attach(a.names[0]);
	}
	if (!strcmp(cmd, "destroy")) {
		if (a.n == 0)
			return usage("destroy: name an instance");
		for (int k = 0; k < a.n; k++)
			if ((r = instance_destroy(&g, a.names[k])))
				return r;
		return EX_OK;
	}
	if (!strcmp(cmd, "names")) {
		static struct instance_conf ic;
		int n = config_instance_names(a.names, MAX_INSTANCES);

		for (int k = 0; k < n; k++) {
			if (a.autostart &&
			    (config_load_instance_quiet(&g, a.names[k], &ic) < 0 ||
			     !ic.autostart))
				continue;
			msg("%s", a.names[k]);
		}
		return EX_OK;
	}
	if (!strcmp(cmd, "check")) {
		r = config_check_all(&g);
		if (r < 0)
			return EX_CONFIG;
		msg("configuration OK: %s%s and %d instance file%s", g.file,
		    access(g.file, F_OK) ? " (missing: all defaults)" : "", r,
		    r == 1 ? "" : "s");
		return EX_OK;
	}
	err("unknown command '%s' (see umlctl --help)", cmd);
	return EX_USAGE;
}
