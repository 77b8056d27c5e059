/* disk.c: an instance's disk: snapshot, revert, clone, and what
 * destroy --keep-disk keeps.
 *
 * The disk is the COW file STATE/NAME/disk/disk.cow over the instance's
 * image.  It and its folder belong to the instance's user, so root never
 * reads it by name: the folder is opened without following a link (its
 * parent STATE/NAME is root's), then the file, which must be a plain file
 * with one name that belongs to that user; a link or a hard link planted
 * there by an escaped guest must not make root copy another file into a
 * place the user reads.  Root writes a disk as a new file in root's
 * STATE/NAME, gives it to the user and renames it into the folder.
 *
 * Snapshots are root's alone: STATE/NAME/snapshots (0700), SNAP.cow
 * (0600), each a copy of the disk (a reflink where the file system can,
 * so that it costs no space until the disks differ).  A snapshot keeps
 * the COW header, which names the image it was made on: one made before
 * the image changed cannot boot on the new one, and revert says so
 * rather than leave a disk that UML refuses.
 *
 * Each operation holds the instance's lock (clone: both, in name order,
 * as lock.c says) and wants the instance stopped: a copy of a disk that a
 * running guest writes would not be a consistent file system. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "umlctl.h"

#define MAX_SNAPSHOTS 256

/* Under NAME's lock: whether it is stopped (a dead one is cleaned up
 * first, as start does). */
static int need_stopped(const char *what, const char *name)
{
	struct inst_info info;

	instance_info(name, &info);
	if (info.state == INST_DEAD && proc_id_alive(&info.uml)) {
		err("%s: %s: UML (pid %d) runs on without its supervisor: stop it first (umlctl stop %s)",
		    what, name, (int)info.uml.pid, name);
		return -1;
	}
	if (info.state == INST_DEAD &&
	    instance_cleanup(name, "lost: the supervisor and UML died") != EX_OK)
		return -1;
	if (info.state == INST_RUNNING) {
		err("%s: %s is running: stop it first (umlctl stop %s); a copy of a disk its guest writes would not be consistent",
		    what, name, name);
		return -1;
	}
	/* Nothing of its user may write the disk while it is copied (a
	 * process that outlived a stop, as destroy makes sure too). */
	{
		uid_t id;

		if (instance_id_get(name, &id) == 1 && kill_user(id) < 0) {
			err("%s: %s: cannot stop every process of its user %u", what, name,
			    (unsigned)id);
			return -1;
		}
	}
	return 0;
}

/* A folder of root's or of the instance's user, opened without following
 * a link.  -1 with errno. */
