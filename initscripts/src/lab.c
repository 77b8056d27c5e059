/* lab.c: Kathará/Netkit lab folders (umlctl lab ...).  A lab folder holds
 * lab.conf (NODE[N]=DOMAIN, NODE[image|mem|cpus|bridged]=..., LAB_*=...),
 * NODE/ (copied over the node's root), NODE.startup, shared/ and
 * shared.startup.  lab up makes of it ordinary instance and network files:
 *   collision domain D -> networks/LAB-D.conf (isolated, no address: a
 *                         bare bridge private to the lab)
 *   node N             -> instances/LAB-N.conf ([netK] network = LAB-D,
 *                         lab = LAB), its files in STATE/LAB-N/lab/, which
 *                         go on its metadata disk at each start (the
 *                         image's lab-boot applies them)
 * and keeps a record in STATE/.labs/LAB/ (dir, nodes, networks, LAB_*)
 * for status, exec and down.
 *
 * Trust: the lab folder is its owner's.  It is read (lab.conf and every
 * file copied into a node) by a child process that has become the
 * folder's owner, so root's umlctl never reads for a user what the user
 * could not; links are copied as links, never followed; special files
 * are left out.  The child hands back the parsed lab, which the parent
 * checks again (names, sizes) before it writes anything. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "umlctl.h"

#define COPY_LIMIT (64ull << 20)  /* bytes of files per node */
#define COPY_DEPTH 32
#define LAB_MEM_MAX (4ull << 30)  /* memory of one node */
#define COPY_ENTRIES 20000       /* files, folders and links per node */
/* And per lab, all nodes together (shared/ counts once: it is staged
 * once, as the lab's live /shared or the copy each node gets): root
 * writes these into its state folder, where no quota of the folder's
 * owner applies. */
#define LAB_COPY_LIMIT (256ull << 20)
#define LAB_COPY_ENTRIES 100000

/* What the lab reader may still copy: for the node at hand, and for
 * the whole lab. */
struct copy_budget {
	unsigned long long node_bytes, lab_bytes;
	long node_entries, lab_entries;
};
/* Modes as copied: nobody but root may write what root's tools read
 * later (mke2fs -d), and no set-id or sticky bits. */
#define COPY_MODE 0755

/* Printable text only: the folder's path goes into comments of the
 * files written and into the record, one line each. */
static bool plain_path(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p < 32 || (unsigned char)*p == 127)
			return false;
	return true;
}

/* Control characters of names from the lab folder as '?', so that what
 * umlctl prints of them cannot act on root's terminal. */
void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 32 || (unsigned char)*s == 127)
			*s = '?';
}

/* ------------------------------------------------------------ parsing */

static bool domain_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* LAB-DOMAIN as a network name: lower case, '_' as '-'. */
static int domain_network(const char *lab, const char *domain, char *out)
{
	char buf[NAME_MAX_LEN + 8];

	if (snprintf_ok(buf, sizeof(buf), "%s-%s", lab, domain) < 0)
		return -1;
	for (char *c = buf; *c; c++)
		*c = *c == '_' ? '-' : (char)tolower((unsigned char)*c);
	if (!valid_name(buf))
		return -1;
	strcpy(out, buf);
	return 0;
}

static struct lab_node *node_of(struct lab *lab, const char *name, int line,
				const char *file)
{
	char inst[NAME_MAX_LEN + 8];

	for (int i = 0; i < lab->n; i++)
		if (!strcmp(lab->nodes[i].name, name))
			return &lab->nodes[i];
	if (lab->n == MAX_LAB_NODES) {
		err("%s:%d: more than %d nodes", file, line, MAX_LAB_NODES);
		return NULL;
	}
	if (snprintf_ok(inst, sizeof(inst), "%s-%s", lab->name, name) < 0 ||
	    !valid_name(inst)) {
		err("%s:%d: node '%s': its instance %s-%s breaks the name rule (%s)",
		    file, line, name, lab->name, name, NAME_RULE);
		return NULL;
	}
	struct lab_node *n = &lab->nodes[lab->n++];

	memset(n, 0, sizeof(*n));
	strcpy(n->name, name);
	strcpy(n->instance, inst);
	n->line = line;
	return n;
}

static bool truthy(const char *v)
{
	return !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1");
}

