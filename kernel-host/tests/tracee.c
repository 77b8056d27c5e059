// SPDX-License-Identifier: GPL-2.0
/*
 * Building /proc/mm spaces and running blob code in them via a tracee.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "tracee.h"

long xptrace(long req, pid_t pid, unsigned long addr, unsigned long data)
{
	/* Raw syscall: glibc's wrapper treats some requests specially. */
	return syscall(SYS_ptrace, req, (long)pid, addr, data);
}

/* ---- /proc/mm ---- */

struct proc_mm_op mk_mmap(unsigned long addr, unsigned long len, unsigned long prot,
			  unsigned long flags, long fd, unsigned long off)
{
	struct proc_mm_op op;

	memset(&op, 0, sizeof(op));
	op.op = MM_MMAP;
	op.u.mmap.addr = addr;
	op.u.mmap.len = len;
	op.u.mmap.prot = prot;
	op.u.mmap.flags = flags;
	op.u.mmap.fd = (unsigned long)fd;
	op.u.mmap.offset = off;
	return op;
}

struct proc_mm_op mk_munmap(unsigned long addr, unsigned long len)
{
	struct proc_mm_op op;

	memset(&op, 0, sizeof(op));
	op.op = MM_MUNMAP;
	op.u.munmap.addr = addr;
	op.u.munmap.len = len;
	return op;
}

struct proc_mm_op mk_mprotect(unsigned long addr, unsigned long len, unsigned int prot)
{
	struct proc_mm_op op;

	memset(&op, 0, sizeof(op));
	op.op = MM_MPROTECT;
	op.u.mprotect.addr = addr;
	op.u.mprotect.len = len;
	op.u.mprotect.prot = prot;
	return op;
}

struct proc_mm_op mk_copy_segments(int src)
{
	struct proc_mm_op op;

	memset(&op, 0, sizeof(op));
	op.op = MM_COPY_SEGMENTS;
	op.u.copy_segments = src;
	return op;
}

int op_apply(int fd, struct proc_mm_op op)
{
	ssize_t r;

	errno = 0;
	r = write(fd, &op, sizeof(op));
	if (r == (ssize_t)sizeof(op))
		return 0;
	if (r == -1 && errno)
		return errno;
	FAIL("write of one /proc/mm op (code %d) returned %zd (errno %s), expected %zu or -1",
	     op.op, r, errstr(errno), sizeof(op));
}

int op_mmap(int fd, unsigned long addr, unsigned long len, unsigned long prot,
	    unsigned long flags, long mfd, unsigned long off)
{
	return op_apply(fd, mk_mmap(addr, len, prot, flags, mfd, off));
}

int op_munmap(int fd, unsigned long addr, unsigned long len)
{
	return op_apply(fd, mk_munmap(addr, len));
}

int op_mprotect(int fd, unsigned long addr, unsigned long len, unsigned int prot)
{
	return op_apply(fd, mk_mprotect(addr, len, prot));
}

int op_copy_segments(int fd, int src)
{
	return op_apply(fd, mk_copy_segments(src));
}

unsigned long blob_pages(void)
{
	return ((unsigned long)(blob_end - blob_start) + PAGE - 1) / PAGE;
}

int blob_memfd(void)
{
	static int fd = -1;
	static pid_t owner;
	size_t len = blob_end - blob_start;

	/* A forked child must not reuse its parent's cached number blindly. */
	if (fd >= 0 && owner == getpid() && fcntl(fd, F_GETFD) >= 0)
		return fd;
	fd = SYSCHK(memfd_create("skas-blob", MFD_CLOEXEC));
	owner = getpid();
	CHECK(write(fd, blob_start, len) == (ssize_t)len, "write blob: %s", errstr(errno));
	SYSCHK(ftruncate(fd, blob_pages() * PAGE));
	return fd;
}

int memfd_words(unsigned long pages, unsigned long seed)
{
	int fd = SYSCHK(memfd_create("skas-data", MFD_CLOEXEC));
	size_t len = pages * PAGE;
	unsigned long *w = malloc(len);
	size_t i;

	CHECK(w, "malloc");
	for (i = 0; i < len / sizeof(*w); i++)
		w[i] = seed + i;
	CHECK(write(fd, w, len) == (ssize_t)len, "write memfd: %s", errstr(errno));
	free(w);
	return fd;
}

