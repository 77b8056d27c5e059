// SPDX-License-Identifier: GPL-2.0
/*
 * Attacks on the module, each as an unprivileged user would try it where
 * the hole concerns users (see "Security" in docs/host-support.md).  Every
 * test here failed on the module before the fix it names.
 *
 *  - a pending PTRACE_SWITCH_MM must not outlive its tracer's authority:
 *    detach, tracer exit, exec (of a setuid program above all);
 *  - tracees sharing their mm with another process are refused;
 *  - /proc/mm opens for root and its group only;
 *  - a per-user cap on live spaces;
 *  - a space's memory is charged to its creator's memory cgroup, never
 *    to the tracee's or the root cgroup;
 *  - a writer blocked in a page-in it controls (FUSE) holds up no other
 *    user's writes and dies on SIGKILL;
 *  - only regular files can be mapped;
 *  - fault reports are exact (a kill -SEGV is no fault; the error code
 *    is the hardware's).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "stall_fuse.h"
#include "tracee.h"

/* Exit codes of the setuid helper (suid_helper.c). */
#define HELPER_SETUID_RAN	42
#define HELPER_PLAIN_RAN	43
#define SUID_COPY		"/skas-suid-helper"

/* The helper next to our own executable. */
static const char *helper_path(void)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	char *slash;

	CHECK(n > 0, "readlink /proc/self/exe: %s", errstr(errno));
	path[n] = 0;
	slash = strrchr(path, '/');
	strcpy(slash + 1, "skas-suid-helper");
	CHECK(access(path, X_OK) == 0, "%s: %s", path, errstr(errno));
	return path;
}

/* A setuid-root copy of the helper on a file system that honours it. */
static const char *install_suid_helper(void)
{
	char cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "cp %s %s", helper_path(), SUID_COPY);
	CHECK(system(cmd) == 0, "%s failed", cmd);
	SYSCHK(chown(SUID_COPY, 0, 0));
	SYSCHK(chmod(SUID_COPY, 04755));
	return SUID_COPY;
}

/* Wait for @pid to end; its wait status. */
static int wait_end(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, __WALL) < 0)
		CHECK(errno == EINTR, "waitpid %d: %s", pid, errstr(errno));
	return st;
}

static const char *status_str(int st)
{
	static char buf[64];

	if (WIFEXITED(st))
		snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof(buf), "killed by %s", signame(WTERMSIG(st)));
	else
		snprintf(buf, sizeof(buf), "status %#x", st);
	return buf;
}

/*
 * A child that stops for its tracer, then (once resumed) raises an
 * ignored SIGUSR1 (a signal-delivery stop, where a switch may be asked
 * for), calls getppid() and runs @path if given, else exits 7.  Its own
 * code runs after the stops, so a switch into an empty space kills it.
 */
static pid_t victim_spawn(const char *path)
{
	pid_t pid = SYSCHK(fork());
	int st;

	if (pid == 0) {
		/* No PR_SET_PDEATHSIG: it must outlive its tracer. */
		signal(SIGUSR1, SIG_IGN);
		if (ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(101);
		syscall(SYS_tgkill, getpid(), gettid(), SIGSTOP);
		syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
		syscall(SYS_getppid);
		if (path) {
			execl(path, path, (char *)NULL);
			_exit(102);
		}
		_exit(7);
	}
	SYSCHK(waitpid(pid, &st, __WALL));
	CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "victim: %s", status_str(st));
	SYSCHK(ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD));
	return pid;
}

/* Resume @pid to its SIGUSR1 stop (a signal-delivery stop). */
static void run_to_sigusr1(pid_t pid)
{
	int st;

	SYSCHK(ptrace(PTRACE_CONT, pid, 0, 0));
	SYSCHK(waitpid(pid, &st, __WALL));
	CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGUSR1, "victim: %s", status_str(st));
}

/* Resume @pid to the entry of system call @nr (syscall-entry stop). */
static void run_to_syscall(pid_t pid, long nr)
{
	struct user_regs_struct r;
	int st, i;

	for (i = 0; i < 50; i++) {
		SYSCHK(ptrace(PTRACE_SYSCALL, pid, 0, 0));
		SYSCHK(waitpid(pid, &st, __WALL));
		CHECK(WIFSTOPPED(st), "victim before syscall %ld: %s", nr, status_str(st));
		if (WSTOPSIG(st) != (SIGTRAP | 0x80))
			continue;
		get_regs(pid, &r);
		if ((long)r.orig_rax == nr && r.rax == (unsigned long)-ENOSYS)
			return;
	}
	FAIL("victim never entered system call %ld", nr);
}

