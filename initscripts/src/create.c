/* create.c: `umlctl create` writes ETC/instances/NAME.conf from its options
 * (and checks it like any other instance file); `umlctl destroy` stops the
 * instance and removes its file and state (with --keep-disk all but what
 * disk.c's disk_keep_only keeps, which the next create of NAME boots).
 * Both are idempotent. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "umlctl.h"

static int compose(const char *name, const struct create_opts *o, char *text,
		   size_t len)
{
	char mac[18];
	const char *net = o->net ? o->net : "dhcp";
	int n;

	if (strcmp(net, "dhcp") && strcmp(net, "none")) {
		err("create: --net %s: use dhcp or none", net);
		return -1;
	}
	if (o->memory && !config_valid_memory(o->memory)) {
		err("create: --mem %s: want a size like 256M", o->memory);
		return -1;
	}
	if (o->vcpus && !config_vcpus(o->vcpus)) {
		err("create: --cpus %s: want a number of virtual CPUs from 1 to %d (this host's CPUs)",
		    o->vcpus, config_max_vcpus());
		return -1;
	}
	if (o->cpu && strcmp(o->cpu, "auto")) {
		cpu_set_t set;

		if (config_cpu_list(o->cpu, &set) < 0) {
			err("create: --cpus-pin %s: want auto or host CPUs below %ld like 1 or 0-1,3",
			    o->cpu, sysconf(_SC_NPROCESSORS_CONF));
			return -1;
		}
	}
	if (o->mac && !config_valid_mac(o->mac)) {
		err("create: --mac %s: want a unicast MAC like 02:75:6d:00:00:01", o->mac);
		return -1;
	}
	if (o->ssh_key && (o->ssh_key[0] != '/' || access(o->ssh_key, R_OK) < 0)) {
		err("create: --ssh-key %s: %s", o->ssh_key,
		    o->ssh_key[0] != '/' ? "want an absolute path" : strerror(errno));
		return -1;
	}
	if (o->mac)
		snprintf(mac, sizeof(mac), "%s", o->mac);
	else
		config_default_mac(name, 0, mac);
	n = snprintf(text, len,
		     "# uml-skas instance %s (written by umlctl create; see uml-skas.conf(5))\n"
		     "[instance]\n"
		     "%s%s%s"
		     "%s%s%s"
		     "cpus = %d\n"
		     "cpu = %s\n"
		     "autostart = %s\n"
		     "network = %s\n"
		     "%s%s%s",
		     name,
		     o->image ? "image = " : "", o->image ? o->image : "", o->image ? "\n" : "",
		     o->memory ? "memory = " : "", o->memory ? o->memory : "", o->memory ? "\n" : "",
		     o->vcpus ? config_vcpus(o->vcpus) : 1,
		     o->cpu ? o->cpu : "auto",
		     o->autostart ? "yes" : "no",
		     strcmp(net, "none") ? "yes" : "no",
		     o->ssh_key ? "ssh_key = " : "", o->ssh_key ? o->ssh_key : "",
		     o->ssh_key ? "\n" : "");
	if (strcmp(net, "none"))
		n += snprintf(text + n, len - (size_t)n, "\n[net0]\nmac = %s\n", mac);
	return (size_t)n < len ? 0 : -1;
}

static int create_locked(const struct global_conf *g, const char *name,
			 const struct create_opts *o);
static int destroy_locked(const struct global_conf *g, const char *name, bool keep_disk);

/* Both hold the instance's lock: a create racing a destroy of the same
 * name ends with the file there or not, never half. */
int instance_create(const struct global_conf *g, const char *name,
		    const struct create_opts *o)
{
	int lock, r;

	if (!valid_name(name)) {
		err("create: bad instance name '%s': %s", name, NAME_RULE);
		return EX_USAGE;
	}
	lock = lock_instance(name);
	if (lock < 0)
		return EX_FAIL;
	r = create_locked(g, name, o);
	unlock(lock);
	return r;
}

int instance_destroy(const struct global_conf *g, const char *name, bool keep_disk)
{
	int lock, r;

	if (!valid_name(name)) {
		err("destroy: bad instance name '%s': %s", name, NAME_RULE);
		return EX_USAGE;
	}
	lock = lock_instance(name);
	if (lock < 0)
		return EX_FAIL;
	r = destroy_locked(g, name, keep_disk);
	unlock(lock);
	return r;
}