int space_open(void)
{
	int fd = open("/proc/mm", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		FAIL("open /proc/mm: %s", errstr(errno));
	return fd;
}

void space_setup(int fd)
{
	OP_OK(op_mmap(fd, CODE_ADDR, blob_pages() * PAGE, PROT_READ | PROT_EXEC,
		      MAP_PRIVATE | MAP_FIXED, blob_memfd(), 0));
	OP_OK(op_mmap(fd, STACK_ADDR, STACK_SIZE, RW, ANON_FIXED, -1, 0));
}

int space_new(void)
{
	int fd = space_open();

	space_setup(fd);
	return fd;
}

void space_map_words(int fd, unsigned long addr, unsigned long pages, unsigned long seed)
{
	int mfd = memfd_words(pages, seed);

	OP_OK(op_mmap(fd, addr, pages * PAGE, RW, MAP_PRIVATE | MAP_FIXED, mfd, 0));
	close(mfd);
}

/* ---- tracees ---- */

pid_t tracee_spawn_with(void (*setup)(void *), void *arg)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		FAIL("fork: %s", errstr(errno));
	if (pid == 0) {
		struct rlimit nocore = { 0, 0 };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setrlimit(RLIMIT_CORE, &nocore);
		if (setup)
			setup(arg);
		close_range(3, ~0U, 0);
		if (ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(101);
		/* Thread-directed, so that this very thread takes the stop. */
		syscall(SYS_tgkill, getpid(), gettid(), SIGSTOP);
		/* Reached only if resumed without having been switched. */
		_exit(102);
	}
	while (waitpid(pid, &st, __WALL) < 0)
		if (errno != EINTR)
			FAIL("waitpid: %s", errstr(errno));
	if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP)
		FAIL("new tracee %d did not stop with SIGSTOP (status %#x)", pid, st);
	if (xptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL))
		FAIL("PTRACE_SETOPTIONS: %s", errstr(errno));
	return pid;
}

pid_t tracee_spawn(void)
{
	return tracee_spawn_with(NULL, NULL);
}

/*
 * PTRACE_SWITCH_MM takes effect when the tracee next resumes (it swaps
 * its mm itself, before returning to user mode).  Tests that look at the
 * tracee from outside (/proc/PID/maps) want it done now, so resume the
 * tracee at an address no space can map (below mmap_min_addr): the
 * switch happens, the tracee faults there and stops again, and its
 * registers are put back.
 */
#define SETTLE_ADDR 0x1000UL

void tracee_switch(pid_t pid, int mmfd)
{
	struct user_regs_struct saved, r;
	struct stop s;

	if (xptrace(PTRACE_SWITCH_MM, pid, 0, mmfd))
		FAIL("PTRACE_SWITCH_MM(tracee %d, fd %d): %s", pid, mmfd, errstr(errno));
	get_regs(pid, &saved);
	r = saved;
	r.rip = SETTLE_ADDR;
	r.orig_rax = -1;	/* no system call to restart */
	set_regs(pid, &r);
	tracee_resume(pid, PTRACE_CONT);
	tracee_wait(pid, &s);
	if (s.kind != STOP_SIGNAL || s.sig != SIGSEGV)
		FAIL("tracee %d after the switch: %s (expected SIGSEGV at %#lx)",
		     pid, stop_str(pid, &s), SETTLE_ADDR);
	set_regs(pid, &saved);
}