/*
 * Runs @attack(victim, space fd) as nobody of the /proc/mm group in a
 * process of its own; the victim is that process's child, reparented to
 * us if the attacker exits first.  Returns the victim's wait status.
 */
static int as_attacker(const char *victim_path, long stop_at,
		       void (*attack)(pid_t victim, int fd))
{
	int pipefd[2], st, vst;
	pid_t attacker, victim = 0;

	SYSCHK(prctl(PR_SET_CHILD_SUBREAPER, 1));
	SYSCHK(pipe(pipefd));
	attacker = SYSCHK(fork());
	if (attacker == 0) {
		pid_t v;
		int fd;

		close(pipefd[0]);
		become_nobody(1);
		fd = space_open();
		v = victim_spawn(victim_path);
		CHECK(write(pipefd[1], &v, sizeof(v)) == sizeof(v), "pipe");
		if (stop_at < 0)
			run_to_sigusr1(v);
		else
			run_to_syscall(v, stop_at);
		attack(v, fd);
		_exit(0);
	}
	close(pipefd[1]);
	CHECK(read(pipefd[0], &victim, sizeof(victim)) == sizeof(victim),
	      "attacker gave no victim pid");
	close(pipefd[0]);
	st = wait_end(attacker);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "attacker: %s", status_str(st));
	vst = wait_end(victim);
	return vst;
}

/*
 * Ask for the switch.  At a signal-delivery stop it is granted (and must
 * then be dropped); at the entry of a system call that will run it is
 * refused outright (EBUSY): either way the victim must run on in its own
 * address space.
 */
static void ask_switch(pid_t victim, int fd)
{
	if (ptrace(PTRACE_SWITCH_MM, victim, 0, fd))
		CHECK(errno == EBUSY, "PTRACE_SWITCH_MM: %s", errstr(errno));
}

static void switch_then_detach(pid_t victim, int fd)
{
	ask_switch(victim, fd);
	SYSCHK(ptrace(PTRACE_DETACH, victim, 0, 0));
}

static void switch_then_exit(pid_t victim, int fd)
{
	ask_switch(victim, fd);
	/* Exiting detaches the victim without our saying so. */
}

/* Switch at the entry of execve, let the exec run traced, follow it. */
static void switch_then_exec_traced(pid_t victim, int fd)
{
	int st;

	ask_switch(victim, fd);
	for (;;) {
		SYSCHK(ptrace(PTRACE_CONT, victim, 0, 0));
		SYSCHK(waitpid(victim, &st, __WALL));
		if (!WIFSTOPPED(st))
			break;
	}
	/* Tell the test what happened by our own exit. */
	_exit(WIFEXITED(st) && WEXITSTATUS(st) == HELPER_PLAIN_RAN ? 0 : 9);
}

/*
 * The review's reproduction: request a switch into an empty space, then
 * detach.  The untraced child must run on in its own mm.
 */
TEST(attack_switch_then_detach, T_DEFAULT)
{
	int st = as_attacker(NULL, -1, switch_then_detach);

	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7,
	      "detached victim was switched anyway: %s", status_str(st));
}

/*
 * Local root before the fix: stop a child at the entry of execve() of a
 * setuid-root program, request a switch into our space, detach.  The exec
 * runs untraced (setuid granted), and the switch then put the privileged
 * task into our address space.  Now the request is refused there (a
 * system call is about to run), and would be dropped anyway: the helper
 * runs its own code as root.
 */
TEST(attack_detach_then_setuid_exec, T_DEFAULT)
{
	const char *suid = install_suid_helper();
	int st = as_attacker(suid, SYS_execve, switch_then_detach);

	unlink(suid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == HELPER_SETUID_RAN,
	      "setuid helper did not run its own code as root: %s", status_str(st));
}

TEST(attack_switch_then_tracer_exits, T_DEFAULT)
{
	int st = as_attacker(NULL, -1, switch_then_exit);

	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7,
	      "victim of an exited tracer was switched anyway: %s", status_str(st));
}

