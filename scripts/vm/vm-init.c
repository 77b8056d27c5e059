// SPDX-License-Identifier: GPL-2.0
/*
 * vm-init: /init of the test initramfs built by scripts/vm/vmrun.
 *
 * Mounts the usual pseudo file systems, loads the modules listed in
 * /vmrun/modules (one path per line, in order) with finit_module(2), runs
 * the command stored in /vmrun/cmd (arguments separated by NUL bytes, so any
 * character but NUL is safe) with its output on the console, then prints
 *
 *	VMRUN-RESULT: <exit status>
 *
 * and powers the machine off.  The exit status is the command's, 128 + the
 * signal number when it was killed by a signal, 127 when it could not be
 * started, and 125 when a module could not be loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CMD_FILE "/vmrun/cmd"
#define MODULES_FILE "/vmrun/modules"
#define MAX_ARGS 4096
#define STATUS_MODULE_FAILED 125
#define STATUS_EXEC_FAILED 127

/* Prints a message of ours on the console, prefixed with "vm-init: ". */
static void msg(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "vm-init: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDOUT_FILENO, buf, n) < 0) {
		/* Nowhere else to report to. */
	}
}

/* Prints the result marker, syncs and powers off; never returns. */
static void finish(int status)
{
	char buf[64];
	int n;

	/* Stop whatever the command left behind. */
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	tcdrain(STDOUT_FILENO);
	sync();
	n = snprintf(buf, sizeof(buf), "\nVMRUN-RESULT: %d\n", status);
	if (write(STDOUT_FILENO, buf, n) < 0) {
		/* Nowhere else to report to. */
	}
	tcdrain(STDOUT_FILENO);
	reboot(RB_POWER_OFF);
	/* Only reached if power off failed: panic=-1 and -no-reboot end QEMU. */
	msg("reboot(RB_POWER_OFF) failed: %s", strerror(errno));
	_exit(1);
}

static void do_mount(const char *src, const char *dst, const char *type,
		     unsigned long flags, const char *data, int required)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data) < 0 && (required || errno != ENODEV))
		msg("mount %s on %s: %s", type, dst, strerror(errno));
}

/* Reopens fds 0, 1 and 2 on /dev/console (after devtmpfs is mounted). */
static void setup_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

static void mount_all(void)
{
	const unsigned long nosuid = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	do_mount("proc", "/proc", "proc", nosuid, NULL, 1);
	do_mount("sysfs", "/sys", "sysfs", nosuid, NULL, 1);
	do_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 1);
	setup_console();
	do_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		 "gid=5,mode=0620,ptmxmode=0666", 0);
	do_mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, NULL, 0);
	do_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 1);
	do_mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0);
	do_mount("debugfs", "/sys/kernel/debug", "debugfs", nosuid, NULL, 0);
	do_mount("tracefs", "/sys/kernel/tracing", "tracefs", nosuid, NULL, 0);
}

/*
 * Reads a whole file into a NUL-terminated buffer; returns NULL (errno set)
 * on failure.
 */
static char *read_file(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0, n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	for (;;) {
		if (n + 1 >= cap) {
			char *p;

			cap = cap ? cap * 2 : 4096;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				close(fd);
				errno = ENOMEM;
				return NULL;
			}
			buf = p;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/*
 * Loads the modules listed in MODULES_FILE.  Each line is a module path,
 * optionally followed by a tab and the module parameters.
 */
static void load_modules(void)
{
	size_t len;
	char *buf = read_file(MODULES_FILE, &len);
	char *line, *save = NULL;

	if (!buf)
		return;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *params = strchr(line, '\t');
		int fd;

		if (params)
			*params++ = '\0';
		else
			params = "";
		fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			msg("insmod %s: cannot open: %s", line, strerror(errno));
			finish(STATUS_MODULE_FAILED);
		}
		if (syscall(SYS_finit_module, fd, params, 0) < 0) {
			msg("insmod %s: finit_module failed: %s (see the kernel log above)",
			    line, strerror(errno));
			finish(STATUS_MODULE_FAILED);
		}
		close(fd);
		msg("loaded module %s", line);
	}
	free(buf);
}

/* Runs the command from CMD_FILE and returns its status. */
static int run_command(void)
{
	static char *argv[MAX_ARGS + 1];
	size_t len, off;
	int argc = 0, status;
	char *buf = read_file(CMD_FILE, &len);
	pid_t pid, w;

	if (!buf) {
		msg("cannot read %s: %s", CMD_FILE, strerror(errno));
		return STATUS_EXEC_FAILED;
	}
	for (off = 0; off < len && argc < MAX_ARGS; off += strlen(buf + off) + 1)
		argv[argc++] = buf + off;
	argv[argc] = NULL;
	if (argc == 0) {
		msg("empty command in %s", CMD_FILE);
		return STATUS_EXEC_FAILED;
	}

	pid = fork();
	if (pid < 0) {
		msg("fork: %s", strerror(errno));
		return STATUS_EXEC_FAILED;
	}
	if (pid == 0) {
		/*
		 * Own session, but no controlling terminal: the hangup when a
		 * session leader with a controlling tty exits would discard its
		 * last output still queued for the serial port.
		 */
		setsid();
		execvp(argv[0], argv);
		msg("cannot run %s: %s", argv[0], strerror(errno));
		_exit(STATUS_EXEC_FAILED);
	}
	/* Reap orphans too, until the command itself ends. */
	for (;;) {
		w = waitpid(-1, &status, 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			msg("waitpid: %s", strerror(errno));
			return STATUS_EXEC_FAILED;
		}
	}
	free(buf);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		msg("command killed by signal %d", WTERMSIG(status));
		return 128 + WTERMSIG(status);
	}
	return STATUS_EXEC_FAILED;
}

int main(void)
{
	if (getpid() != 1) {
		fprintf(stderr, "vm-init: must run as pid 1 (the initramfs' /init)\n");
		return 1;
	}
	umask(022);
	mount_all();
	setenv("PATH", "/test:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("HOME", "/root", 1);
	setenv("TERM", "dumb", 1);
	setenv("TMPDIR", "/tmp", 1);
	if (chdir("/test") < 0 && chdir("/") < 0)
		msg("chdir: %s", strerror(errno));
	load_modules();
	finish(run_command());
	return 0;
}
