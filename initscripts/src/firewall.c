/* firewall.c: openings in the host's own nftables firewall.
 *
 * Our table (ip uml_skas, hostnet.c) forwards and masquerades the
 * instances' traffic, but an accept there does not outvote a drop in
 * another table: every base chain on a hook sees the packet, and a host
 * firewall whose input policy is drop would drop the instances' DHCP and
 * DNS requests to dnsmasq, and one whose forward policy is drop their
 * traffic to the outside.  So `network up` prepends accept rules,
 * commented "uml-skas", to every input and forward base chain of the
 * other ip and inet tables:
 *   input:   iifname BRIDGE udp dport { 53, 67 } accept
 *            iifname BRIDGE tcp dport 53 accept
 *            iifname BRIDGE icmpv6 type nd-router-solicit accept
 *              (inet tables, a network with ra = yes: a host firewall
 *              need not take solicitations, a host being no router)
 *   forward: iifname BRIDGE accept
 *            oifname BRIDGE ct state established,related accept
 *            oifname BRIDGE ct status dnat accept (port forwards)
 * and `network down` deletes every rule so commented (by handle).  A
 * named network's rules are commented "uml-skas:NAME" and are only the
 * ones it needs: input with DHCP on; forward, or for an isolated one only
 *            iifname BRIDGE oifname BRIDGE accept
 * (between the bridge's own ports, which br_netfilter passes through the
 * forward chains).  The
 * chains are found with `nft -j list chains`, the rules with `nft -j list
 * ruleset` (json-c).  Tables of iptables-legacy are not seen; firewalld
 * hosts get a zone for the bridge instead (packaging). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umlctl.h"

#define OUR_TABLE "uml_skas"
#define COMMENT "uml-skas"

/* The comment on a network's rules. */
static void comment_of(const struct network *n, char out[64])
{
	if (!strcmp(n->name, DEFAULT_NETWORK))
		strcpy(out, COMMENT);
	else
		snprintf(out, 64, COMMENT ":%s", n->name);
}

/* ip uml_skas and uml_skas_NAME are ours (hostnet.c). */
static bool our_table(const char *table)
{
	return !strcmp(table, OUR_TABLE) ||
	       !strncmp(table, OUR_TABLE "_", strlen(OUR_TABLE) + 1);
}
#define JSON_MAX (16 * 1024 * 1024)

/* The standard output of `nft -j ARGS...`, parsed; NULL on failure. */
static struct json_object *nft_json(char *const args[])
{
	char *argv[16] = { "nft", "-j" };
	struct json_object *j = NULL;
	size_t used = 0, cap = 65536;
	char *buf = malloc(cap);
	int pfd[2], st;
	pid_t pid;