static int create_locked(const struct global_conf *g, const char *name,
			 const struct create_opts *o)
{
	char dir[PATH_LEN], file[PATH_LEN], text[8192], old[8192];
	struct instance_conf ic;
	bool ssh;

	if (compose(name, o, text, sizeof(text)) < 0)
		return EX_USAGE;
	if (etc_dir(dir, sizeof(dir)) < 0 ||
	    snprintf_ok(file, sizeof(file), "%s/instances/%s.conf", dir, name) < 0)
		return EX_FAIL;
	if (read_file(file, old, sizeof(old)) >= 0) {
		if (!strcmp(old, text)) {
			msg("%s: already exists (%s)", name, file);
			return EX_OK;
		}
		err("create: %s exists with other settings; edit it, or destroy %s first",
		    file, name);
		return EX_FAIL;
	}
	if (disk_kept(name, old, sizeof(old)) && !o->reuse_disk) {
		err("create: %s: a disk kept by destroy --keep-disk is in %s: create --reuse-disk %s boots it, destroy %s removes it",
		    name, old, name, name);
		return EX_FAIL;
	}
	snprintf(old, sizeof(old), "%s/instances", dir);
	if (mkdir_p(old, 0755) < 0 || write_file(file, text, 0644) < 0)
		return EX_FAIL;
	/* The new file must load like any other, with a MAC of its own. */
	if (config_load_instance(g, name, &ic) < 0 ||
	    config_check_macs(g, &ic) < 0) {
		unlink(file);
		err("create: %s not created", name);
		return EX_CONFIG;
	}
	{
		int nl = lock_network();

		net_write_hosts(g);
		unlock(nl);
	}
	msg("%s: created (%s, image %s, memory %s, mac %s)", name, file,
	    ic.image_path, ic.memory, ic.nets[0].used ? ic.nets[0].mac : "none");
	if (state_dir(dir, sizeof(dir), name) == 0 &&
	    snprintf_ok(old, sizeof(old), "%s/disk/disk.cow", dir) == 0 &&
	    access(old, F_OK) == 0)
		msg("%s: boots the disk kept in %s/disk (destroy %s removes it)", name, dir, name);
	/* What a first-time user would otherwise have to look up.  ssh
	 * where there is a key, a network and sshd (not in the tiny image). */
	ssh = ic.ssh_key[0] && ic.nets[0].used && strcmp(ic.image, "tiny");
	msg("next: umlctl start %s%s, then umlctl %s %s%s", name,
	    ic.nets[0].used ? " --wait-ip" : "", ssh ? "ssh" : "console", name,
	    ssh ? "" : " (Ctrl-] detaches)");
	return EX_OK;
}

static int destroy_locked(const struct global_conf *g, const char *name, bool keep_disk)
{
	char dir[PATH_LEN], file[PATH_LEN], state[PATH_LEN];
	char names[1][NAME_MAX_LEN + 1];
	struct inst_info info;
	bool had_file;
	int r;

	if (etc_dir(dir, sizeof(dir)) < 0 ||
	    snprintf_ok(file, sizeof(file), "%s/instances/%s.conf", dir, name) < 0 ||
	    state_dir(state, sizeof(state), name) < 0)
		return EX_FAIL;
	instance_info(name, &info);
	if (info.state == INST_RUNNING) {
		snprintf(names[0], sizeof(names[0]), "%s", name);
		r = instance_stop_many(g, names, 1, g->stop_timeout);
		if (r)
			return r;
	} else if (info.state == INST_DEAD) {
		instance_cleanup(name, NULL);
	}
	/* Nothing of the instance's user may run on while its files go. */
	{
		uid_t id;

		if (instance_id_get(name, &id) == 1 && kill_user(id) < 0) {
			err("destroy: cannot stop every process of user %u", (unsigned)id);
			return EX_FAIL;
		}
	}
	if (access(file, F_OK) < 0 && access(state, F_OK) < 0) {
		msg("%s: does not exist", name);
		return EX_OK;
	}
	had_file = access(file, F_OK) == 0;
	if ((keep_disk ? disk_keep_only(name) : rm_rf(state)) < 0 ||
	    (unlink(file) < 0 && errno != ENOENT)) {
		err("destroy: cannot remove %s or %s", state, file);
		return EX_FAIL;
	}
	{
		int nl = lock_network();

		net_write_hosts(g);
		unlock(nl);
	}
	if (!keep_disk)
		images_prune();
	if (keep_disk)
		msg("%s: %s, its disk kept in %s (umlctl create %s boots it again; umlctl destroy %s removes it)",
		    name, had_file ? "destroyed" : "no instance file", state, name, name);
	else
		msg("%s: destroyed (removed %s and %s)", name, file, state);
	return EX_OK;
}