/* A switch pending across an exec, tracer attached throughout: dropped. */
TEST(attack_switch_across_exec, T_DEFAULT)
{
	pid_t attacker;
	int st;

	SYSCHK(prctl(PR_SET_CHILD_SUBREAPER, 1));
	attacker = SYSCHK(fork());
	if (attacker == 0) {
		pid_t v;
		int fd;

		become_nobody(1);
		fd = space_open();
		v = victim_spawn(helper_path());
		run_to_syscall(v, SYS_execve);
		switch_then_exec_traced(v, fd);
	}
	st = wait_end(attacker);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "exec'd program did not run its own code (attacker %s)", status_str(st));
}

/*
 * A switch taking effect inside a system call that runs task works (KVM_RUN,
 * io_uring) would let the call go on in another mm: refused at the entry
 * of a system call that will run; granted at a PTRACE_SYSEMU entry stop,
 * where the call is skipped (as every tracee_call() of the suite does).
 */
TEST(attack_switch_before_running_syscall, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid = victim_spawn(NULL);
	struct user_regs_struct r;
	struct stop s;

	run_to_syscall(pid, SYS_tgkill);
	EXPECT_ERRNO(ptrace(PTRACE_SWITCH_MM, pid, 0, fd), EBUSY);
	kill(pid, SIGKILL);
	wait_end(pid);

	/* At a SYSEMU syscall-entry stop the call is skipped: granted. */
	pid = tracee_spawn();
	tracee_switch(pid, fd);
	tracee_set(pid, BLOB(blob_report_syscall), 0, 0, 0);
	tracee_resume(pid, PTRACE_SYSEMU);
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_SYSCALL, "tracee: %s", stop_str(pid, &s));
	get_regs(pid, &r);
	SYSCHK(xptrace(PTRACE_SWITCH_MM, pid, 0, fd));
	tracee_kill(pid);
	close(fd);
}

/* Outside the /proc/mm group, the module's ptrace requests are refused. */
TEST(attack_ptrace_outsider, T_DEFAULT)
{
	struct ptrace_ex_faultinfo fi;
	struct ptrace_ldt ldt = { 0 };
	char buf[16];
	pid_t pid;

	become_nobody(0);
	pid = tracee_spawn();
	EXPECT_ERRNO(xptrace(PTRACE_EX_FAULTINFO, pid, 0, (unsigned long)&fi), EPERM);
	ldt.ptr = buf;
	ldt.bytecount = sizeof(buf);
	EXPECT_ERRNO(xptrace(PTRACE_LDT, pid, 0, (unsigned long)&ldt), EPERM);
	EXPECT_ERRNO(xptrace(PTRACE_SWITCH_MM, pid, 0, 0), EPERM);
	tracee_kill(pid);
}

/* A CLONE_VM child and a vfork child share their parent's mm: refused. */
static int shared_child(void *arg)
{
	(void)arg;
	if (ptrace(PTRACE_TRACEME, 0, 0, 0))
		_exit(101);
	syscall(SYS_tgkill, getpid(), gettid(), SIGSTOP);
	_exit(0);
}

TEST(attack_shared_mm_refused, T_DEFAULT)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	int fd = space_new(), st, pfd[2];
	pid_t pid;

	pid = clone(shared_child, stack + sizeof(stack), CLONE_VM | SIGCHLD, NULL);
	CHECK(pid > 0, "clone: %s", errstr(errno));
	SYSCHK(waitpid(pid, &st, __WALL));
	CHECK(WIFSTOPPED(st), "CLONE_VM child: %s", status_str(st));
	EXPECT_ERRNO(ptrace(PTRACE_SWITCH_MM, pid, 0, fd), EINVAL);
	kill(pid, SIGKILL);
	wait_end(pid);

	/* vfork: the parent (a helper process) waits until the child dies.
	 * The vfork child is our grandchild; it sends its pid through a pipe
	 * (no /proc/PID/task/TID/children: that needs CONFIG_PROC_CHILDREN,
	 * which the debug kernel of check-debug does not have).
	 */
	SYSCHK(pipe(pfd));
	pid = SYSCHK(fork());
	if (pid == 0) {
		close(pfd[0]);
		if (vfork() == 0) {
			pid_t me = (pid_t)syscall(SYS_getpid);

			if (write(pfd[1], &me, sizeof(me)) != sizeof(me))
				_exit(1);
			for (;;)
				pause();
		}
		_exit(0);
	}
	close(pfd[1]);
	{
		pid_t c = 0;

		if (read(pfd[0], &c, sizeof(c)) != sizeof(c))
			c = 0;
		close(pfd[0]);
		CHECK(c > 0, "vfork child not found");
		SYSCHK(ptrace(PTRACE_SEIZE, c, 0, 0));
		SYSCHK(ptrace(PTRACE_INTERRUPT, c, 0, 0));
		SYSCHK(waitpid(c, &st, __WALL));
		CHECK(WIFSTOPPED(st), "vfork child: %s", status_str(st));
		EXPECT_ERRNO(ptrace(PTRACE_SWITCH_MM, c, 0, fd), EINVAL);
		kill(c, SIGKILL);
		waitpid(c, &st, __WALL);
	}
	kill(pid, SIGKILL);
	wait_end(pid);
	close(fd);
}

