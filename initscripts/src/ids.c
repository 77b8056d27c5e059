/* ids.c: the user each instance runs as.
 *
 * Every instance runs as a user of its own, so that a guest that escaped
 * its UML can reach nothing of another instance: not its COW layer
 * (STATE/NAME/disk, 0700), its metadata disk (0640 root:ID), its UML
 * folder with the mconsole socket (RUN/uml/NAME, 0700), its TAP devices
 * (owned by ID) or its processes.  The user is a number from the range
 * `ids` of uml-skas.conf (default 2130706432-2130771967), uid and gid
 * alike, with no passwd or group entry, the way systemd's DynamicUser=
 * works, and outside the ranges of /etc/subuid and /etc/subgid.  The
 * instance keeps it for its life in STATE/NAME/id (its COW layer belongs
 * to it).  Numbers are not reused while the range lasts: STATE/.next-id
 * says where the next search starts, so a process that outlived its
 * instance can never find a new instance's files under its uid (stop and
 * destroy also kill every process of the uid: kill_user()).  Only when the
 * range is used up does the search wrap to its start.  A number is free
 * when no instance's id file holds it and neither passwd nor group nor a
 * subordinate id range knows it; an instance whose id file another one
 * shares (a copied state folder) does not start.  The ids lock keeps two
 * starts from taking the same number.
 *
 * A lab's nodes also share a group from the same range, chosen the same
 * way (STATE/.labs/LAB/gid), for the lab's live /shared (labshare.c); it
 * goes with the lab's record at lab down.
 *
 * Besides its own group, the instance gets one more: `group` of
 * uml-skas.conf (default uml-skas, which the packages create and the
 * host module lets open /proc/mm).  Without that group the instance
 * runs in UML's seccomp mode. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umlctl.h"

static int id_file(const char *name, char *out)
{
	char dir[PATH_LEN];

	if (state_dir(dir, sizeof(dir), name) < 0)
		return -1;
	return snprintf_ok(out, PATH_LEN, "%s/id", dir);
}

/* A lab's group: STATE/.labs/LAB/gid (its record folder, lab.c). */
static int lab_id_file(const char *lab, char *out)
{
	char dir[PATH_LEN];

	if (!valid_name(lab) || state_dir(dir, sizeof(dir), NULL) < 0)
		return -1;
	return snprintf_ok(out, PATH_LEN, "%s/.labs/%s/gid", dir, lab);
}

/* The id in file path, of who: 1, 0 when there is none, -1 when it is
 * bad. */
static int read_id_file(const char *who, const char *path, uid_t *id)
{
	char buf[32], *end;
	unsigned long long n;

	if (read_file(path, buf, sizeof(buf)) < 0)
		return errno == ENOENT ? 0 : -1;
	errno = 0;
	n = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || n < 65536 ||
	    n > 4294967293ULL) {
		err("%s: %s: not a user id", who, path);
		return -1;
	}
	*id = (uid_t)n;
	return 1;
}

static int read_id(const char *name, uid_t *id)
{
	char path[PATH_LEN];

	if (id_file(name, path) < 0)
		return -1;
	return read_id_file(name, path, id);
}

/* Whether an id file in folder base/ENTRY/leaf other than self holds
 * id. */
static bool id_in(const char *base, const char *leaf, const char *self, uid_t id)
{
	struct dirent *e;
	bool taken = false;
	DIR *d = opendir(base);

	if (!d)
		return errno != ENOENT;
	while (!taken && (e = readdir(d))) {
		char path[PATH_LEN];
		uid_t other;

		if (!valid_name(e->d_name) ||
		    snprintf_ok(path, sizeof(path), "%s/%s/%s", base, e->d_name, leaf) < 0 ||
		    !strcmp(path, self))
			continue;
		taken = read_id_file(e->d_name, path, &other) == 1 && other == id;
	}
	closedir(d);
	return taken;
}

/* Whether another instance (STATE/NAME/id) or lab (STATE/.labs/LAB/gid)
 * holds id: a lab's group shared with an instance's would give that
 * instance the lab's /shared. */
static bool id_taken(const char *self, uid_t id)
{
	char dir[PATH_LEN], labs[PATH_LEN + 8];

	if (state_dir(dir, sizeof(dir), NULL) < 0)
		return true;
	snprintf(labs, sizeof(labs), "%s/.labs", dir);
	return id_in(dir, "id", self, id) || id_in(labs, "gid", self, id);
}

/* Whether /etc/subuid or /etc/subgid (NAME:FIRST:COUNT lines) gives the
 * number to someone's user namespaces. */
static bool id_subordinate(const char *file, uid_t id)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(file, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long first, count;

		if (sscanf(line, "%*[^:]:%llu:%llu", &first, &count) == 2)
			found = id >= first && id - first < count;
	}
	fclose(f);
	return found;
}