void tracee_kill(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	for (;;) {
		if (waitpid(pid, &st, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return;
	}
}

void get_regs(pid_t pid, struct user_regs_struct *r)
{
	if (xptrace(PTRACE_GETREGS, pid, 0, (unsigned long)r))
		FAIL("PTRACE_GETREGS(%d): %s", pid, errstr(errno));
}

void set_regs(pid_t pid, const struct user_regs_struct *r)
{
	if (xptrace(PTRACE_SETREGS, pid, 0, (unsigned long)r))
		FAIL("PTRACE_SETREGS(%d): %s", pid, errstr(errno));
}

void tracee_set(pid_t pid, unsigned long rip, unsigned long a0, unsigned long a1,
		unsigned long a2)
{
	struct user_regs_struct r;

	get_regs(pid, &r);
	r.rip = rip;
	r.rsp = STACK_ADDR + STACK_SIZE - 256;
	r.rdi = a0;
	r.rsi = a1;
	r.rdx = a2;
	r.rax = 0;
	/* Not in a syscall: the kernel must not apply syscall restart logic. */
	r.orig_rax = -1;
	set_regs(pid, &r);
}

void tracee_resume(pid_t pid, long req)
{
	if (xptrace(req, pid, 0, 0))
		FAIL("ptrace(%ld) resuming tracee %d: %s", req, pid, errstr(errno));
}

void tracee_wait(pid_t pid, struct stop *s)
{
	int st;

	memset(s, 0, sizeof(*s));
	while (waitpid(pid, &st, __WALL) < 0)
		if (errno != EINTR)
			FAIL("waitpid(%d): %s", pid, errstr(errno));
	if (WIFEXITED(st)) {
		s->kind = STOP_EXITED;
		s->sig = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		s->kind = STOP_KILLED;
		s->sig = WTERMSIG(st);
	} else {
		s->sig = WSTOPSIG(st);
		s->kind = s->sig == (SIGTRAP | 0x80) ? STOP_SYSCALL : STOP_SIGNAL;
		get_regs(pid, &s->regs);
	}
}

static const struct {
	const char *name;
	const char *addr;
} syms[] = {
	{ "blob_load", blob_load }, { "blob_store", blob_store },
	{ "blob_trap", blob_trap }, { "blob_getpid", blob_getpid },
	{ "blob_gs", blob_gs }, { "blob_lsl", blob_lsl },
	{ "blob_incr", blob_incr }, { "blob_spin", blob_spin },
	{ "blob_exit", blob_exit }, { "report", blob_report_syscall - 5 },
};

const char *blob_sym(unsigned long addr)
{
	static char buf[4][64];
	static int next;
	char *b = buf[next++ % 4];
	const char *best = NULL;
	unsigned long best_addr = 0;
	size_t i;

	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		unsigned long a = BLOB(syms[i].addr);

		if (a <= addr && a >= best_addr) {
			best = syms[i].name;
			best_addr = a;
		}
	}
	if (best && addr < BLOB(blob_end))
		snprintf(b, sizeof(buf[0]), "%#lx (%s+%#lx)", addr, best, addr - best_addr);
	else
		snprintf(b, sizeof(buf[0]), "%#lx", addr);
	return b;
}

const char *stop_str(pid_t pid, const struct stop *s)
{
	static char buf[2][300];
	static int next;
	char *b = buf[next++ % 2];
	struct ptrace_ex_faultinfo fi;

	switch (s->kind) {
	case STOP_EXITED:
		snprintf(b, sizeof(buf[0]), "tracee exited with status %d", s->sig);
		break;
	case STOP_KILLED:
		snprintf(b, sizeof(buf[0]), "tracee was killed by %s", signame(s->sig));
		break;
	case STOP_SYSCALL:
		snprintf(b, sizeof(buf[0]), "syscall stop, nr %lld, at rip %s",
			 (long long)s->regs.orig_rax, blob_sym(s->regs.rip));
		break;
	default:
		memset(&fi, 0, sizeof(fi));
		if (s->sig == SIGSEGV && !xptrace(PTRACE_EX_FAULTINFO, pid, 0, (unsigned long)&fi))
			snprintf(b, sizeof(buf[0]),
				 "%s stop at rip %s (fault addr %#lx, is_write %d, trap %d)",
				 signame(s->sig), blob_sym(s->regs.rip), fi.addr,
				 fi.is_write, fi.trap_no);
		else
			snprintf(b, sizeof(buf[0]), "%s stop at rip %s", signame(s->sig),
				 blob_sym(s->regs.rip));
	}
	return b;
}

unsigned long tracee_call(pid_t pid, unsigned long entry, unsigned long a0,
			  unsigned long a1, unsigned long a2,
			  struct user_regs_struct *regs)
{
	struct stop s;

	tracee_set(pid, entry, a0, a1, a2);
	tracee_resume(pid, PTRACE_SYSEMU);
	tracee_wait(pid, &s);
	if (s.kind != STOP_SYSCALL || s.regs.orig_rax != 60 ||
	    s.regs.rip != BLOB(blob_report_syscall) + 2)
		FAIL("tracee %d running %s(%#lx, %#lx): expected its report syscall, got %s",
		     pid, blob_sym(entry), a0, a1, stop_str(pid, &s));
	if (regs)
		*regs = s.regs;
	return s.regs.rdi;
}

void tracee_segv(pid_t pid, unsigned long entry, unsigned long a0, unsigned long a1,
		 struct ptrace_ex_faultinfo *fi)
{
	struct stop s;

	tracee_set(pid, entry, a0, a1, 0);
	tracee_resume(pid, PTRACE_CONT);
	tracee_wait(pid, &s);
	if (s.kind != STOP_SIGNAL || s.sig != SIGSEGV)
		FAIL("tracee %d running %s(%#lx, %#lx): expected a SIGSEGV stop, got %s",
		     pid, blob_sym(entry), a0, a1, stop_str(pid, &s));
	memset(fi, 0xa5, sizeof(*fi));
	if (xptrace(PTRACE_EX_FAULTINFO, pid, 0, (unsigned long)fi))
		FAIL("PTRACE_EX_FAULTINFO: %s", errstr(errno));
}

void check_fault(const struct ptrace_ex_faultinfo *fi, unsigned long addr, int is_write)
{
	CHECK(fi->addr == addr && fi->is_write == is_write && fi->trap_no == 14,
	      "fault info: addr %#lx is_write %d trap_no %d, expected addr %#lx is_write %d trap_no 14",
	      fi->addr, fi->is_write, fi->trap_no, addr, is_write);
}

/* ---- /proc/PID/maps ---- */

int maps_read(pid_t pid, struct map *m, int max)
{
	char path[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		FAIL("%s: %s", path, errstr(errno));
	while (fgets(line, sizeof(line), f)) {
		struct map e;
		int pos = 0;
		char *p;

		memset(&e, 0, sizeof(e));
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &e.start, &e.end, e.perms,
			   &e.off, &pos) < 4)
			continue;
		p = line + pos;
		p[strcspn(p, "\n")] = 0;
		snprintf(e.path, sizeof(e.path), "%s", p);
		if (n < max)
			m[n] = e;
		n++;
	}
	fclose(f);
	CHECK(n <= max, "%s has %d lines, more than %d", path, n, max);
	return n;
}

