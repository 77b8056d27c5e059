// SPDX-License-Identifier: GPL-2.0
/*
 * Native self-check of the test machinery, runnable without the module:
 * the tracee maps the blob, stack and data into its OWN address space
 * (instead of being switched into a /proc/mm space), and the tracer then
 * drives the blob routines exactly as the real tests do.  This validates
 * blob.S, tracee_call() and friends, and the LDT/%gs code path.
 */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "tracee.h"

#define SEED 0x5566778811223344UL

static void native_layout(void *arg)
{
	int ldt = arg != NULL;
	int mfd = memfd_words(2, SEED);

	/* Exit codes tell the tracer what went wrong in here. */
	if (mmap((void *)CODE_ADDR, blob_pages() * PAGE, PROT_READ | PROT_EXEC,
		 MAP_PRIVATE | MAP_FIXED_NOREPLACE, blob_memfd(), 0) != (void *)CODE_ADDR)
		_exit(110);
	if (mmap((void *)STACK_ADDR, STACK_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_FIXED_NOREPLACE, -1, 0) != (void *)STACK_ADDR)
		_exit(111);
	if (mmap((void *)DATA_ADDR, 2 * PAGE, RW, MAP_PRIVATE | MAP_FIXED_NOREPLACE, mfd, 0) !=
	    (void *)DATA_ADDR)
		_exit(112);
	if (ldt) {
		struct user_desc d = {
			.entry_number = 3, .base_addr = DATA_ADDR, .limit = 0xfff,
			.seg_32bit = 1, .useable = 1,
		};
		if (syscall(SYS_modify_ldt, 0x11, &d, sizeof(d)))
			_exit(113);
	}
}

TEST(self_blob_calls, T_DEFAULT)
{
	pid_t pid = tracee_spawn_with(native_layout, NULL);
	struct user_regs_struct r;
	struct stop s;
	siginfo_t si;

	CHECK(tracee_call(pid, BLOB(blob_load), DATA_ADDR, 0, 0, NULL) == SEED, "load");
	CHECK(tracee_call(pid, BLOB(blob_load), DATA_ADDR + 8, 0, 0, NULL) == SEED + 1, "load+8");
	CHECK(tracee_call(pid, BLOB(blob_store), DATA_ADDR + 16, 0xabcdef, 0, NULL) == 0, "store");
	CHECK(tracee_call(pid, BLOB(blob_load), DATA_ADDR + 16, 0, 0, NULL) == 0xabcdef,
	      "load after store");

	/* getpid under SYSEMU: stop at entry, not executed. */
	tracee_set(pid, BLOB(blob_getpid), 0, 0, 0);
	tracee_resume(pid, PTRACE_SYSEMU);
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_SYSCALL && s.regs.orig_rax == 39 &&
	      s.regs.rip == BLOB(blob_getpid_syscall) + 2 &&
	      s.regs.rax == (unsigned long)-ENOSYS && s.regs.rdi == 0x1111 &&
	      s.regs.r10 == 0x4444 && s.regs.r9 == 0x6666,
	      "getpid stop: %s rax %lld", stop_str(pid, &s), (long long)s.regs.rax);
	tracee_resume(pid, PTRACE_SYSEMU);
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_SYSCALL && s.regs.orig_rax == 60 &&
	      s.regs.rdi == (unsigned long)-ENOSYS, "after getpid: %s rdi %lld",
	      stop_str(pid, &s), (long long)s.regs.rdi);

	tracee_call(pid, BLOB(blob_incr), DATA_ADDR + 24, 1000, 0, NULL);
	CHECK(tracee_call(pid, BLOB(blob_load), DATA_ADDR + 24, 0, 0, NULL) == SEED + 3 + 1000,
	      "incr");

	tracee_call(pid, BLOB(blob_lsl), 0x1f, 0, 0, &r);
	CHECK(r.r8 == 0 && r.r10 == ~0UL, "lsl of an empty LDT slot: zf %lld limit %#llx",
	      (long long)r.r8, (unsigned long long)r.r10);

	tracee_set(pid, BLOB(blob_trap), 41, 0, 0);
	tracee_resume(pid, PTRACE_CONT);
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_SIGNAL && s.sig == SIGTRAP && s.regs.rax == 42 &&
	      s.regs.rip == BLOB(blob_trap_int3) + 1, "trap: %s", stop_str(pid, &s));

	tracee_set(pid, BLOB(blob_store), FREE_ADDR + 0x18, 1, 0);
	tracee_resume(pid, PTRACE_CONT);
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_SIGNAL && s.sig == SIGSEGV, "segv: %s", stop_str(pid, &s));
	SYSCHK(xptrace(PTRACE_GETSIGINFO, pid, 0, (unsigned long)&si));
	CHECK((unsigned long)si.si_addr == FREE_ADDR + 0x18, "si_addr %p", si.si_addr);

	/* After a suppressed SIGSEGV the tracee is reusable. */
	CHECK(tracee_call(pid, BLOB(blob_load), DATA_ADDR, 0, 0, NULL) == SEED, "reuse");

	tracee_set(pid, BLOB(blob_exit), 7, 0, 0);
	tracee_resume(pid, PTRACE_CONT);
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_EXITED && s.sig == 7, "exit: %s", stop_str(pid, &s));
}

TEST(self_blob_ldt, T_DEFAULT)
{
	pid_t pid = tracee_spawn_with(native_layout, (void *)1);
	struct user_regs_struct r;

	tracee_call(pid, BLOB(blob_gs), (3 << 3) | 7, 0, 0, &r);
	CHECK(r.rsi == 0x11223344 && r.rdx == 0x55667788 && r.r8 == 1 && r.r10 == 0xfff,
	      "gs: %#llx %#llx zf %lld limit %#llx", (unsigned long long)r.rsi,
	      (unsigned long long)r.rdx, (long long)r.r8, (unsigned long long)r.r10);
	tracee_call(pid, BLOB(blob_lsl), (3 << 3) | 7, 0, 0, &r);
	CHECK(r.r8 == 1 && r.r10 == 0xfff, "lsl");
}

TEST(self_maps, T_DEFAULT)
{
	struct map m[512];
	int local, n = maps_read(getpid(), m, 512);
	const struct map *e = maps_find(m, n, (unsigned long)&local);

	CHECK(e && !strcmp(e->perms, "rw-p") && !strcmp(e->path, "[stack]"),
	      "stack not found: %s", maps_str(m, n));
}

TEST(self_fail_reported, T_DEFAULT)
{
	/* The runner must see a failing child: run one and inspect it. */
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		raise(SIGKILL);
		_exit(0);
	}
	SYSCHK(waitpid(pid, &st, 0));
	CHECK(WIFSIGNALED(st), "status %#x", st);
}

int main(int argc, char **argv)
{
	return harness_main(argc, argv, 0, "usage: skas-selftest [-l] [-v] [GLOB...]\n");
}