	for (int i = 0; args[i] && i < 13; i++)
		argv[2 + i] = args[i];
	if (!buf || pipe2(pfd, O_CLOEXEC) < 0) {
		free(buf);
		return NULL;
	}
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		free(buf);
		return NULL;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		/* nft's own complaints (no permission, no netlink) are not
		 * ours to show: the caller says what it could not read. */
		dup2(pfd[1], 1);
		if (null >= 0)
			dup2(null, 2);
		execvp("nft", argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n;

		if (used + 1 >= cap) {
			char *more = cap < JSON_MAX ? realloc(buf, cap * 2) : NULL;

			if (!more)
				break;
			buf = more;
			cap *= 2;
		}
		n = read(pfd[0], buf + used, cap - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(pfd[0]);
	buf[used] = '\0';
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		j = json_tokener_parse(buf);
	free(buf);
	return j;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

/* Each {"KIND": {...}} object of an nft -j listing, in order. */
static void for_each(struct json_object *j, const char *kind,
		     void (*fn)(struct json_object *o, void *arg), void *arg)
{
	struct json_object *list, *o;

	if (!j || !json_object_object_get_ex(j, "nftables", &list) ||
	    !json_object_is_type(list, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(list); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(list, i), kind, &o))
			fn(o, arg);
}

/* Whether the chain is one of the host's input or forward base chains
 * (ip or inet family, not our own table). */
static bool host_chain(struct json_object *c, const char **hook)
{
	const char *family = str(c, "family"), *table = str(c, "table");

	*hook = str(c, "hook");
	return family && table && *hook &&
	       (!strcmp(family, "ip") || !strcmp(family, "inet")) &&
	       !our_table(table) &&
	       (!strcmp(*hook, "input") || !strcmp(*hook, "forward"));
}

struct opening {
	const struct network *n;
	char comment[64];
	int bad;
	int chains;
};

static void open_chain(struct json_object *c, void *arg)
{
	struct opening *op = arg;
	const char *hook, *family = str(c, "family"), *table = str(c, "table"),
		   *chain = str(c, "name"), *b = op->n->bridge, *cm = op->comment;
	char rules[1024];
	char *nft[] = { "nft", "-f", "-", NULL };
	bool input, ra;

	if (!host_chain(c, &hook) || !chain)
		return;
	input = !strcmp(hook, "input");
	/* (an ip table sees no ICMPv6) */
	ra = input && op->n->ra && !strcmp(family, "inet");
	if (input && !op->n->dhcp)
		return;
	/* insert puts each rule first: the second one given ends up first */
	if (!input && (op->n->isolated || !op->n->address[0]))
		/* Frames between two ports of the bridge: a host with
		 * br_netfilter passes them through its forward chains. */
		snprintf(rules, sizeof(rules),
			 "insert rule %s %s %s iifname \"%s\" oifname \"%s\" accept comment \"%s\"\n",
			 family, table, chain, b, b, cm);
	else if (input) {
		int len = snprintf(rules, sizeof(rules),
				   "insert rule %s %s %s iifname \"%s\" tcp dport 53 accept comment \"%s\"\n"
				   "insert rule %s %s %s iifname \"%s\" udp dport { 53, 67 } accept comment \"%s\"\n",
				   family, table, chain, b, cm, family, table, chain, b, cm);

		if (ra && len > 0 && (size_t)len < sizeof(rules))
			snprintf(rules + len, sizeof(rules) - (size_t)len,
				 "insert rule %s %s %s iifname \"%s\" icmpv6 type nd-router-solicit accept comment \"%s\"\n",
				 family, table, chain, b, cm);
	} else
		snprintf(rules, sizeof(rules),
			 "insert rule %s %s %s oifname \"%s\" ct status dnat accept comment \"%s\"\n"
			 "insert rule %s %s %s oifname \"%s\" ct state established,related accept comment \"%s\"\n"
			 "insert rule %s %s %s iifname \"%s\" accept comment \"%s\"\n",
			 family, table, chain, b, cm, family, table, chain, b, cm,
			 family, table, chain, b, cm);
	if (run_cmd_input(nft, rules, false)) {
		err("network %s: cannot open %s chain %s %s %s for %s", op->n->name,
		    hook, family, table, chain, b);
		op->bad++;
		return;
	}
	op->chains++;
}

struct closing {
	char comment[64];
	int bad;
	int rules;
};

static void close_rule(struct json_object *r, void *arg)
{
	struct closing *cl = arg;
	const char *comment = str(r, "comment"), *family = str(r, "family"),
		   *table = str(r, "table"), *chain = str(r, "chain"),
		   *handle = str(r, "handle");
	char *del[] = { "nft", "delete", "rule", (char *)family, (char *)table,
			(char *)chain, "handle", (char *)handle, NULL };

	if (!comment || strcmp(comment, cl->comment) || !family || !table ||
	    !chain || !handle || our_table(table))
		return;
	if (run_cmd(del, false)) {
		err("network: cannot delete rule %s of %s %s %s", handle, family, table, chain);
		cl->bad++;
		return;
	}
	cl->rules++;
}

/* Deletes the network's rules from the host's chains.  0, or -1 when
 * one stays. */
int firewall_close(const struct network *n)
{
	char *args[] = { "list", "ruleset", NULL };
	struct json_object *j = nft_json(args);
	struct closing cl = { 0 };

	comment_of(n, cl.comment);
	if (!j)
		return 0;	/* no nft ruleset to read: nothing of ours in it */
	for_each(j, "rule", close_rule, &cl);
	json_object_put(j);
	return cl.bad ? -1 : 0;
}

/* Opens the host's input and forward chains for the bridge (after
 * removing what an earlier `network up` left).  The number of chains
 * opened, or -1. */
int firewall_open(const struct network *n)
{
	char *args[] = { "list", "chains", NULL };
	struct opening op = { .n = n };
	struct json_object *j;

	comment_of(n, op.comment);
	if (firewall_close(n) < 0)
		return -1;
	j = nft_json(args);
	if (!j) {
		err("network: cannot read the nftables chains (nft -j list chains)");
		return -1;
	}
	for_each(j, "chain", open_chain, &op);
	json_object_put(j);
	return op.bad ? -1 : op.chains;
}

/* For `umlctl doctor`: the host's input and forward base chains whose
 * policy is drop and which hold none of our rules for this bridge (a
 * firewall loaded after `network up` replaced them); input chains only
 * for a network with DHCP, as firewall_open() opens them.  Writes "family table chain" of
 * each, separated by ", ", to out; returns how many, or -1 if nft could
 * not be read. */
#define MAX_CHECKED 32
struct unopened {
	const char *bridge;   /* "\"umlbr0\"", as in the rules' JSON */
	bool dhcp;            /* input chains are opened only for DHCP */
	char comment[64];
	char names[MAX_CHECKED][160];
	bool opened[MAX_CHECKED];
	int n;
};

static void note_drop_chain(struct json_object *c, void *arg)
{
	struct unopened *u = arg;
	const char *hook, *policy = str(c, "policy"), *chain = str(c, "name");

	if (!host_chain(c, &hook) || !chain || !policy || strcmp(policy, "drop") ||
	    (!u->dhcp && !strcmp(hook, "input")) || u->n >= MAX_CHECKED)
		return;
	snprintf(u->names[u->n++], sizeof(u->names[0]), "%s %s %s", str(c, "family"),
		 str(c, "table"), chain);
}

static void note_our_rule(struct json_object *r, void *arg)
{
	struct unopened *u = arg;
	const char *comment = str(r, "comment"), *family = str(r, "family"),
		   *table = str(r, "table"), *chain = str(r, "chain");
	char name[160];

	struct json_object *expr;

	/* ours, and for this bridge (not one an older bridge name left) */
	if (!comment || strcmp(comment, u->comment) || !family || !table || !chain ||
	    !json_object_object_get_ex(r, "expr", &expr) ||
	    !strstr(json_object_to_json_string(expr), u->bridge))
		return;
	snprintf(name, sizeof(name), "%s %s %s", family, table, chain);
	for (int i = 0; i < u->n; i++)
		if (!strcmp(u->names[i], name))
			u->opened[i] = true;
}

int firewall_unopened(const struct network *net, char *out, size_t len)
{
	char *args[] = { "list", "ruleset", NULL };
	static struct unopened u;
	char bridge[24];
	struct json_object *j = nft_json(args);
	int n = 0;

	if (!j)
		return -1;
	memset(&u, 0, sizeof(u));
	comment_of(net, u.comment);
	snprintf(bridge, sizeof(bridge), "\"%s\"", net->bridge);
	u.bridge = bridge;
	u.dhcp = net->dhcp;
	for_each(j, "chain", note_drop_chain, &u);
	for_each(j, "rule", note_our_rule, &u);
	json_object_put(j);
	out[0] = '\0';
	for (int i = 0; i < u.n; i++) {
		if (u.opened[i])
			continue;
		if (n++)
			strncat(out, ", ", len - strlen(out) - 1);
		strncat(out, u.names[i], len - strlen(out) - 1);
	}
	return n;
}
