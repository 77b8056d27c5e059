/* labshare.c: a lab's live /shared.
 *
 * Every node of a lab mounts one host folder at /shared (hostfs, which
 * our kernel confines beneath the folder: uml/patches/0005), as Kathará's
 * containers bind-mount the lab's shared/:
 *   STATE/.shared       a file system of its own: a tmpfs of SHARED_SIZE
 *                       that umlctl mounts when it runs in the host's
 *                       mount namespace, or whatever the administrator
 *                       mounted there.  What nodes write is bounded by
 *                       it, never by the host's /var.  0711 root.
 *   STATE/.shared/LAB/  the lab's folder, 3770 root:GID, its folders
 *                       setgid and sticky.  GID is the lab's group (ids.c), which
 *                       every node of the lab has besides its own: the
 *                       nodes share its files, and no one else (other
 *                       instances, other labs, host users) reaches them;
 *                       a node cannot remove or rename another's files.
 * lab up seeds it with the lab folder's shared/ as the lab reader staged
 * it (root's, links as links, no special files), made group-writable.
 * lab down, once the nodes stopped, copies what was written since lab up
 * (by the inodes' change time, which no one but the kernel sets) into the
 * folder's shared/, in a child become the folder's owner that keeps of
 * root's only CAP_DAC_READ_SEARCH, to read what the nodes wrote.  Root
 * itself never acts on a path in the tree (a process that kept a way in,
 * a descriptor or the lab's group, could swap a folder for a link).  The
 * child walks it by descriptors, never following a link or leaving its
 * file system, and finds the lab folder again (before it takes that
 * capability) by its path without following any link: it must be the one
 * lab up read (device, inode, owner in the record).  What cannot be copied back (in the way,
 * sparse, more than was stored) stays, closed to all but root, and the
 * next lab up of that name refuses until it is moved away: nothing is
 * lost silently.  The tmpfs lives in memory: a host restart loses it,
 * and lab down then says so.
 *
 * Where STATE/.shared cannot be a file system of its own (umlctl runs in
 * a mount namespace of its own, as under `ip netns exec`, and nobody
 * mounted one there), shared/ is copied into each node at boot instead,
 * and lab up says so.
 *
 * Locking: called under the lab's lock (lab up, lab down); mounting and
 * unmounting STATE/.shared under the network lock as well (lab up's
 * commit holds it; base_release takes it). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umlctl.h"

#define SHARED_SOURCE "uml-skas-shared"  /* how our tmpfs shows in mounts */
#define SHARED_SIZE "256m"
#define SHARED_INODES "100000"
#define MERGE_DEPTH 60  /* below rm_rf's 64 */
/* As lab.c's limits for a whole lab (shared/ copied into every node). */
#define LAB_SHARED_COPY_LIMIT (256ull << 20)
#define LAB_SHARED_COPY_ENTRIES 100000
/* A file with more bytes than it stores is sparse: written back, its
 * holes would take the owner's disk (truncate -s 100T). */
#define SPARSE_SLACK (1ll << 20)
/* The name a file is written under before it replaces its namesake. */
#define MERGE_TMP ".uml-skas-copy.tmp"

static int shared_base(char *out, size_t len)
{
	char state[PATH_LEN];

	if (state_dir(state, sizeof(state), NULL) < 0)
		return -1;
	return snprintf_ok(out, len, "%s/.shared", state);
}

int labshare_dir(const char *lab, char *out, size_t len)
{
	char base[PATH_LEN];

	if (!valid_name(lab) || shared_base(base, sizeof(base)) < 0)
		return -1;
	return snprintf_ok(out, len, "%s/%s", base, lab);
}

/* Whether this process is in the mount namespace of PID 1 (a mount made
 * here outlives it and every node sees it). */
static bool host_mount_ns(void)
{
	struct stat self, init;

	return stat("/proc/self/ns/mnt", &self) == 0 && stat("/proc/1/ns/mnt", &init) == 0 &&
	       self.st_ino == init.st_ino && self.st_dev == init.st_dev;
}