static int open_dir(const char *path)
{
	return open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* NAME's disk for reading: the descriptor, -2 when it has none (never
 * started), -1 after an error was printed.  Anything but a plain file of
 * the instance's user with one name is an error when strict (root copies
 * it), else counts as no disk (start only reads its header, and leaves
 * what it is to UML, which opens it as the instance's user). */
static int open_disk(const char *what, const char *name, bool strict)
{
	char state[PATH_LEN], disk[PATH_LEN];
	struct stat st;
	uid_t uid;
	int dfd, fd;

	if (state_dir(state, sizeof(state), name) < 0 ||
	    snprintf_ok(disk, sizeof(disk), "%s/disk", state) < 0)
		return -1;
	switch (instance_id_get(name, &uid)) {
	case 0:
		/* A disk folder without its user (a purge took the id): its
		 * disk is there, but not for root to open. */
		if (!strict && access(disk, F_OK) == 0)
			return -1;
		return -2;
	case -1:
		err("%s: %s: its user id (%s/id) is unreadable: its disk is left alone", what,
		    name, state);
		return -1;
	}
	/* From here on what fails is the user's doing (its folder, its
	 * file): when not strict, that counts as no disk. */
	dfd = open_dir(disk);
	if (dfd < 0 && (errno == ENOENT || !strict))
		return -2;
	if (dfd < 0) {
		err("%s: %s: %s", what, disk, strerror(errno));
		return -1;
	}
	fd = openat(dfd, "disk.cow", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	if (fd < 0 && (errno == ENOENT || !strict))
		return -2;
	if (fd < 0 && errno != ELOOP) {
		err("%s: %s/disk.cow: %s", what, disk, strerror(errno));
		return -1;
	}
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != uid) {
		if (strict)
			err("%s: %s/disk.cow: not a plain file of the instance's user %u with one name: left alone",
			    what, disk, (unsigned)uid);
		if (fd >= 0)
			close(fd);
		return strict ? -1 : -2;
	}
	return fd;
}

/* SRC's content as a new file NEW in the folder DIRFD (root's), mode
 * 0600, owned by uid:uid; then renamed to AS in the folder TOFD
 * (RENAME_NOREPLACE when keep_old: an existing AS is an error, EEXIST). */
static int write_copy(int src, int dirfd, const char *tmp, int tofd, const char *as,
		      uid_t uid, bool keep_old, bool *reflinked)
{
	int fd;

	unlinkat(dirfd, tmp, 0);	/* left by a crash */
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (cow_copy(src, fd, reflinked) < 0 || fchown(fd, uid, uid) < 0) {
		int e = errno;

		close(fd);
		unlinkat(dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	close(fd);
	if (renameat2(dirfd, tmp, tofd, as, keep_old ? RENAME_NOREPLACE : 0) < 0) {
		int e = errno;

		unlinkat(dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	fsync(tofd);	/* the new name lasts a crash too */
	return 0;
}

static void size_text(long long bytes, char *out, size_t len)
{
	if (bytes < 1024 * 1024)
		snprintf(out, len, "%lld KiB", (bytes + 1023) / 1024);
	else
		snprintf(out, len, "%.1f MiB", bytes / 1048576.0);
}

/* STATE/NAME/snapshots, made root's 0700 if needed; its descriptor. */
static int snapshots_dir(const char *name, bool make)
{
	char state[PATH_LEN], dir[PATH_LEN];
	struct stat st;
	int fd;

	if (state_dir(state, sizeof(state), name) < 0 ||
	    snprintf_ok(dir, sizeof(dir), "%s/snapshots", state) < 0)
		return -1;
	if (make && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	fd = open_dir(dir);
	if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 077))) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------------ snapshot */

/* Whether ETC/instances/NAME.conf is there. */
static bool instance_file_exists(const char *name)
{
	char etc[PATH_LEN], file[PATH_LEN];

	return etc_dir(etc, sizeof(etc)) == 0 &&
	       snprintf_ok(file, sizeof(file), "%s/instances/%s.conf", etc, name) == 0 &&
	       access(file, F_OK) == 0;
}

/* Snapshot files in DIR (copies an interrupted snapshot left, ".*.new",
 * are removed: under the instance's lock none is being written). */
static int count_snapshots(int dir)
{
	int fd = dup(dir), n = 0;
	struct dirent *e;
	DIR *d;

	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (e->d_name[0] == '.' && l > 4 && !strcmp(e->d_name + l - 4, ".new"))
			unlinkat(dir, e->d_name, 0);
		else if (l > 4 && !strcmp(e->d_name + l - 4, ".cow"))
			n++;
	}
	closedir(d);
	return n;
}

/* SNAP NULL: a dated name, snap-YYYYMMDD-HHMMSS (UTC), -2 ... -9 added
 * when that second has one already. */
static int snapshot_locked(const char *name, const char *snap)
{
	char file[NAME_MAX_LEN + 8], tmp[NAME_MAX_LEN + 16], size[32];
	char stamp[NAME_MAX_LEN + 1];
	bool reflinked, dated = !snap;
	struct stat st;
	int src, dir, r = -1;

	if (!instance_file_exists(name)) {
		err("snapshot: %s: no such instance", name);
		return EX_FAIL;
	}
	if (need_stopped("snapshot", name) < 0)
		return EX_FAIL;
	src = open_disk("snapshot", name, true);
	if (src == -2)
		err("snapshot: %s has no disk yet (it never ran): nothing to keep", name);
	if (src < 0)
		return EX_FAIL;
	dir = snapshots_dir(name, true);
	if (dir < 0) {
		err("snapshot: %s: its snapshots folder: %s", name, strerror(errno));
		close(src);
		return EX_FAIL;
	}
	if (count_snapshots(dir) >= MAX_SNAPSHOTS) {
		err("snapshot: %s has %d snapshots, as many as it may have: delete some (umlctl snapshot --delete %s SNAP)",
		    name, MAX_SNAPSHOTS, name);
		goto out;
	}
	if (dated) {
		time_t t = time(NULL);
		struct tm tm;

		strftime(stamp, sizeof(stamp), "snap-%Y%m%d-%H%M%S", gmtime_r(&t, &tm));
		snap = stamp;
	}
	for (int k = 1; k <= 9; k++) {
		if (k > 1) {
			char *dash = k > 2 ? strrchr(stamp, '-') : NULL;

			snprintf(dash ? dash : stamp + strlen(stamp), 3, "-%d", k);
		}
		snprintf(file, sizeof(file), "%s.cow", snap);
		snprintf(tmp, sizeof(tmp), ".%s.cow.new", snap);
		r = write_copy(src, dir, tmp, dir, file, 0, true, &reflinked);
		if (r == 0 || errno != EEXIST || !dated)
			break;
	}
	if (r < 0) {
		if (errno == EEXIST)
			err("snapshot: %s already has a snapshot %s (umlctl snapshot --delete %s %s)",
			    name, snap, name, snap);
		else
			err("snapshot: %s: %s", name, strerror(errno));
	} else {
		if (fstatat(dir, file, &st, AT_SYMLINK_NOFOLLOW) < 0)
			st.st_blocks = 0;
		size_text((long long)st.st_blocks * 512, size, sizeof(size));
		msg("%s: snapshot %s taken (%s%s)", name, snap, reflinked ? "a reflink, " : "",
		    size);
	}
out:
	close(dir);
	close(src);
	return r < 0 ? EX_FAIL : EX_OK;
}

int disk_snapshot(const char *name, const char *snap)
{
	int lock, r;

	if (snap && !valid_name(snap)) {
		err("snapshot: bad snapshot name '%s': %s", snap, NAME_RULE);
		return EX_USAGE;
	}
	lock = lock_instance(name);
	if (lock < 0)
		return EX_FAIL;
	r = snapshot_locked(name, snap);
	unlock(lock);
	return r;
}

/* ------------------------------------------------------------ list */

struct snapshot {
	char name[NAME_MAX_LEN + 1];
	struct timespec taken;
	long long bytes;          /* space it takes (blocks) */
	struct cow_base base;
	bool readable;            /* a COW file we can read */
	bool base_ok;             /* its image is as it was */
	char why[PATH_LEN + 160]; /* when not */
};

static int by_time(const void *a, const void *b)
{
	const struct snapshot *x = a, *y = b;

	if (x->taken.tv_sec != y->taken.tv_sec)
		return x->taken.tv_sec < y->taken.tv_sec ? -1 : 1;
	if (x->taken.tv_nsec != y->taken.tv_nsec)
		return x->taken.tv_nsec < y->taken.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Whether the image B names was kept (image.c) and is IMAGE's: a disk
 * made on it boots on that copy. */
static bool base_kept(const struct cow_base *b, const char *image)
{
	char kept[PATH_LEN];

	return same_image_name(b->path, image) && image_kept_path(b, kept, sizeof(kept)) == 0;
}

/* NAME's snapshots, oldest first; their number, -1 on error.  image: the
 * instance's image now, which each snapshot's base is checked against
 * (NULL: not checked). */
static int read_snapshots(const char *name, const char *image, struct snapshot *s, int max)
{
	struct dirent *e;
	int dir = snapshots_dir(name, false), n = 0;
	DIR *d;

	if (dir < 0)
		return errno == ENOENT ? 0 : -1;
	d = fdopendir(dir);
	if (!d) {
		close(dir);
		return -1;
	}
	while ((e = readdir(d)) && n < max) {
		size_t l = strlen(e->d_name);
		struct stat st;
		int fd;

		if (l < 5 || l - 4 > NAME_MAX_LEN || strcmp(e->d_name + l - 4, ".cow"))
			continue;
		memset(&s[n], 0, sizeof(s[n]));
		snprintf(s[n].name, sizeof(s[n].name), "%.*s", (int)(l - 4), e->d_name);
		if (!valid_name(s[n].name))
			continue;
		fd = openat(dir, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		s[n].taken = st.st_mtim;
		s[n].bytes = (long long)st.st_blocks * 512;
		s[n].readable = cow_read_base(fd, &s[n].base) == 0;
		if (!s[n].readable)
			snprintf(s[n].why, sizeof(s[n].why), "not a COW file UML can read");
		else if (image)
			s[n].base_ok = cow_check(&s[n].base, image, s[n].why,
						 sizeof(s[n].why)) == 0 ||
				       base_kept(&s[n].base, image);
		close(fd);
		n++;
	}
	closedir(d);
	qsort(s, (size_t)n, sizeof(*s), by_time);
	return n;
}

int disk_snapshot_list(const struct global_conf *g, const char *name, bool json)
{
	static struct snapshot s[MAX_SNAPSHOTS];
	struct instance_conf ic;
	const char *image = NULL;
	int n;

	/* A list writes nothing: an image not unpacked as its .zst is now
	 * (imagecache.c) is not checked against. */
	if (config_load_instance_quiet(g, name, &ic) == 0 &&
	    image_current(ic.image_path, ic.image_zst))
		image = ic.image_path;
	n = read_snapshots(name, image, s, MAX_SNAPSHOTS);
	if (n < 0) {
		err("snapshot: %s: its snapshots: %s", name, strerror(errno));
		return EX_FAIL;
	}
	if (json) {
		struct json_object *list = json_object_new_array();

		for (int i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "name", json_object_new_string(s[i].name));
			json_object_object_add(o, "taken", json_object_new_int64(s[i].taken.tv_sec));
			json_object_object_add(o, "bytes", json_object_new_int64(s[i].bytes));
			json_object_object_add(o, "image", s[i].readable ?
					       json_object_new_string(s[i].base.path) : NULL);
			json_object_object_add(o, "bootable", json_object_new_boolean(s[i].base_ok));
			json_object_array_add(list, o);
		}
		printf("%s\n", json_object_to_json_string_ext(list, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(list);
		return EX_OK;
	}
	if (!n) {
		msg("%s: no snapshots", name);
		return EX_OK;
	}
	printf("%-32s  %-20s  %10s  %s\n", "SNAPSHOT", "TAKEN (UTC)", "SIZE", "IMAGE");
	for (int i = 0; i < n; i++) {
		char when[32], size[32];
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&s[i].taken.tv_sec, &tm));
		size_text(s[i].bytes, size, sizeof(size));
		printf("%-32s  %-20s  %10s  %s", s[i].name, when, size,
		       s[i].readable ? s[i].base.path : "?");
		if (image && !s[i].base_ok)
			printf(" (cannot boot: %s)", s[i].why);
		putchar('\n');
	}
	return EX_OK;
}

int disk_snapshot_delete(const char *name, const char *snap)
{
	char file[NAME_MAX_LEN + 8];
	int lock, dir, r;

	if (!valid_name(snap)) {
		err("snapshot: bad snapshot name '%s': %s", snap, NAME_RULE);
		return EX_USAGE;
	}
	lock = lock_instance(name);
	if (lock < 0)
		return EX_FAIL;
	snprintf(file, sizeof(file), "%s.cow", snap);
	dir = snapshots_dir(name, false);
	r = dir < 0 ? -1 : unlinkat(dir, file, 0);
	if (r < 0 && errno == ENOENT)
		msg("%s: no snapshot %s", name, snap);
	else if (r < 0)
		err("snapshot: %s: delete %s: %s", name, snap, strerror(errno));
	else
		msg("%s: snapshot %s deleted", name, snap);
	if (r == 0)
		images_prune();
	if (dir >= 0)
		close(dir);
	unlock(lock);
	return r < 0 && errno != ENOENT ? EX_FAIL : EX_OK;
}

/* ------------------------------------------------------------ revert */

/* SRC as NAME's disk: written in STATE/NAME (root's), owned by NAME's
 * user, renamed over disk/disk.cow. */
static int install_disk(const char *what, const char *name, int src, uid_t uid,
			bool *reflinked)
{
	char state[PATH_LEN], disk[PATH_LEN];
	int sfd, dfd, r;

	if (state_dir(state, sizeof(state), name) < 0 ||
	    snprintf_ok(disk, sizeof(disk), "%s/disk", state) < 0)
		return -1;
	if (mkdir(disk, 0700) == 0 && chown(disk, uid, uid) < 0) {
		err("%s: %s: %s", what, disk, strerror(errno));
		return -1;
	}
	sfd = open_dir(state);
	dfd = open_dir(disk);
	r = sfd < 0 || dfd < 0 ? -1 :
	    write_copy(src, sfd, ".disk.cow.new", dfd, "disk.cow", uid, false, reflinked);
	if (r < 0)
		err("%s: %s: %s/disk.cow: %s", what, name, disk, strerror(errno));
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	return r;
}

static int revert_locked(const struct global_conf *g, const char *name, const char *snap)
{
	static struct snapshot s[MAX_SNAPSHOTS];
	struct instance_conf ic;
	char file[NAME_MAX_LEN + 8];
	const struct snapshot *pick = NULL;
	bool reflinked;
	uid_t uid;
	int n, dir, src, r;

	if (config_load_instance(g, name, &ic) < 0)
		return EX_CONFIG;
	if (need_stopped("revert", name) < 0 ||
	    image_ready(ic.image_path, ic.image_zst) < 0)
		return EX_FAIL;
	n = read_snapshots(name, ic.image_path, s, MAX_SNAPSHOTS);
	if (n < 0) {
		err("revert: %s: its snapshots: %s", name, strerror(errno));
		return EX_FAIL;
	}
	for (int i = 0; i < n; i++)
		if (!snap || !strcmp(s[i].name, snap))
			pick = &s[i];
	if (!pick) {
		err("revert: %s has %s%s (umlctl snapshot --list %s)", name,
		    snap ? "no snapshot " : "no snapshots", snap ? snap : "", name);
		return EX_FAIL;
	}
	if (!pick->base_ok) {
		err("revert: %s: snapshot %s cannot boot on the image %s now: %s",
		    name, pick->name, ic.image_path, pick->why);
		return EX_FAIL;
	}
	if (instance_id_get(name, &uid) != 1) {
		err("revert: %s: it has no user id (STATE/%s/id) for its disk", name, name);
		return EX_FAIL;
	}
	dir = snapshots_dir(name, false);
	snprintf(file, sizeof(file), "%s.cow", pick->name);
	src = dir < 0 ? -1 : openat(dir, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0) {
		err("revert: %s: snapshot %s: %s", name, pick->name, strerror(errno));
		if (dir >= 0)
			close(dir);
		return EX_FAIL;
	}
	close(dir);
	r = install_disk("revert", name, src, uid, &reflinked);
	close(src);
	if (r < 0)
		return EX_FAIL;
	msg("%s: disk reverted to snapshot %s%s", name, pick->name,
	    reflinked ? " (a reflink)" : "");
	images_prune();
	return EX_OK;
}

int disk_revert(const struct global_conf *g, const char *name, const char *snap)
{
	int lock, r;

	if (snap && !valid_name(snap)) {
		err("revert: bad snapshot name '%s': %s", snap, NAME_RULE);
		return EX_USAGE;
	}
	lock = lock_instance(name);
	if (lock < 0)
		return EX_FAIL;
	r = revert_locked(g, name, snap);
	unlock(lock);
	return r;
}

/* ------------------------------------------------------------ clone */

/* "none" for a limit the parser read as systemd's "infinity". */
static const char *limit(const char *v)
{
	return strcmp(v, "infinity") ? v : "none";
}

/* NEW's instance file: SRC's settings, with MACs of its own; what two
 * instances cannot share (fixed addresses, host ports, extra disks) is
 * left out and said. */
static int clone_text(const struct instance_conf *ic, const char *to, char *text, size_t len)
{
	size_t n = 0;

#define ADD(...) (n += (size_t)snprintf(text + n, n < len ? len - n : 0, __VA_ARGS__))
	ADD("# uml-skas instance %s (written by umlctl clone from %s; see uml-skas.conf(5))\n"
	    "[instance]\n", to, ic->name);
	if (ic->image[0])
		ADD("image = %s\n", ic->image);
	if (ic->memory[0])
		ADD("memory = %s\n", ic->memory);
	ADD("cpu = %s\n", ic->cpu[0] ? ic->cpu : "auto");
	ADD("autostart = no\nnetwork = %s\n", ic->network ? "yes" : "no");
	if (ic->append[0])
		ADD("append = %s\n", ic->append);
	if (ic->ssh_key[0])
		ADD("ssh_key = %s\n", ic->ssh_key);
	if (ic->memory_max[0])
		ADD("memory_max = %s\n", limit(ic->memory_max));
	if (ic->tasks_max[0])
		ADD("tasks_max = %s\n", limit(ic->tasks_max));
	if (ic->allowed_cpus[0])
		ADD("allowed_cpus = %s\n", ic->allowed_cpus);
	if (ic->restart[0])
		ADD("restart = %s\n", ic->restart);
	for (int i = 0; ic->network && i < MAX_NETS; i++) {
		char mac[18];

		if (!ic->nets[i].used)
			continue;
		config_default_mac(to, i, mac);
		ADD("\n[net%d]\nmac = %s\nnetwork = %s\n", i, mac, ic->nets[i].network);
	}
#undef ADD
	return n < len ? 0 : -1;
}

static void clone_notes(const struct instance_conf *ic, const char *to)
{
	for (int i = 0; i < ic->ndisks; i++)
		msg("%s: not cloned: disk %s (two instances must not write one disk; copy it and add disk = to %s's file)",
		    to, ic->disks[i], to);
	for (int i = 0; i < ic->nforwards; i++)
		msg("%s: not cloned: forward = %s:%d:%d (a host port forwards to one instance)",
		    to, ic->forwards[i].proto, ic->forwards[i].host_port,
		    ic->forwards[i].guest_port);
	for (int i = 0; i < MAX_NETS; i++)
		if (ic->nets[i].used && ic->nets[i].address[0])
			msg("%s: not cloned: [net%d] address = %s (it gets an address of its own)",
			    to, i, ic->nets[i].address);
}

/* The disk first, the instance file last: an interrupted clone leaves a
 * state folder (which `destroy TO` removes, and which keeps the next
 * clone to TO from going on), never an instance that boots an empty
 * disk.  STATE/TO/cloned tells TO's guest, by its metadata, that its
 * disk was another instance's, even one that never knew its identity. */
static int clone_locked(const struct global_conf *g, const char *from, const char *to)
{
	char etc[PATH_LEN], file[PATH_LEN], state[PATH_LEN], flag[PATH_LEN], text[8192];
	struct instance_conf ic, nic;
	bool reflinked = false;
	int src;
	uid_t uid;

	if (config_load_instance(g, from, &ic) < 0)
		return EX_CONFIG;
	if (ic.lab[0]) {
		err("clone: %s is a node of lab %s: add a node to the lab's lab.conf instead",
		    from, ic.lab);
		return EX_FAIL;
	}
	if (etc_dir(etc, sizeof(etc)) < 0 ||
	    snprintf_ok(file, sizeof(file), "%s/instances/%s.conf", etc, to) < 0 ||
	    state_dir(state, sizeof(state), to) < 0 ||
	    snprintf_ok(flag, sizeof(flag), "%s/cloned", state) < 0)
		return EX_FAIL;
	if (access(file, F_OK) == 0 || access(state, F_OK) == 0) {
		err("clone: %s exists (%s): destroy it first, or choose another name", to,
		    access(file, F_OK) == 0 ? file : state);
		return EX_FAIL;
	}
	if (need_stopped("clone", from) < 0)
		return EX_FAIL;
	if (config_tap_names_taken(to))
		return EX_CONFIG;
	if (clone_text(&ic, to, text, sizeof(text)) < 0) {
		err("clone: %s: its settings do not fit an instance file", from);
		return EX_FAIL;
	}
	src = open_disk("clone", from, true);
	if (src == -1)
		return EX_FAIL;
	if (mkdir_p(state, 0755) < 0 || write_file(flag, from, 0644) < 0)
		goto fail;
	/* The new disk belongs to the new instance's user from the start:
	 * that user is chosen now. */
	if (src >= 0 && (instance_id(g, to, &uid) < 0 ||
			 install_disk("clone", to, src, uid, &reflinked) < 0))
		goto fail;
	if (write_file(file, text, 0644) < 0)
		goto fail;
	if (config_load_instance(g, to, &nic) < 0 || config_check_macs(g, &nic) < 0)
		goto fail;
	{
		int nl = lock_network();

		net_write_hosts(g);
		unlock(nl);
	}
	clone_notes(&ic, to);
	msg("%s: cloned from %s (%s; %s)", to, from, file,
	    src < 0 ? "no disk yet: the other never ran" :
	    reflinked ? "its disk a reflink of the other's" : "its disk a copy of the other's");
	if (src >= 0)
		close(src);
	msg("next: umlctl start %s", to);
	return EX_OK;
fail:
	if (src >= 0)
		close(src);
	unlink(file);
	rm_rf(state);
	err("clone: %s not made", to);
	return EX_FAIL;
}

int disk_clone(const struct global_conf *g, const char *from, const char *to)
{
	int l1, l2, r;

	if (!strcmp(from, to)) {
		err("clone: %s: want another name for the clone", from);
		return EX_USAGE;
	}
	if (!valid_name(to)) {
		err("clone: bad instance name '%s': %s", to, NAME_RULE);
		return EX_USAGE;
	}
	l1 = lock_instance(strcmp(from, to) < 0 ? from : to);
	if (l1 < 0)
		return EX_FAIL;
	l2 = lock_instance(strcmp(from, to) < 0 ? to : from);
	if (l2 < 0) {
		unlock(l1);
		return EX_FAIL;
	}
	r = clone_locked(g, from, to);
	unlock(l2);
	unlock(l1);
	return r;
}

/* ------------------------------------------------------------ start */

/* Before a boot: the image NAME's disk boots on, in USE: IMAGE, or the
 * copy of the image it was made on that image.c kept when IMAGE changed
 * (also when it has no disk yet, or UML's own check is left to say what
 * is wrong); -1 after saying why it cannot boot. */
int disk_base_image(const char *name, const char *image, char *use, size_t len)
{
	char why[PATH_LEN + 160], kept[PATH_LEN];
	struct cow_base b;
	int fd = open_disk("start", name, false), r = 0;

	snprintf(use, len, "%s", image);
	if (fd == -2)
		return 0;
	if (fd < 0)
		return -1;
	if (cow_read_base(fd, &b) == 0 && cow_check(&b, image, why, sizeof(why)) < 0) {
		/* Only a copy of the instance's own image: the header, which
		 * the instance's user writes, must not choose another one. */
		if (same_image_name(b.path, image) &&
		    image_kept_path(&b, kept, sizeof(kept)) == 0) {
			snprintf(use, len, "%s", kept);
			msg("%s: its disk was made on %s as it was before it changed: booting on the copy kept then, %s",
			    name, image, kept);
		} else {
			err("%s: its disk cannot boot on %s: %s (UML would refuse it). Put that image back as it was, revert to a snapshot made on this one (umlctl snapshot --list %s), or destroy %s and create it again",
			    name, image, why, name, name);
			r = -1;
		}
	}
	close(fd);
	return r;
}

/* The image NAME's disk and each of its snapshots was made on, to FN;
 * -1 when one cannot be read (0 for none). */
int disk_bases(const char *name, int (*fn)(const struct cow_base *b, void *arg), void *arg)
{
	static struct snapshot s[MAX_SNAPSHOTS];
	struct cow_base b;
	int fd = open_disk("image", name, false), n, bad = 0;

	if (fd == -1)
		bad++;
	if (fd >= 0) {
		if (cow_read_base(fd, &b) == 0)
			fn(&b, arg);
		close(fd);
	}
	n = read_snapshots(name, NULL, s, MAX_SNAPSHOTS);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (s[i].readable)
			fn(&s[i].base, arg);
	return bad ? -1 : 0;
}

/* ------------------------------------------------------------ keep */

/* Whether NAME has no instance file but a disk or snapshots kept by
 * destroy --keep-disk (or left by an interrupted clone). */
bool disk_kept(const char *name, char *state, size_t len)
{
	char path[PATH_LEN + 16];

	if (instance_file_exists(name) || state_dir(state, len, name) < 0)
		return false;
	snprintf(path, sizeof(path), "%s/disk/disk.cow", state);
	if (access(path, F_OK) == 0)
		return true;
	snprintf(path, sizeof(path), "%s/snapshots", state);
	return access(path, F_OK) == 0;
}

/* destroy --keep-disk: of STATE/NAME only what the disk needs stays: the
 * disk folder, the snapshots and the user id the disk belongs to (so no
 * other instance gets that id while the disk is kept), and the identity
 * its guest knows itself by. */
int disk_keep_only(const char *name)
{
	static const char *const keep[] = { "disk", "snapshots", "id", "instance-id", "cloned" };
	char state[PATH_LEN], path[PATH_LEN];
	struct dirent *e;
	int bad = 0;
	DIR *d;

	if (state_dir(state, sizeof(state), name) < 0)
		return -1;
	d = opendir(state);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d))) {
		bool kept = false;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
			kept |= !strcmp(e->d_name, keep[i]);
		if (kept)
			continue;
		if (snprintf_ok(path, sizeof(path), "%s/%s", state, e->d_name) < 0 ||
		    rm_rf(path) < 0)
			bad++;
	}
	closedir(d);
	return bad ? -1 : 0;
}