/* One line of lab.conf; -1 on an error (reported), 0 otherwise. */
static int parse_line(struct lab *lab, char *s, int line, const char *file)
{
	char *eq, *key, *val, *end;
	struct lab_node *n;

	s[strcspn(s, "\r\n")] = '\0';
	for (char *c = s; *c; c++)
		if (*c == '\t')
			*c = ' ';
	printable(s);
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (!*s || *s == '#')
		return 0;
	eq = strchr(s, '=');
	if (!eq) {
		err("%s:%d: syntax error (want NODE[KEY]=VALUE or LAB_NAME=VALUE)", file, line);
		return -1;
	}
	*eq = '\0';
	val = eq + 1;
	if ((val[0] == '"' || val[0] == '\'') && strlen(val) >= 2 &&
	    val[strlen(val) - 1] == val[0]) {
		val[strlen(val) - 1] = '\0';
		val++;
	}
	if (!strncmp(s, "LAB_", 4)) {
		if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(s)) {
			err("%s:%d: %s: want LAB_ and capitals, digits, '_'", file, line, s);
			return -1;
		}
		if (lab->nmeta == MAX_LAB_META || strlen(s) >= sizeof(lab->meta[0].key) ||
		    strlen(val) >= sizeof(lab->meta[0].value)) {
			err("%s:%d: %s: too long, or too many LAB_ lines", file, line, s);
			return -1;
		}
		for (char *c = val; *c; c++)
			if ((unsigned char)*c < 32 || *c == 127)
				*c = ' ';
		strcpy(lab->meta[lab->nmeta].key, s);
		strcpy(lab->meta[lab->nmeta++].value, val);
		return 0;
	}
	key = strchr(s, '[');
	if (!key || s[strlen(s) - 1] != ']' || key == s) {
		err("%s:%d: syntax error (want NODE[KEY]=VALUE or LAB_NAME=VALUE)", file, line);
		return -1;
	}
	*key++ = '\0';
	key[strlen(key) - 1] = '\0';
	{
		size_t len = strlen(s);
		bool ok = len <= NAME_MAX_LEN && s[0] >= 'a' && s[0] <= 'z' &&
			  s[len - 1] != '-';

		for (size_t i = 0; ok && i < len; i++)
			ok = (s[i] >= 'a' && s[i] <= 'z') || isdigit((unsigned char)s[i]) ||
			     s[i] == '-';
		if (!ok) {
			err("%s:%d: node name '%s': want a-z, 0-9 and '-', starting with a letter",
			    file, line, s);
			return -1;
		}
	}
	n = node_of(lab, s, line, file);
	if (!n)
		return -1;
	if (isdigit((unsigned char)key[0])) {
		char *slash = strchr(val, '/'), *e;
		long idx = strtol(key, &e, 10);

		if (*e || idx < 0 || idx >= MAX_NETS) {
			err("%s:%d: %s[%s]: interface numbers are 0 to %d", file, line, s,
			    key, MAX_NETS - 1);
			return -1;
		}
		if (n->ifaces[idx].used) {
			err("%s:%d: %s[%ld]: set twice (line %d)", file, line, s, idx,
			    n->ifaces[idx].line);
			return -1;
		}
		if (slash) {
			*slash++ = '\0';
			if (!config_valid_mac(slash)) {
				err("%s:%d: %s[%ld]: '%s' is not a MAC address", file, line, s,
				    idx, slash);
				return -1;
			}
			snprintf(n->ifaces[idx].mac, sizeof(n->ifaces[idx].mac), "%s", slash);
		}
		if (!*val || strlen(val) > NAME_MAX_LEN) {
			err("%s:%d: %s[%ld]: want a collision domain name", file, line, s, idx);
			return -1;
		}
		for (char *c = val; *c; c++)
			if (!domain_char(*c)) {
				err("%s:%d: collision domain '%s': want letters, digits, '_' and '-'",
				    file, line, val);
				return -1;
			}
		if (domain_network(lab->name, val, n->ifaces[idx].network) < 0) {
			err("%s:%d: collision domain '%s': its network %s-%s breaks the name rule (%s)",
			    file, line, val, lab->name, val, NAME_RULE);
			return -1;
		}
		strcpy(n->ifaces[idx].domain, val);
		n->ifaces[idx].used = true;
		n->ifaces[idx].line = line;
		return 0;
	}
	if (!strcmp(key, "image")) {
		if (!*val || strlen(val) >= sizeof(n->image)) {
			err("%s:%d: %s[image]: want an image name", file, line, s);
			return -1;
		}
		strcpy(n->image, val);
		return 0;
	}
	if (!strcmp(key, "mem")) {
		char m[32];
		size_t len = strlen(val);

		if (len == 0 || len >= sizeof(m)) {
			err("%s:%d: %s[mem]: want a size like 256m", file, line, s);
			return -1;
		}
		strcpy(m, val);
		/* Kathará's sizes are docker's: 256m, 1g; plain numbers are MiB. */
		if (isdigit((unsigned char)m[len - 1]) && len + 1 < sizeof(m))
			strcat(m, "M");
		m[strlen(m) - 1] = (char)toupper((unsigned char)m[strlen(m) - 1]);
		if (!config_valid_memory(m)) {
			err("%s:%d: %s[mem]: '%s' is not a size (256m, 1g)", file, line, s, val);
			return -1;
		}
		{
			unsigned long long v = strtoull(m, NULL, 10);
			char unit = m[strlen(m) - 1];
			int shift = unit == 'G' ? 30 : unit == 'M' ? 20 : unit == 'K' ? 10 : 0;

			if (v > (LAB_MEM_MAX >> shift)) {
				err("%s:%d: %s[mem]: %s is more than a lab node may have (4G)",
				    file, line, s, val);
				return -1;
			}
		}
		strcpy(n->mem, m);
		return 0;
	}
	if (!strcmp(key, "bridged")) {
		n->bridged = truthy(val);
		return 0;
	}
	if (!strcmp(key, "cpus")) {
		/* Kathará's is a docker --cpus share (0.5, 2); here it is
		 * a number of virtual CPUs: a share rounds up to whole ones,
		 * and more than the host has is cut to what it has. */
		char *rest;
		double want;

		errno = 0;
		want = strtod(val, &rest);
		if (errno || rest == val || *rest || !(want > 0) || want > 4096) {
			err("%s:%d: %s[cpus]: want a number of CPUs like 1 or 2, got '%s'",
			    file, line, s, val);
			return -1;
		}
		n->vcpus = (int)want;
		if (n->vcpus < want)
			n->vcpus++;
		if (n->vcpus != want)
			msg("%s:%d: warning: %s[cpus]=%s: a share of a CPU is not a limit here; the node gets %d virtual CPU%s",
			    file, line, s, val, n->vcpus, n->vcpus > 1 ? "s" : "");
		if (n->vcpus > config_max_vcpus()) {
			n->vcpus = config_max_vcpus();
			msg("%s:%d: warning: %s[cpus]=%s: more than this host's CPUs; the node gets %d",
			    file, line, s, val, n->vcpus);
		}
		return 0;
	}
	msg("%s:%d: warning: %s[%s]: not supported, ignored", file, line, s, key);
	return 0;
}

/* Two domains of one lab must not become one network ("A" and "a"). */
static int check_domains(struct lab *lab, const char *file)
{
	int bad = 0;

	for (int i = 0; i < lab->n; i++)
		for (int k = 0; k < MAX_NETS; k++) {
			struct lab_iface *f = &lab->nodes[i].ifaces[k];
			bool seen = false;

			if (!f->used)
				continue;
			for (int d = 0; d < lab->ndomains; d++) {
				if (strcmp(lab->domains[d].network, f->network))
					continue;
				seen = true;
				if (strcmp(lab->domains[d].domain, f->domain)) {
					err("%s:%d: collision domains '%s' and '%s' are one network (%s) here: rename one",
					    file, f->line, lab->domains[d].domain, f->domain,
					    f->network);
					bad++;
				}
			}
			if (seen)
				continue;
			if (lab->ndomains == MAX_LAB_DOMAINS) {
				err("%s:%d: more than %d collision domains", file, f->line,
				    MAX_LAB_DOMAINS);
				return -1;
			}
			strcpy(lab->domains[lab->ndomains].domain, f->domain);
			strcpy(lab->domains[lab->ndomains++].network, f->network);
		}
	for (int i = 0; i < lab->n; i++) {
		struct lab_node *n = &lab->nodes[i];

		if (!n->bridged)
			continue;
		n->bridged_idx = 0;
		for (int k = 0; k < MAX_NETS; k++)
			if (n->ifaces[k].used)
				n->bridged_idx = k + 1;
		if (n->bridged_idx >= MAX_NETS) {
			err("%s:%d: %s[bridged]: no interface left (at most %d)", file,
			    n->line, n->name, MAX_NETS);
			bad++;
		}
	}
	return bad ? -1 : 0;
}

/* ------------------------------------------------------------ copying */

/* Copies regular file name of folder src to as in dst, its mode masked
 * (COPY_MODE), within budget; where names it in messages. */
static int copy_file(int src, const char *name, int dst, const char *as, const char *where,
		     struct copy_budget *budget)
{
	int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), out = -1;
	char buf[65536];
	struct stat st = { 0 };
	const char *why = NULL;
	ssize_t n;

	if (in < 0 || fstat(in, &st) < 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file any more";
	else if ((out = openat(dst, as, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			       0600)) < 0)
		why = strerror(errno);
	while (!why && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			why = strerror(errno);
		} else if ((unsigned long long)n > budget->node_bytes) {
			why = "the node's files are larger than 64 MiB (put large files in an image)";
		} else if ((unsigned long long)n > budget->lab_bytes) {
			why = "the lab's files, all nodes together, are larger than 256 MiB (put large files in an image)";
		} else {
			budget->node_bytes -= (unsigned long long)n;
			budget->lab_bytes -= (unsigned long long)n;
			if (write_all(out, buf, (size_t)n) < 0)
				why = strerror(errno);
		}
	}
	if (why)
		err("%s: %s", where, why);
	if (out >= 0) {
		fchmod(out, st.st_mode & COPY_MODE);
		close(out);
	}
	if (in >= 0)
		close(in);
	return why ? -1 : 0;
}

/* Copies the tree at src into dst: directories, regular files (budget:
 * bytes left), links as links; nothing followed, special files left out. */
