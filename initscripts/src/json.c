/* json.c: `-o json` of status, list and network status/list: the same
 * facts as the text, as one JSON document built with json-c (strings
 * escaped by it, never by hand).  A fact that does not apply (the pid of
 * a stopped instance, the address of a network without one) is null, so
 * every object of one kind has the same keys.  The keys are documented
 * in umlctl(8) and are an interface: add keys, do not rename them. */
#define _GNU_SOURCE
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "umlctl.h"

static struct json_object *str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static int print(struct json_object *doc)
{
	const char *text = json_object_to_json_string_ext(doc,
		JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	int r = text && printf("%s\n", text) > 0 && fflush(stdout) == 0 ? 0 : -1;

	json_object_put(doc);
	if (r < 0)
		err("cannot write the JSON output");
	return r;
}

static struct json_object *interfaces(const struct instance_conf *ic, bool running)
{
	struct json_object *list = json_object_new_array();

	for (int i = 0; i < MAX_NETS; i++) {
		const struct net_conf *nc = &ic->nets[i];
		struct json_object *o;
		char ip[64];

		if (!nc->used)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "index", json_object_new_int(i));
		json_object_object_add(o, "mac", json_object_new_string(nc->mac));
		json_object_object_add(o, "network", json_object_new_string(nc->network));
		json_object_object_add(o, "fixed_address", str_or_null(nc->address));
		json_object_object_add(o, "address", running &&
				       net_lease_address(nc, ip, sizeof(ip)) ?
				       json_object_new_string(ip) : NULL);
		json_object_array_add(list, o);
	}
	return list;
}

static struct json_object *instance(const struct instance_conf *ic,
				    const char *name, bool loaded)
{
	struct json_object *o = json_object_new_object();
	struct inst_info info;
	bool running;
	char mode[32], log[PATH_LEN];
	int online = 0;
	uid_t uid;

	instance_info(name, &info);
	running = info.state == INST_RUNNING;
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "state", json_object_new_string(state_name(info.state)));
	json_object_object_add(o, "config_ok", json_object_new_boolean(loaded));
	if (running)
		instance_guest_cpuinfo(name, mode, sizeof(mode), &online);
	json_object_object_add(o, "pid", running ? json_object_new_int(info.uml.pid) : NULL);
	json_object_object_add(o, "supervisor_pid",
			       running ? json_object_new_int(info.sup.pid) : NULL);
	json_object_object_add(o, "mode", running && strcmp(mode, "-") ?
			       json_object_new_string(mode) : NULL);
	json_object_object_add(o, "cpus", running ? str_or_null(info.cpus) : NULL);
	json_object_object_add(o, "vcpus", loaded ? json_object_new_int(ic->vcpus) : NULL);
	json_object_object_add(o, "vcpus_online", running && online ?
			       json_object_new_int(online) : NULL);
	json_object_object_add(o, "started", running && info.started ?
			       json_object_new_int64(info.started) : NULL);
	json_object_object_add(o, "version", running ? str_or_null(info.version) : NULL);
	json_object_object_add(o, "uptime_seconds", running && info.started ?
			       json_object_new_int64(time(NULL) - info.started) : NULL);
	json_object_object_add(o, "user", instance_id_get(name, &uid) == 1 ?
			       json_object_new_int64(uid) : NULL);
	json_object_object_add(o, "memory", loaded ? json_object_new_string(ic->memory) : NULL);
	json_object_object_add(o, "image", loaded ? json_object_new_string(ic->image_path) : NULL);
	json_object_object_add(o, "autostart", loaded ?
			       json_object_new_boolean(instance_autostart(ic)) : NULL);
	json_object_object_add(o, "console_log",
			       state_file(name, "console.log", log, sizeof(log)) == 0 ?
			       json_object_new_string(log) : NULL);
	json_object_object_add(o, "last_exit", str_or_null(info.last_exit));
	json_object_object_add(o, "interfaces", loaded ? interfaces(ic, running) :
			       json_object_new_array());
	return o;
}

/* The named instances (all, with n < 0) as an array.  EX_CONFIG when a
 * file would not load (that instance is there with config_ok false),
 * else EX_OK. */
int json_instances(const struct global_conf *g, char names[][NAME_MAX_LEN + 1],
		   int n, bool autostart_only)
{
	static struct instance_conf ic;
	struct json_object *list = json_object_new_array();
	int rc = EX_OK;

	for (int i = 0; i < n; i++) {
		bool loaded = config_load_instance_quiet(g, names[i], &ic) == 0;

		if (!loaded)
			rc = EX_CONFIG;
		else if (autostart_only && !instance_autostart(&ic))
			continue;
		json_object_array_add(list, instance(&ic, names[i], loaded));
	}
	return print(list) < 0 ? EX_FAIL : rc;
}

static struct json_object *network(const struct network *n)
{
	struct json_object *o = json_object_new_object();
	struct proc_id dns;
	char table[64];
	int st = hostnet_state(n, &dns);

	hostnet_table(n, table);
	json_object_object_add(o, "name", json_object_new_string(n->name));
	json_object_object_add(o, "file", json_object_new_string(n->file));
	json_object_object_add(o, "state", json_object_new_string(
		st == EX_OK ? "up" : st == EX_STOPPED ? "down" : "partly up"));
	json_object_object_add(o, "bridge", json_object_new_string(n->bridge));
	json_object_object_add(o, "address", str_or_null(n->address));
	json_object_object_add(o, "address6", str_or_null(n->address6));
	json_object_object_add(o, "ra", json_object_new_boolean(n->ra));
	json_object_object_add(o, "kind", json_object_new_string(hostnet_kind(n)));
	json_object_object_add(o, "nat", json_object_new_boolean(n->nat));
	json_object_object_add(o, "isolated", json_object_new_boolean(n->isolated));
	json_object_object_add(o, "dhcp", json_object_new_boolean(n->dhcp));
	json_object_object_add(o, "guard", json_object_new_boolean(n->guard));
	json_object_object_add(o, "dns", json_object_new_boolean(n->dhcp && n->dns));
	json_object_object_add(o, "dhcp_range", n->dhcp ? str_or_null(n->dhcp_range) : NULL);
	json_object_object_add(o, "domain", n->dhcp ? json_object_new_string(n->domain) : NULL);
	json_object_object_add(o, "nft_table", json_object_new_string(table));
	json_object_object_add(o, "dnsmasq_pid", dns.pid ? json_object_new_int(dns.pid) : NULL);
	return o;
}

/* The named networks as an array; one whose file does not load is there
 * as {"name", "config_ok": false}, and makes the result EX_CONFIG. */
int json_networks(const struct global_conf *g, char names[][NAME_MAX_LEN + 1],
		  int n)
{
	static struct network net;
	struct json_object *list = json_object_new_array();
	int rc = EX_OK;

	for (int i = 0; i < n; i++) {
		struct json_object *o;

		if (config_load_network(g, names[i], &net) < 0) {
			o = json_object_new_object();
			json_object_object_add(o, "name", json_object_new_string(names[i]));
			json_object_object_add(o, "config_ok", json_object_new_boolean(false));
			rc = EX_CONFIG;
		} else {
			o = network(&net);
			json_object_object_add(o, "config_ok", json_object_new_boolean(true));
		}
		json_object_array_add(list, o);
	}
	return print(list) < 0 ? EX_FAIL : rc;
}
