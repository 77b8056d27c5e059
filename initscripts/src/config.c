/* config.c: /etc/uml-skas/uml-skas.conf, instances/NAME.conf and
 * networks/NAME.conf, in ini format, read with inih.  Every error names
 * the file and line. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlctl.h"

/* inih calls the handler right after reading a line, so a reader that
 * counts lines tells the handler where it is. */
struct parse {
	FILE *f;
	int line;
	const char *file;
	int errors;
	int first_error_line;   /* of a handler error */
	bool quiet;
	bool no_files;          /* files named are not opened (unit-config) */
	void *conf;
	const struct global_conf *g;
};

static int perr(struct parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reports a line inih would not understand, and blanks it, so that every
 * such line is reported (inih itself only returns the first error).
 * The rules are inih's: blank, comment (; or #), [section], key = value
 * or key: value; an indented line may continue the previous value. */
static void check_syntax(struct parse *p, char *str)
{
	const char *t = str;
	int first = p->first_error_line;

	if (p->line == 1 && !strncmp(t, "\xEF\xBB\xBF", 3))
		t += 3;
	if (*t == ' ' || *t == '\t')
		return;
	if (*t == '\0' || *t == '\n' || *t == '\r' || *t == ';' || *t == '#')
		return;
	if (*t == '[' ? strchr(t, ']') != NULL : strpbrk(t, "=:") != NULL)
		return;
	perr(p, *t == '[' ? "syntax error: section header without ']'"
			  : "syntax error (want [section] or key = value)");
	p->first_error_line = first;
	str[0] = '\0';
}

/* Gives inih one line at a time and counts them.  A line longer than
 * inih's buffer is an error; its rest is skipped, so that inih and this
 * count agree on line numbers. */
static char *count_reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *r = fgets(str, num, p->f);
	size_t n;

	if (!r)
		return NULL;
	p->line++;
	n = strlen(str);
	if (n > 0 && str[n - 1] != '\n' && !feof(p->f)) {
		int c;
		int first = p->first_error_line;

		while ((c = fgetc(p->f)) != EOF && c != '\n')
			;
		perr(p, "line too long (at most %d characters)", num - 2);
		/* inih sees an empty line here: not one of its errors. */
		p->first_error_line = first;
		str[0] = '\0';
	}
	check_syntax(p, str);
	return r;
}

static int perr(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	p->errors++;
	if (!p->first_error_line)
		p->first_error_line = p->line;
	if (p->quiet)
		return 0;
	fprintf(stderr, "%s: %s:%d: ", prog, p->file, p->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") ||
	    !strcmp(v, "on")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") ||
	    !strcmp(v, "off")) {
		*out = false;
		return 0;
	}
	return -1;
}

/* A list of host CPUs as systemd's AllowedCPUs= and cpuset take it:
 * "0", "0-3", "0,2,4-5", every CPU one this host has.  The number of
 * CPUs in it, with them in *set; -1 when it is not such a list. */
int config_cpu_list(const char *v, cpu_set_t *set)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	const char *p = v;

	CPU_ZERO(set);
	if (ncpu > CPU_SETSIZE)
		ncpu = CPU_SETSIZE;
	/* strtol would skip white space, and a CR is a line end to systemd. */
	if (!*v || strspn(v, "0123456789,-") != strlen(v))
		return -1;
	for (;;) {
		char *end;
		long a = strtol(p, &end, 10), b;

		if (end == p || *p == '-' || *p == '+' || a < 0 || a >= ncpu)
			return -1;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || *p == '-' || *p == '+' || b < a || b >= ncpu)
				return -1;
		}
		for (long c = a; c <= b; c++)
			CPU_SET((int)c, set);
		if (*end == '\0')
			return CPU_COUNT(set);
		if (*end != ',')
			return -1;
		p = end + 1;
	}
}

static bool valid_cpu_list(const char *v)
{
	cpu_set_t set;

	return config_cpu_list(v, &set) > 0;
}

/* The most virtual CPUs an instance may have: the host's CPUs, and the
 * kernel's CONFIG_NR_CPUS (uml/config).  More vCPUs than host CPUs only
 * adds contention, so they are refused rather than overcommitted. */
int config_max_vcpus(void)
{
	long host = sysconf(_SC_NPROCESSORS_ONLN);

	if (host < 1)
		host = 1;
	return host < UML_MAX_VCPUS ? (int)host : UML_MAX_VCPUS;
}

/* "cpus = N": 1 to config_max_vcpus(); 0 if V is not such a number. */
int config_vcpus(const char *v)
{
	char *end;
	long n;

	if (v[0] < '0' || v[0] > '9')
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < 1 || n > config_max_vcpus())
		return 0;
	return (int)n;
}

static bool valid_tasks_max(const char *v)
{
	char *end;
	long n = strtol(v, &end, 10);

	return end != v && *end == '\0' && v[0] != '-' && v[0] != '+' &&
	       n >= 1 && n <= 4194304;
}

bool config_valid_memory(const char *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || n <= 0 || errno == ERANGE || n > (1L << 40) || !isdigit((unsigned char)v[0]))
		return false;
	if (*end && strchr("KMG", *end))
		end++;
	return *end == '\0';
}

/* A size that config_valid_memory accepts, in bytes: K, M and G are
 * binary, as UML's mem= and systemd's MemoryMax= read them. */
unsigned long long config_memory_bytes(const char *v)
{
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;

	return n > (ULLONG_MAX >> shift) ? ULLONG_MAX : n << shift;
}

/* Six pairs of hex digits and colons, nothing else: sscanf's %x would
 * take " a", "+a" or "-1" too, and one MAC spelt two ways would slip past
 * the checks that compare MACs as text (two instances or lab nodes on
 * one MAC). */
bool config_valid_mac(const char *v)
{
	if (strlen(v) != 17)
		return false;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? v[i] != ':' : !isxdigit((unsigned char)v[i]))
			return false;
	return (strtoul(v, NULL, 16) & 1) == 0;   /* unicast */
}

static bool valid_cidr(const char *v, struct in_addr *addr, int *prefix)
{
	char ip[64];
	const char *slash = strchr(v, '/');
	char *end;
	long n;

	if (!slash || (size_t)(slash - v) >= sizeof(ip))
		return false;
	memcpy(ip, v, slash - v);
	ip[slash - v] = '\0';
	n = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1 || n < 8 || n > 30)
		return false;
	*prefix = (int)n;
	return inet_pton(AF_INET, ip, addr) == 1;
}

bool config_in_subnet(const char *cidr, const char *ip)
{
	struct in_addr net, a;
	int prefix;
	uint32_t mask;

	if (!valid_cidr(cidr, &net, &prefix) || inet_pton(AF_INET, ip, &a) != 1)
		return false;
	mask = htonl(~0u << (32 - prefix));
	return (net.s_addr & mask) == (a.s_addr & mask);
}

static bool in_subnet(const struct global_conf *g, const char *ip)
{
	return config_in_subnet(g->address, ip);
}