/* Whether passwd, group or a subordinate id range knows the number (as
 * another's, it would give the instance that one's files). */
static bool id_known(uid_t id)
{
	return getpwuid(id) != NULL || getgrgid((gid_t)id) != NULL ||
	       id_subordinate("/etc/subuid", id) || id_subordinate("/etc/subgid", id);
}

/* STATE/.next-id: where the next search starts (no instance name starts
 * with a dot). */
static int next_file(char *out)
{
	char dir[PATH_LEN];

	if (state_dir(dir, sizeof(dir), NULL) < 0)
		return -1;
	return snprintf_ok(out, PATH_LEN, "%s/.next-id", dir);
}

/* The id of who in file path: the one it has (checked again), or a free
 * one written there.  kind names it in messages ("user id", "group id"). */
static int get_id(const struct global_conf *g, const char *who, const char *kind,
		  const char *path, uid_t *id)
{
	char next[PATH_LEN], text[32], buf[32];
	unsigned long long span = (unsigned long long)g->id_last - g->id_first + 1;
	unsigned long long start = g->id_first;
	int lock, r;

	lock = lock_ids();
	if (lock < 0)
		return -1;
	r = read_id_file(who, path, id);
	if (r == 1) {
		if (id_known(*id)) {
			err("%s: its %s %u is now in passwd, group or a subordinate id range: remove that entry, or destroy and create it",
			    who, kind, (unsigned)*id);
			r = -1;
		} else if (id_taken(path, *id)) {
			err("%s: its %s %u is another's too (a copied state folder?): remove %s",
			    who, kind, (unsigned)*id, path);
			r = -1;
		}
		unlock(lock);
		return r < 0 ? -1 : 0;
	}
	if (r < 0 || next_file(next) < 0) {
		unlock(lock);
		return -1;
	}
	if (read_file(next, buf, sizeof(buf)) > 0) {
		unsigned long long n = strtoull(buf, NULL, 10);

		if (n >= g->id_first && n <= g->id_last)
			start = n;
	}
	for (unsigned long long k = 0; k < span; k++) {
		unsigned long long n = g->id_first + (start - g->id_first + k) % span;

		if (id_known((uid_t)n) || id_taken(path, (uid_t)n))
			continue;
		snprintf(text, sizeof(text), "%llu\n", n);
		if (write_file(path, text, 0644) < 0)
			break;
		snprintf(text, sizeof(text), "%llu\n",
			 n == g->id_last ? (unsigned long long)g->id_first : n + 1);
		write_file(next, text, 0644);
		*id = (uid_t)n;
		unlock(lock);
		return 0;
	}
	err("%s: no free %s in %u-%u (ids of %s)", who, kind, (unsigned)g->id_first,
	    (unsigned)g->id_last, g->file);
	unlock(lock);
	return -1;
}

int instance_id(const struct global_conf *g, const char *name, uid_t *id)
{
	char path[PATH_LEN];

	if (id_file(name, path) < 0)
		return -1;
	return get_id(g, name, "user id", path, id);
}

/* The instance's id if it has one (1), without choosing one (0). */
int instance_id_get(const char *name, uid_t *id)
{
	return read_id(name, id);
}

/* The group of lab's nodes for its /shared (labshare.c), from the same
 * range: chosen once, kept in the lab's record until lab down. */
int lab_group_id(const struct global_conf *g, const char *lab, gid_t *gid)
{
	char path[PATH_LEN];
	uid_t id;

	if (lab_id_file(lab, path) < 0 || get_id(g, lab, "group id", path, &id) < 0)
		return -1;
	*gid = (gid_t)id;
	return 0;
}

/* The lab's group if it has one (1), without choosing one (0); -1 when
 * it is bad, or now another's too (checked at each node's start, as an
 * instance's own id is). */
int lab_group_get(const char *lab, gid_t *gid)
{
	char path[PATH_LEN];
	uid_t id;
	int r;

	if (lab_id_file(lab, path) < 0)
		return -1;
	r = read_id_file(lab, path, &id);
	if (r == 1 && (id_known(id) || id_taken(path, id))) {
		err("lab %s: its group id %u is now in passwd, group or a subordinate id range, or another's too: lab down and up again",
		    lab, (unsigned)id);
		return -1;
	}
	if (r == 1)
		*gid = (gid_t)id;
	return r;
}

/* The extra group: 1 and its gid, 0 when the host has no such group. */
int instance_extra_group(const struct global_conf *g, gid_t *gid)
{
	struct group *gr;

	if (!g->group[0])
		return 0;
	gr = getgrnam(g->group);
	if (!gr)
		return 0;
	*gid = gr->gr_gid;
	return 1;
}