/* STATE/.shared as a file system of its own: 1, 0 when it cannot be
 * (why says why), -1 on an error. */
static int base_ready(const char **why)
{
	char base[PATH_LEN], state[PATH_LEN];
	struct stat st, parent;

	if (shared_base(base, sizeof(base)) < 0 || state_dir(state, sizeof(state), NULL) < 0)
		return -1;
	if (strchr(base, ',')) {
		*why = "the state folder's path has a comma, which UML's hostfs= cannot take";
		return 0;
	}
	if (mkdir(base, 0711) < 0 && errno != EEXIST) {
		err("%s: %s", base, strerror(errno));
		return -1;
	}
	if (lstat(base, &st) < 0 || stat(state, &parent) < 0) {
		err("%s: %s", base, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		err("%s: not a folder", base);
		return -1;
	}
	if (st.st_dev != parent.st_dev) {
		struct statvfs vfs;

		/* Someone else's file system: only as safe as umlctl's own. */
		if (statvfs(base, &vfs) < 0 || !(vfs.f_flag & ST_NOSUID) ||
		    !(vfs.f_flag & ST_NODEV)) {
			*why = "what is mounted on STATE/.shared lacks nosuid or nodev";
			return 0;
		}
		if (chown(base, 0, 0) < 0 || chmod(base, 0711) < 0) {
			err("%s: %s", base, strerror(errno));
			return -1;
		}
		return 1;
	}
	if (!host_mount_ns()) {
		*why = "umlctl runs in a mount namespace of its own and nothing is mounted there";
		return 0;
	}
	if (mount(SHARED_SOURCE, base, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=" SHARED_SIZE ",nr_inodes=" SHARED_INODES ",mode=0711") < 0) {
		err("%s: cannot mount a tmpfs there: %s", base, strerror(errno));
		return -1;
	}
	return 1;
}

/* lab up: the live folder of lab, seeded from seed (a folder, or absent).
 * 1: live, the nodes mount it; 0: not possible here (said), the nodes
 * get copies; -1: error, nothing left behind. */
int labshare_up(const struct global_conf *g, const struct lab *lab, const char *seed)
{
	char dir[PATH_LEN], from[PATH_LEN + 8], gidtext[32];
	const char *why = "";
	struct stat st;
	gid_t gid;
	int r;

	if (labshare_dir(lab->name, dir, sizeof(dir)) < 0)
		return -1;
	if (lstat(dir, &st) == 0) {
		err("lab %s: %s is left from an earlier lab down (what its nodes wrote that could not be copied back): move it away first",
		    lab->name, dir);
		return -1;
	}
	r = base_ready(&why);
	if (r <= 0) {
		if (r == 0)
			msg("lab %s: shared/ is copied into each node, not shared live (%s)",
			    lab->name, why);
		return r;
	}
	if (lab_group_id(g, lab->name, &gid) < 0)
		return -1;
	if (mkdir(dir, 0700) < 0) {
		err("%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(from, sizeof(from), "%s/.", seed);
	snprintf(gidtext, sizeof(gidtext), "0:%u", (unsigned)gid);
	{
		char *cp[] = { "cp", "-a", "--no-dereference", from, dir, NULL };
		char *own[] = { "chown", "-R", "-P", gidtext, dir, NULL };
		char *mode[] = { "chmod", "-R", "g+rwX,o-rwx", dir, NULL };
		char *dirs[] = { "find", dir, "-type", "d", "-exec", "chmod", "g+s,+t", "{}", "+",
				 NULL };

		if ((access(seed, F_OK) == 0 && run_cmd(cp, false)) || run_cmd(own, false) ||
		    run_cmd(mode, false) || run_cmd(dirs, false) || chmod(dir, 03770) < 0) {
			err("lab %s: cannot make %s", lab->name, dir);
			rm_rf(dir);
			return -1;
		}
	}
	return 1;
}

/* The lab's live folder and group for its node instance (NULL: for
 * the lab itself): 1, 0 when it has none (or instance is none of the
 * lab's nodes, whatever its file says), -1 when the group is bad (said). */
int labshare_node(const char *lab, const char *instance, gid_t *gid, char *dir, size_t len)
{
	static struct lab rec;
	struct stat st;
	bool node = !instance;
	int r;

	if (labshare_dir(lab, dir, len) < 0)
		return 0;
	if (instance) {
		if (lab_load(lab, &rec) < 0)
			return 0;
		for (int i = 0; i < rec.n; i++)
			node |= !strcmp(rec.nodes[i].instance, instance);
		node = node && lab_owns(&rec, instance);
	}
	if (!node)
		return 0;
	r = lab_group_get(lab, gid);
	if (r <= 0)
		return r;
	return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_gid == *gid &&
	       st.st_uid == 0;
}

/* Where /shared is copied into each node: shared/ times the nodes within
 * the lab's limits (lab.c's reader counted it once). */
int labshare_budget_check(const struct lab *lab, const char *seed)
{
	char out[64], count[64];
	char *du[] = { "du", "-s", "--block-size=1", "--apparent-size", (char *)seed, NULL };
	char *dui[] = { "du", "-s", "--inodes", (char *)seed, NULL };
	unsigned long long bytes, files;

	if (access(seed, F_OK) < 0)
		return 0;
	if (run_cmd_output(du, out, sizeof(out)) < 0 ||
	    run_cmd_output(dui, count, sizeof(count)) < 0)
		return -1;
	bytes = strtoull(out, NULL, 10) * (unsigned long long)lab->n;
	files = strtoull(count, NULL, 10) * (unsigned long long)lab->n;
	if (bytes > LAB_SHARED_COPY_LIMIT || files > LAB_SHARED_COPY_ENTRIES) {
		err("lab %s: shared/ copied into each of its %d nodes would be %llu MiB and %llu files, more than a lab's %llu MiB and %d: mount a file system on STATE/.shared for a live /shared, or make shared/ smaller",
		    lab->name, lab->n, bytes >> 20, files, LAB_SHARED_COPY_LIMIT >> 20,
		    LAB_SHARED_COPY_ENTRIES);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ lab down */

/* What merge_tree may still write, and since when files count as
 * written by the nodes. */
struct merge_budget {
	long long bytes;
	long long since;
	dev_t dev;	/* the tree's file system: nothing mounted in it */
};

/* Copies regular file name of src to dst/MERGE_TMP; NULL or why not. */
static const char *merge_file(int src, const char *name, int dst, const struct stat *st,
			      struct merge_budget *budget)
{
	int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	int out = -1;
	const char *why = NULL;
	struct stat now;
	char buf[65536];
	ssize_t n;

	if (in >= 0 && (fstat(in, &now) < 0 || !S_ISREG(now.st_mode) ||
			now.st_ino != st->st_ino || now.st_dev != st->st_dev))
		why = "changed while it was copied";
	else if (st->st_size > (off_t)st->st_blocks * 512 + SPARSE_SLACK)
		why = "sparse (it would take more room than it has)";
	else if (st->st_size > budget->bytes)
		why = "more than /shared held at lab down";
	else if (in < 0 || (out = openat(dst, MERGE_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
					 O_CLOEXEC, 0600)) < 0)
		why = strerror(errno);
	while (!why && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 || n > budget->bytes) {
			why = n < 0 ? strerror(errno) : "more than /shared held at lab down";
			break;
		}
		budget->bytes -= n;
		if (write_all(out, buf, (size_t)n) < 0)
			why = strerror(errno);
	}
	if (!why && fchmod(out, st->st_mode & 0777 & ~(mode_t)S_IWOTH) < 0)
		why = strerror(errno);
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	return why;
}

/* Copies what the nodes wrote in the tree at src (files and links newer
 * than lab up) over the one at dst: folders merged, files and links
 * replacing their namesakes (written under MERGE_TMP, then renamed),
 * nothing followed, what lab up put there and nobody changed left as the
 * owner may have changed it meanwhile.  Goes on after an error and counts
 * them. */
static int merge_tree(int src, int dst, const char *where, int depth,
		      struct merge_budget *budget)
{
	DIR *d = opendir_fd(src, where);
	struct dirent *e;
	int bad = 0;

	if (!d)
		return 1;
	if (depth > MERGE_DEPTH) {
		err("%s: deeper than %d folders: not copied back", where, MERGE_DEPTH);
		closedir(d);
		return 1;
	}
	while ((e = readdir(d))) {
		char path[PATH_LEN];
		const char *why = NULL;
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", where, e->d_name);
		printable(path);
		if (!strcmp(e->d_name, MERGE_TMP)) {
			why = "a name lab down needs for itself";
		} else if (fstatat(src, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			why = strerror(errno);
		} else if (st.st_dev != budget->dev) {
			why = "on another file system (mounted there)";
		} else if (S_ISDIR(st.st_mode)) {
			int s2 = openat(src, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int d2 = -1;

			if (s2 < 0 || (mkdirat(dst, e->d_name, 0755) < 0 && errno != EEXIST) ||
			    (d2 = openat(dst, e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				why = errno == ELOOP || errno == ENOTDIR ?
				      "in the way: not a folder in shared/" : strerror(errno);
			else
				bad += merge_tree(s2, d2, path, depth + 1, budget);
			if (d2 >= 0)
				close(d2);
			if (s2 >= 0)
				close(s2);
		} else if ((S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) &&
			   (long long)st.st_ctime < budget->since) {
			continue;	/* as lab up put it */
		} else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
			unlinkat(dst, MERGE_TMP, 0);
			if (S_ISREG(st.st_mode)) {
				why = merge_file(src, e->d_name, dst, &st, budget);
			} else {
				char target[PATH_LEN];
				ssize_t n = readlinkat(src, e->d_name, target, sizeof(target) - 1);

				if (n < 0 || (target[n] = '\0', symlinkat(target, dst, MERGE_TMP) < 0))
					why = strerror(errno);
			}
			if (!why && renameat(dst, MERGE_TMP, dst, e->d_name) < 0)
				why = errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST ?
				      "in the way: a folder in shared/" : strerror(errno);
			if (why)
				unlinkat(dst, MERGE_TMP, 0);
		} else {
			/* A FIFO or socket holds no data. */
			msg("%s: warning: not a file, folder or link: not copied back", path);
		}
		if (why) {
			err("%s: not copied back: %s", path, why);
			bad++;
		}
	}
	closedir(d);
	return bad;
}

/* Of root's capabilities only CAP_DAC_READ_SEARCH, as the current ids
 * (after setuid with PR_SET_KEEPCAPS). */
static int keep_read_search(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	data[0].effective = data[0].permitted = 1u << CAP_DAC_READ_SEARCH;
	return (int)syscall(SYS_capset, &hdr, data);
}

/* The child of labshare_down: become the folder's owner, find the folder
 * again without following a link, then keep only the right to read what
 * the nodes wrote and merge src into the folder's shared/. */
static void copy_back_child(const struct lab *lab, int src, struct merge_budget *budget)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	char where[PATH_LEN + 8];
	struct passwd *pw = getpwuid(lab->owner);
	gid_t gid = pw ? pw->pw_gid : (gid_t)lab->owner;
	struct stat st;
	int labfd, dst;

	close_held_locks();
	if (lab->owner != 0 &&
	    (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
	     (pw ? initgroups(pw->pw_name, gid) : setgroups(0, NULL)) < 0 ||
	     setgid(gid) < 0 || setuid(lab->owner) < 0)) {
		err("lab %s: cannot become the lab folder's owner (uid %u): %s", lab->name,
		    (unsigned)lab->owner, strerror(errno));
		_exit(EX_FAIL);
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(EX_FAIL);
	labfd = (int)syscall(SYS_openat2, AT_FDCWD, lab->dir, &how, sizeof(how));
	if (labfd < 0 || fstat(labfd, &st) < 0 || st.st_uid != lab->owner ||
	    (unsigned long long)st.st_ino != lab->dir_ino ||
	    (unsigned long long)st.st_dev != lab->dir_dev) {
		err("lab %s: %s: %s", lab->name, lab->dir,
		    labfd < 0 ? strerror(errno) : "not the folder lab up read any more");
		_exit(EX_FAIL);
	}
	snprintf(where, sizeof(where), "%s/shared", lab->dir);
	if ((mkdirat(labfd, "shared", 0755) < 0 && errno != EEXIST) ||
	    (dst = openat(labfd, "shared", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			  O_CLOEXEC)) < 0) {
		err("lab %s: %s: %s", lab->name, where,
		    errno == ELOOP || errno == ENOTDIR ? "not a folder" : strerror(errno));
		_exit(EX_FAIL);
	}
	/* Only now the one capability: the folder above was found with the
	 * owner's rights alone. */
	if (lab->owner != 0 && keep_read_search() < 0) {
		err("lab %s: cannot keep the right to read /shared: %s", lab->name,
		    strerror(errno));
		_exit(EX_FAIL);
	}
	_exit(merge_tree(src, dst, where, 0, budget) ? EX_FAIL : EX_OK);
}

/* When no lab is left on the tmpfs umlctl mounted, it goes (nothing of
 * a lab stays after lab down).  A file system someone else mounted
 * stays. */
static void base_release(void)
{
	char base[PATH_LEN], line[PATH_LEN + 256], src[64], at[PATH_LEN + 64];
	bool ours = false;
	DIR *d;
	struct dirent *e;
	FILE *f;

	if (shared_base(base, sizeof(base)) < 0 || !(d = opendir(base)))
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			closedir(d);
			return;
		}
	closedir(d);
	f = fopen("/proc/self/mounts", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %4159s", src, at) == 2 && !strcmp(src, SHARED_SOURCE) &&
		    !strcmp(at, base))
			ours = true;
	if (f)
		fclose(f);
	if (ours && umount2(base, UMOUNT_NOFOLLOW) < 0)
		msg("%s: warning: cannot unmount: %s", base, strerror(errno));
}

/* lab down, after the nodes stopped: what they wrote in the live folder
 * back into the lab folder's shared/, then the folder away.  0 when all
 * of it went back (or there was none), -1 when some stays (said, and
 * closed to all but root). */
int labshare_down(const struct lab *lab)
{
	struct merge_budget budget = { .since = lab->up_time };
	char dir[PATH_LEN], base[PATH_LEN];
	struct statvfs vfs;
	struct stat st;
	int src, status = -1, lock;
	pid_t pid = -1;

	if (labshare_dir(lab->name, dir, sizeof(dir)) < 0 ||
	    shared_base(base, sizeof(base)) < 0)
		return -1;
	src = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0 && errno == ENOENT && lab->shared_live) {
		err("lab %s: its /shared (%s) is gone: what the nodes wrote there is lost (it lives in memory: the host restarted, or the file system was unmounted)",
		    lab->name, dir);
		return -1;
	}
	if (src < 0)
		return errno == ENOENT ? 0 : (err("%s: %s", dir, strerror(errno)), -1);
	/* At most what the file system holds now, nodes gone. */
	budget.bytes = statvfs(base, &vfs) == 0 ?
		       (long long)((vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize) + SPARSE_SLACK : 0;
	if (fstat(src, &st) < 0)
		err("%s: %s", dir, strerror(errno));
	else if (!lab->owner_known)
		err("lab %s: its record names no owner of %s", lab->name, lab->dir);
	else if (budget.dev = st.st_dev, fflush(NULL), (pid = fork()) == 0)
		copy_back_child(lab, src, &budget);
	close(src);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* Root's only from here, what goes and what stays. */
	if (chmod(dir, 0700) < 0)
		err("%s: %s", dir, strerror(errno));
	if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == EX_OK && rm_rf(dir) == 0) {
		lock = lock_network();
		if (lock >= 0)
			base_release();
		unlock(lock);
		return 0;
	}
	err("lab %s: what was not copied back to %s/shared is kept in %s (root's only); lab up of %s refuses until it is moved away",
	    lab->name, lab->dir, dir, lab->name);
	return -1;
}
