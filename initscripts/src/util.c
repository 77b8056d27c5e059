/* util.c: paths under the (overridable) root, messages, running helper
 * programs and small file helpers. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umlctl.h"

const char *prog = "umlctl";

void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int snprintf_ok(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		err("path or value too long: %.60s...", buf);
		return -1;
	}
	return 0;
}

/* Every file umlctl touches under /etc, /var/lib and /run is prefixed with
 * $UMLSKAS_ROOT (empty by default), so tests can run in a scratch tree. */
int root_path(char *out, size_t len, const char *path)
{
	const char *root = getenv("UMLSKAS_ROOT");

	return snprintf_ok(out, len, "%s%s", root ? root : "", path);
}

int etc_dir(char *out, size_t len)
{
	return root_path(out, len, "/etc/uml-skas");
}

int state_dir(char *out, size_t len, const char *name)
{
	char base[PATH_LEN];

	if (root_path(base, sizeof(base), "/var/lib/uml-skas") < 0)
		return -1;
	if (!name)
		return snprintf_ok(out, len, "%s", base);
	if (!valid_name(name)) {
		err("'%s': not an instance name", name);
		return -1;
	}
	return snprintf_ok(out, len, "%s/%s", base, name);
}

/* RUN (name NULL) holds umlctl's own entries (uml/, locks/, dnsmasq's
 * files); an instance's runtime files are in RUN/instances/NAME, where
 * no instance name can reach those. */
int run_dir(char *out, size_t len, const char *name)
{
	char base[PATH_LEN];

	if (root_path(base, sizeof(base), "/run/uml-skas") < 0)
		return -1;
	if (!name)
		return snprintf_ok(out, len, "%s", base);
	if (!valid_name(name)) {
		err("'%s': not an instance name", name);
		return -1;
	}
	return snprintf_ok(out, len, "%s/instances/%s", base, name);
}

/* RUN/uml holds one folder per instance, RUN/uml/NAME, owned by the
 * instance's user (0700) and given to UML as its uml_dir: UML creates
 * NAME/{pid,mconsole} in it and removes that when it exits.  umlctl
 * keeps its own files elsewhere. */
int uml_dir(char *out, size_t len)
{
	return root_path(out, len, "/run/uml-skas/uml");
}

int instance_uml_dir(char *out, size_t len, const char *name)
{
	char base[PATH_LEN];

	if (!valid_name(name)) {
		err("'%s': not an instance name", name);
		return -1;
	}
	if (uml_dir(base, sizeof(base)) < 0)
		return -1;
	return snprintf_ok(out, len, "%s/%s", base, name);
}

/* Runs argv (PATH lookup), with INPUT (if not NULL) on its standard input.
 * Returns its exit status, 128+signal, or -1. */
/* Writes all n bytes at offset pos, or at the file's offset when pos
 * is -1 (a short write or EINTR goes on); 0 or -1. */
int write_all_at(int fd, const char *buf, size_t n, off_t pos)
{
	while (n > 0) {
		ssize_t w = pos < 0 ? write(fd, buf, n) : pwrite(fd, buf, n, pos);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
		if (pos >= 0)
			pos += w;
	}
	return 0;
}

int write_all(int fd, const char *buf, size_t n)
{
	return write_all_at(fd, buf, n, -1);
}