const struct map *maps_find(const struct map *m, int n, unsigned long addr)
{
	int i;

	for (i = 0; i < n; i++)
		if (m[i].start <= addr && addr < m[i].end)
			return &m[i];
	return NULL;
}

const char *maps_str(const struct map *m, int n)
{
	static char buf[2000];
	size_t len = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < n && len < sizeof(buf) - 100; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%lx-%lx %s %s", i ? "; " : "",
				m[i].start, m[i].end, m[i].perms, m[i].path);
	if (i < n)
		snprintf(buf + len, sizeof(buf) - len, "; ...");
	return buf;
}

#define MAX_MAPS 4096
static struct map maps_buf[MAX_MAPS];

void maps_expect(pid_t pid, unsigned long addr, unsigned long len, const char *perms)
{
	int n = maps_read(pid, maps_buf, MAX_MAPS);
	unsigned long a;

	for (a = addr; a < addr + len; a += PAGE) {
		const struct map *e = maps_find(maps_buf, n, a);

		CHECK(e && !strcmp(e->perms, perms),
		      "page %#lx: expected mapped %s, maps of tracee: %s", a, perms,
		      maps_str(maps_buf, n));
	}
}

void maps_expect_none(pid_t pid, unsigned long addr, unsigned long len)
{
	int n = maps_read(pid, maps_buf, MAX_MAPS);
	int i;

	for (i = 0; i < n; i++)
		CHECK(maps_buf[i].end <= addr || maps_buf[i].start >= addr + len,
		      "[%#lx, %#lx) should be unmapped, maps of tracee: %s", addr,
		      addr + len, maps_str(maps_buf, n));
}

/* ---- users ---- */

int procmm_gid(void)
{
	FILE *f = fopen("/sys/module/uml_skas_host/parameters/proc_mm_gid", "r");
	int gid = -1;

	if (f) {
		if (fscanf(f, "%d", &gid) != 1)
			gid = -1;
		fclose(f);
	}
	return gid;
}

void become_nobody(int with_group)
{
	become_user(NOBODY, with_group);
}

void become_user(uid_t uid, int with_group)
{
	gid_t group = procmm_gid();

	/* An older module, without proc_mm_gid=, has no group to keep. */
	if (with_group && (int)group >= 0) {
		SYSCHK(setgroups(1, &group));
	} else {
		SYSCHK(setgroups(0, NULL));
	}
	SYSCHK(setgid(NOBODY));
	SYSCHK(setuid(uid));
	CHECK(geteuid() == uid, "still uid %d", geteuid());
}
