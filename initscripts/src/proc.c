/* proc.c: which process is which.  A pid alone names a process only until
 * it exits: after that the number is free for any other process, and a
 * pid file left behind (a crash, a full disk, a hand edit) would have
 * umlctl signal a stranger.  So umlctl records a process as its pid and
 * its start time (field 22 of /proc/PID/stat, clock ticks since boot),
 * which a later process with the same pid cannot have, and signals only
 * through a pidfd opened and then checked against that record.  Nothing
 * here looks at /proc/PID/exe: a package upgrade replaces the program on
 * disk under a running process. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umlctl.h"

/* The state letter and start time of pid from /proc/PID/stat. */
static int proc_stat(pid_t pid, char *state, unsigned long long *start)
{
	char path[64], buf[1024], *p, *end;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	/* The command name may hold spaces and parentheses: the fields
	 * start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -1;
	p += 2;
	*state = *p;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	errno = 0;
	*start = strtoull(p, &end, 10);
	return errno || end == p ? -1 : 0;
}

int proc_id_of(pid_t pid, struct proc_id *id)
{
	char state;

	id->pid = 0;
	id->start = 0;
	if (pid <= 1 || proc_stat(pid, &state, &id->start) < 0)
		return -1;
	id->pid = pid;
	return 0;
}

bool proc_id_alive(const struct proc_id *id)
{
	unsigned long long start;
	char state;

	if (id->pid <= 1 || proc_stat(id->pid, &state, &start) < 0)
		return false;
	return start == id->start && state != 'Z' && state != 'X';
}

/* "PID START\n", written atomically. */
int proc_id_write(const char *path, pid_t pid)
{
	struct proc_id id;
	char text[64];

	if (proc_id_of(pid, &id) < 0) {
		err("%s: process %d is gone", path, (int)pid);
		return -1;
	}
	snprintf(text, sizeof(text), "%d %llu\n", (int)id.pid, id.start);
	return write_file(path, text, 0644);
}

int proc_id_read(const char *path, struct proc_id *id)
{
	char buf[64], *end;
	long pid;

	id->pid = 0;
	id->start = 0;
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno || end == buf || *end != ' ' || pid <= 1 || pid > INT_MAX)
		return -1;
	id->start = strtoull(end + 1, &end, 10);
	if (errno || (*end && *end != '\n'))
		return -1;
	id->pid = (pid_t)pid;
	return 0;
}

/* Sends sig to the recorded process (and, with group, to the process group
 * it leads) if it is still that process.  The pidfd pins the process: once
 * the start time checks out, the signal cannot reach another one.  The
 * group is signalled while its leader is alive, so its number is still
 * in use by that group.  Returns 0 when sent, -1 when the process is gone
 * or is not the recorded one (nothing is sent then). */
int proc_id_signal(const struct proc_id *id, int sig, bool group)
{
	int fd, r = -1;

	if (id->pid <= 1)
		return -1;
	fd = pidfd_open(id->pid, 0);
	if (fd < 0)
		return -1;
	if (proc_id_alive(id)) {
		if (group && getpgid(id->pid) == id->pid)
			kill(-id->pid, sig);
		r = pidfd_send_signal(fd, sig, NULL, 0);
	}
	close(fd);
	return r;
}

/* Waits up to ms for the process to be gone. */
bool proc_id_wait_gone(const struct proc_id *id, int ms)
{
	for (int i = 0; i < ms / 50 && proc_id_alive(id); i++)
		sleep_ms(50);
	return !proc_id_alive(id);
}

/* Whether a live (not zombie) process has uid as its real, effective,
 * saved or file-system uid (/proc/PID/status, which everyone may read,
 * even of a process that made itself undumpable). */
bool user_has_processes(uid_t uid)
{
	struct dirent *e;
	bool found = false;
	DIR *d = opendir("/proc");

	if (!d)
		return true;
	while (!found && (e = readdir(d))) {
		char path[64], buf[2048], *p;
		unsigned long long ids[4];

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
		if (read_file(path, buf, sizeof(buf)) <= 0)
			continue;
		p = strstr(buf, "\nState:\t");
		if (p && (p[8] == 'Z' || p[8] == 'X'))
			continue;
		p = strstr(buf, "\nUid:\t");
		if (p && sscanf(p + 6, "%llu %llu %llu %llu", &ids[0], &ids[1], &ids[2],
				&ids[3]) == 4)
			found = ids[0] == uid || ids[1] == uid || ids[2] == uid || ids[3] == uid;
	}
	closedir(d);
	return found;
}

/* Kills every process of uid: an instance's user is the instance's
 * alone, so whatever runs as it (UML, its helpers, and anything a guest
 * that escaped started in a session of its own) goes.  A child that has
 * become uid sends SIGKILL to all it may signal (kill(-1), which spares
 * the sender), until /proc shows none left.  Returns 0, or -1 if
 * processes stay. */
int kill_user(uid_t uid)
{
	if (uid == 0)
		return -1;
	for (int round = 0; round < 50; round++) {
		int st = 0;
		pid_t pid;

		if (!user_has_processes(uid))
			return 0;
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			if (setgroups(0, NULL) < 0 || setgid((gid_t)uid) < 0 || setuid(uid) < 0)
				_exit(2);
			kill(-1, SIGKILL);
			_exit(0);
		}
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return -1;
		sleep_ms(20);
	}
	return user_has_processes(uid) ? -1 : 0;
}