/* /proc/mm: root's and its group's; an ordinary user is refused. */
TEST(attack_procmm_outsider, T_DEFAULT)
{
	int gid = procmm_gid();
	struct stat sb;
	pid_t pid;
	int st;

	CHECK(gid >= 0, "module loaded without proc_mm_gid=");
	SYSCHK(stat("/proc/mm", &sb));
	CHECK((sb.st_mode & 07777) == 0660 && sb.st_uid == 0 && (int)sb.st_gid == gid,
	      "/proc/mm is %04o %d:%d, expected 0660 0:%d", sb.st_mode & 07777,
	      sb.st_uid, sb.st_gid, gid);
	/* Even if root widens the mode, the module keeps its rule. */
	SYSCHK(chmod("/proc/mm", 0666));
	pid = SYSCHK(fork());
	if (pid == 0) {
		become_nobody(0);
		EXPECT_ERRNO(open("/proc/mm", O_WRONLY), EACCES);
		_exit(0);
	}
	st = wait_end(pid);
	chmod("/proc/mm", 0660);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "outsider: %s", status_str(st));
	pid = SYSCHK(fork());
	if (pid == 0) {
		become_nobody(1);
		close(space_open());
		_exit(0);
	}
	st = wait_end(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "group member: %s", status_str(st));
}

#define CAP_PARAM "/sys/module/uml_skas_host/parameters/max_spaces_per_user"

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	CHECK(fd >= 0, "open %s: %s", path, errstr(errno));
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write %s: %s", path,
	      errstr(errno));
	close(fd);
}

/*
 * Opens as many spaces as it can, up to @max; returns how many.  Spaces
 * are uncounted a little after their end (an RCU grace period), so it
 * tries for up to 3 s to reach @want.
 */
static int open_spaces_want(int *fds, int max, int want);

static int open_spaces(int *fds, int max)
{
	int n;

	for (n = 0; n < max; n++) {
		fds[n] = open("/proc/mm", O_WRONLY | O_CLOEXEC);
		if (fds[n] < 0) {
			CHECK(errno == EAGAIN, "open beyond the cap: %s, expected EAGAIN",
			      errstr(errno));
			break;
		}
	}
	return n;
}

static int open_spaces_want(int *fds, int max, int want)
{
	double deadline = now() + 3;
	int n;

	for (;;) {
		n = open_spaces(fds, max);
		if (n >= want || now() > deadline)
			return n;
		while (n > 0)
			close(fds[--n]);
		usleep(20000);
	}
}

TEST(attack_space_cap, T_DEFAULT)
{
	char saved[32] = "8192";
	int fds[16], n, i, st;
	pid_t pid;
	FILE *f;

	f = fopen(CAP_PARAM, "r");
	CHECK(f, CAP_PARAM ": %s", errstr(errno));
	CHECK(fgets(saved, sizeof(saved), f), "read " CAP_PARAM);
	fclose(f);
	write_file(CAP_PARAM, "4");
	pid = SYSCHK(fork());
	if (pid == 0) {
		pid_t t;

		become_nobody(1);
		/*
		 * Spaces an earlier test left to nobody are uncounted only
		 * when their mm is freed, which the host may defer: wait.
		 */
		n = open_spaces_want(fds, 16, 4);
		CHECK(n == 4, "nobody opened %d spaces under a cap of 4", n);
		/* A space a tracee runs in stays alive, and counted, after close. */
		space_setup(fds[0]);
		t = tracee_spawn();
		tracee_switch(t, fds[0]);
		for (i = 0; i < n; i++)
			close(fds[i]);
		n = open_spaces_want(fds, 16, 3);
		CHECK(n == 3, "after closing all: %d opened, expected 3", n);
		for (i = 0; i < n; i++)
			close(fds[i]);
		tracee_kill(t);
		/* The space goes with the tracee's mm. */
		n = open_spaces_want(fds, 16, 4);
		CHECK(n == 4, "after the tracee died: %d opened, expected 4", n);
		_exit(0);
	}
	st = wait_end(pid);
	write_file(CAP_PARAM, saved);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "capped user: %s", status_str(st));
}