/* IPv6/PREFIX with PREFIX 48-126, an address a host can have on a
 * network: not link-local (the bridge has its own), multicast, loopback,
 * unspecified or IPv4-mapped, nor the subnet's router anycast address
 * (host part zero). */
static bool valid_cidr6(const char *v, struct in6_addr *addr, int *prefix)
{
	char ip[INET6_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	char *end;
	long n;
	bool host = false;

	if (!slash || (size_t)(slash - v) >= sizeof(ip))
		return false;
	memcpy(ip, v, slash - v);
	ip[slash - v] = '\0';
	n = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1 || !isdigit((unsigned char)slash[1]) || n < 48 || n > 126 ||
	    inet_pton(AF_INET6, ip, addr) != 1)
		return false;
	*prefix = (int)n;
	for (int bit = (int)n; bit < 128 && !host; bit++)
		host = addr->s6_addr[bit / 8] & (0x80 >> (bit % 8));
	return host && !IN6_IS_ADDR_LINKLOCAL(addr) && !IN6_IS_ADDR_MULTICAST(addr) &&
	       !IN6_IS_ADDR_LOOPBACK(addr) && !IN6_IS_ADDR_V4MAPPED(addr) &&
	       !IN6_IS_ADDR_UNSPECIFIED(addr);
}

/* Whether two IPv6 subnets (CIDR) share an address. */
static bool subnets6_overlap(const char *a, const char *b)
{
	struct in6_addr na, nb;
	int pa, pb, bits;

	if (!valid_cidr6(a, &na, &pa) || !valid_cidr6(b, &nb, &pb))
		return false;
	bits = pa < pb ? pa : pb;
	for (int bit = 0; bit < bits; bit++) {
		int m = 0x80 >> (bit % 8);

		if ((na.s6_addr[bit / 8] & m) != (nb.s6_addr[bit / 8] & m))
			return false;
	}
	return true;
}