static int copy_tree(int src, int dst, const char *where, struct copy_budget *budget,
		     int depth)
{
	DIR *d = opendir_fd(src, where);
	struct dirent *e;
	int bad = 0;

	if (!d)
		return -1;
	if (depth > COPY_DEPTH) {
		err("%s: deeper than %d folders", where, COPY_DEPTH);
		closedir(d);
		return -1;
	}
	while (!bad && (e = readdir(d))) {
		char path[PATH_LEN];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", where, e->d_name);
		printable(path);
		if (--budget->node_entries < 0 || --budget->lab_entries < 0) {
			err("%s: %s more than %d files, folders and links", path,
			    budget->node_entries < 0 ? "the node has" : "the lab's nodes have",
			    budget->node_entries < 0 ? COPY_ENTRIES : LAB_COPY_ENTRIES);
			bad = 1;
			break;
		}
		if (fstatat(src, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			err("%s: %s", path, strerror(errno));
			bad = 1;
		} else if (S_ISDIR(st.st_mode)) {
			int s2 = openat(src, e->d_name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), d2;

			if (s2 < 0 || mkdirat(dst, e->d_name, 0700) < 0 ||
			    (d2 = openat(dst, e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
				err("%s: %s", path, strerror(errno));
				bad = 1;
			} else {
				bad = copy_tree(s2, d2, path, budget, depth + 1) < 0;
				fchmod(d2, st.st_mode & COPY_MODE);
				close(d2);
			}
			if (s2 >= 0)
				close(s2);
		} else if (S_ISREG(st.st_mode)) {
			bad = copy_file(src, e->d_name, dst, e->d_name, path, budget) < 0;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_LEN];
			ssize_t n = readlinkat(src, e->d_name, target, sizeof(target) - 1);

			if (n < 0 || (target[n] = '\0', symlinkat(target, dst, e->d_name) < 0)) {
				err("%s: %s", path, strerror(errno));
				bad = 1;
			}
		} else {
			msg("%s: warning: not a file, folder or link: left out", path);
		}
	}
	closedir(d);
	return bad ? -1 : 0;
}

/* Copies the file or folder name of the lab folder (if there) to dst/as. */
static int copy_item(int labfd, const char *dir, const char *name, int dst,
		     const char *as, struct copy_budget *budget)
{
	struct stat st;
	char where[PATH_LEN];

	snprintf(where, sizeof(where), "%s/%s", dir, name);
	printable(where);
	if (fstatat(labfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : (err("%s: %s", where, strerror(errno)), -1);
	if (S_ISLNK(st.st_mode)) {
		msg("%s: warning: a link: not followed, left out", where);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		int s = openat(labfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), d;
		int r;

		if (s < 0 || mkdirat(dst, as, 0755) < 0 ||
		    (d = openat(dst, as, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			err("%s: %s", where, strerror(errno));
			if (s >= 0)
				close(s);
			return -1;
		}
		r = copy_tree(s, d, where, budget, 0);
		close(s);
		close(d);
		return r;
	}
	if (S_ISREG(st.st_mode))
		return copy_file(labfd, name, dst, as, where, budget);
	msg("%s: warning: not a file or folder: left out", where);
	return 0;
}

/* In the child, as the lab folder's owner: shared/ into stage/.shared
 * (no node name starts with a dot), each node's files into stage/NODE/
 * (root/, startup, shared.startup, ifnames, dhcp). */
static int stage_nodes(const struct lab *lab, int labfd, int stage)
{
	struct copy_budget budget = { .lab_bytes = LAB_COPY_LIMIT,
				      .lab_entries = LAB_COPY_ENTRIES,
				      .node_bytes = COPY_LIMIT,
				      .node_entries = COPY_ENTRIES };

	if (copy_item(labfd, lab->dir, "shared", stage, ".shared", &budget) < 0)
		return -1;

	for (int i = 0; i < lab->n; i++) {
		const struct lab_node *n = &lab->nodes[i];
		char startup[NAME_MAX_LEN + 16], text[32];
		int d, r = 0, f;

		if (mkdirat(stage, n->name, 0755) < 0 ||
		    (d = openat(stage, n->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				O_CLOEXEC)) < 0) {
			err("staging %s: %s", n->name, strerror(errno));
			return -1;
		}
		snprintf(startup, sizeof(startup), "%s.startup", n->name);
		budget.node_bytes = COPY_LIMIT;
		budget.node_entries = COPY_ENTRIES;
		r |= copy_item(labfd, lab->dir, n->name, d, "root", &budget);
		r |= copy_item(labfd, lab->dir, startup, d, "startup", &budget);
		r |= copy_item(labfd, lab->dir, "shared.startup", d, "shared.startup", &budget);
		f = openat(d, "ifnames", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (f < 0 || write_all(f, "eth\n", 4) < 0)
			r = -1;
		if (f >= 0)
			close(f);
		if (n->bridged) {
			snprintf(text, sizeof(text), "eth%d\n", n->bridged_idx);
			f = openat(d, "dhcp", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (f < 0 || write_all(f, text, strlen(text)) < 0)
				r = -1;
			if (f >= 0)
				close(f);
		}
		close(d);
		if (r)
			return -1;
	}
	return 0;
}

/* The child: become the folder's owner, parse, stage; the lab goes back
 * through out (the same program on both sides of a fork). */
static void reader_child(struct lab *lab, int labfd, const struct stat *owner, int stage,
			 int out)
{
	char file[PATH_LEN], line[4096];
	int lineno = 0, bad = 0, null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	FILE *f;

	/* Nothing of root's but what it needs: not root's terminal for
	 * input, and never traceable by the owner's other processes. */
	close_held_locks();
	if (null < 0 || dup2(null, 0) < 0)
		_exit(EX_FAIL);
	close(null);
	if (owner->st_uid != 0) {
		struct passwd *pw = getpwuid(owner->st_uid);
		gid_t gid = pw ? pw->pw_gid : owner->st_gid;

		if ((pw ? initgroups(pw->pw_name, gid) : setgroups(0, NULL)) < 0 ||
		    setgid(gid) < 0 || setuid(owner->st_uid) < 0 || setuid(0) == 0) {
			err("lab: cannot become the lab folder's owner (uid %u)",
			    (unsigned)owner->st_uid);
			_exit(EX_FAIL);
		}
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(EX_FAIL);
	snprintf(file, sizeof(file), "%s/lab.conf", lab->dir);
	{
		int fd = openat(labfd, "lab.conf", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		struct stat st;

		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    !(f = fdopen(fd, "r"))) {
			err("%s: %s", file, fd < 0 ? strerror(errno) : "not a regular file");
			_exit(EX_CONFIG);
		}
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			err("%s:%d: line too long", file, lineno);
			bad++;
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		if (parse_line(lab, line, lineno, file) < 0)
			bad++;
	}
	fclose(f);
	if (!bad && lab->n == 0) {
		err("%s: no node (want lines like pc1[0]=A)", file);
		bad++;
	}
	if (!bad && check_domains(lab, file) < 0)
		bad++;
	if (bad) {
		err("%s: %d error%s: nothing done", file, bad, bad == 1 ? "" : "s");
		_exit(EX_CONFIG);
	}
	if (stage_nodes(lab, labfd, stage) < 0)
		_exit(EX_FAIL);
	if (write_all(out, (const char *)lab, sizeof(*lab)) < 0)
		_exit(EX_FAIL);
	_exit(EX_OK);
}

/* ------------------------------------------------------------ records */

static int labs_dir(char *out, size_t len)
{
	char base[PATH_LEN];

	if (state_dir(base, sizeof(base), NULL) < 0)
		return -1;
	return snprintf_ok(out, len, "%s/.labs", base);
}

static int record_dir(const char *name, char *out, size_t len)
{
	char base[PATH_LEN];

	if (labs_dir(base, sizeof(base)) < 0)
		return -1;
	return snprintf_ok(out, len, "%s/%s", base, name);
}

static int write_record(const struct lab *lab)
{
	char dir[PATH_LEN], path[PATH_LEN + 16];
	static char text[65536];
	size_t n = 0;

	if (record_dir(lab->name, dir, sizeof(dir)) < 0 || mkdir_p(dir, 0700) < 0)
		return -1;
#define ADD(...) (n += (size_t)snprintf(text + n, n < sizeof(text) ? sizeof(text) - n : 0, __VA_ARGS__))
	ADD("dir=%s\n", lab->dir);
	for (int i = 0; i < lab->n; i++)
		ADD("node=%s\n", lab->nodes[i].name);
	for (int i = 0; i < lab->ndomains; i++)
		ADD("network=%s %s\n", lab->domains[i].network, lab->domains[i].domain);
	for (int i = 0; i < lab->nmeta; i++)
		ADD("meta=%s=%s\n", lab->meta[i].key, lab->meta[i].value);
	if (lab->owner_known)
		ADD("owner=%u %llu %llu\n", (unsigned)lab->owner, lab->dir_dev, lab->dir_ino);
	ADD("up=%lld\n", lab->up_time);
	if (lab->shared_live)
		ADD("shared=live\n");
#undef ADD
	if (n >= sizeof(text))
		return -1;
	snprintf(path, sizeof(path), "%s/record", dir);
	return write_file(path, text, 0600);
}

/* The record of lab name (only what status, exec and down need). */
int lab_load(const char *name, struct lab *lab)
{
	char dir[PATH_LEN], path[PATH_LEN + 16], line[LAB_DIR_MAX + 64];
	FILE *f;

	memset(lab, 0, sizeof(*lab));
	if (!valid_name(name) || record_dir(name, dir, sizeof(dir)) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/record", dir);
	f = fopen(path, "re");
	if (!f)
		return -1;
	strcpy(lab->name, name);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "dir=", 4)) {
			snprintf(lab->dir, sizeof(lab->dir), "%s", line + 4);
		} else if (!strncmp(line, "node=", 5) && lab->n < MAX_LAB_NODES) {
			struct lab_node *n = &lab->nodes[lab->n];

			snprintf(n->name, sizeof(n->name), "%s", line + 5);
			if (snprintf_ok(n->instance, sizeof(n->instance), "%s-%s", name,
					n->name) == 0 && valid_name(n->name) &&
			    valid_name(n->instance))
				lab->n++;
		} else if (!strncmp(line, "network=", 8) && lab->ndomains < MAX_LAB_DOMAINS) {
			char *net = lab->domains[lab->ndomains].network;
			size_t l = strlen(name);

			/* only LAB-something: never the default network or
			 * another lab's */
			if (sscanf(line + 8, "%32s %32s", net,
				   lab->domains[lab->ndomains].domain) == 2 &&
			    valid_name(net) && !strncmp(net, name, l) && net[l] == '-')
				lab->ndomains++;
		} else if (!strncmp(line, "owner=", 6)) {
			unsigned u;

			lab->owner_known = sscanf(line + 6, "%u %llu %llu", &u, &lab->dir_dev,
						  &lab->dir_ino) == 3;
			lab->owner = (uid_t)u;
		} else if (!strncmp(line, "up=", 3)) {
			lab->up_time = atoll(line + 3);
		} else if (!strcmp(line, "shared=live")) {
			lab->shared_live = true;
		} else if (!strncmp(line, "meta=", 5) && lab->nmeta < MAX_LAB_META) {
			char *eq = strchr(line + 5, '=');

			if (eq) {
				*eq = '\0';
				snprintf(lab->meta[lab->nmeta].key, sizeof(lab->meta[0].key),
					 "%s", line + 5);
				snprintf(lab->meta[lab->nmeta++].value,
					 sizeof(lab->meta[0].value), "%s", eq + 1);
			}
		}
	}
	fclose(f);
	return 0;
}

/* Every lab that is up, by name; -1 on an error. */
int lab_names(char names[][NAME_MAX_LEN + 1], int max)
{
	char dir[PATH_LEN];
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (labs_dir(dir, sizeof(dir)) < 0)
		return -1;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) && n < max)
		if (valid_name(e->d_name))
			snprintf(names[n++], NAME_MAX_LEN + 1, "%s", e->d_name);
	closedir(d);
	return n;
}

/* DIR made absolute as text (no link resolved): the folder may be gone. */
static int absolute_path(const char *dir, char *out, size_t len)
{
	char cwd[PATH_MAX];
	size_t l;

	if (dir[0] == '/')
		return snprintf_ok(out, len, "%s", dir);
	if (!getcwd(cwd, sizeof(cwd)) ||
	    snprintf_ok(out, len, "%s/%s", strcmp(cwd, "/") ? cwd : "", dir) < 0)
		return -1;
	l = strlen(out);
	while (l > 1 && out[l - 1] == '/')
		out[--l] = '\0';
	return 0;
}

/* The lab that is up from folder dir (or named dir): 0; 1 when none
 * is (said with down_ok: lab down has nothing to do); -1 on error. */
int lab_find(const char *dir, struct lab *lab, bool down_ok)
{
	static char names[MAX_LABS][NAME_MAX_LEN + 1];
	char real[PATH_MAX];
	int n = lab_names(names, MAX_LABS);

	if (n < 0) {
		err("lab %s: cannot read the labs that are up: %s", dir, strerror(errno));
		return -1;
	}
	if (!realpath(dir, real)) {
		int gone = errno;

		if (valid_name(dir) && lab_load(dir, lab) == 0)
			return 0;
		/* A folder removed or renamed while its lab is up: its
		 * path as the record has it, taken as text. */
		if (gone == ENOENT && absolute_path(dir, real, sizeof(real)) == 0)
			for (int i = 0; i < n; i++)
				if (lab_load(names[i], lab) == 0 && !strcmp(lab->dir, real))
					return 0;
		if (down_ok && gone == ENOENT) {
			msg("lab %s: not up", dir);
			return 1;
		}
		err("lab %s: %s", dir, strerror(gone));
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (lab_load(names[i], lab) == 0 && !strcmp(lab->dir, real))
			return 0;
	if (down_ok) {
		msg("lab %s: not up", dir);
		return 1;
	}
	err("lab %s: not up (umlctl lab up %s)", dir, dir);
	return -1;
}

/* --------------------------------------------------------------- up */

static int instance_file(const char *name, char *out, size_t len)
{
	char dir[PATH_LEN];

	return etc_dir(dir, sizeof(dir)) < 0 ? -1 :
	       snprintf_ok(out, len, "%s/instances/%s.conf", dir, name);
}

static int network_file(const char *name, char *out, size_t len)
{
	char dir[PATH_LEN];

	return etc_dir(dir, sizeof(dir)) < 0 ? -1 :
	       snprintf_ok(out, len, "%s/networks/%s.conf", dir, name);
}

/* A file there already that is not this lab's: its marker line. */
static bool ours_or_absent(const char *path, const char *labname)
{
	char text[256], mark[128];

	if (read_file(path, text, sizeof(text)) < 0)
		return errno == ENOENT;
	snprintf(mark, sizeof(mark), "# lab %s:", labname);
	return !strncmp(text, mark, strlen(mark));
}

/* The image of a node: an image file, one of image_dir by name (tiny,
 * debian, lab), or a Kathara image name (kathara/frr, ...), which is the
 * lab image: the Debian image with the tools of Kathara's. */
static const char *image_for(const struct global_conf *g, const struct lab_node *n)
{
	char path[PATH_LEN], zst[PATH_LEN];
	const char *name = n->image;

	if (!name[0])
		return NULL;
	if (name[0] == '/')
		return name;
	if (!strncmp(name, "kathara/", 8))
		name = "lab";
	if (valid_name(name) &&
	    image_find(g, name, path, sizeof(path), zst, sizeof(zst)) == 0 &&
	    access(zst[0] ? zst : path, R_OK) == 0)
		return name;
	msg("lab: warning: %s[image]=%s: no such image here (%s/%s.ext4 or .ext4.zst); %s gets the default (%s)",
	    n->name, n->image, g->image_dir, name, n->name, g->image);
	return NULL;
}

/* Appends to a text of len bytes; false once it would not fit. */
static bool add(char *text, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool add(char *text, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(text + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *used) {
		*used = len;
		return false;
	}
	*used += (size_t)n;
	return true;
}

static int write_files(const struct global_conf *g, const struct lab *lab)
{
	char path[PATH_LEN], text[8192], dir[PATH_LEN + 16];

	if (etc_dir(dir, sizeof(dir)) < 0)
		return -1;
	strcat(dir, "/networks");
	if (mkdir_p(dir, 0755) < 0)
		return -1;
	for (int i = 0; i < lab->ndomains; i++) {
		size_t used = 0;

		if (network_file(lab->domains[i].network, path, sizeof(path)) < 0 ||
		    !add(text, sizeof(text), &used,
			 "# lab %s: collision domain %s of %s.  Written by umlctl lab up;\n"
			 "# lab down removes it.\n"
			 "[network]\naddress = none\ndhcp = no\nnat = no\nisolated = yes\n",
			 lab->name, lab->domains[i].domain, lab->dir) ||
		    write_file(path, text, 0644) < 0)
			return -1;
	}
	dir[strlen(dir) - strlen("networks")] = '\0';
	strcat(dir, "instances");
	if (mkdir_p(dir, 0755) < 0)
		return -1;
	for (int i = 0; i < lab->n; i++) {
		const struct lab_node *n = &lab->nodes[i];
		const char *image = image_for(g, n);
		bool nics = n->bridged, ok;
		size_t used = 0;

		for (int k = 0; k < MAX_NETS; k++)
			nics |= n->ifaces[k].used;
		ok = instance_file(n->instance, path, sizeof(path)) == 0 &&
		     add(text, sizeof(text), &used,
			 "# lab %s: node %s of %s.  Written by umlctl lab up;\n"
			 "# lab down removes it.\n[instance]\nlab = %s\n", lab->name,
			 n->name, lab->dir, lab->name);
		if (ok && !nics)
			ok = add(text, sizeof(text), &used, "network = no\n");
		if (ok && image)
			ok = add(text, sizeof(text), &used, "image = %s\n", image);
		if (ok && n->mem[0])
			ok = add(text, sizeof(text), &used, "memory = %s\n", n->mem);
		if (ok && n->vcpus > 1)
			ok = add(text, sizeof(text), &used, "cpus = %d\n", n->vcpus);
		for (int k = 0; ok && k < MAX_NETS; k++) {
			const struct lab_iface *f = &n->ifaces[k];

			if (f->used) {
				ok = add(text, sizeof(text), &used, "[net%d]\nnetwork = %s\n", k,
					 f->network);
				if (ok && f->mac[0])
					ok = add(text, sizeof(text), &used, "mac = %s\n", f->mac);
			} else if (n->bridged && k == n->bridged_idx) {
				ok = add(text, sizeof(text), &used, "[net%d]\nnetwork = %s\n", k,
					 DEFAULT_NETWORK);
			}
		}
		if (!ok || write_file(path, text, 0644) < 0)
			return -1;
	}
	return 0;
}

/* The lab's networks, from its nodes' checked interfaces (not from the
 * reader's list). */
static void domains_of(struct lab *lab)
{
	lab->ndomains = 0;
	for (int i = 0; i < lab->n; i++)
		for (int k = 0; k < MAX_NETS; k++) {
			const struct lab_iface *f = &lab->nodes[i].ifaces[k];
			bool seen = false;

			if (!f->used)
				continue;
			for (int d = 0; d < lab->ndomains && !seen; d++)
				seen = !strcmp(lab->domains[d].network, f->network);
			if (seen || lab->ndomains == MAX_LAB_DOMAINS)
				continue;
			strcpy(lab->domains[lab->ndomains].domain, f->domain);
			strcpy(lab->domains[lab->ndomains++].network, f->network);
		}
}

/* The parsed lab from the child, checked again: the parent trusts no
 * name or length in it. */
static int recheck(const struct lab *lab, const struct lab *asked)
{
	if (lab->n < 1 || lab->n > MAX_LAB_NODES || lab->ndomains < 0 ||
	    lab->ndomains > MAX_LAB_DOMAINS || lab->nmeta < 0 || lab->nmeta > MAX_LAB_META ||
	    strcmp(lab->name, asked->name) || strcmp(lab->dir, asked->dir))
		return -1;
	for (int i = 0; i < lab->n; i++) {
		const struct lab_node *n = &lab->nodes[i];
		char inst[NAME_MAX_LEN + 8];

		if (!memchr(n->name, 0, sizeof(n->name)) || !memchr(n->image, 0, sizeof(n->image)) ||
		    !memchr(n->mem, 0, sizeof(n->mem)) ||
		    snprintf_ok(inst, sizeof(inst), "%s-%s", lab->name, n->name) < 0 ||
		    strcmp(inst, n->instance) || !valid_name(inst) ||
		    (n->mem[0] && !config_valid_memory(n->mem)) ||
		    n->vcpus < 0 || n->vcpus > config_max_vcpus() ||
		    strchr(n->image, '\n') || n->bridged_idx < 0 || n->bridged_idx >= MAX_NETS)
			return -1;
		for (int k = 0; k < MAX_NETS; k++) {
			const struct lab_iface *f = &n->ifaces[k];
			char net[NAME_MAX_LEN + 1];

			if (!f->used)
				continue;
			if (!memchr(f->domain, 0, sizeof(f->domain)) ||
			    domain_network(lab->name, f->domain, net) < 0 ||
			    strcmp(net, f->network) || (f->mac[0] && !config_valid_mac(f->mac)))
				return -1;
		}
	}
	for (int i = 0; i < lab->nmeta; i++)
		if (!memchr(lab->meta[i].key, 0, sizeof(lab->meta[i].key)) ||
		    !memchr(lab->meta[i].value, 0, sizeof(lab->meta[i].value)) ||
		    strspn(lab->meta[i].key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
		    strlen(lab->meta[i].key) || !plain_path(lab->meta[i].value))
			return -1;
	return 0;
}

/* A lab name from the folder's: lower case, '_', '.' and ' ' as '-'. */
static int name_from_dir(const char *real, char *out)
{
	const char *base = strrchr(real, '/');
	char buf[NAME_MAX_LEN + 1];
	size_t n = 0;

	base = base ? base + 1 : real;
	for (; *base && n < NAME_MAX_LEN; base++) {
		char c = (char)tolower((unsigned char)*base);

		buf[n++] = strchr("_. ", c) ? '-' : c;
	}
	buf[n] = '\0';
	if (*base || !valid_name(buf))
		return -1;
	strcpy(out, buf);
	return 0;
}

/* lab up, up to the files: parse and stage (as the owner), write the
 * network and instance files and the record.  Returns EX_OK with the lab
 * in lab, or an exit status. */
static int prepare_open(const struct global_conf *g, const char *dir, const char *name,
			struct lab *lab);

int lab_prepare(const struct global_conf *g, const char *dir, const char *name,
		struct lab *lab)
{
	return prepare_open(g, dir, name, lab);
}

static int prepare_fd(const struct global_conf *g, const char *dir, const char *name,
		      struct lab *lab, const char *real, int labfd, const struct stat *stp);
static int commit_locked(const struct global_conf *g, struct lab *lab, char *stage);

static int prepare_open(const struct global_conf *g, const char *dir, const char *name,
			struct lab *lab)
{
	char real[PATH_MAX];
	struct stat st;
	int labfd, r;

	if (!realpath(dir, real)) {
		err("lab %s: %s", dir, strerror(errno));
		return EX_CONFIG;
	}
	if (!plain_path(real) || strlen(real) > LAB_DIR_MAX) {
		err("lab %s: the folder's path has control characters or is longer than %d bytes",
		    dir, LAB_DIR_MAX);
		return EX_CONFIG;
	}
	/* The folder as one descriptor: its owner, its mode and what the
	 * reader reads are of the same folder. */
	labfd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (labfd < 0 || fstat(labfd, &st) < 0) {
		err("lab %s: %s", dir, strerror(errno));
		if (labfd >= 0)
			close(labfd);
		return EX_CONFIG;
	}
	r = prepare_fd(g, dir, name, lab, real, labfd, &st);
	close(labfd);
	return r;
}

static int prepare_fd(const struct global_conf *g, const char *dir, const char *name,
		      struct lab *lab, const char *real, int labfd, const struct stat *stp)
{
	static struct lab asked, got;
	char rec[PATH_LEN], stage[PATH_LEN + 16], path[PATH_LEN];
	const struct stat st = *stp;
	int fds[2], stagefd, status = 0, lock, r;
	pid_t pid;
	ssize_t n = 0;

	memset(&asked, 0, sizeof(asked));
	if (!S_ISDIR(st.st_mode)) {
		err("lab %s: not a folder", dir);
		return EX_CONFIG;
	}
	/* Read as its owner, a folder everyone may write to (/tmp) would be
	 * anyone's files read with the owner's rights. */
	if (st.st_mode & S_IWOTH) {
		err("lab %s: everyone may write to the folder: put the lab in a folder of its own",
		    dir);
		return EX_CONFIG;
	}
	if (snprintf_ok(asked.dir, sizeof(asked.dir), "%s", real) < 0)
		return EX_CONFIG;
	if (name) {
		if (!valid_name(name)) {
			err("lab: --name %s: %s", name, NAME_RULE);
			return EX_USAGE;
		}
		strcpy(asked.name, name);
	} else if (name_from_dir(real, asked.name) < 0) {
		err("lab %s: the folder's name is no lab name (%s): give one with --name",
		    dir, NAME_RULE);
		return EX_USAGE;
	}
	/* Held until lab up returns: a lab down of it waits (lock.c). */
	if (lock_lab(asked.name) < 0)
		return EX_FAIL;
	if (lab_load(asked.name, lab) == 0) {
		if (strcmp(lab->dir, real)) {
			err("lab %s: the name is taken by the lab of %s (give another with --name)",
			    asked.name, lab->dir);
			return EX_FAIL;
		}
		msg("lab %s: up already (lab.conf is read again only after lab down)",
		    asked.name);
		return EX_OK;
	}
	if (record_dir(asked.name, rec, sizeof(rec)) < 0 || labs_dir(path, sizeof(path)) < 0 ||
	    mkdir_p(path, 0700) < 0 ||
	    snprintf_ok(stage, sizeof(stage), "%s.stage.%d", rec, (int)getpid()) < 0)
		return EX_FAIL;
	rm_rf(stage);
	if (mkdir(stage, 0700) < 0 || chown(stage, st.st_uid, st.st_gid) < 0 ||
	    (stagefd = open(stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		err("%s: %s", stage, strerror(errno));
		rm_rf(stage);
		return EX_FAIL;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		err("pipe: %s", strerror(errno));
		close(stagefd);
		rm_rf(stage);
		return EX_FAIL;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		reader_child(&asked, labfd, &st, stagefd, fds[1]);
	}
	close(fds[1]);
	close(stagefd);
	memset(&got, 0, sizeof(got));
	while (pid > 0 && (size_t)n < sizeof(got)) {
		ssize_t got_n = read(fds[0], (char *)&got + n, sizeof(got) - (size_t)n);

		if (got_n <= 0)
			break;
		n += got_n;
	}
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != EX_OK || (size_t)n != sizeof(got)) {
		rm_rf(stage);
		return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) :
		       EX_FAIL;
	}
	if (recheck(&got, &asked) < 0) {
		err("lab %s: the lab reader's answer does not check out: nothing done", dir);
		rm_rf(stage);
		return EX_FAIL;
	}
	domains_of(&got);
	got.owner_known = true;
	got.owner = st.st_uid;
	got.dir_dev = (unsigned long long)st.st_dev;
	got.dir_ino = (unsigned long long)st.st_ino;
	/* What the reader read is in; the rest holds the lab's lock (kept
	 * until lab up has started the nodes: a lab down waits for it) and
	 * the network lock: one lab up or down at a time, and none while a
	 * network changes (the reader ran without them: its owner could
	 * have stopped it). */
	if (lock_lab(got.name) < 0) {
		rm_rf(stage);
		return EX_FAIL;
	}
	lock = lock_network();
	if (lock < 0) {
		rm_rf(stage);
		return EX_FAIL;
	}
	r = commit_locked(g, &got, stage);
	unlock(lock);
	rm_rf(stage);
	if (r == EX_OK)
		*lab = got;
	return r;
}

/* The nodes' memory together against the host's: a warning, not a
 * refusal, since an idle node uses a small part of its memory (a tiny
 * node of 128M about 20M, bench/lab-scale). */
static void warn_memory(const struct global_conf *g, const struct lab *lab)
{
	unsigned long long sum = 0, total_kib = 0;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");

	for (int i = 0; i < lab->n; i++)
		sum += config_memory_bytes(lab->nodes[i].mem[0] ? lab->nodes[i].mem : g->memory);
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &total_kib) == 1)
			break;
	if (f)
		fclose(f);
	if (total_kib && sum >> 10 > total_kib)
		msg("lab %s: warning: its %d nodes may use %llu MiB of memory together, more than this host has (%llu MiB)",
		    lab->name, lab->n, sum >> 20, total_kib >> 10);
}

/* The MAC of node n's interface k, as its instance file will give it
 * (config.c: a MAC of lab.conf's, else the name's default); false when
 * the node has no such interface. */
static bool node_mac(const struct lab_node *n, int k, char mac[18])
{
	if (n->ifaces[k].used && n->ifaces[k].mac[0]) {
		snprintf(mac, 18, "%s", n->ifaces[k].mac);
		return true;
	}
	if (!n->ifaces[k].used && !(n->bridged && k == n->bridged_idx))
		return false;
	config_default_mac(n->instance, k, mac);
	return true;
}

/* Whether node a (of this lab) and instance other (b: a node of this lab
 * too, or -1) share a MAC or TAP names; reported.  start refuses both
 * files of such a pair: a lab could keep another user's instance from
 * starting, with a MAC in lab.conf or a node name chosen for its hash. */
static bool node_clash(const struct lab *lab, const struct lab_node *a,
		       const struct instance_conf *other, const struct lab_node *b)
{
	char ta[16], tb[16], ma[18], mb[18];
	const char *oname = b ? b->instance : other->name;

	tap_name(a->instance, 0, ta);
	tap_name(oname, 0, tb);
	if (!strcmp(ta, tb)) {
		ta[strlen(ta) - 2] = '\0';
		err("lab %s: node %s: its TAP names %s-N are those of instance %s (another node or lab name): nothing done",
		    lab->name, a->name, ta, oname);
		return true;
	}
	for (int k = 0; k < MAX_NETS; k++) {
		if (!node_mac(a, k, ma))
			continue;
		for (int j = 0; j < MAX_NETS; j++) {
			if (b ? !node_mac(b, j, mb) : !other->nets[j].used)
				continue;
			if (strcasecmp(ma, b ? mb : other->nets[j].mac))
				continue;
			err("lab %s: node %s: the MAC %s of its eth%d is instance %s's (its interface %d): nothing done",
			    lab->name, a->name, ma, k, oname, j);
			return true;
		}
	}
	return false;
}

static bool lab_domain(const struct lab *lab, const char *network)
{
	for (int d = 0; d < lab->ndomains; d++)
		if (!strcmp(lab->domains[d].network, network))
			return true;
	return false;
}

/* No collision domain's bridge (ush-HASH for a long LAB-DOMAIN, 44 bits)
 * is another network's or another domain's of this lab: check would then
 * refuse both networks, another user's too.  The number of clashes. */
static int check_bridges(const struct global_conf *g, const struct lab *lab)
{
	static char names[MAX_NETWORKS + 1][NAME_MAX_LEN + 1];
	static struct network other;
	int n = config_network_names(names, MAX_NETWORKS), bad = 0;
	char ba[16], bb[16];

	if (n < 0) {
		err("lab %s: cannot list the networks to check the domains' bridges: nothing done",
		    lab->name);
		return 1;
	}
	strcpy(names[n++], DEFAULT_NETWORK);
	for (int d = 0; d < lab->ndomains; d++) {
		network_default_bridge(lab->domains[d].network, ba);
		for (int i = 0; i < n; i++) {
			if (lab_domain(lab, names[i]))
				continue;
			/* a file that does not load now may once fixed:
			 * its name's bridge, unless it names another */
			if (config_load_network_quiet(g, names[i], &other) < 0)
				network_default_bridge(names[i], other.bridge);
			if (strcmp(other.bridge, ba))
				continue;
			err("lab %s: collision domain %s: its bridge %s is network %s's: nothing done",
			    lab->name, lab->domains[d].domain, ba, names[i]);
			bad++;
		}
		for (int e = d + 1; e < lab->ndomains; e++) {
			network_default_bridge(lab->domains[e].network, bb);
			if (strcmp(ba, bb))
				continue;
			err("lab %s: collision domains %s and %s would share the bridge %s: nothing done",
			    lab->name, lab->domains[d].domain, lab->domains[e].domain, ba);
			bad++;
		}
	}
	return bad;
}

/* No node shares a MAC or TAP names with an instance that is not of
 * this lab, or with another node, and no domain a bridge. */
static int check_clashes(const struct global_conf *g, const struct lab *lab)
{
	static char names[MAX_INSTANCES][NAME_MAX_LEN + 1];
	static struct instance_conf other;
	int n = config_instance_names(names, MAX_INSTANCES), bad = 0;

	if (n < 0) {
		err("lab %s: cannot list the instances to check the nodes against: nothing done",
		    lab->name);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		bool node = false;

		for (int j = 0; j < lab->n && !node; j++)
			node = !strcmp(names[i], lab->nodes[j].instance);
		if (node)
			continue;
		/* A file that does not load now may once fixed: its TAP
		 * names follow from its name alone (its MACs are unknown). */
		if (config_load_instance_quiet(g, names[i], &other) < 0) {
			memset(&other, 0, sizeof(other));
			snprintf(other.name, sizeof(other.name), "%s", names[i]);
		}
		for (int j = 0; j < lab->n; j++)
			bad += node_clash(lab, &lab->nodes[j], &other, NULL);
	}
	for (int a = 0; a < lab->n; a++)
		for (int b = a + 1; b < lab->n; b++)
			bad += node_clash(lab, &lab->nodes[a], NULL, &lab->nodes[b]);
	bad += check_bridges(g, lab);
	return bad ? -1 : 0;
}

/* lab up's second half, under the network lock. */
static int commit_locked(const struct global_conf *g, struct lab *lab, char *stage)
{
	char path[PATH_LEN];

	{
		static struct lab other;

		if (lab_load(lab->name, &other) == 0) {
			err("lab %s: brought up meanwhile by another lab up", lab->name);
			return EX_FAIL;
		}
	}
	/* The host's limits: instance and network files umlctl handles. */
	{
		static char inames[MAX_INSTANCES + MAX_LAB_NODES][NAME_MAX_LEN + 1];
		static char nnames[MAX_NETWORKS + MAX_LAB_DOMAINS][NAME_MAX_LEN + 1];
		int ni = config_instance_names(inames, MAX_INSTANCES + MAX_LAB_NODES);
		int nn = config_network_names(nnames, MAX_NETWORKS + MAX_LAB_DOMAINS);

		if (ni < 0 || nn < 0 || ni + lab->n > MAX_INSTANCES ||
		    nn + lab->ndomains > MAX_NETWORKS) {
			err("lab %s: %d nodes and %d collision domains are more than this host takes (%d instances and %d networks in all; %d and %d there)",
			    lab->name, lab->n, lab->ndomains, MAX_INSTANCES, MAX_NETWORKS, ni, nn);
			return EX_CONFIG;
		}
	}
	warn_memory(g, lab);
	if (check_clashes(g, lab) < 0)
		return EX_CONFIG;
	/* Names of other labs or of hand-made files are not overwritten,
	 * and no node boots a disk destroy --keep-disk kept. */
	for (int i = 0; i < lab->n; i++) {
		if (instance_file(lab->nodes[i].instance, path, sizeof(path)) < 0 ||
		    !ours_or_absent(path, lab->name)) {
			err("lab %s: %s exists and is not this lab's: nothing done", lab->name, path);
			return EX_FAIL;
		}
		if (disk_kept(lab->nodes[i].instance, path, sizeof(path))) {
			err("lab %s: %s holds a disk kept by destroy --keep-disk (umlctl destroy %s removes it): nothing done",
			    lab->name, path, lab->nodes[i].instance);
			return EX_FAIL;
		}
	}
	for (int i = 0; i < lab->ndomains; i++)
		if (network_file(lab->domains[i].network, path, sizeof(path)) < 0 ||
		    !ours_or_absent(path, lab->name)) {
			err("lab %s: %s exists and is not this lab's: nothing done", lab->name, path);
			return EX_FAIL;
		}
	/* The staged files become root's, then the lab's live /shared (its
	 * group's id goes in the record's folder) and each node's state. */
	char seed[PATH_LEN + 16];
	int live;

	snprintf(seed, sizeof(seed), "%s/.shared", stage);
	{
		char *argv[] = { "chown", "-R", "-P", "0:0", stage, NULL };

		if (run_cmd(argv, false))
			return EX_FAIL;
	}
	if (record_dir(lab->name, path, sizeof(path)) < 0 || mkdir_p(path, 0700) < 0)
		return EX_FAIL;
	live = labshare_up(g, lab, seed);
	if (live < 0 || (live == 0 && labshare_budget_check(lab, seed) < 0)) {
		rm_rf(path);
		return live < 0 ? EX_FAIL : EX_CONFIG;
	}
	lab->shared_live = live == 1;
	/* After the seed, whose files the reader wrote just now (in this
	 * second, at the latest): what the nodes write is not older. */
	lab->up_time = (long long)time(NULL) + 1;
	for (int i = 0; i < lab->n; i++) {
		char state[PATH_LEN], from[PATH_LEN + 64], to[PATH_LEN + 16];
		char shared[PATH_LEN + 32];
		char *cp[] = { "cp", "-a", "--no-dereference", seed, shared, NULL };

		if (state_dir(state, sizeof(state), lab->nodes[i].instance) < 0 ||
		    mkdir_p(state, 0755) < 0 ||
		    snprintf_ok(from, sizeof(from), "%s/%s", stage, lab->nodes[i].name) < 0 ||
		    snprintf_ok(to, sizeof(to), "%s/lab", state) < 0 ||
		    rm_rf(to) < 0 || rename(from, to) < 0) {
			err("lab %s: node %s: cannot place its files: %s", lab->name,
			    lab->nodes[i].name, strerror(errno));
			goto fail;
		}
		/* The image's lab-boot mounts /shared, or copies it. */
		snprintf(shared, sizeof(shared), "%s/%s", to, live ? "shared-live" : "shared");
		if (live ? write_file(shared, "yes\n", 0644) < 0 :
		    access(seed, F_OK) == 0 && run_cmd(cp, false)) {
			err("lab %s: node %s: cannot place its files", lab->name,
			    lab->nodes[i].name);
			goto fail;
		}
	}
	rm_rf(stage);
	if (write_record(lab) < 0 || write_files(g, lab) < 0) {
		err("lab %s: cannot write its files", lab->name);
		goto fail;
	}
	return EX_OK;
fail:
	if (live && labshare_dir(lab->name, seed, sizeof(seed)) == 0)
		rm_rf(seed);
	if (record_dir(lab->name, path, sizeof(path)) == 0)
		rm_rf(path);
	return EX_FAIL;
}

/* ------------------------------------------------------------- down */

/* After the nodes are destroyed: the networks and the record. */
int lab_remove(const struct lab *lab)
{
	char path[PATH_LEN];
	int r = EX_OK;

	for (int i = 0; i < lab->ndomains; i++) {
		static struct network n;

		if (network_file(lab->domains[i].network, path, sizeof(path)) < 0 ||
		    !ours_or_absent(path, lab->name)) {
			msg("lab %s: %s is not this lab's any more: left alone", lab->name, path);
			continue;
		}
		hostnet_leftover(lab->domains[i].network, &n);
		{
			int lock = lock_network();

			if (lock < 0 || hostnet_down(&n))
				r = EX_FAIL;
			unlock(lock);
		}
		if (network_file(lab->domains[i].network, path, sizeof(path)) == 0 &&
		    ours_or_absent(path, lab->name))
			unlink(path);
	}
	/* The nodes are gone: /shared goes back to the folder. */
	if (labshare_down(lab) < 0)
		r = EX_FAIL;
	if (record_dir(lab->name, path, sizeof(path)) == 0)
		rm_rf(path);
	return r;
}

/* Whether instance NAME is this lab's (its file says so, or is gone). */
bool lab_owns(const struct lab *lab, const char *instance)
{
	char path[PATH_LEN];

	return instance_file(instance, path, sizeof(path)) == 0 &&
	       ours_or_absent(path, lab->name);
}

/* ----------------------------------------------------------- status */

static const char *state_word(enum inst_state s)
{
	return s == INST_RUNNING ? "running" : s == INST_STOPPED ? "stopped" :
	       s == INST_FAILED ? "failed" : "dead";
}

/* The lab's state as lab status -o json shows it (the caller puts it). */
struct json_object *lab_status_json(const struct lab *lab)
{
	char shared[PATH_LEN];
	gid_t gid;
	bool live = labshare_node(lab->name, NULL, &gid, shared, sizeof(shared)) == 1;
	struct json_object *o = json_object_new_object();
	struct json_object *meta = json_object_new_object();
	struct json_object *nodes = json_object_new_array();
	struct json_object *nets = json_object_new_array();

	json_object_object_add(o, "lab", json_object_new_string(lab->name));
	json_object_object_add(o, "dir", json_object_new_string(lab->dir));
	for (int i = 0; i < lab->nmeta; i++)
		json_object_object_add(meta, lab->meta[i].key,
				       json_object_new_string(lab->meta[i].value));
	json_object_object_add(o, "meta", meta);
	for (int i = 0; i < lab->n; i++) {
		struct json_object *n = json_object_new_object();
		struct inst_info info;

		instance_info(lab->nodes[i].instance, &info);
		json_object_object_add(n, "node", json_object_new_string(lab->nodes[i].name));
		json_object_object_add(n, "instance",
				       json_object_new_string(lab->nodes[i].instance));
		json_object_object_add(n, "state",
				       json_object_new_string(state_word(info.state)));
		json_object_array_add(nodes, n);
	}
	json_object_object_add(o, "nodes", nodes);
	for (int i = 0; i < lab->ndomains; i++) {
		struct json_object *n = json_object_new_object();

		json_object_object_add(n, "domain",
				       json_object_new_string(lab->domains[i].domain));
		json_object_object_add(n, "network",
				       json_object_new_string(lab->domains[i].network));
		json_object_array_add(nets, n);
	}
	json_object_object_add(o, "domains", nets);
	json_object_object_add(o, "shared", live ? json_object_new_string(shared) : NULL);
	return o;
}

int lab_status(const struct lab *lab, bool json)
{
	char shared[PATH_LEN];
	gid_t gid;
	bool live;

	if (json) {
		struct json_object *o = lab_status_json(lab);

		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
		return EX_OK;
	}
	live = labshare_node(lab->name, NULL, &gid, shared, sizeof(shared)) == 1;
	msg("lab %s (%s)", lab->name, lab->dir);
	for (int i = 0; i < lab->nmeta; i++)
		msg("  %s: %s", lab->meta[i].key, lab->meta[i].value);
	msg("%-16s  %-24s  %s", "NODE", "INSTANCE", "STATE");
	for (int i = 0; i < lab->n; i++) {
		struct inst_info info;

		instance_info(lab->nodes[i].instance, &info);
		msg("%-16s  %-24s  %s", lab->nodes[i].name, lab->nodes[i].instance,
		    state_word(info.state));
	}
	for (int i = 0; i < lab->ndomains; i++)
		msg("domain %s: network %s", lab->domains[i].domain, lab->domains[i].network);
	if (live)
		msg("shared: %s (live, group %u)", shared, (unsigned)gid);
	else
		msg("shared: copied into each node at boot");
	return EX_OK;
}