/* ---- memory cgroups ---- */

#define CG "/sys/fs/cgroup"

static long cg_current(const char *group)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), CG "/%s/memory.current", group);
	f = fopen(path, "r");
	CHECK(f, "%s: %s", path, errstr(errno));
	CHECK(fscanf(f, "%ld", &v) == 1, "%s unreadable", path);
	fclose(f);
	return v;
}

static void cg_join(const char *group, pid_t pid)
{
	char path[128], text[32];

	snprintf(path, sizeof(path), CG "/%s/cgroup.procs", group);
	snprintf(text, sizeof(text), "%d", pid);
	write_file(path, text);
}

static void cg_setup(void)
{
	struct stat sb;

	if (stat(CG "/cgroup.subtree_control", &sb))
		SYSCHK(mount("cgroup2", CG, "cgroup2", 0, NULL));
	write_file(CG "/cgroup.subtree_control", "+memory");
	mkdir(CG "/skas-creator", 0755);
	mkdir(CG "/skas-tracee", 0755);
}

struct churn {
	int fd;
	volatile int stop;
	unsigned long writes;
};

/* Writes into the space while the tracee switches in and out. */
static void *churn_writes(void *arg)
{
	struct churn *c = arg;

	while (!c->stop) {
		OP_OK(op_mmap(c->fd, FREE_ADDR, 16 * PAGE, RW, ANON_FIXED | MAP_POPULATE, -1, 0));
		OP_OK(op_munmap(c->fd, FREE_ADDR, 16 * PAGE));
		c->writes++;
	}
	return NULL;
}

/*
 * The creator's cgroup pays for its space, whoever touches the pages:
 * a tracee in another cgroup switched in while writes go on, then
 * touching 32 MiB, must not charge its own cgroup (nor the root's).
 */