/* Whether the line at Q (its start, past blanks) is an autostart key:
 * "autostart", blanks, then "=" or ":" as the parser takes them. */
static bool autostart_line(const char *q)
{
	if (strncmp(q, "autostart", 9))
		return false;
	q += 9;
	q += strspn(q, " \t");
	return *q == '=' || *q == ':';
}

/* TEXT with its [instance] autostart keys made LINE: the first one is
 * replaced, later ones dropped; without any, LINE follows the section's
 * header.  Returns the length written to OUT, -1 if it does not fit, -2
 * if there is no [instance]. */
static int rewrite_autostart(const char *text, const char *line, char *out, size_t size)
{
	bool has_key = false, done = false, in_instance = false;
	size_t n = 0;

	for (int pass = 0; pass < 2; pass++) {
		in_instance = false;
		for (const char *p = text; *p;) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
			const char *q = p + strspn(p, " \t");
			bool key;

			if (*q == '[')
				in_instance = !strncmp(q, "[instance]", 10);
			key = in_instance && autostart_line(q);
			p += len;
			if (pass == 0) {
				has_key |= key;
				continue;
			}
			if (key) {
				if (!done)
					n += (size_t)snprintf(out + n, size - n, "%s", line);
				done = true;
			} else {
				n += (size_t)snprintf(out + n, size - n, "%.*s%s", (int)len,
						      p - len, nl ? "" : "\n");
				if (!done && !has_key && *q == '[' && in_instance) {
					n += (size_t)snprintf(out + n, size - n, "%s", line);
					done = true;
				}
			}
			if (n >= size)
				return -1;
		}
	}
	return done ? (int)n : -2;
}

/* The autostart key of NAME's file, set to ON (enable and disable): every
 * autostart line of [instance] ("=" or ":", as the parser takes them)
 * becomes one, or one is added at the top of [instance]; the rest of the
 * file, its mode and its owner stay as the administrator made them. */
int instance_set_autostart(const char *name, bool on)
{
	char dir[PATH_LEN], file[PATH_LEN], text[8192], out[8400];
	const char *line = on ? "autostart = yes\n" : "autostart = no\n";
	int lock, got, r = EX_FAIL;
	struct stat st;

	if (etc_dir(dir, sizeof(dir)) < 0 ||
	    snprintf_ok(file, sizeof(file), "%s/instances/%s.conf", dir, name) < 0)
		return EX_FAIL;
	lock = lock_instance(name);
	if (lock < 0)
		return EX_FAIL;
	errno = 0;
	if (lstat(file, &st) < 0 || !S_ISREG(st.st_mode)) {
		err("%s: %s: %s", name, file, errno ? strerror(errno) : "not a plain file");
		goto out;
	}
	got = read_file(file, text, sizeof(text));
	if (got < 0) {
		err("%s: cannot read %s: %s", name, file, strerror(errno));
		goto out;
	}
	/* Never write back less than was there. */
	if ((size_t)got >= sizeof(text) - 1 || strlen(text) != (size_t)got) {
		err("%s: %s is too long or not text; set autostart there by hand", name, file);
		goto out;
	}
	switch (rewrite_autostart(text, line, out, sizeof(out))) {
	case -1:
		err("%s: %s is too long", name, file);
		goto out;
	case -2:
		err("%s: %s has no [instance] section (umlctl check)", name, file);
		r = EX_CONFIG;
		goto out;
	}
	r = write_file(file, out, st.st_mode & 07777) < 0 ? EX_FAIL : EX_OK;
out:
	unlock(lock);
	return r;
}
