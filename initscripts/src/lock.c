/* lock.c: one umlctl at a time per instance, and per host network.
 *
 * Every change of an instance's state (start, stop, kill, destroy and the
 * cleanup after a crash) holds the instance's lock, RUN/locks/NAME; the
 * host network (network up and down, TAP devices, the DHCP host list)
 * the network lock, RUN/network.lock; choosing an instance's user id the
 * ids lock, RUN/ids.lock; keeping and pruning base images the images
 * lock, RUN/images.lock; a lab's up and down its lab lock,
 * RUN/locks/.lab-NAME.  Without them two `umlctl start`
 * of one instance, or a start racing a destroy, removed each other's TAP
 * devices, pid files and run folders.  Order: the lab lock, instance
 * locks in name order, then the images lock, then the ids lock, then the
 * network lock; never the other way round.
 *
 * The locks are flock(2) locks on files that are never removed (removing
 * a lock file races with its next user); they go with /run at boot.  A
 * lock is held by the open file, which fork() shares: the supervisor,
 * forked by `umlctl start` while it holds the lock, closes its copies at
 * once (close_held_locks), or the lock would outlive the start.
 *
 * Within one umlctl the locks nest: taking a lock this process holds
 * already counts up instead of waiting for itself (a second flock on a
 * new open file would), so that destroy may call stop, and start may
 * write the DHCP host list, each taking the locks it needs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "umlctl.h"

#define MAX_HELD (MAX_INSTANCES + 4)

static struct held_lock {
	int fd;
	int depth;
	char key[NAME_MAX_LEN + 8];	/* instance name, "/" (network), "%ids", ".lab-NAME" */
} held[MAX_HELD];
static int nheld;

static int lock_path(const char *path, const char *key, const char *what)
{
	int fd;

	for (int i = 0; i < nheld; i++) {
		if (!strcmp(held[i].key, key)) {
			held[i].depth++;
			return held[i].fd;
		}
	}
	if (nheld >= MAX_HELD) {
		err("%s: too many locks held", what);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err("%s: lock %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			msg("%s: waiting for another umlctl working on it", what);
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				err("%s: lock %s: %s", what, path, strerror(errno));
				close(fd);
				return -1;
			}
		}
	}
	held[nheld].fd = fd;
	held[nheld].depth = 1;
	snprintf(held[nheld].key, sizeof(held[nheld].key), "%s", key);
	nheld++;
	return fd;
}

int lock_instance(const char *name)
{
	char dir[PATH_LEN], locks[PATH_LEN], path[PATH_LEN];

	if (!valid_name(name)) {
		err("'%s': not an instance name", name);
		return -1;
	}
	if (run_dir(dir, sizeof(dir), NULL) < 0 ||
	    snprintf_ok(locks, sizeof(locks), "%s/locks", dir) < 0 ||
	    snprintf_ok(path, sizeof(path), "%s/%s", locks, name) < 0 ||
	    mkdir_p(locks, 0700) < 0)
		return -1;
	return lock_path(path, name, name);
}

/* Held by lab up from the moment it writes the lab's files until its
 * nodes are started, and by lab down (no instance name has a dot). */
int lock_lab(const char *name)
{
	char dir[PATH_LEN], path[PATH_LEN], key[NAME_MAX_LEN + 8], what[NAME_MAX_LEN + 8];

	if (!valid_name(name)) {
		err("'%s': not a lab name", name);
		return -1;
	}
	snprintf(key, sizeof(key), ".lab-%s", name);
	snprintf(what, sizeof(what), "lab %s", name);
	if (run_dir(dir, sizeof(dir), NULL) < 0 ||
	    snprintf_ok(path, sizeof(path), "%s/locks/%s", dir, key) < 0 ||
	    snprintf_ok(dir + strlen(dir), sizeof(dir) - strlen(dir), "/locks") < 0 ||
	    mkdir_p(dir, 0700) < 0)
		return -1;
	return lock_path(path, key, what);
}

/* A lock of umlctl's own, RUN/FILE (no instance name has a dot or '%'). */
static int lock_global(const char *file, const char *key, const char *what)
{
	char dir[PATH_LEN], path[PATH_LEN];

	if (run_dir(dir, sizeof(dir), NULL) < 0 ||
	    snprintf_ok(path, sizeof(path), "%s/%s", dir, file) < 0 ||
	    mkdir_p(dir, 0755) < 0)
		return -1;
	return lock_path(path, key, what);
}

int lock_network(void)
{
	return lock_global("network.lock", "/", "network");
}

/* Held while base images are kept or pruned (image.c). */
int lock_images(void)
{
	return lock_global("images.lock", "%images", "kept images");
}

/* Held while an instance user id is chosen (ids.c). */
int lock_ids(void)
{
	return lock_global("ids.lock", "%ids", "instance ids");
}

void unlock(int fd)
{
	if (fd < 0)
		return;
	for (int i = 0; i < nheld; i++) {
		if (held[i].fd != fd)
			continue;
		if (--held[i].depth > 0)
			return;
		close(fd);
		held[i] = held[--nheld];
		return;
	}
}

void close_held_locks(void)
{
	while (nheld > 0)
		close(held[--nheld].fd);
}