TEST(attack_memcg_creator_pays, T_DEFAULT)
{
	const unsigned long pages = 8192, bytes = pages * PAGE;
	long creator0, tracee0, creator1, tracee1;
	struct churn c = { 0 };
	pthread_t thread;
	int fd, other, i;
	pid_t pid;

	cg_setup();
	cg_join("skas-creator", getpid());
	fd = space_new();
	other = space_new();
	/*
	 * Shared anonymous memory (shmem): charged like private pages, but
	 * no transparent huge pages, whose khugepaged keeps a dead mm for up
	 * to 10 s and would trip the slab leak check.
	 */
	OP_OK(op_mmap(fd, DATA_ADDR, bytes, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	pid = tracee_spawn();
	cg_join("skas-tracee", pid);
	c.fd = fd;
	CHECK(!pthread_create(&thread, NULL, churn_writes, &c), "pthread_create");
	for (i = 0; i < 50; i++) {
		tracee_switch(pid, i % 2 ? other : fd);
	}
	tracee_switch(pid, fd);
	c.stop = 1;
	pthread_join(thread, NULL);

	creator0 = cg_current("skas-creator");
	tracee0 = cg_current("skas-tracee");
	CHECK(tracee_call(pid, BLOB(blob_touch), DATA_ADDR, pages, 0, NULL) == 0, "touch");
	creator1 = cg_current("skas-creator");
	tracee1 = cg_current("skas-tracee");
	note("memcg: creator +%ld KiB, tracee +%ld KiB for %lu KiB touched (%lu writes meanwhile)",
	     (creator1 - creator0) / 1024, (tracee1 - tracee0) / 1024, bytes / 1024, c.writes);
	CHECK(creator1 - creator0 >= (long)(bytes * 7 / 8),
	      "creator's cgroup grew by %ld bytes only for %lu touched", creator1 - creator0,
	      bytes);
	CHECK(tracee1 - tracee0 < (long)(bytes / 8),
	      "tracee's cgroup was charged %ld bytes", tracee1 - tracee0);
	tracee_kill(pid);
	close(fd);
	close(other);
	cg_join("", getpid());
}

/* ---- a writer that blocks ---- */

#define STALL_DIR "/tmp/skas-stall"

static void pin_cpu0(void)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	SYSCHK(sched_setaffinity(0, sizeof(one), &one));
}

/* Wait up to @secs for @pid to end; 1 if it did (status in *st). */
static int ended_within(pid_t pid, double secs, int *st)
{
	double deadline = now() + secs;

	for (;;) {
		pid_t r = waitpid(pid, st, WNOHANG | __WALL);

		if (r == pid)
			return 1;
		CHECK(r == 0, "waitpid %d: %s", pid, errstr(errno));
		if (now() > deadline)
			return 0;
		usleep(10000);
	}
}

/*
 * User A maps, with MAP_POPULATE, a file of a FUSE server that never
 * answers its reads: the job blocks in the page-in.  Before the fix every
 * writer on A's CPU queued behind it, unkillably.  Now user B's writes on
 * that CPU go through, and A dies on SIGKILL at once.
 */
TEST(attack_blocked_writer_alone, T_DEFAULT)
{
	pid_t server, a, b;
	int seen, st;
	char c;

	server = stall_fuse_mount(STALL_DIR, &seen);
	a = SYSCHK(fork());
	if (a == 0) {
		int fd, file;

		pin_cpu0();
		become_nobody(1);
		fd = space_open();
		file = open(STALL_DIR "/f", O_RDONLY);
		CHECK(file >= 0, STALL_DIR "/f: %s", errstr(errno));
		op_mmap(fd, DATA_ADDR, 16 * PAGE, PROT_READ,
			MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, file, 0);
		_exit(0);	/* only once the server is gone */
	}
	CHECK(read(seen, &c, 1) == 1, "the FUSE server saw no read");
	b = SYSCHK(fork());
	if (b == 0) {
		int fd, i;

		pin_cpu0();
		become_user(NOBODY - 1, 1);	/* another user than A */
		fd = space_open();
		for (i = 0; i < 100; i++) {
			OP_OK(op_mmap(fd, FREE_ADDR, PAGE, RW, ANON_FIXED, -1, 0));
			OP_OK(op_munmap(fd, FREE_ADDR, PAGE));
		}
		_exit(0);
	}
	if (!ended_within(b, 20, &st)) {
		kill(b, SIGKILL);
		kill(a, SIGKILL);
		stall_fuse_unmount(STALL_DIR, server);
		FAIL("another writer on the same CPU was held up for 20 s by a blocked job");
	}
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "other writer: %s", status_str(st));
	SYSCHK(kill(a, SIGKILL));
	if (!ended_within(a, 10, &st)) {
		stall_fuse_unmount(STALL_DIR, server);
		FAIL("a writer blocked in its job did not die of SIGKILL within 10 s");
	}
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "blocked writer: %s",
	      status_str(st));
	/* The job ends with the server; the slab check sees it all go. */
	stall_fuse_unmount(STALL_DIR, server);
	close(seen);
}

/*
 * After mlockall(MCL_FUTURE) in a space, mmap populates every new mapping
 * through mm_populate(), whose loop never ends for a worker on a file that
 * cannot be read: file mappings are refused there (EPERM), at once.
 */
TEST(attack_mlockall_file_refused, T_DEFAULT)
{
	struct user_regs_struct r;
	pid_t server, writer, pid;
	int fd = space_new(), seen, st;
	struct stop s;

	pid = tracee_spawn();
	tracee_switch(pid, fd);
	/* The tracee makes a real mlockall(MCL_FUTURE) in the space. */
	get_regs(pid, &r);
	r.rip = BLOB(blob_report_syscall);
	r.rax = SYS_mlockall;
	r.rdi = MCL_FUTURE;
	r.orig_rax = -1;
	set_regs(pid, &r);
	tracee_resume(pid, PTRACE_CONT);
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_SIGNAL && s.sig == SIGTRAP, "after mlockall: %s",
	      stop_str(pid, &s));
	CHECK(s.regs.rax == 0, "mlockall(MCL_FUTURE) in the space: %s",
	      errstr(-(long)s.regs.rax));

	server = stall_fuse_mount(STALL_DIR, &seen);
	writer = SYSCHK(fork());
	if (writer == 0) {
		int file = open(STALL_DIR "/f", O_RDONLY);

		CHECK(file >= 0, STALL_DIR "/f: %s", errstr(errno));
		OP_ERR(op_mmap(fd, DATA_ADDR, 4 * PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED,
			       file, 0), EPERM);
		_exit(0);
	}
	if (!ended_within(writer, 15, &st)) {
		kill(writer, SIGKILL);
		stall_fuse_unmount(STALL_DIR, server);
		tracee_kill(pid);
		FAIL("a file mapping in an mlockall(MCL_FUTURE) space hung for 15 s");
	}
	stall_fuse_unmount(STALL_DIR, server);
	close(seen);
	tracee_kill(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer: %s", status_str(st));
}