void config_subnet6(const char *cidr, char *out, size_t len)
{
	struct in6_addr a;
	char ip[INET6_ADDRSTRLEN];
	int prefix;

	if (!valid_cidr6(cidr, &a, &prefix)) {
		snprintf(out, len, "::/128");
		return;
	}
	for (int bit = prefix; bit < 128; bit++)
		a.s6_addr[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	inet_ntop(AF_INET6, &a, ip, sizeof(ip));
	snprintf(out, len, "%s/%d", ip, prefix);
}

/* Whether two subnets (CIDR) share an address. */
static bool subnets_overlap(const char *a, const char *b)
{
	struct in_addr na, nb;
	int pa, pb;
	uint32_t mask;

	if (!valid_cidr(a, &na, &pa) || !valid_cidr(b, &nb, &pb))
		return false;
	mask = htonl(~0u << (32 - (pa < pb ? pa : pb)));
	return (na.s_addr & mask) == (nb.s_addr & mask);
}

/* A name for an nft rule, an ip command or a dnsmasq option: letters,
 * digits, '_', '.', '-' and at most 15 of them. */
static bool valid_ifname(const char *v)
{
	return *v && strlen(v) <= 15 &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-") == strlen(v);
}

/* A DNS domain as dnsmasq's --domain takes it: labels of letters,
 * digits and '-', separated by dots. */
static bool valid_domain(const char *v)
{
	return *v && strlen(v) < 64 && v[0] != '.' && v[0] != '-' &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789.-") == strlen(v) &&
	       !strstr(v, "..") && v[strlen(v) - 1] != '.';
}

static int set_str(struct parse *p, char *dst, size_t len, const char *key,
		   const char *v)
{
	if (strlen(v) >= len)
		return perr(p, "value of '%s' is too long", key);
	strcpy(dst, v);
	return 1;
}

/* address6 = IPv6/PREFIX or none, of the default network or a named one:
 * stored as ip(8) and nft print it, to compare with their output. */
static int parse_address6(struct parse *p, const char *v, char out[64], int *line)
{
	char ip[INET6_ADDRSTRLEN];
	struct in6_addr a;
	int prefix;

	if (!strcmp(v, "none")) {
		out[0] = '\0';
		return 1;
	}
	if (!valid_cidr6(v, &a, &prefix))
		return perr(p, "address6: want IPv6/PREFIX (48-126; not link-local, multicast or the subnet's own address) or none, got '%s'", v);
	*line = p->line;
	inet_ntop(AF_INET6, &a, ip, sizeof(ip));
	snprintf(out, 64, "%s/%d", ip, prefix);
	return 1;
}

/* What is wrong with a network's IPv6 settings, reported as FILE:LINE
 * (the line of address6 or ra); 0 or -1. */
static int ipv6_errors(const struct network *n, int address6_line, int ra_line,
		       bool quiet)
{
	char why[224];
	int line = ra_line;

	/* The guard of a network with DHCP lets a TAP send IPv6 from the
	 * addresses SLAAC makes of its MAC alone (guard.c): in a /64. */
	if (n->address6[0] && n->dhcp && n->guard && strcmp(strchr(n->address6, '/'), "/64")) {
		line = address6_line;
		snprintf(why, sizeof(why), "address6 %s: the guard of a network with DHCP lets guests send from the addresses SLAAC makes in a /64 only (give a /64, or set guard = no)",
			 n->address6);
	} else if (n->ra && !n->address6[0]) {
		snprintf(why, sizeof(why), "ra: needs address6 (the prefix it announces)");
	} else if (n->ra && strcmp(strchr(n->address6, '/'), "/64")) {
		/* Stateless autoconfiguration makes 64-bit interface ids. */
		snprintf(why, sizeof(why), "ra: address6 %s: guests make their addresses in a /64 only",
			 n->address6);
	} else if (n->ra && !n->dhcp) {
		snprintf(why, sizeof(why), "ra: needs dhcp = yes (the network's dnsmasq sends them), and so an address");
	} else {
		return 0;
	}
	if (!quiet)
		fprintf(stderr, "%s: %s:%d: %s\n", prog, n->file, line, why);
	return -1;
}

static int load_network(const struct global_conf *g, const char *name,
			struct network *n, bool quiet);

static int global_handler(void *user, const char *section, const char *key,
			  const char *v)
{
	struct parse *p = user;
	struct global_conf *g = p->conf;

	if (!strcmp(section, "network")) {
		if (!strcmp(key, "bridge")) {
			/* It goes into nft rules and ip commands: a plain name. */
			if (!valid_ifname(v))
				return perr(p, "bridge: not an interface name (up to 15 of A-Z, a-z, 0-9, '_', '.', '-'): '%s'", v);
			return set_str(p, g->bridge, sizeof(g->bridge), key, v);
		}
		if (!strcmp(key, "address")) {
			struct in_addr a;
			int n;

			if (!valid_cidr(v, &a, &n))
				return perr(p, "address: want IPv4/PREFIX (8-30), got '%s'", v);
			return set_str(p, g->address, sizeof(g->address), key, v);
		}
		if (!strcmp(key, "address6"))
			return parse_address6(p, v, g->address6, &g->address6_line);
		if (!strcmp(key, "ra")) {
			g->ra_line = p->line;
			return parse_bool(v, &g->ra) ? perr(p, "ra: want yes or no, got '%s'", v) : 1;
		}
		if (!strcmp(key, "nat"))
			return parse_bool(v, &g->nat) ? perr(p, "nat: want yes or no, got '%s'", v) : 1;
		if (!strcmp(key, "host_dns"))
			return parse_bool(v, &g->host_dns) ?
				perr(p, "host_dns: want yes or no, got '%s'", v) : 1;
		if (!strcmp(key, "guard"))
			return parse_bool(v, &g->guard) ?
				perr(p, "guard: want yes or no, got '%s'", v) : 1;
		if (!strcmp(key, "dns"))
			return parse_bool(v, &g->dns) ?
				perr(p, "dns: want yes or no, got '%s'", v) : 1;
		if (!strcmp(key, "dhcp_range")) {
			char a[64], b[64], extra;

			if (sscanf(v, "%63[0-9.] , %63[0-9.]%c", a, b, &extra) != 2)
				return perr(p, "dhcp_range: want FIRST,LAST, got '%s'", v);
			g->dhcp_range_line = p->line;
			return set_str(p, g->dhcp_range, sizeof(g->dhcp_range), key, v);
		}
		if (!strcmp(key, "domain"))
			return set_str(p, g->domain, sizeof(g->domain), key, v);
		return perr(p, "unknown key '%s' in section [network]", key);
	}
	if (!strcmp(section, "defaults")) {
		if (!strcmp(key, "user")) {
			/* each instance has a user of its own (ids.c) */
			if (!p->quiet)
				fprintf(stderr, "%s: %s:%d: warning: user: ignored: each instance runs as a user of its own (see ids)\n",
					prog, p->file, p->line);
			return 1;
		}
		if (!strcmp(key, "ids")) {
			unsigned long long a, b;
			char extra;

			if (sscanf(v, "%llu - %llu%c", &a, &b, &extra) != 2 ||
			    a < 65536 || b > 4294967293ULL || a > b)
				return perr(p, "ids: want FIRST-LAST within 65536-4294967293, got '%s'", v);
			g->id_first = (uid_t)a;
			g->id_last = (uid_t)b;
			return 1;
		}
		if (!strcmp(key, "group"))
			return set_str(p, g->group, sizeof(g->group), key, v);
		if (!strcmp(key, "kernel"))
			return set_str(p, g->kernel, sizeof(g->kernel), key, v);
		if (!strcmp(key, "image_dir"))
			return set_str(p, g->image_dir, sizeof(g->image_dir), key, v);
		if (!strcmp(key, "image"))
			return set_str(p, g->image, sizeof(g->image), key, v);
		if (!strcmp(key, "tmpdir"))
			return set_str(p, g->tmpdir, sizeof(g->tmpdir), key, v);
		if (!strcmp(key, "memory")) {
			if (!config_valid_memory(v))
				return perr(p, "memory: want a size like 256M, got '%s'", v);
			return set_str(p, g->memory, sizeof(g->memory), key, v);
		}
		if (!strcmp(key, "stop_timeout")) {
			char *end;
			long n = strtol(v, &end, 10);

			if (*end || end == v || n < 1 || n > 3600)
				return perr(p, "stop_timeout: want seconds (1-3600), got '%s'", v);
			g->stop_timeout = (int)n;
			return 1;
		}
		return perr(p, "unknown key '%s' in section [defaults]", key);
	}
	return perr(p, "unknown section [%s] (want [network] or [defaults])",
		    section);
}

static int run_parse(struct parse *p, ini_handler h)
{
	int r;

	p->f = fopen(p->file, "r");
	if (!p->f)
		return -errno;
	p->line = 0;
	r = ini_parse_stream((ini_reader)count_reader, p, h, p);
	fclose(p->f);
	/* inih returns the first line with an error; if no handler error
	 * was reported there, it is a syntax error. */
	if (r > 0 && r != p->first_error_line) {
		p->errors++;
		if (!p->quiet)
			fprintf(stderr, "%s: %s:%d: syntax error (want [section] or key = value)\n",
				prog, p->file, r);
	}
	return p->errors ? -1 : 0;
}

int config_load_global(struct global_conf *g)
{
	static struct network def;
	char dir[PATH_LEN];
	struct parse p = { .conf = g, .file = g->file };
	int r;

	memset(g, 0, sizeof(*g));
	strcpy(g->bridge, "umlbr0");
	strcpy(g->address, "10.77.0.1/24");
	g->nat = true;
	g->host_dns = true;
	g->guard = true;
	g->dns = true;
	strcpy(g->dhcp_range, "10.77.0.100,10.77.0.199");
	strcpy(g->domain, "uml");
	g->id_first = ID_FIRST_DEFAULT;
	g->id_last = ID_LAST_DEFAULT;
	strcpy(g->group, "uml-skas");
	strcpy(g->kernel, "/usr/lib/uml-skas/linux");
	strcpy(g->image_dir, "/usr/share/uml-skas/images");
	strcpy(g->image, "tiny");
	strcpy(g->memory, "256M");
	strcpy(g->tmpdir, "/dev/shm");
	g->stop_timeout = 30;

	if (etc_dir(dir, sizeof(dir)) < 0 ||
	    snprintf_ok(g->file, sizeof(g->file), "%s/uml-skas.conf", dir) < 0)
		return -1;
	r = run_parse(&p, global_handler);
	if (r == -ENOENT)
		return 0;   /* all defaults */
	if (r < -1) {
		err("%s: %s", g->file, strerror(-r));
		return -1;
	}
	if (r == 0) {
		char a[64], b[64];

		if (sscanf(g->dhcp_range, "%63[0-9.] , %63[0-9.]", a, b) != 2 ||
		    !in_subnet(g, a) || !in_subnet(g, b)) {
			err("%s:%d: dhcp_range %s is not inside the bridge's subnet %s",
			    g->file, g->dhcp_range_line, g->dhcp_range, g->address);
			return -1;
		}
		if (load_network(g, DEFAULT_NETWORK, &def, true) < 0 ||
		    ipv6_errors(&def, g->address6_line, g->ra_line, false) < 0)
			return -1;
	}
	return r;
}

/* ---- networks/NAME.conf ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

struct net_parse {
	struct network *n;
	bool dhcp_set, dns_set;
	int nat_line, dhcp_line, range_line, isolated_line, address_line;
	int address6_line, ra_line;
	int dns_line;
};

static int network_handler(void *user, const char *section, const char *key,
			   const char *v)
{
	struct parse *p = user;
	struct net_parse *np = p->conf;
	struct network *n = np->n;

	if (strcmp(section, "network"))
		return perr(p, "unknown section [%s] (want [network])", section);
	if (!strcmp(key, "bridge")) {
		if (!valid_ifname(v))
			return perr(p, "bridge: not an interface name (up to 15 of A-Z, a-z, 0-9, '_', '.', '-'): '%s'", v);
		return set_str(p, n->bridge, sizeof(n->bridge), key, v);
	}
	if (!strcmp(key, "address")) {
		struct in_addr a;
		int prefix;

		if (!strcmp(v, "none")) {
			n->address[0] = '\0';
			return 1;
		}
		if (!valid_cidr(v, &a, &prefix))
			return perr(p, "address: want IPv4/PREFIX (8-30) or none, got '%s'", v);
		np->address_line = p->line;
		return set_str(p, n->address, sizeof(n->address), key, v);
	}
	if (!strcmp(key, "address6"))
		return parse_address6(p, v, n->address6, &np->address6_line);
	if (!strcmp(key, "ra")) {
		np->ra_line = p->line;
		return parse_bool(v, &n->ra) ? perr(p, "ra: want yes or no, got '%s'", v) : 1;
	}
	if (!strcmp(key, "nat")) {
		np->nat_line = p->line;
		return parse_bool(v, &n->nat) ? perr(p, "nat: want yes or no, got '%s'", v) : 1;
	}
	if (!strcmp(key, "dhcp")) {
		np->dhcp_set = true;
		np->dhcp_line = p->line;
		return parse_bool(v, &n->dhcp) ? perr(p, "dhcp: want yes or no, got '%s'", v) : 1;
	}
	if (!strcmp(key, "isolated")) {
		np->isolated_line = p->line;
		return parse_bool(v, &n->isolated) ?
			perr(p, "isolated: want yes or no, got '%s'", v) : 1;
	}
	if (!strcmp(key, "dhcp_range")) {
		char a[64], b[64], extra;

		if (sscanf(v, "%63[0-9.] , %63[0-9.]%c", a, b, &extra) != 2)
			return perr(p, "dhcp_range: want FIRST,LAST, got '%s'", v);
		np->range_line = p->line;
		return set_str(p, n->dhcp_range, sizeof(n->dhcp_range), key, v);
	}
	if (!strcmp(key, "host_dns"))
		return parse_bool(v, &n->host_dns) ?
			perr(p, "host_dns: want yes or no, got '%s'", v) : 1;
	if (!strcmp(key, "guard"))
		return parse_bool(v, &n->guard) ?
			perr(p, "guard: want yes or no, got '%s'", v) : 1;
	if (!strcmp(key, "dns")) {
		np->dns_set = true;
		np->dns_line = p->line;
		return parse_bool(v, &n->dns) ? perr(p, "dns: want yes or no, got '%s'", v) : 1;
	}
	if (!strcmp(key, "domain")) {
		if (!valid_domain(v))
			return perr(p, "domain: want a DNS domain like lab1 or lab.example, got '%s'", v);
		return set_str(p, n->domain, sizeof(n->domain), key, v);
	}
	return perr(p, "unknown key '%s' in section [network]", key);
}

/* Whether the bridge's address (CIDR) is its subnet's own address or its
 * broadcast address. */
static bool host_part_bad(const char *cidr)
{
	struct in_addr a;
	int prefix;
	uint32_t host, mask;

	if (!valid_cidr(cidr, &a, &prefix))
		return true;
	mask = ~0u << (32 - prefix);
	host = ntohl(a.s_addr) & ~mask;
	return host == 0 || host == ~mask;
}

/* A DHCP range FIRST <= LAST that leaves out the bridge's address. */
static int range_check(const char *cidr, const char *first, const char *last)
{
	struct in_addr a, f, l;
	char ip[64];

	snprintf(ip, sizeof(ip), "%.*s", (int)strcspn(cidr, "/"), cidr);
	if (inet_pton(AF_INET, ip, &a) != 1 || inet_pton(AF_INET, first, &f) != 1 ||
	    inet_pton(AF_INET, last, &l) != 1 || ntohl(f.s_addr) > ntohl(l.s_addr))
		return -1;
	return ntohl(a.s_addr) >= ntohl(f.s_addr) && ntohl(a.s_addr) <= ntohl(l.s_addr) ? -1 : 0;
}

/* The upper half of the subnet, less the broadcast address: where
 * dnsmasq leases unless dhcp_range says otherwise (the lower half when
 * the bridge's address is in the upper one). */
static void default_range(const char *cidr, char *out, size_t len)
{
	struct in_addr net, first, last;
	int prefix;
	uint32_t size, base;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	if (!valid_cidr(cidr, &net, &prefix))
		return;
	size = 1u << (32 - prefix);
	base = ntohl(net.s_addr) & ~(size - 1);
	first.s_addr = htonl(base + size / 2);
	last.s_addr = htonl(base + size - 2);
	/* a bridge in the upper half: the lower half, less the subnet's
	 * own address */
	if (ntohl(net.s_addr) >= base + size / 2) {
		first.s_addr = htonl(base + 1);
		last.s_addr = htonl(base + size / 2 - 1);
	}
	inet_ntop(AF_INET, &first, a, sizeof(a));
	inet_ntop(AF_INET, &last, b, sizeof(b));
	snprintf(out, len, "%s,%s", a, b);
}

static int load_network(const struct global_conf *g, const char *name,
			struct network *n, bool quiet)
{
	char dir[PATH_LEN];
	struct net_parse np = { .n = n };
	struct parse p = { .conf = &np, .file = n->file, .g = g, .quiet = quiet };
	int r;

	memset(n, 0, sizeof(*n));
	if (!strcmp(name, DEFAULT_NETWORK)) {
		strcpy(n->name, name);
		snprintf(n->file, sizeof(n->file), "%s", g->file);
		strcpy(n->bridge, g->bridge);
		strcpy(n->address, g->address);
		strcpy(n->address6, g->address6);
		n->ra = g->ra;
		n->nat = g->nat;
		n->host_dns = g->host_dns;
		n->guard = g->guard;
		n->dns = g->dns;
		n->dhcp = true;
		strcpy(n->dhcp_range, g->dhcp_range);
		strcpy(n->domain, g->domain);
		return 0;
	}
	if (!valid_name(name)) {
		if (!quiet)
			err("bad network name '%s': %s", name, NAME_RULE);
		return -1;
	}
	strcpy(n->name, name);
	n->guard = true;
	network_default_bridge(name, n->bridge);
	snprintf(n->domain, sizeof(n->domain), "%s", name);
	if (etc_dir(dir, sizeof(dir)) < 0 ||
	    snprintf_ok(n->file, sizeof(n->file), "%s/networks/%s.conf", dir, name) < 0)
		return -1;
	r = run_parse(&p, network_handler);
	if (r == -ENOENT) {
		if (!quiet)
			err("no network '%s' (%s does not exist)", name, n->file);
		return -2;
	}
	if (r < -1) {
		if (!quiet)
			err("%s: %s", n->file, strerror(-r));
		return -1;
	}
	if (r < 0)
		return -1;
	if (!np.dhcp_set)
		n->dhcp = n->address[0] != '\0';
	if (!np.dns_set)
		n->dns = n->dhcp;
#define NET_ERR(line, ...) do { \
		if (!quiet) { \
			fprintf(stderr, "%s: %s:%d: ", prog, n->file, line); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
		return -1; \
	} while (0)
	if (n->nat && n->isolated)
		NET_ERR(np.nat_line, "nat: an isolated network has no uplink to masquerade to");
	if (n->nat && !n->address[0])
		NET_ERR(np.nat_line, "nat: needs an address (the bridge routes the traffic)");
	if (n->dhcp && !n->address[0])
		NET_ERR(np.dhcp_line, "dhcp: needs an address (dnsmasq serves from it)");
	/* dnsmasq learns the names it answers from its DHCP host list */
	if (n->dns && !n->dhcp)
		NET_ERR(np.dns_line, "dns: needs dhcp = yes (dnsmasq names the instances it leases to)");
	if (n->dhcp && !n->dhcp_range[0])
		default_range(n->address, n->dhcp_range, sizeof(n->dhcp_range));
	if (n->dhcp_range[0]) {
		char a[64], b[64];

		if (!n->dhcp)
			NET_ERR(np.range_line, "dhcp_range: DHCP is off on this network");
		if (sscanf(n->dhcp_range, "%63[0-9.] , %63[0-9.]", a, b) != 2 ||
		    !config_in_subnet(n->address, a) || !config_in_subnet(n->address, b))
			NET_ERR(np.range_line, "dhcp_range %s is not inside the network's subnet %s",
				n->dhcp_range, n->address);
		if (range_check(n->address, a, b) < 0)
			NET_ERR(np.range_line, "dhcp_range %s: want FIRST <= LAST, without the bridge's address %s",
				n->dhcp_range, n->address);
	}
	if (n->address[0] && host_part_bad(n->address))
		NET_ERR(np.address_line, "address %s: the subnet's own address or its broadcast address, not one a host can have",
			n->address);
	if (ipv6_errors(n, np.address6_line, np.ra_line, quiet) < 0)
		return -1;
#undef NET_ERR
	return 0;
}

/* name: DEFAULT_NETWORK or a file networks/NAME.conf.  0, -2 when there
 * is no such network, -1 on other errors (reported). */
int config_load_network(const struct global_conf *g, const char *name,
			struct network *n)
{
	return load_network(g, name, n, false);
}

int config_load_network_quiet(const struct global_conf *g, const char *name,
			      struct network *n)
{
	return load_network(g, name, n, true);
}

/* Whether a network with DHCP and the guard on is up (its bridge
 * exists): the default one or a named one.  Files that do not load are
 * left out (check names them). */
bool config_guarded_network_up(const struct global_conf *g)
{
	static char names[MAX_NETWORKS + 1][NAME_MAX_LEN + 1];
	static struct network n;
	int count = config_network_names(names, MAX_NETWORKS);

	snprintf(names[count < 0 ? 0 : count], NAME_MAX_LEN + 1, "%s", DEFAULT_NETWORK);
	for (int i = 0; i < (count < 0 ? 0 : count) + 1; i++)
		if (load_network(g, names[i], &n, true) == 0 && n.dhcp && n.guard &&
		    bridge_exists(n.bridge))
			return true;
	return false;
}

/* The names of the files NAME.conf in the folder (instances, networks)
 * whose NAME passes the name rule (valid_name) and is not reserved,
 * sorted.  Any other *.conf is left alone, and counted in *odd (may be
 * NULL); `umlctl check` names them. */
static int folder_names(const char *folder, const char *what, const char *reserved,
			char names[][NAME_MAX_LEN + 1], int max, bool report, int *odd)
{
	char dir[PATH_LEN], sub[PATH_LEN];
	DIR *d;
	struct dirent *e;
	int n = 0, bad = 0;

	if (etc_dir(dir, sizeof(dir)) < 0 ||
	    snprintf_ok(sub, sizeof(sub), "%s/%s", dir, folder) < 0)
		return -1;
	d = opendir(sub);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		size_t len = strlen(e->d_name);
		char name[NAME_MAX_LEN + 1] = "";

		if (len < 5 || strcmp(e->d_name + len - 5, ".conf"))
			continue;
		if (len - 5 <= NAME_MAX_LEN) {
			memcpy(name, e->d_name, len - 5);
			name[len - 5] = '\0';
		}
		if (!name[0] || !valid_name(name) || (reserved && !strcmp(name, reserved))) {
			if (report)
				err("%s/%s: not NAME.conf with a valid %s name (%s%s%s): ignored",
				    folder, e->d_name, what, NAME_RULE,
				    reserved ? "; not " : "", reserved ? reserved : "");
			bad++;
			continue;
		}
		memcpy(names[n], name, sizeof(name));
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	if (odd)
		*odd = bad;
	return n;
}

static int network_names(char names[][NAME_MAX_LEN + 1], int max, bool report,
			 int *odd)
{
	return folder_names("networks", "network", DEFAULT_NETWORK, names, max,
			    report, odd);
}

int config_network_names(char names[][NAME_MAX_LEN + 1], int max)
{
	return network_names(names, max, false, NULL);
}

/* Errors when n shares a bridge or addresses with another network whose
 * file loads.  0 or -1. */
int config_network_conflicts(const struct global_conf *g, const struct network *n)
{
	static char names[MAX_NETWORKS + 1][NAME_MAX_LEN + 1];
	static struct network other;
	int count = config_network_names(names, MAX_NETWORKS), bad = 0;

	if (count < 0)
		return -1;
	strcpy(names[count++], DEFAULT_NETWORK);
	for (int i = 0; i < count; i++) {
		if (!strcmp(names[i], n->name) || load_network(g, names[i], &other, true) < 0)
			continue;
		if (!strcmp(other.bridge, n->bridge)) {
			err("%s: bridge %s is network %s's too (%s)", n->file, n->bridge,
			    other.name, other.file);
			bad++;
		}
		if (n->address[0] && other.address[0] &&
		    subnets_overlap(n->address, other.address)) {
			err("%s: address %s overlaps network %s's %s (%s)", n->file,
			    n->address, other.name, other.address, other.file);
			bad++;
		}
		if (n->address6[0] && other.address6[0] &&
		    subnets6_overlap(n->address6, other.address6)) {
			err("%s: address6 %s overlaps network %s's %s (%s)", n->file,
			    n->address6, other.name, other.address6, other.file);
			bad++;
		}
	}
	return bad ? -1 : 0;
}

/* `umlctl check`: every network file, and no two networks on one bridge
 * or subnet.  The number of network files, or -1. */
int config_check_networks(const struct global_conf *g)
{
	static char names[MAX_NETWORKS][NAME_MAX_LEN + 1];
	static struct network n;
	int bad = 0, count = network_names(names, MAX_NETWORKS, true, &bad);

	for (int i = 0; i < count; i++) {
		if (load_network(g, names[i], &n, false) < 0) {
			bad++;
			continue;
		}
		/* a pair of files in conflict is named from both sides */
		if (config_network_conflicts(g, &n) < 0)
			bad++;
	}
	return bad ? -1 : count;
}

/* usn-NAME while it fits in a device name, else ush-HASH (net.c's
 * tap_name does the same for TAP devices). */
void network_default_bridge(const char *name, char out[16])
{
	char hex[12];

	if (strlen(name) <= 11) {
		snprintf(out, 16, "usn-%s", name);
		return;
	}
	name_hash_hex(name, hex, 11);
	snprintf(out, 16, "ush-%s", hex);
}

void config_default_mac(const char *name, int idx, char mac[18])
{
	uint32_t h = 2166136261u;   /* FNV-1a of "name/idx" */
	char key[NAME_MAX_LEN + 16];

	snprintf(key, sizeof(key), "%s/%d", name, idx);
	for (const char *c = key; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	/* 02: locally administered unicast; 75:6d = "um" */
	snprintf(mac, 18, "02:75:6d:%02x:%02x:%02x", (h >> 16) & 0xff,
		 (h >> 8) & 0xff, h & 0xff);
}

static int resolve_image(const struct global_conf *g, struct instance_conf *ic)
{
	return image_find(g, ic->image, ic->image_path, sizeof(ic->image_path),
			  ic->image_zst, sizeof(ic->image_zst));
}

/* The file an image is read from: its .zst until it is unpacked. */
static const char *image_source(const struct instance_conf *ic)
{
	return ic->image_zst[0] ? ic->image_zst : ic->image_path;
}

/* Whether path is there for root's use: as root, access(); a user who
 * runs status or list cannot tell what root may open (a key in root's
 * 0700 home), so for them only a missing file counts. */
static int file_ok(const char *path, int mode)
{
	struct stat st;

	if (geteuid() == 0)
		return access(path, mode);
	if (stat(path, &st) < 0 && errno != EACCES)
		return -1;
	return 0;
}

static int instance_handler(void *user, const char *section, const char *key,
			    const char *v)
{
	struct parse *p = user;
	struct instance_conf *ic = p->conf;
	int idx;
	char extra;

	if (!strcmp(section, "instance")) {
		if (!strcmp(key, "image")) {
			if (!*v)
				return perr(p, "image: empty");
			if (!set_str(p, ic->image, sizeof(ic->image), key, v) ||
			    resolve_image(p->g, ic) < 0)
				return 0;
			if (!p->no_files && access(image_source(ic), R_OK) < 0)
				return perr(p, "image: %s: %s", image_source(ic),
					    strerror(errno));
			return 1;
		}
		if (!strcmp(key, "memory")) {
			if (!config_valid_memory(v))
				return perr(p, "memory: want a size like 256M, got '%s'", v);
			return set_str(p, ic->memory, sizeof(ic->memory), key, v);
		}
		if (!strcmp(key, "cpu")) {
			if (!strcmp(v, "auto")) {
				ic->cpu[0] = '\0';
				return 1;
			}
			if (!valid_cpu_list(v))
				return perr(p, "cpu: want auto or host CPUs below %ld like 1 or 0-1,3, got '%s'",
					    sysconf(_SC_NPROCESSORS_CONF), v);
			return set_str(p, ic->cpu, sizeof(ic->cpu), key, v);
		}

		if (!strcmp(key, "cpus")) {
			ic->vcpus = config_vcpus(v);
			if (!ic->vcpus)
				return perr(p, "cpus: want a number of virtual CPUs from 1 to %d (this host's CPUs), got '%s'",
					    config_max_vcpus(), v);
			return 1;
		}

		/* The systemd unit's limits (systemd.c). */
		if (!strcmp(key, "memory_max")) {
			if (!strcmp(v, "none"))
				return set_str(p, ic->memory_max, sizeof(ic->memory_max), key, "infinity");
			if (!config_valid_memory(v))
				return perr(p, "memory_max: want a size like 512M, or none, got '%s'", v);
			return set_str(p, ic->memory_max, sizeof(ic->memory_max), key, v);
		}
		if (!strcmp(key, "tasks_max")) {
			if (!strcmp(v, "none"))
				return set_str(p, ic->tasks_max, sizeof(ic->tasks_max), key, "infinity");
			if (!valid_tasks_max(v))
				return perr(p, "tasks_max: want a number of tasks (1-4194304), or none, got '%s'", v);
			return set_str(p, ic->tasks_max, sizeof(ic->tasks_max), key, v);
		}
		if (!strcmp(key, "allowed_cpus")) {
			if (!valid_cpu_list(v))
				return perr(p, "allowed_cpus: want host CPUs below %ld like 0-1,3, got '%s'",
					    sysconf(_SC_NPROCESSORS_CONF), v);
			return set_str(p, ic->allowed_cpus, sizeof(ic->allowed_cpus), key, v);
		}
		if (!strcmp(key, "restart")) {
			if (strcmp(v, "no") && strcmp(v, "on-failure") && strcmp(v, "always"))
				return perr(p, "restart: want no, on-failure or always, got '%s'", v);
			return set_str(p, ic->restart, sizeof(ic->restart), key, v);
		}
		if (!strcmp(key, "lab")) {
			if (!valid_name(v))
				return perr(p, "lab: '%s' is not a lab name", v);
			return set_str(p, ic->lab, sizeof(ic->lab), key, v);
		}
		if (!strcmp(key, "autostart"))
			return parse_bool(v, &ic->autostart) ?
				perr(p, "autostart: want yes or no, got '%s'", v) : 1;
		if (!strcmp(key, "network"))
			return parse_bool(v, &ic->network) ?
				perr(p, "network: want yes or no, got '%s'", v) : 1;
		if (!strcmp(key, "append")) {
			/* umlctl pins and accounts for the vCPUs it starts. */
			if (!strncmp(v, "ncpus=", 6) || strstr(v, " ncpus=") ||
			    strstr(v, "\tncpus="))
				return perr(p, "append: ncpus=: use 'cpus = N' instead");
			return set_str(p, ic->append, sizeof(ic->append), key, v);
		}
		if (!strcmp(key, "ssh_key")) {
			if (!p->no_files && file_ok(v, R_OK) < 0)
				return perr(p, "ssh_key: cannot read %s: %s", v, strerror(errno));
			return set_str(p, ic->ssh_key, sizeof(ic->ssh_key), key, v);
		}
		if (!strcmp(key, "forward")) {
			struct forward *f = &ic->forwards[ic->nforwards];

			if (ic->nforwards >= MAX_FORWARDS)
				return perr(p, "forward: at most %d", MAX_FORWARDS);
			if (sscanf(v, "%3[a-z]:%d:%d%c", f->proto, &f->host_port,
				   &f->guest_port, &extra) != 3 ||
			    (strcmp(f->proto, "tcp") && strcmp(f->proto, "udp")) ||
			    f->host_port < 1 || f->host_port > 65535 ||
			    f->guest_port < 1 || f->guest_port > 65535 ||
			    strspn(v, "tcpud:0123456789") != strlen(v))
				return perr(p, "forward: want tcp|udp:HOSTPORT:GUESTPORT like tcp:8080:80, got '%s'", v);
			f->line = p->line;
			ic->nforwards++;
			return 1;
		}
		if (!strcmp(key, "disk")) {
			if (ic->ndisks >= MAX_DISKS)
				return perr(p, "disk: at most %d disks", MAX_DISKS);
			if (v[0] != '/' || (!p->no_files && file_ok(v, R_OK | W_OK) < 0))
				return perr(p, "disk: %s: %s", v,
					    v[0] != '/' ? "want an absolute path" : strerror(errno));
			return set_str(p, ic->disks[ic->ndisks++], PATH_LEN, key, v);
		}
		return perr(p, "unknown key '%s' in section [instance]", key);
	}
	if (sscanf(section, "net%d%c", &idx, &extra) == 1 && idx >= 0 &&
	    idx < MAX_NETS) {
		struct net_conf *n = &ic->nets[idx];

		n->used = true;
		if (!strcmp(key, "mac")) {
			if (!config_valid_mac(v))
				return perr(p, "mac: want a unicast MAC like 02:75:6d:00:00:01, got '%s'", v);
			snprintf(n->mac, sizeof(n->mac), "%s", v);
			n->line = p->line;
			return 1;
		}
		if (!strcmp(key, "address")) {
			struct in_addr a;

			/* inside the network's subnet: checked once the
			 * section's network is known (check_nics) */
			if (inet_pton(AF_INET, v, &a) != 1)
				return perr(p, "address: want an IPv4 address, got '%s'", v);
			n->address_line = p->line;
			return set_str(p, n->address, sizeof(n->address), key, v);
		}
		if (!strcmp(key, "network")) {
			if (strcmp(v, DEFAULT_NETWORK) && !valid_name(v))
				return perr(p, "network: want %s or a network name (%s), got '%s'",
					    DEFAULT_NETWORK, NAME_RULE, v);
			n->network_line = p->line;
			return set_str(p, n->network, sizeof(n->network), key, v);
		}
		return perr(p, "unknown key '%s' in section [%s]", key, section);
	}
	return perr(p, "unknown section [%s] (want [instance] or [net0]..[net%d])",
		    section, MAX_NETS - 1);
}

/* Each interface's network exists, and a fixed address is inside it. */
static int check_nics(const struct global_conf *g, const struct instance_conf *ic,
		      bool quiet)
{
	static struct network n;
	int bad = 0;

	for (int i = 0; i < MAX_NETS; i++) {
		const struct net_conf *nc = &ic->nets[i];
		int r;

		if (!nc->used)
			continue;
		r = load_network(g, nc->network, &n, true);
		if (r < 0) {
			if (!quiet)
				err("%s:%d: network %s: %s (umlctl check names its errors)",
				    ic->file, nc->network_line, nc->network,
				    r == -2 ? "no such network (no networks/NAME.conf)"
					    : "its file has errors");
			bad++;
			continue;
		}
		if (!nc->address[0])
			continue;
		if (i == 0 && ic->nforwards && (n.isolated || !n.address[0])) {
			if (!quiet)
				err("%s:%d: forward: network %s of [net0] forwards nothing (isolated or no address)",
				    ic->file, ic->forwards[0].line, n.name);
			bad++;
		}
		if (!n.dhcp || !config_in_subnet(n.address, nc->address)) {
			if (!quiet)
				err("%s:%d: address: %s is not a DHCP address of network %s (%s)",
				    ic->file, nc->address_line, nc->address, n.name,
				    n.dhcp ? n.address : "no DHCP there");
			bad++;
		}
	}
	return bad ? -1 : 0;
}

static int load_instance(const struct global_conf *g, const char *name,
			 struct instance_conf *ic, bool quiet, bool no_files)
{
	char dir[PATH_LEN];
	struct parse p = { .conf = ic, .file = ic->file, .g = g, .quiet = quiet,
			   .no_files = no_files };
	int r;

	memset(ic, 0, sizeof(*ic));
	if (!valid_name(name)) {
		if (!quiet)
			err("bad instance name '%s': %s",
			    name, NAME_RULE);
		return -1;
	}
	strcpy(ic->name, name);
	strcpy(ic->image, g->image);
	strcpy(ic->memory, g->memory);
	ic->vcpus = 1;
	ic->network = true;
	if (etc_dir(dir, sizeof(dir)) < 0 ||
	    snprintf_ok(ic->file, sizeof(ic->file), "%s/instances/%s.conf", dir,
			name) < 0)
		return -1;
	r = run_parse(&p, instance_handler);
	if (r == -ENOENT) {
		if (!quiet)
			err("no instance '%s' (%s does not exist)", name, ic->file);
		return -2;
	}
	if (r < -1) {
		if (!quiet)
			err("%s: %s", ic->file, strerror(-r));
		return -1;
	}
	if (r < 0)
		return -1;
	/* Keys that must agree with each other. */
	if (ic->memory_max[0] && strcmp(ic->memory_max, "infinity") &&
	    config_memory_bytes(ic->memory_max) <= config_memory_bytes(ic->memory)) {
		if (!quiet)
			err("%s: memory_max %s is not above the guest's memory %s: the unit would be killed once the guest uses its memory",
			    ic->file, ic->memory_max, ic->memory);
		return -1;
	}
	if (ic->cpu[0]) {
		cpu_set_t pin;

		if (config_cpu_list(ic->cpu, &pin) < ic->vcpus) {
			if (!quiet)
				err("%s: cpu %s pins %d virtual CPUs (cpus = %d) to fewer host CPUs: give it as many, or cpu = auto",
				    ic->file, ic->cpu, ic->vcpus, ic->vcpus);
			return -1;
		}
	}
	if (ic->cpu[0] && ic->allowed_cpus[0]) {
		cpu_set_t pin, allowed, both;

		config_cpu_list(ic->cpu, &pin);
		config_cpu_list(ic->allowed_cpus, &allowed);
		CPU_AND(&both, &pin, &allowed);
		if (!CPU_EQUAL(&both, &pin)) {
			if (!quiet)
				err("%s: cpu %s is not within allowed_cpus %s",
				    ic->file, ic->cpu, ic->allowed_cpus);
			return -1;
		}
	}
	if (resolve_image(g, ic) < 0)
		return -1;
	if (!no_files && access(image_source(ic), R_OK) < 0) {
		if (!quiet)
			err("%s: image %s (the default image of %s): %s", ic->file,
			    image_source(ic), g->file, strerror(errno));
		return -1;
	}
	if (ic->nforwards && (!ic->network || !ic->nets[0].address[0])) {
		if (!quiet)
			err("%s:%d: forward: needs a fixed address of [net0] (address = ...): a leased one may pass to another instance, and the forward with it",
			    ic->file, ic->forwards[0].line);
		return -1;
	}
	if (ic->network) {
		bool any = false;

		for (int i = 0; i < MAX_NETS; i++)
			any |= ic->nets[i].used;
		if (!any)
			ic->nets[0].used = true;
		for (int i = 0; i < MAX_NETS; i++) {
			if (!ic->nets[i].used)
				continue;
			if (!ic->nets[i].mac[0])
				config_default_mac(name, i, ic->nets[i].mac);
			if (!ic->nets[i].network[0])
				strcpy(ic->nets[i].network, DEFAULT_NETWORK);
		}
		/* Quiet loads (the DHCP host lists, status, list) take the
		 * file as it is: a broken network file must not cost the
		 * instance its entries on the other networks.  start and
		 * check load loudly, and refuse. */
		if (!quiet && check_nics(g, ic, quiet) < 0)
			return -1;
	} else {
		memset(ic->nets, 0, sizeof(ic->nets));
	}
	return 0;
}

int config_load_instance(const struct global_conf *g, const char *name,
			 struct instance_conf *ic)
{
	return load_instance(g, name, ic, false, false);
}

/* For the unit's drop-in: the generator runs before later file systems
 * are mounted, so images, keys and disks are not opened (umlctl start
 * checks them).  A limit must never be lost to a missing mount. */
int config_load_instance_unit(const struct global_conf *g, const char *name,
			      struct instance_conf *ic)
{
	return load_instance(g, name, ic, false, true);
}

int config_load_instance_quiet(const struct global_conf *g, const char *name,
			       struct instance_conf *ic)
{
	return load_instance(g, name, ic, true, false);
}

/* Whether two instance names give the same TAP names: long names are
 * hashed to 40 bits (net.c's tap_name), so two of them may; the second
 * could then never bring up its network (reported against a's file). */
static bool tap_clash(const struct instance_conf *a, const struct instance_conf *b)
{
	char ta[16], tb[16];

	tap_name(a->name, 0, ta);
	tap_name(b->name, 0, tb);
	if (strcmp(ta, tb))
		return false;
	ta[strlen(ta) - 2] = '\0';   /* less its "-0" */
	err("%s: instance name %s gives the TAP names %s-N of instance %s (%s) too: rename one",
	    a->file, a->name, ta, b->name, b->file);
	return true;
}

/* Whether the TAP names of an instance called name are those of another
 * instance file's (reported): for clone, before it copies a disk. */
bool config_tap_names_taken(const char *name)
{
	static char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
	int n = config_instance_names(names, MAX_INSTANCES);
	char ta[16], tb[16];

	tap_name(name, 0, ta);
	for (int i = 0; i < n; i++) {
		tap_name(names[i], 0, tb);
		if (strcmp(names[i], name) && !strcmp(ta, tb)) {
			ta[strlen(ta) - 2] = '\0';
			err("%s: its TAP names %s-N would be those of instance %s: choose another name",
			    name, ta, names[i]);
			return true;
		}
	}
	return false;
}

/* One instance's MACs (and TAP names) against every other loadable
 * instance file. */
int config_check_macs(const struct global_conf *g,
		      const struct instance_conf *ic)
{
	static char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
	static struct instance_conf other;
	int n = config_instance_names(names, MAX_INSTANCES);
	int bad = 0;

	for (int a = 0; a < MAX_NETS; a++)
		for (int b = a + 1; b < MAX_NETS; b++)
			if (ic->nets[a].used && ic->nets[b].used &&
			    !strcasecmp(ic->nets[a].mac, ic->nets[b].mac)) {
				err("%s:%d: duplicate mac %s: [net%d] has it too",
				    ic->file, ic->nets[b].line, ic->nets[b].mac, a);
				bad++;
			}
	for (int i = 0; i < n; i++) {
		if (!strcmp(names[i], ic->name) ||
		    load_instance(g, names[i], &other, true, false) < 0)
			continue;
		bad += tap_clash(ic, &other);
		for (int a = 0; a < ic->nforwards; a++)
			for (int b = 0; b < other.nforwards; b++) {
				const struct forward *fa = &ic->forwards[a], *fb = &other.forwards[b];

				if (fa->host_port != fb->host_port || strcmp(fa->proto, fb->proto))
					continue;
				err("%s:%d: forward: host port %s %d is forwarded by %s too (%s:%d)",
				    ic->file, fa->line, fa->proto, fa->host_port, other.name,
				    other.file, fb->line);
				bad++;
			}
		for (int a = 0; a < MAX_NETS; a++)
			for (int b = 0; b < MAX_NETS; b++) {
				if (!ic->nets[a].used || !other.nets[b].used ||
				    strcasecmp(ic->nets[a].mac, other.nets[b].mac))
					continue;
				err("%s:%d: duplicate mac %s: already used by [net%d] of %s (%s:%d)",
				    ic->file, ic->nets[a].line, ic->nets[a].mac,
				    b, other.name, other.file, other.nets[b].line);
				bad++;
			}
	}
	return bad ? -1 : 0;
}

/* The instance names of the instances folder (folder_names). */
static int instance_names(char names[][NAME_MAX_LEN + 1], int max, bool report,
			  int *odd)
{
	return folder_names("instances", "instance", NULL, names, max, report, odd);
}

int config_instance_names(char names[][NAME_MAX_LEN + 1], int max)
{
	return instance_names(names, max, false, NULL);
}

int config_report_odd_files(void)
{
	static char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
	int odd = 0;

	instance_names(names, MAX_INSTANCES, true, &odd);
	return odd;
}

/* Checks every instance file, and that no MAC is used twice. */
int config_check_all(const struct global_conf *g)
{
	static char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
	static struct instance_conf ics[MAX_INSTANCES];
	int bad = 0;
	int n = instance_names(names, MAX_INSTANCES, true, &bad);

	for (int i = 0; i < n; i++)
		if (load_instance(g, names[i], &ics[i], false, false) < 0) {
			ics[i].name[0] = '\0';
			bad++;
		}
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < i; j++)
			if (ics[i].name[0] && ics[j].name[0])
				bad += tap_clash(&ics[i], &ics[j]);
		for (int a = 0; a < MAX_NETS; a++) {
			const struct net_conf *na = &ics[i].nets[a];

			if (!ics[i].name[0] || !na->used)
				continue;
			for (int j = 0; j <= i; j++) {
				for (int b = 0; b < MAX_NETS; b++) {
					const struct net_conf *nb = &ics[j].nets[b];

					if (!ics[j].name[0] || !nb->used ||
					    (j == i && b >= a) ||
					    strcasecmp(na->mac, nb->mac))
						continue;
					err("%s:%d: duplicate mac %s: already used by [net%d] of %s (%s:%d)",
					    ics[i].file, na->line, na->mac, b,
					    ics[j].name, ics[j].file, nb->line);
					bad++;
				}
			}
		}
	}
	return bad ? -1 : n;
}