int run_cmd_input(char *const argv[], const char *input, bool quiet)
{
	int in[2] = { -1, -1 };
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	if (input && pipe2(in, O_CLOEXEC) < 0) {
		err("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (input)
			dup2(in[0], 0);
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY);

			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		execvp(argv[0], argv);
		fprintf(stderr, "%s: cannot run %s: %s\n", prog, argv[0],
			strerror(errno));
		_exit(127);
	}
	if (input) {
		close(in[0]);
		signal(SIGPIPE, SIG_IGN);
		/* A reader that stops early shows in its exit status. */
		write_all(in[1], input, strlen(input));
		close(in[1]);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

int run_cmd(char *const argv[], bool quiet)
{
	return run_cmd_input(argv, NULL, quiet);
}

/* Runs argv with no shell; its standard output (the first len - 1 bytes)
 * in out, its standard error discarded.  Its exit status, or -1. */
int run_cmd_output(char *const argv[], char *out, size_t len)
{
	int fds[2];
	size_t have = 0;
	pid_t pid;
	int st;

	if (len == 0)
		return -1;
	out[0] = '\0';
	fflush(stdout);
	fflush(stderr);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		err("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		err("fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		/* dup2 clears close-on-exec on the copy; a write end that
		 * already is 1 (stdout was closed) must lose it too. */
		if (fds[1] == 1)
			fcntl(1, F_SETFD, 0);
		else
			dup2(fds[1], 1);
		if (null >= 0)
			dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		char buf[256];
		ssize_t r = read(fds[0], buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		/* The rest is read and dropped: the child never blocks. */
		for (ssize_t i = 0; i < r && have + 1 < len; i++)
			out[have++] = buf[i];
	}
	out[have] = '\0';
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_LEN];
	char *p;

	if (snprintf_ok(tmp, sizeof(tmp), "%s", path) < 0)
		return -1;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		goto fail;
	return 0;
fail:
	err("mkdir %s: %s", tmp, strerror(errno));
	return -1;
}

static int remove_at(int dirfd, const char *name, int depth);

/* Removes path (a file, or a folder with all it holds) relative to its
 * parent folder, never following a link on the way: a folder an
 * instance's user owns may change under us, and root must not be led
 * out of it (see remove_at). */
/* A directory stream of its own on the folder open as fd (which stays
 * the caller's); NULL, said with where, on failure. */
DIR *opendir_fd(int fd, const char *where)
{
	int own = dup(fd);
	DIR *d = own >= 0 ? fdopendir(own) : NULL;

	if (!d) {
		err("%s: %s", where, strerror(errno));
		if (own >= 0)
			close(own);
	}
	return d;
}

int rm_rf(const char *path)
{
	char parent[PATH_LEN];
	const char *base = strrchr(path, '/');
	int fd, r;

	if (!base || !base[1] || snprintf_ok(parent, sizeof(parent), "%.*s",
					     (int)(base - path), path) < 0)
		return -1;
	fd = open(parent[0] ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	r = remove_at(fd, base + 1, 64);
	close(fd);
	if (r < 0)
		err("remove %s: %s", path, strerror(errno));
	return r;
}

/* Replaces path with text, atomically: a new temporary file (O_EXCL,
 * never through a link), then rename().  Callers write only into folders
 * that root alone may write to. */
int write_file(const char *path, const char *text, mode_t mode)
{
	char tmp[PATH_LEN];
	int fd;

	if (snprintf_ok(tmp, sizeof(tmp), "%s.tmp", path) < 0)
		return -1;
	unlink(tmp);	/* left by a crash */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		err("write %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, text, strlen(text)) < 0 || fchmod(fd, mode) < 0) {
		err("write %s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0) {
		err("write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		err("write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Reads at most len-1 bytes; returns the count or -1. */
int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

/* The one name rule (NAME_RULE), for names from the command line, from
 * the instances folder and anywhere else: a host name label that also
 * fits a TAP device name, and that no option value (all digits) can be
 * taken for. */
bool valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NAME_MAX_LEN || !(name[0] >= 'a' && name[0] <= 'z') ||
	    name[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

/* The first digits (at most 16) hex digits of a 64-bit hash (FNV-1a,
 * then murmur3's finalizer) of
 * name: device names for names too long to appear in them whole. */
void name_hash_hex(const char *name, char *out, int digits)
{
	uint64_t h = 14695981039346656037ull;
	char all[17];

	for (const char *c = name; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ull;
	/* FNV's last bytes barely reach the high digits (pc1 and pc2 would
	 * share most of them): a finalizer mixes every bit into all. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	snprintf(all, sizeof(all), "%016llx", (unsigned long long)h);
	snprintf(out, (size_t)digits + 1, "%s", all);
}

/* True when the process exists and is not a zombie. */
bool pid_alive(pid_t pid)
{
	char path[64], buf[512];
	char *p;

	if (pid <= 1 || (kill(pid, 0) < 0 && errno == ESRCH))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return false;
	p = strrchr(buf, ')');
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Removes entry name of the folder dirfd and, for a folder, what is in
 * it, down to depth more levels, never following a link: each folder is
 * opened relative to the one above with O_NOFOLLOW, and entries go with
 * unlinkat() relative to it, so a folder swapped for a link meanwhile
 * leads nowhere.  Callers first stop every process that could write
 * there (kill_user), so the tree does not grow while it goes. */
static int remove_at(int dirfd, const char *name, int depth)
{
	struct dirent *e;
	DIR *d;
	int fd;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR || depth < 0)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		remove_at(fd, e->d_name, depth - 1);
	}
	closedir(d);
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

/* Removes an instance's UML folder RUN/uml/NAME, which the instance user
 * owns and fills (NAME/pid, NAME/mconsole): relative to RUN/uml, which
 * is root's, so a link planted inside cannot make root remove anything
 * elsewhere. */
int remove_uml_dir(const char *name)
{
	char path[PATH_LEN];
	int fd, r;

	if (!valid_name(name) || uml_dir(path, sizeof(path)) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	r = remove_at(fd, name, 64);
	close(fd);
	return r;
}