/* Device files' ->mmap may look at current (a worker): refused. */
TEST(attack_map_device_refused, T_DEFAULT)
{
	int fd = space_open(), zero = SYSCHK(open("/dev/zero", O_RDWR));

	OP_ERR(op_mmap(fd, DATA_ADDR, PAGE, RW, MAP_PRIVATE | MAP_FIXED, zero, 0), ENODEV);
	OP_ERR(op_mmap(fd, DATA_ADDR, PAGE, RW, MAP_SHARED | MAP_FIXED, zero, 0), ENODEV);
	/* Nor regular files of sysfs whose mmap is a driver's: a PCI BAR. */
	{
		glob_t g;
		size_t i;
		int bar = -1;

		if (glob("/sys/bus/pci/devices/*/resource[0-5]", 0, NULL, &g) == 0) {
			for (i = 0; i < g.gl_pathc && bar < 0; i++)
				bar = open(g.gl_pathv[i], O_RDWR | O_CLOEXEC);
			globfree(&g);
		}
		if (bar < 0) {
			note("no PCI resource file to try");
			return;
		}
		OP_ERR(op_mmap(fd, DATA_ADDR, PAGE, RW, MAP_SHARED | MAP_FIXED, bar, 0), ENODEV);
	}
}

/* ---- fault reports ---- */

TEST(attack_fault_info_exact, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid = tracee_spawn();
	struct ptrace_ex_faultinfo fi;
	struct ptrace_faultinfo old;
	struct stop s;

	space_map_words(fd, DATA_ADDR, 2, 1);
	OP_OK(op_mprotect(fd, DATA_ADDR, PAGE, PROT_READ));
	tracee_switch(pid, fd);
	/* Present, read-only, written from user mode: P|W|U. */
	tracee_call(pid, BLOB(blob_load), DATA_ADDR, 0, 0, NULL);
	tracee_segv(pid, BLOB(blob_store), DATA_ADDR, 5, &fi);
	check_fault(&fi, DATA_ADDR, 1);
	CHECK(fi.error_code == 7, "write to a read-only page: error code %#x, expected 0x7",
	      fi.error_code);
	/* Instruction fetch from a non-executable page: I|U (+P if present). */
	tracee_call(pid, BLOB(blob_load), DATA_ADDR + PAGE, 0, 0, NULL);
	tracee_segv(pid, DATA_ADDR + PAGE, 0, 0, &fi);
	check_fault(&fi, DATA_ADDR + PAGE, 0);
	CHECK(fi.error_code == 0x15, "fetch from a data page: error code %#x, expected 0x15",
	      fi.error_code);

	/* A SIGSEGV sent with kill() is no fault: no stale address. */
	tracee_set(pid, BLOB(blob_spin), 0, 0, 0);
	tracee_resume(pid, PTRACE_CONT);
	usleep(20000);
	SYSCHK(kill(pid, SIGSEGV));
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_SIGNAL && s.sig == SIGSEGV, "after kill: %s", stop_str(pid, &s));
	memset(&fi, 0xa5, sizeof(fi));
	SYSCHK(xptrace(PTRACE_EX_FAULTINFO, pid, 0, (unsigned long)&fi));
	CHECK(fi.trap_no == -1 && fi.addr == 0 && fi.is_write == 0 && fi.error_code == 0,
	      "kill -SEGV reported as a fault: trap %d addr %#lx write %d error %#x",
	      fi.trap_no, fi.addr, fi.is_write, fi.error_code);
	memset(&old, 0xa5, sizeof(old));
	SYSCHK(xptrace(PTRACE_FAULTINFO, pid, 0, (unsigned long)&old));
	CHECK(old.addr == 0 && old.is_write == 0,
	      "PTRACE_FAULTINFO after kill -SEGV: addr %#lx write %d", old.addr, old.is_write);
	tracee_kill(pid);
}
