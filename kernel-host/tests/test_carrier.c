// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/uml-skas carriers (skas4; the module must not be loaded with
 * carrier=0): guest code runs in a /proc/mm space on a carrier
 * process, and every system call, fault and signal of it comes back to
 * the runner as a stop, without ptrace.  The blob's "report" is a real
 * exit system call: a call that ever ran on the host would end the
 * carrier (its seccomp filter kills it, or the exit itself), and the test
 * would see SKAS_EXIT_DEAD instead of the stop.
 *
 * Attacks: ENTER without each of its conditions, open without the group,
 * RUN and KICK by another user, registers a user program must not load,
 * signals from outside, closing and killing either side, rmmod.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <asm/ldt.h>
#include <sys/auxv.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "carrier.h"
#include "harness.h"
#include "tracee.h"

/* The errno a carrier child's ENTER failed with. */
static int spawn_fails(int dev, unsigned int skip)
{
	pid_t pid = carrier_spawn(dev, skip);
	int st;

	SYSCHK(waitpid(pid, &st, 0));
	CHECK(WIFEXITED(st), "the child did not exit: %s",
	      WIFSIGNALED(st) ? signame(WTERMSIG(st)) : "stopped");
	return WEXITSTATUS(st);
}

static void expect_stop(const struct skas_run *run, unsigned int reason)
{
	CHECK(run->exit.reason == reason,
	      "stop: %s (signal %d code %d trap %d addr %#llx syscall %lld rip %#llx), expected %s",
	      reason_str(run->exit.reason), run->exit.signo, run->exit.code,
	      run->exit.trap_nr, (unsigned long long)run->exit.addr,
	      (long long)run->exit.syscall, (unsigned long long)run->regs.rip,
	      reason_str(reason));
}

/* Runs a blob routine from a fresh register set; returns after its stop. */
static void call(struct carrier *c, struct skas_run *run, int first,
		 unsigned long rip, unsigned long a0, unsigned long a1)
{
	regs_init(&run->regs, rip, a0, a1, 0);
	if (first)
		run_first(c, run);
	else if (run_raw(c, run, -1) < 0)
		FAIL("RUN: %s", errstr(errno));
}

/* The routine reported (exit system call, stopped, not run): its rdi. */
static unsigned long reported(const struct skas_run *run)
{
	expect_stop(run, SKAS_EXIT_SYSCALL);
	CHECK(run->exit.syscall == 60, "system call %lld, expected exit (60)",
	      (long long)run->exit.syscall);
	CHECK(run->regs.rip == BLOB(blob_report_syscall) + 2, "rip %#llx (%s)",
	      (unsigned long long)run->regs.rip, blob_sym(run->regs.rip));
	return run->regs.rdi;
}

#define PARAMS "/sys/module/uml_skas_host/parameters/"

/*
 * carrier_stops: "fast N slow M hooked H traps T traps_hooked TH
 * traps_slow TS pkuerr_hooked PH".
 */
struct stops {
	long fast, slow, traps, traps_slow;
	int hooked, traps_hooked, pkuerr_hooked;
};

static void read_stops(struct stops *st)
{
	FILE *f = fopen(PARAMS "carrier_stops", "r");

	CHECK(f, "cannot read " PARAMS "carrier_stops");
	CHECK(fscanf(f, "fast %ld slow %ld hooked %d traps %ld traps_hooked %d traps_slow %ld pkuerr_hooked %d",
		     &st->fast, &st->slow, &st->hooked, &st->traps, &st->traps_hooked,
		     &st->traps_slow, &st->pkuerr_hooked) == 7,
	      "carrier_stops unreadable");
	fclose(f);
}

static void set_param(const char *knob, const char *value)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), PARAMS "%s", knob);
	f = fopen(path, "w");
	CHECK(f, "cannot write %s", path);
	fputs(value, f);
	CHECK(fclose(f) == 0, "%s: %s", knob, errstr(errno));
}

static void set_knob(const char *knob, int on)
{
	set_param(knob, on ? "1" : "0");
}

static int open_device(void)
{
	int fd = open("/dev/uml-skas", O_RDWR | O_CLOEXEC);

	CHECK(fd >= 0, "open /dev/uml-skas: %s", errstr(errno));
	return fd;
}

/*
 * Runs body in a child with knob off, then switches it back on whatever
 * happened there; fails when the child failed.
 */
static void with_knob_off(const char *knob, void (*body)(void))
{
	int st = -1;
	pid_t pid;

	set_knob(knob, 0);
	pid = fork();
	if (pid == 0) {
		body();
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	set_knob(knob, 1);
	CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the run with %s=0 failed (see above)", knob);
}

static void syscall_stops(void)
{
	struct carrier c;
	struct skas_run run = { 0 };

	carrier_start(&c);
	call(&c, &run, 1, BLOB(blob_getpid), 0, 0);
	expect_stop(&run, SKAS_EXIT_SYSCALL);
	CHECK(run.exit.signo == SIGSYS, "signal %d", run.exit.signo);
	CHECK(run.exit.syscall == 39, "syscall %lld", (long long)run.exit.syscall);
	CHECK(run.regs.rax == 39 && run.regs.orig_rax == 39, "rax %#llx orig_rax %#llx",
	      (unsigned long long)run.regs.rax, (unsigned long long)run.regs.orig_rax);
	CHECK(run.regs.rdi == 0x1111 && run.regs.rsi == 0x2222 && run.regs.rdx == 0x3333 &&
	      run.regs.r10 == 0x4444 && run.regs.r8 == 0x5555 && run.regs.r9 == 0x6666,
	      "argument registers %llx %llx %llx %llx %llx %llx",
	      (unsigned long long)run.regs.rdi, (unsigned long long)run.regs.rsi,
	      (unsigned long long)run.regs.rdx, (unsigned long long)run.regs.r10,
	      (unsigned long long)run.regs.r8, (unsigned long long)run.regs.r9);
	CHECK(run.regs.rip == BLOB(blob_getpid_syscall) + 2, "rip %#llx",
	      (unsigned long long)run.regs.rip);
	CHECK(run.regs.cs == USER_CS && run.regs.ss == USER_DS, "cs %#llx ss %#llx",
	      (unsigned long long)run.regs.cs, (unsigned long long)run.regs.ss);

	/* The runner's answer is the call's result. */
	run.regs.rax = 777;
	SYSCHK(run_raw(&c, &run, -1));
	CHECK(reported(&run) == 777, "the routine saw %llu", (unsigned long long)run.regs.rdi);
	CHECK(kill(c.pid, 0) == 0, "the carrier is gone");

	/* int $0x80 from 64-bit code is a system call as well. */
	call(&c, &run, 0, BLOB(blob_int80), 3, 0);
	expect_stop(&run, SKAS_EXIT_SYSCALL);
	CHECK(run.exit.syscall == 1, "int $0x80: syscall %lld", (long long)run.exit.syscall);
	run.regs.rax = 5;
	SYSCHK(run_raw(&c, &run, -1));
	CHECK(reported(&run) == 5, "after int $0x80: %llu", (unsigned long long)run.regs.rdi);
	carrier_end(&c);
}

/* Whether both hooks are registered: 1, neither: 0, one of them: -1. */
static int hooks_state(void)
{
	struct stops st;

	read_stops(&st);
	if (st.hooked == st.traps_hooked)
		return st.hooked;
	return -1;
}

/* Polls for the hooks' state for up to 3 s; returns it then. */
static int wait_hooks(int want)
{
	int i, h = -1;

	for (i = 0; i < 300; i++) {
		h = hooks_state();
		if (h == want)
			break;
		usleep(10000);
	}
	return h;
}

/* The fast stops that carrier_stops counts for one kind of stop. */
static long fast_stops(const struct stops *st, bool traps)
{
	return traps ? st->traps : st->fast;
}

/*
 * Runs body by both paths: the fast one (no signal queued), which must
 * take at least min stops, then, with knob off, the signal path it falls
 * back to, which must take none (and at least min signal stops).  For
 * traps, body takes always_slow trap stops by signal on either path
 * (int3), and the fast path no other.  Debian's kernels have ftrace, so
 * the hook must be there soon after a file is opened.  The signal path
 * runs in a child so that the knob is switched back whatever happens in
 * it.
 */
static void both_paths(const char *knob, bool traps, long min, long always_slow,
		       void (*body)(void))
{
	struct stops s0, s1, s2;
	int fd = open_device();

	wait_hooks(1);
	read_stops(&s0);
	CHECK((traps ? s0.traps_hooked : s0.hooked) == 1,
	      "%s: the fast path is not hooked (is ftrace on?)", knob);
	body();
	read_stops(&s1);
	CHECK(fast_stops(&s1, traps) >= fast_stops(&s0, traps) + min,
	      "%s: fast path: %ld -> %ld fast stops", knob, fast_stops(&s0, traps),
	      fast_stops(&s1, traps));
	CHECK(traps || s1.slow == s0.slow, "%s: fast path: slow %ld -> %ld", knob, s0.slow,
	      s1.slow);
	CHECK(!traps || s1.traps_slow == s0.traps_slow + always_slow,
	      "%s: fast path: traps by signal %ld -> %ld, expected %ld more", knob,
	      s0.traps_slow, s1.traps_slow, always_slow);

	with_knob_off(knob, body);
	read_stops(&s2);
	CHECK(fast_stops(&s2, traps) == fast_stops(&s1, traps),
	      "%s: signal path: %ld -> %ld fast stops", knob, fast_stops(&s1, traps),
	      fast_stops(&s2, traps));
	CHECK(traps || s2.slow >= s1.slow + min, "%s: signal path: slow %ld -> %ld", knob,
	      s1.slow, s2.slow);
	CHECK(!traps || s2.traps_slow >= s1.traps_slow + min + always_slow,
	      "%s: signal path: traps by signal %ld -> %ld", knob, s1.traps_slow,
	      s2.traps_slow);
	close(fd);
}

/*
 * The hooks are registered while /dev/uml-skas is open (by a work queued
 * at the first open), and taken away carrier_hooks_idle_ms after the last
 * file closed (a host without instances leaves force_sig_info() and
 * force_sig_fault() to live patches); an open within that time keeps
 * them.  Needs a host where nothing else has the device open, as the VM
 * of the suite.
 */
TEST(carrier_hooks_only_while_used, T_DEFAULT)
{
	int a, b;

	/* Restart the idle time with a short one. */
	set_param("carrier_hooks_idle_ms", "100");
	close(open_device());
	CHECK(wait_hooks(0) == 0, "hooks still there (%d) 3 s after the last close", hooks_state());

	a = open_device();
	CHECK(wait_hooks(1) == 1, "hooks %d 3 s after an open", hooks_state());
	b = open_device();
	close(a);
	usleep(400000);
	CHECK(hooks_state() == 1, "hooks %d with the second file still open", hooks_state());
	close(b);
	CHECK(wait_hooks(0) == 0, "hooks still there (%d) after the last close", hooks_state());

	/* Re-registered, and a carrier takes its system call stops by them. */
	set_param("carrier_hooks_idle_ms", "10000");
	both_paths("carrier_fast_syscalls", false, 4, 0, syscall_stops);
}

TEST(carrier_syscall_stops, T_DEFAULT)
{
	both_paths("carrier_fast_syscalls", false, 4, 0, syscall_stops);
}

/* What another process's Syscall User Dispatch handler saw. */
static volatile char sud_selector;
static volatile int sud_code, sud_nr;

static void sud_handler(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	sud_code = info->si_code;
	sud_nr = info->si_syscall;
}

static void sud_child(void)
{
	struct sigaction sa = { .sa_sigaction = sud_handler, .sa_flags = SA_SIGINFO };

	if (sigaction(SIGSYS, &sa, NULL) ||
	    prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 0, &sud_selector))
		_exit(2);
	sud_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
	syscall(SYS_getppid);
	sud_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	_exit(sud_code == 2 /* SYS_USER_DISPATCH */ && sud_nr == SYS_getppid ? 0 : 3);
}

static void segv_handler(int sig, siginfo_t *info, void *uc)
{
	(void)uc;
	_exit(sig == SIGSEGV && info->si_code == SEGV_MAPERR && info->si_addr == (void *)0x10 ?
	      0 : 5);
}

static void fault_child(void)
{
	struct sigaction sa = { .sa_sigaction = segv_handler, .sa_flags = SA_SIGINFO };

	if (sigaction(SIGSEGV, &sa, NULL))
		_exit(2);
	/* Through a volatile pointer: the compiler may not see the address. */
	static volatile uintptr_t where = 0x10;

	*(volatile int *)where = 1;
	_exit(4);
}

/* Forks a child running fn, which must exit 0; what says what fn does. */
static void expect_child_ok(void (*fn)(void), const char *what)
{
	int st;
	pid_t pid = fork();

	SYSCHK(pid);
	if (pid == 0)
		fn();
	SYSCHK(waitpid(pid, &st, 0));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: %s %d", what,
	      WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/*
 * The fast paths take carriers' stops only: another process's own
 * dispatch SIGSYS (an emulator such as Wine) and its page fault reach its
 * handlers while a carrier lives and the hooks are placed.
 */
TEST(carrier_leaves_other_tasks_alone, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };
	struct stops s0;

	carrier_start(&c);
	wait_hooks(1);
	read_stops(&s0);
	CHECK(s0.hooked == 1 && s0.traps_hooked == 1, "the fast paths are not hooked (is ftrace on?)");
	call(&c, &run, 1, BLOB(blob_getpid), 0, 0);
	expect_stop(&run, SKAS_EXIT_SYSCALL);

	expect_child_ok(sud_child,
			"a process with its own dispatch (2: no dispatch, 3: its handler saw another code or number)");
	expect_child_ok(fault_child,
			"a process with a SIGSEGV handler (4: no fault, 5: another signal or address)");
	carrier_end(&c);
}

static void fault_stops(void)
{
	struct carrier c;
	struct skas_run run = { 0 };

	carrier_start(&c);
	call(&c, &run, 1, BLOB(blob_load), FREE_ADDR + 8, 0);
	expect_stop(&run, SKAS_EXIT_FAULT);
	CHECK(run.exit.signo == SIGSEGV && run.exit.trap_nr == 14, "signal %d trap %d",
	      run.exit.signo, run.exit.trap_nr);
	CHECK(run.exit.addr == FREE_ADDR + 8, "addr %#llx", (unsigned long long)run.exit.addr);
	CHECK(run.exit.code == SEGV_MAPERR, "read fault: code %d", run.exit.code);
	CHECK((run.exit.error_code & 6) == 4, "read fault: error code %#llx",
	      (unsigned long long)run.exit.error_code);
	CHECK(run.regs.rip == BLOB(blob_load), "rip %#llx", (unsigned long long)run.regs.rip);

	/* Map it (as UML would) and run the same registers again. */
	space_map_words(c.mm, FREE_ADDR, 1, 42);
	SYSCHK(run_raw(&c, &run, -1));
	reported(&run);

	call(&c, &run, 0, BLOB(blob_store), FREE_ADDR + PAGE, 9);
	expect_stop(&run, SKAS_EXIT_FAULT);
	CHECK((run.exit.error_code & 6) == 6, "write fault: error code %#llx",
	      (unsigned long long)run.exit.error_code);
	CHECK(run.exit.code == SEGV_MAPERR, "write fault: code %d", run.exit.code);

	/* A trap, then an invalid opcode. */
	call(&c, &run, 0, BLOB(blob_trap), 41, 0);
	expect_stop(&run, SKAS_EXIT_SIGNAL);
	CHECK(run.exit.signo == SIGTRAP && run.exit.trap_nr == 3, "signal %d trap %d",
	      run.exit.signo, run.exit.trap_nr);
	CHECK(run.regs.rax == 42, "rax %llu", (unsigned long long)run.regs.rax);
	SYSCHK(run_raw(&c, &run, -1));
	expect_stop(&run, SKAS_EXIT_SIGNAL);
	CHECK(run.exit.signo == SIGILL && run.exit.trap_nr == 6, "signal %d trap %d",
	      run.exit.signo, run.exit.trap_nr);
	CHECK(run.exit.code == ILL_ILLOPN, "ud2: code %d", run.exit.code);
	carrier_end(&c);
}

/* Whether this host maps the vsyscall page (vsyscall=xonly or emulate). */
static int host_vsyscall_page(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	while (f && fgets(line, sizeof(line), f))
		found |= strstr(line, "[vsyscall]") != NULL;
	if (f)
		fclose(f);
	return found;
}

/*
 * One fault, one stop.  A call into the vsyscall page with a kernel
 * address as its buffer makes the host's emulation (vsyscall=xonly) raise
 * the fault and then force a SIGSEGV once more: the next RUN must run the
 * guest, not report that second signal against the new registers.
 * Without emulation the call itself faults: one stop as well.
 */
TEST(carrier_one_stop_per_fault, T_DEFAULT)
{
	const unsigned long kbuf = 0xffff800000000000UL, vgtod = 0xffffffffff600000UL;
	int emulated = host_vsyscall_page();
	struct carrier c;
	struct skas_run run = { 0 };

	carrier_start(&c);
	call(&c, &run, 1, BLOB(blob_call), kbuf, vgtod);
	expect_stop(&run, SKAS_EXIT_FAULT);
	CHECK(run.exit.signo == SIGSEGV && run.exit.code == SEGV_MAPERR, "signal %d code %d",
	      run.exit.signo, run.exit.code);
	CHECK(run.exit.addr == (emulated ? kbuf : vgtod), "addr %#llx (vsyscall page: %s)",
	      (unsigned long long)run.exit.addr, emulated ? "emulated" : "none");
	note("vsyscall page %s: the fault at %#llx", emulated ? "emulated" : "none",
	     (unsigned long long)run.exit.addr);

	call(&c, &run, 0, BLOB(blob_getpid), 0, 0);
	expect_stop(&run, SKAS_EXIT_SYSCALL);
	CHECK(run.exit.syscall == 39, "syscall %lld", (long long)run.exit.syscall);
	carrier_end(&c);
}

/*
 * Two page faults and the invalid opcode take the fast path (int3 raises
 * a plain SIGTRAP: always the signal).
 */
TEST(carrier_fault_stops, T_DEFAULT)
{
	both_paths("carrier_fast_traps", true, 3, 1, fault_stops);
}

/* Whether the host kernel has protection keys on (the CPU flag ospke). */
static bool host_pkeys(void)
{
	char line[4096];
	FILE *f = fopen("/proc/cpuinfo", "r");
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "flags", 5) && strstr(line, " ospke");
	if (f)
		fclose(f);
	return found;
}

/* The protection key of the area at addr in /proc/PID/smaps; -1: none said. */
static int smaps_pkey(pid_t pid, unsigned long addr)
{
	char path[64], line[256];
	unsigned long start, end;
	bool in = false;
	int key = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, ' ') &&
		    strchr(line, '-') < strchr(line, ' '))
			in = start <= addr && addr < end;
		else if (in && sscanf(line, "ProtectionKey: %d", &key) == 1)
			break;
	}
	if (f)
		fclose(f);
	return key;
}

/*
 * A read of a page mapped PROT_EXEC alone, as UML maps a page it has not
 * seen accessed: with protection keys that is execute-only memory.  The
 * carrier applies the mprotect in its RUN, as UML's are: the area gets
 * the space's execute-only key, which the guest's PKRU denies (the blob
 * loads the kernel's default PKRU first, as UML's guests have it; a
 * carrier reset without XSTATE_IN runs with PKRU 0).  The fault
 * (SEGV_PKUERR, decided from the area's key: the page is not present, so
 * the error code has no PK bit) comes through force_sig_pkuerr(), not
 * force_sig_fault().  Made readable again (key 0), the same registers
 * read the word.
 */
static void pkuerr_stops(void)
{
	struct carrier c;
	struct skas_run run = { 0 };
	struct proc_mm_op op;
	int key;

	carrier_start(&c);
	space_map_words(c.mm, FREE_ADDR, 1, 42);
	call(&c, &run, 1, BLOB(blob_getpid), 0, 0);
	expect_stop(&run, SKAS_EXIT_SYSCALL);

	op = mk_mprotect(FREE_ADDR, PAGE, PROT_EXEC);
	run.ops = (unsigned long)&op;
	run.nr_ops = 1;
	regs_init(&run.regs, BLOB(blob_pkru_load), FREE_ADDR + 8, 0x55555554, 0);
	SYSCHK(run_raw(&c, &run, -1));
	CHECK(run.ops_done == 1 && run.ops_err == 0, "mprotect: ops done %u err %d",
	      run.ops_done, run.ops_err);
	key = smaps_pkey(c.pid, FREE_ADDR);
	CHECK(key > 0, "the PROT_EXEC area has protection key %d, not an execute-only one", key);
	expect_stop(&run, SKAS_EXIT_FAULT);
	CHECK(run.exit.signo == SIGSEGV && run.exit.code == SEGV_PKUERR && run.exit.trap_nr == 14,
	      "signal %d code %d trap %d", run.exit.signo, run.exit.code, run.exit.trap_nr);
	CHECK(run.exit.addr == FREE_ADDR + 8, "addr %#llx", (unsigned long long)run.exit.addr);
	CHECK((run.exit.error_code & 6) == 4, "user-mode read: error code %#llx",
	      (unsigned long long)run.exit.error_code);
	CHECK(run.regs.rip == BLOB(blob_pkru_load_read), "rip %#llx (%s)",
	      (unsigned long long)run.regs.rip, blob_sym(run.regs.rip));

	op = mk_mprotect(FREE_ADDR, PAGE, PROT_READ);
	SYSCHK(run_raw(&c, &run, -1));
	run.ops = 0;
	run.nr_ops = 0;
	CHECK(reported(&run) == 43, "read %#llx, not the word 43",
	      (unsigned long long)run.regs.rdi);
	carrier_end(&c);
}

/*
 * The protection-key fault takes the fast path too (through the hook on
 * force_sig_pkuerr()), and carrier_fast_traps governs it.  Without
 * protection keys PROT_EXEC is readable: the read just reads.
 */
TEST(carrier_pkuerr_stops, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };

	if (host_pkeys()) {
		struct stops s;
		int fd = open_device();

		/*
		 * This fault comes through a hook of its own, force_sig_pkuerr()'s,
		 * placed after the two that wait_hooks() looks at.
		 */
		wait_hooks(1);
		for (int i = 0; i < 300; i++) {
			read_stops(&s);
			if (s.pkuerr_hooked == 1)
				break;
			usleep(10000);
		}
		CHECK(s.pkuerr_hooked == 1, "the force_sig_pkuerr() hook is not placed (is ftrace on?)");
		close(fd);
		both_paths("carrier_fast_traps", true, 1, 0, pkuerr_stops);
		return;
	}
	note("no protection keys on this host (no ospke): PROT_EXEC alone is readable");
	carrier_start(&c);
	space_map_words(c.mm, FREE_ADDR, 1, 42);
	OP_OK(op_mprotect(c.mm, FREE_ADDR, PAGE, PROT_EXEC));
	call(&c, &run, 1, BLOB(blob_load), FREE_ADDR + 8, 0);
	CHECK(reported(&run) == 43, "read %#llx, not the word 43",
	      (unsigned long long)run.regs.rdi);
	carrier_end(&c);
}

TEST(carrier_tls_and_flags, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };

	carrier_start(&c);
	space_map_words(c.mm, DATA_ADDR, 1, 7);
	regs_init(&run.regs, BLOB(blob_load), DATA_ADDR, 0, 0);
	run_first(&c, &run);
	unsigned long word = reported(&run);

	regs_init(&run.regs, BLOB(blob_fs), 0, 0, 0);
	run.regs.fs_base = DATA_ADDR;
	SYSCHK(run_raw(&c, &run, -1));
	CHECK(reported(&run) == word, "%%fs:0 = %#llx, expected %#lx",
	      (unsigned long long)run.regs.rdi, word);
	CHECK(run.regs.fs_base == DATA_ADDR, "fs_base at the stop %#llx",
	      (unsigned long long)run.regs.fs_base);

	/* IOPL and VM are not the runner's to set; IF stays on. */
	regs_init(&run.regs, BLOB(blob_flags), 0, 0, 0);
	run.regs.eflags = 0x3000 | 0x20000 | 0x1;
	SYSCHK(run_raw(&c, &run, -1));
	unsigned long fl = reported(&run);

	CHECK((fl & 0x3000) == 0 && !(fl & 0x20000) && (fl & 0x200) && (fl & 1),
	      "flags %#lx", fl);

	/*
	 * NT and ID are: guest code sets them with popf, and the runner
	 * must give each guest process its own back (and not the last's).
	 */
	regs_init(&run.regs, BLOB(blob_flags), 0, 0, 0);
	run.regs.eflags = 0x202 | 0x4000 | 0x200000;
	SYSCHK(run_raw(&c, &run, -1));
	fl = reported(&run);
	CHECK((fl & 0x204000) == 0x204000, "flags %#lx after a RUN with NT and ID", fl);
	regs_init(&run.regs, BLOB(blob_flags), 0, 0, 0);
	SYSCHK(run_raw(&c, &run, -1));
	fl = reported(&run);
	CHECK(!(fl & 0x204000), "flags %#lx after a RUN without NT and ID", fl);
	carrier_end(&c);
}

static void *kick_later(void *arg)
{
	struct carrier *c = arg;

	usleep(200000);
	if (ioctl(c->dev, SKAS_CARRIER_KICK) < 0)
		fprintf(stderr, "KICK: %s\n", errstr(errno));
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST(carrier_kick_stops_a_spinning_guest, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	pthread_t th;

	carrier_start(&c);
	call(&c, &run, 1, BLOB(blob_getpid), 0, 0);
	expect_stop(&run, SKAS_EXIT_SYSCALL);

	pthread_create(&th, NULL, kick_later, &c);
	call(&c, &run, 0, BLOB(blob_spin), 0, 0);
	pthread_join(th, NULL);
	expect_stop(&run, SKAS_EXIT_KICK);
	CHECK(run.regs.rip >= BLOB(blob_spin) && run.regs.rip < BLOB(blob_spin) + 4,
	      "rip %#llx (%s)", (unsigned long long)run.regs.rip, blob_sym(run.regs.rip));

	/* A signal to the runner stops the guest too (UML's timer). */
	SYSCHK(sigaction(SIGALRM, &sa, NULL));
	ualarm(200000, 0);
	SYSCHK(run_raw(&c, &run, -1));
	expect_stop(&run, SKAS_EXIT_KICK);

	/* Nothing is left over: the next run goes on to a real stop. */
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	SYSCHK(run_raw(&c, &run, -1));
	expect_stop(&run, SKAS_EXIT_SYSCALL);
	carrier_end(&c);
}

/*
 * UML's timer, at its worst: signals to the runner, as fast as they come,
 * while the guest makes one system call after another.  A kick and a
 * stop of the guest's own race in the module; every stop must still be
 * the call or the kick.  A call that escaped the capture would be
 * delivered to the carrier instead (its handler is not canonical: the
 * carrier faults, a SIGSEGV of the kernel's, or dies).
 */
TEST(carrier_kicks_during_syscalls, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval it = { { 0, 20 }, { 0, 20 } }, off = { 0 };
	long calls = 0, kicks = 0;
	double t0;

	carrier_start(&c);
	call(&c, &run, 1, BLOB(blob_getpid), 0, 0);
	expect_stop(&run, SKAS_EXIT_SYSCALL);
	/* No SA_RESTART: an interrupted RUN returns, as in UML. */
	SYSCHK(sigaction(SIGALRM, &sa, &old));
	SYSCHK(setitimer(ITIMER_REAL, &it, NULL));
	t0 = now();
	while (now() - t0 < 4) {
		regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
		/* Bounded: kicks may come faster than a round trip under TCG. */
		while (now() - t0 < 8) {
			if (run_raw(&c, &run, -1) < 0) {
				CHECK(errno == EINTR, "RUN: %s", errstr(errno));
				continue;
			}
			if (run.exit.reason != SKAS_EXIT_KICK)
				break;
			kicks++;
		}
		expect_stop(&run, SKAS_EXIT_SYSCALL);
		CHECK(run.exit.syscall == 39, "system call %lld", (long long)run.exit.syscall);
		calls++;
	}
	SYSCHK(setitimer(ITIMER_REAL, &off, NULL));
	SYSCHK(sigaction(SIGALRM, &old, NULL));
	note("%ld system calls, %ld kicks in 4 s", calls, kicks);
	CHECK(kicks > 0 && calls > 0, "%ld kicks, %ld calls: the test did not test",
	      kicks, calls);
	carrier_end(&c);
}

struct runner {
	struct carrier *c;
	struct skas_run run;
	long ret;
	int err;
};

/* RUN in a thread of its own, for guests that do not stop by themselves. */
static void *runner_thread(void *arg)
{
	struct runner *r = arg;
	sigset_t chld;

	/*
	 * As UML's runners should: a signal the runner does not care about
	 * must not reach it while it waits, or the RUN ends in a kick.  Our
	 * own carrier's stops send this process SIGCHLD, and one queued while
	 * pthread_create() had every signal blocked in the creating thread
	 * went to this one (seen twice in CI, 2026-12-04, as a KICK before
	 * the guest ran in carrier_ptrace_attach).
	 */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, NULL);
	r->ret = run_raw(r->c, &r->run, -1);
	r->err = errno;
	return NULL;
}

TEST(carrier_signals_from_outside, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };
	struct runner r = { 0 };
	pthread_t th;
	int st;

	carrier_start(&c);
	call(&c, &run, 1, BLOB(blob_getpid), 0, 0);

	/* The instance's user sends it a SIGSEGV: a stop, not a fault. */
	SYSCHK(kill(c.pid, SIGSEGV));
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	SYSCHK(run_raw(&c, &run, -1));
	expect_stop(&run, SKAS_EXIT_SIGNAL);
	CHECK(run.exit.signo == SIGSEGV && run.exit.code == SI_USER && run.exit.trap_nr == -1,
	      "signal %d code %d trap %d", run.exit.signo, run.exit.code, run.exit.trap_nr);
	CHECK(run.regs.rip == BLOB(blob_getpid), "guest code ran: rip %#llx",
	      (unsigned long long)run.regs.rip);

	/* Two at once: two stops, lowest signal first, then the guest. */
	SYSCHK(kill(c.pid, SIGSEGV));
	SYSCHK(kill(c.pid, SIGBUS));
	SYSCHK(run_raw(&c, &run, -1));
	expect_stop(&run, SKAS_EXIT_SIGNAL);
	CHECK(run.exit.signo == SIGBUS, "first signal %d", run.exit.signo);
	SYSCHK(run_raw(&c, &run, -1));
	expect_stop(&run, SKAS_EXIT_SIGNAL);
	CHECK(run.exit.signo == SIGSEGV, "second signal %d", run.exit.signo);
	SYSCHK(run_raw(&c, &run, -1));
	expect_stop(&run, SKAS_EXIT_SYSCALL);

	carrier_end(&c);

	/* A signal pending (blocked) before ENTER is a stop before the guest runs. */
	c.dev = dev_open();
	c.mm = space_new();
	c.pid = carrier_spawn(c.dev, PENDING_SEGV);
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	run_first(&c, &run);
	expect_stop(&run, SKAS_EXIT_SIGNAL);
	CHECK(run.exit.signo == SIGSEGV && run.exit.code == SI_TKILL, "signal %d code %d",
	      run.exit.signo, run.exit.code);
	CHECK(run.regs.rip == BLOB(blob_getpid), "guest code ran: rip %#llx",
	      (unsigned long long)run.regs.rip);
	SYSCHK(run_raw(&c, &run, -1));
	expect_stop(&run, SKAS_EXIT_SYSCALL);

	/* STOP and CONT while it runs: it goes on, and a KICK still stops it. */
	r.c = &c;
	regs_init(&r.run.regs, BLOB(blob_spin), 0, 0, 0);
	pthread_create(&th, NULL, runner_thread, &r);
	usleep(100000);
	SYSCHK(kill(c.pid, SIGSTOP));
	SYSCHK(waitpid(c.pid, &st, WUNTRACED));
	CHECK(WIFSTOPPED(st), "status %#x", st);
	SYSCHK(kill(c.pid, SIGCONT));
	usleep(100000);
	SYSCHK(ioctl(c.dev, SKAS_CARRIER_KICK));
	pthread_join(th, NULL);
	CHECK(r.ret == 0, "RUN: %s", errstr(r.err));
	expect_stop(&r.run, SKAS_EXIT_KICK);

	/* SIGTERM keeps its default action: the carrier ends. */
	r.run.regs.rip = BLOB(blob_spin);
	pthread_create(&th, NULL, runner_thread, &r);
	usleep(100000);
	SYSCHK(kill(c.pid, SIGTERM));
	pthread_join(th, NULL);
	CHECK(r.ret == 0, "RUN: %s", errstr(r.err));
	expect_stop(&r.run, SKAS_EXIT_DEAD);
	SYSCHK(waitpid(c.pid, &st, 0));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
	close(c.dev);
	close(c.mm);
}

/*
 * Two carriers of one process, run from two threads at once (UML with
 * two vCPUs: one carrier and one device file per vCPU).  Each runner gets
 * its own carrier's stops and nothing of the other's; a kick stops only
 * the carrier of its file; a second runner of one carrier is refused
 * while the first waits in its RUN.
 */
struct two_runner {
	struct carrier *c;
	long rounds, bad;
};

static void *syscall_rounds(void *arg)
{
	struct two_runner *t = arg;
	struct skas_run run = { 0 };
	long i;

	for (i = 0; i < t->rounds; i++) {
		regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
		if (run_raw(t->c, &run, -1) < 0 || run.exit.reason != SKAS_EXIT_SYSCALL ||
		    run.exit.syscall != 39)
			t->bad++;
	}
	return NULL;
}

TEST(carrier_two_at_once, T_DEFAULT)
{
	struct carrier c[2];
	struct skas_run run = { 0 };
	struct two_runner t[2];
	struct runner r = { 0 };
	pthread_t th[2];
	int i;

	for (i = 0; i < 2; i++) {
		carrier_start(&c[i]);
		call(&c[i], &run, 1, BLOB(blob_getpid), 0, 0);
		expect_stop(&run, SKAS_EXIT_SYSCALL);
		t[i] = (struct two_runner){ .c = &c[i], .rounds = 3000 };
	}
	for (i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, syscall_rounds, &t[i]);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK(!t[0].bad && !t[1].bad, "stops that were not the guest's getpid: %ld and %ld",
	      t[0].bad, t[1].bad);
	printf("# two carriers: %ld getpid stops each, in parallel, all their own\n",
	       t[0].rounds);

	/* Carrier 0 spins; a kick on carrier 1's file leaves it running. */
	r.c = &c[0];
	regs_init(&r.run.regs, BLOB(blob_spin), 0, 0, 0);
	pthread_create(&th[0], NULL, runner_thread, &r);
	usleep(100000);
	SYSCHK(ioctl(c[1].dev, SKAS_CARRIER_KICK));
	/* A second runner of carrier 0 is refused while the first waits. */
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	CHECK(run_raw(&c[0], &run, -1) < 0 && errno == EBUSY,
	      "a second RUN of a running carrier: %s", errstr(errno));
	usleep(100000);
	SYSCHK(ioctl(c[0].dev, SKAS_CARRIER_KICK));
	pthread_join(th[0], NULL);
	CHECK(r.ret == 0, "RUN: %s", errstr(r.err));
	expect_stop(&r.run, SKAS_EXIT_KICK);
	CHECK(r.run.regs.rip >= BLOB(blob_spin) && r.run.regs.rip < BLOB(blob_spin) + 4,
	      "rip %#llx (%s)", (unsigned long long)r.run.regs.rip, blob_sym(r.run.regs.rip));

	/* The kick found carrier 1 stopped: nothing to stop, nothing kept. */
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	SYSCHK(run_raw(&c[1], &run, -1));
	expect_stop(&run, SKAS_EXIT_SYSCALL);

	/* Killing one leaves the other working. */
	carrier_end(&c[0]);
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	SYSCHK(run_raw(&c[1], &run, -1));
	expect_stop(&run, SKAS_EXIT_SYSCALL);
	carrier_end(&c[1]);
}

/*
 * ptrace on a carrier.  The instance's own user (not root) is refused,
 * even as the carrier's parent: the carrier is not dumpable (a dumpable
 * child of the same user is the control).  Root may attach (CAP_SYS_PTRACE), as to
 * any process; that must be harmless: the carrier stops for its tracer
 * (when it next heads for guest code), goes on after the detach, and its
 * runner's RUN returns a stop.
 */
TEST(carrier_ptrace_attach, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };
	struct runner r = { 0 };
	pthread_t th;
	pid_t pid;
	int st;

	pid = SYSCHK(fork());
	if (!pid) {
		char path[64];
		pid_t control;

		become_nobody(1);
		/*
		 * The control: a dumpable child of ours can be traced (so
		 * Yama or another policy is not what refuses the carrier).
		 */
		control = SYSCHK(fork());
		if (!control) {
			prctl(PR_SET_DUMPABLE, 1);
			pause();
			_exit(0);
		}
		usleep(100000);
		if (ptrace(PTRACE_SEIZE, control, 0, 0) != 0)
			_exit(9);
		kill(control, SIGKILL);
		waitpid(control, NULL, 0);

		/* The carrier is our child too, and not dumpable. */
		carrier_start(&c);
		call(&c, &run, 1, BLOB(blob_getpid), 0, 0);
		expect_stop(&run, SKAS_EXIT_SYSCALL);
		if (ptrace(PTRACE_ATTACH, c.pid, 0, 0) != -1 || errno != EPERM)
			_exit(10);
		if (ptrace(PTRACE_SEIZE, c.pid, 0, 0) != -1 || errno != EPERM)
			_exit(11);
		snprintf(path, sizeof(path), "/proc/%d/mem", c.pid);
		if (open(path, O_RDONLY) != -1 || errno != EACCES)
			_exit(12);
		call(&c, &run, 0, BLOB(blob_getpid), 0, 0);
		expect_stop(&run, SKAS_EXIT_SYSCALL);
		carrier_end(&c);
		_exit(0);
	}
	SYSCHK(waitpid(pid, &st, 0));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the instance's user: step %d (9: could not trace a dumpable child, "
	      "10-12: could trace or read its carrier)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);

	note("ptrace: the instance's user is refused");
	/*
	 * Root, while the carrier is parked between stops: ptrace's stop,
	 * like job control, reaches it when it next runs (see carrier.c).
	 */
	carrier_start(&c);
	call(&c, &run, 1, BLOB(blob_getpid), 0, 0);
	SYSCHK(ptrace(PTRACE_SEIZE, c.pid, 0, 0));
	SYSCHK(ptrace(PTRACE_INTERRUPT, c.pid, 0, 0));
	r.c = &c;
	regs_init(&r.run.regs, BLOB(blob_getpid), 0, 0, 0);
	pthread_create(&th, NULL, runner_thread, &r);
	SYSCHK(waitpid(c.pid, &st, __WALL));
	CHECK(WIFSTOPPED(st), "status %#x", st);
	note("ptrace: root stopped the parked carrier as it went back to the guest");
	SYSCHK(ptrace(PTRACE_DETACH, c.pid, 0, 0));
	pthread_join(th, NULL);
	CHECK(r.ret == 0, "RUN: %s", errstr(r.err));
	expect_stop(&r.run, SKAS_EXIT_SYSCALL);
	call(&c, &run, 0, BLOB(blob_getpid), 0, 0);
	expect_stop(&run, SKAS_EXIT_SYSCALL);
	note("ptrace: the carrier runs again after the detach");

	/* And while it runs guest code: the runner sees a stop, not a hang. */
	regs_init(&r.run.regs, BLOB(blob_spin), 0, 0, 0);
	pthread_create(&th, NULL, runner_thread, &r);
	usleep(100000);
	SYSCHK(ptrace(PTRACE_SEIZE, c.pid, 0, 0));
	SYSCHK(ptrace(PTRACE_INTERRUPT, c.pid, 0, 0));
	SYSCHK(waitpid(c.pid, &st, __WALL));
	CHECK(WIFSTOPPED(st), "status %#x", st);
	note("ptrace: root stopped the running carrier");
	SYSCHK(ptrace(PTRACE_DETACH, c.pid, 0, 0));
	SYSCHK(ioctl(c.dev, SKAS_CARRIER_KICK));
	pthread_join(th, NULL);
	CHECK(r.ret == 0, "RUN: %s", errstr(r.err));
	expect_stop(&r.run, SKAS_EXIT_KICK);
	call(&c, &run, 0, BLOB(blob_getpid), 0, 0);
	expect_stop(&run, SKAS_EXIT_SYSCALL);
	carrier_end(&c);
}

TEST(carrier_death_and_close, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };
	int st;

	/* Killed while running: RUN reports it, and so does every later RUN. */
	carrier_start(&c);
	call(&c, &run, 1, BLOB(blob_getpid), 0, 0);
	pid_t killer = SYSCHK(fork());

	if (!killer) {
		usleep(200000);
		kill(c.pid, SIGKILL);
		_exit(0);
	}
	call(&c, &run, 0, BLOB(blob_spin), 0, 0);
	expect_stop(&run, SKAS_EXIT_DEAD);
	SYSCHK(waitpid(killer, &st, 0));
	SYSCHK(waitpid(c.pid, &st, 0));
	regs_init(&run.regs, BLOB(blob_spin), 0, 0, 0);
	SYSCHK(run_raw(&c, &run, -1));
	expect_stop(&run, SKAS_EXIT_DEAD);
	/* With a space: its reference is dropped (the slab check sees a leak). */
	for (int i = 0; i < 3; i++) {
		SYSCHK(run_raw(&c, &run, c.mm));
		expect_stop(&run, SKAS_EXIT_DEAD);
	}
	close(c.dev);
	close(c.mm);

	/* The runner closed its file before ENTER: the carrier ends at once. */
	carrier_start(&c);
	close(c.dev);
	SYSCHK(waitpid(c.pid, &st, 0));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "alone: status %#x", st);
	close(c.mm);

	/* The last holder of the file closes it: a parked carrier ends. */
	carrier_start(&c);
	call(&c, &run, 1, BLOB(blob_getpid), 0, 0);
	close(c.dev);
	SYSCHK(waitpid(c.pid, &st, 0));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x", st);
	close(c.mm);

	/* The runner (UML) is killed in the middle of a RUN: a spinning carrier ends. */
	carrier_start(&c);
	call(&c, &run, 1, BLOB(blob_getpid), 0, 0);
	pid_t runner = SYSCHK(fork());

	if (!runner) {
		regs_init(&run.regs, BLOB(blob_spin), 0, 0, 0);
		run_raw(&c, &run, -1);
		_exit(1);
	}
	close(c.dev);
	usleep(300000);
	SYSCHK(kill(runner, SIGKILL));
	SYSCHK(waitpid(runner, &st, 0));
	CHECK(WIFSIGNALED(st), "the runner's RUN returned: status %#x", st);
	SYSCHK(waitpid(c.pid, &st, 0));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x", st);
	close(c.mm);
}

TEST(carrier_enter_needs_its_conditions, T_DEFAULT)
{
	int dev = dev_open();
	static const struct { unsigned int skip; int err; const char *what; } cases[] = {
		{ SKIP_NNP, EPERM, "without no_new_privs" },
		{ SKIP_SECCOMP, EPERM, "without a seccomp filter" },
		{ SKIP_NODUMP, EPERM, "dumpable" },
		{ EXTRA_FD, EBADFD, "with another file open" },
		{ EXTRA_THREAD, EINVAL, "with a second thread" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = spawn_fails(dev, cases[i].skip);

		CHECK(err == cases[i].err, "ENTER %s: %s, expected %s", cases[i].what,
		      errstr(err), errstr(cases[i].err));
	}
	/* ENTER names its own file; another fd number is refused. */
	EXPECT_ERRNO(ioctl(dev, SKAS_CARRIER_ENTER, dev + 100), EBADF);
	close(dev);
}

TEST(carrier_run_refuses_bad_requests, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };
	int other = dev_open();

	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	EXPECT_ERRNO(run_raw(&(struct carrier){ .dev = other }, &run, -1), ESRCH);
	close(other);

	carrier_start(&c);
	/* Never in the carrier's own (UML's) address space (once it entered). */
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	double t0 = now();

	while (run_raw(&c, &run, -1) == -1 && errno == ESRCH && now() - t0 < 20)
		usleep(2000);
	EXPECT_ERRNO(run_raw(&c, &run, -1), EINVAL);
	/* Only /proc/mm files name an address space. */
	EXPECT_ERRNO(run_raw(&c, &run, c.dev), EINVAL);
	EXPECT_ERRNO(run_raw(&c, &run, 9999), EBADF);
	run_first(&c, &run);
	expect_stop(&run, SKAS_EXIT_SYSCALL);

	static const struct { const char *what; size_t off; unsigned long long v; } bad[] = {
		{ "non-canonical rip", offsetof(struct skas_regs, rip), 0x8000000000000000ULL },
		{ "kernel rip", offsetof(struct skas_regs, rip), 0xffffffff81000000ULL },
		{ "kernel cs", offsetof(struct skas_regs, cs), 0x10 },
		{ "cs with RPL 0", offsetof(struct skas_regs, cs), 0x30 },
		{ "ss", offsetof(struct skas_regs, ss), 0x18 },
		{ "fs_base", offsetof(struct skas_regs, fs_base), 0xffff888000000000ULL },
		{ "gs_base", offsetof(struct skas_regs, gs_base), 0xffff888000000000ULL },
		{ "ds: a code selector", offsetof(struct skas_regs, ds), 0x33 },
		{ "gs: a kernel selector", offsetof(struct skas_regs, gs), 0x18 },
		{ "fs: a TLS selector", offsetof(struct skas_regs, fs), 0x63 },
		{ "cs: an LDT selector", offsetof(struct skas_regs, cs), 0x7 },
		{ "ss: an LDT selector", offsetof(struct skas_regs, ss), 0xf },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
		memcpy((char *)&run.regs + bad[i].off, &bad[i].v, sizeof(bad[i].v));
		errno = 0;
		if (run_raw(&c, &run, -1) != -1 || errno != EINVAL)
			FAIL("%s accepted (%s, stop %s)", bad[i].what, errstr(errno),
			     reason_str(run.exit.reason));
	}
	run.version = 99;
	EXPECT_ERRNO(ioctl(c.dev, SKAS_CARRIER_RUN, &run), EINVAL);
	EXPECT_ERRNO(ioctl(c.dev, SKAS_CARRIER_RUN, (void *)8), EFAULT);
	EXPECT_ERRNO(ioctl(c.dev, _IO(SKAS_CARRIER_IOC, 99)), ENOTTY);

	/*
	 * A dumpable space (made while its creator was dumpable) would make
	 * the carrier dumpable where dumpability is the mm's (before 7.x).
	 */
	struct utsname u;

	SYSCHK(uname(&u));
	SYSCHK(prctl(PR_SET_DUMPABLE, 1));
	int dumpable_mm = space_new();

	SYSCHK(prctl(PR_SET_DUMPABLE, 0));
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	if (atoi(u.release) < 7) {
		EXPECT_ERRNO(run_raw(&c, &run, dumpable_mm), EPERM);
	} else {
		SYSCHK(run_raw(&c, &run, dumpable_mm));
		expect_stop(&run, SKAS_EXIT_SYSCALL);
	}
	close(dumpable_mm);

	/* A 32-bit code segment is a user program's right. */
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	run.regs.cs = USER32_CS;
	SYSCHK(run_raw(&c, &run, -1));
	CHECK(run.exit.reason != SKAS_EXIT_DEAD, "32-bit code killed the carrier");
	CHECK(kill(c.pid, 0) == 0, "the carrier is gone");
	carrier_end(&c);
}

TEST(carrier_other_users_are_refused, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };
	int st;

	/* No group, no device. */
	pid_t pid = SYSCHK(fork());

	if (!pid) {
		become_nobody(0);
		_exit(open("/dev/uml-skas", O_RDWR) < 0 && errno == EACCES ? 0 : 1);
	}
	SYSCHK(waitpid(pid, &st, 0));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "nobody without the group opened it");

	/* Another user holding the file cannot drive the carrier. */
	carrier_start(&c);
	call(&c, &run, 1, BLOB(blob_getpid), 0, 0);
	pid = SYSCHK(fork());
	if (!pid) {
		become_nobody(1);
		regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
		if (run_raw(&c, &run, -1) != -1 || errno != EPERM)
			_exit(1);
		if (ioctl(c.dev, SKAS_CARRIER_KICK) != -1 || errno != EPERM)
			_exit(2);
		_exit(0);
	}
	SYSCHK(waitpid(pid, &st, 0));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "another user drove it (step %d)",
	      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	carrier_end(&c);
}

TEST(carrier_rmmod_refused_while_it_lives, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };

	carrier_start(&c);
	call(&c, &run, 1, BLOB(blob_getpid), 0, 0);
	errno = 0;
	long r = syscall(__NR_delete_module, "uml_skas_host", O_NONBLOCK);

	if (r == 0)
		FAIL("the module was removed with a carrier alive");
	CHECK(errno == EWOULDBLOCK || errno == EBUSY, "delete_module: %s", errstr(errno));
	carrier_end(&c);
}

/* What UML does, as the instance's user: a member of the group, not root. */
TEST(carrier_as_group_member, T_DEFAULT)
{
	int st;
	pid_t pid = SYSCHK(fork());

	if (!pid) {
		struct carrier c;
		struct skas_run run = { 0 };

		become_nobody(1);
		carrier_start(&c);
		call(&c, &run, 1, BLOB(blob_getpid), 0, 0);
		expect_stop(&run, SKAS_EXIT_SYSCALL);
		run.regs.rax = 1;
		SYSCHK(run_raw(&c, &run, -1));
		CHECK(reported(&run) == 1, "reported %llu", (unsigned long long)run.regs.rdi);
		carrier_end(&c);
		_exit(0);
	}
	SYSCHK(waitpid(pid, &st, 0));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "as nobody in the group: status %#x", st);
}

/* Offsets in the standard XSAVE layout. */
#define XS_MXCSR	24
#define XS_XMM0		160
#define XS_XMM1		176
#define XS_XFEATURES	512

static int xstate_io(struct carrier *c, unsigned long req, void *buf, size_t size)
{
	struct skas_xstate x = { .buf = (unsigned long)buf, .size = size };

	return ioctl(c->dev, req, &x);
}

TEST(carrier_xstate, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };
	int st;

	carrier_start(&c);
	long size = SYSCHK(ioctl(c.dev, SKAS_CARRIER_XSTATE_SIZE));

	CHECK(size > 512 + 64, "xstate size %ld", size);
	unsigned char *buf = calloc(1, size + 64);

	/* Before ENTER there is nobody's state to read. */
	struct carrier lone = { .dev = dev_open() };

	EXPECT_ERRNO(xstate_io(&lone, SKAS_CARRIER_GET_XSTATE, buf, size), ESRCH);
	close(lone.dev);

	/* Even read before the first RUN, the state is not the process's. */
	double t0 = now();

	while (xstate_io(&c, SKAS_CARRIER_GET_XSTATE, buf, size) == -1 && errno == ESRCH &&
	       now() - t0 < 20)
		usleep(2000);
	SYSCHK(xstate_io(&c, SKAS_CARRIER_GET_XSTATE, buf, size));
	unsigned long early;

	memcpy(&early, buf + XS_XMM0, sizeof(early));
	CHECK(early == 0, "GET before the first RUN: xmm0 %#lx (dirt %#lx)", early,
	      CARRIER_XMM_DIRT);
	unsigned int early_mxcsr;

	memcpy(&early_mxcsr, buf + XS_MXCSR, sizeof(early_mxcsr));
	CHECK(early_mxcsr == 0x1f80, "GET before the first RUN: MXCSR %#x (dirt %#x)",
	      early_mxcsr, CARRIER_MXCSR_DIRT);

	/* The carrier's own vector registers are gone before the guest runs. */
	regs_init(&run.regs, BLOB(blob_xmm_out), 0, 0, 0);
	run_first(&c, &run);
	CHECK(reported(&run) == 0 && run.regs.rsi == 0,
	      "xmm0 %#llx xmm1 %#llx reached the guest (dirt %#lx)",
	      (unsigned long long)run.regs.rdi, (unsigned long long)run.regs.rsi,
	      CARRIER_XMM_DIRT);
	/* Nor its MXCSR: the guest starts with the default. */
	CHECK(run.regs.rdx == 0x1f80, "MXCSR %#llx reached the guest (dirt %#x)",
	      (unsigned long long)run.regs.rdx, CARRIER_MXCSR_DIRT);

	/* What the guest wrote is what GET reads. */
	regs_init(&run.regs, BLOB(blob_xmm_in), 0x1122334455667788UL, 0, 0);
	SYSCHK(run_raw(&c, &run, -1));
	reported(&run);
	SYSCHK(xstate_io(&c, SKAS_CARRIER_GET_XSTATE, buf, size));
	unsigned long v;

	memcpy(&v, buf + XS_XMM0, sizeof(v));
	CHECK(v == 0x1122334455667788UL, "GET: xmm0 %#lx", v);

	/* What SET writes is what the guest reads. */
	v = 0x99aabbccddeeff00UL;
	memcpy(buf + XS_XMM1, &v, sizeof(v));
	buf[XS_XFEATURES] |= 2;	/* SSE */
	SYSCHK(xstate_io(&c, SKAS_CARRIER_SET_XSTATE, buf, size));
	regs_init(&run.regs, BLOB(blob_xmm_out), 0, 0, 0);
	SYSCHK(run_raw(&c, &run, -1));
	CHECK(reported(&run) == 0x1122334455667788UL && run.regs.rsi == v,
	      "after SET: xmm0 %#llx xmm1 %#llx", (unsigned long long)run.regs.rdi,
	      (unsigned long long)run.regs.rsi);

	/* Bad requests: the kernel's own checks of a ptrace SETREGSET, and ours. */
	unsigned int bad = 0xffffffff;

	memcpy(buf + XS_MXCSR, &bad, sizeof(bad));
	EXPECT_ERRNO(xstate_io(&c, SKAS_CARRIER_SET_XSTATE, buf, size), EINVAL);
	EXPECT_ERRNO(xstate_io(&c, SKAS_CARRIER_GET_XSTATE, buf, size - 8), EINVAL);
	EXPECT_ERRNO(xstate_io(&c, SKAS_CARRIER_GET_XSTATE, buf, size + 8), EINVAL);
	EXPECT_ERRNO(xstate_io(&c, SKAS_CARRIER_GET_XSTATE, (void *)8, size), EFAULT);
	struct skas_xstate x = { .buf = (unsigned long)buf, .size = size, .flags = 1 };

	EXPECT_ERRNO(ioctl(c.dev, SKAS_CARRIER_GET_XSTATE, &x), EINVAL);

	/* Another user holding the file cannot touch it. */
	pid_t pid = SYSCHK(fork());

	if (!pid) {
		become_nobody(1);
		_exit(xstate_io(&c, SKAS_CARRIER_GET_XSTATE, buf, size) == -1 &&
		      errno == EPERM ? 0 : 1);
	}
	SYSCHK(waitpid(pid, &st, 0));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "another user read the state");

	SYSCHK(kill(c.pid, SIGKILL));
	SYSCHK(waitpid(c.pid, &st, 0));
	EXPECT_ERRNO(xstate_io(&c, SKAS_CARRIER_GET_XSTATE, buf, size), ESRCH);
	close(c.dev);
	close(c.mm);
	free(buf);
}

static long run_xs(struct carrier *c, struct skas_run *run, uint64_t flags,
		   void *buf, size_t size)
{
	run->version = SKAS_CARRIER_VERSION;
	run->mm_fd = -1;
	run->flags = flags;
	run->xstate = (unsigned long)buf;
	run->xstate_size = size;
	return ioctl(c->dev, SKAS_CARRIER_RUN, run);
}

static unsigned long xs_u64(const unsigned char *buf, size_t off)
{
	unsigned long v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* The xstate carried by RUN itself (one request per guest event). */
TEST(carrier_run_xstate, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };

	carrier_start(&c);
	long size = SYSCHK(ioctl(c.dev, SKAS_CARRIER_XSTATE_SIZE));
	unsigned char *buf = calloc(1, size), *good = calloc(1, size);
	unsigned long v;

	regs_init(&run.regs, BLOB(blob_xmm_out), 0, 0, 0);
	run_first(&c, &run);
	reported(&run);

	/* OUT: the state at the stop, what the guest wrote. */
	regs_init(&run.regs, BLOB(blob_xmm_in), 0x1122334455667788UL, 0, 0);
	SYSCHK(run_xs(&c, &run, SKAS_RUN_XSTATE_OUT, buf, size));
	reported(&run);
	CHECK(xs_u64(buf, XS_XMM0) == 0x1122334455667788UL, "OUT: xmm0 %#lx",
	      xs_u64(buf, XS_XMM0));
	memcpy(good, buf, size);

	/* IN: loaded before the guest runs; without OUT the buffer stays. */
	v = 0x0102030405060708UL;
	memcpy(buf + XS_XMM1, &v, sizeof(v));
	buf[XS_XFEATURES] |= 2;	/* SSE */
	regs_init(&run.regs, BLOB(blob_xmm_out), 0, 0, 0);
	SYSCHK(run_xs(&c, &run, SKAS_RUN_XSTATE_IN, buf, size));
	CHECK(reported(&run) == 0x1122334455667788UL && run.regs.rsi == v,
	      "IN: xmm0 %#llx xmm1 %#llx", (unsigned long long)run.regs.rdi,
	      (unsigned long long)run.regs.rsi);
	CHECK(xs_u64(buf, XS_XMM1) == v, "IN alone wrote the buffer");

	/* Both: in before, out after, in one request. */
	v = 0xa5a5a5a5a5a5a5a5UL;
	memcpy(buf + XS_XMM0, &v, sizeof(v));
	regs_init(&run.regs, BLOB(blob_xmm_in), 0x5566778899aabbccUL, 0, 0);
	SYSCHK(run_xs(&c, &run, SKAS_RUN_XSTATE_IN | SKAS_RUN_XSTATE_OUT, buf, size));
	reported(&run);
	CHECK(xs_u64(buf, XS_XMM0) == 0x5566778899aabbccUL &&
	      xs_u64(buf, XS_XMM1) == 0x0102030405060708UL,
	      "IN|OUT: xmm0 %#lx xmm1 %#lx", xs_u64(buf, XS_XMM0), xs_u64(buf, XS_XMM1));
	memcpy(good, buf, size);

	/*
	 * Refused before anything ran: the kernel's checks of the state (a
	 * bad MXCSR, reserved header bits), a wrong size, flags we do not
	 * know, a pointer without flags, a bad pointer.
	 */
	unsigned int bad = 0xffffffff;

	regs_init(&run.regs, BLOB(blob_xmm_in), 0x77UL, 0, 0);
	memcpy(buf + XS_MXCSR, &bad, sizeof(bad));
	EXPECT_ERRNO(run_xs(&c, &run, SKAS_RUN_XSTATE_IN, buf, size), EINVAL);
	memcpy(buf, good, size);
	buf[XS_XFEATURES + 8 + 7] = 0x80;	/* xcomp_bv's compacted bit */
	EXPECT_ERRNO(run_xs(&c, &run, SKAS_RUN_XSTATE_IN, buf, size), EINVAL);
	memcpy(buf, good, size);
	EXPECT_ERRNO(run_xs(&c, &run, SKAS_RUN_XSTATE_OUT, buf, size - 8), EINVAL);
	EXPECT_ERRNO(run_xs(&c, &run, SKAS_RUN_XSTATE_IN, buf, size + 8), EINVAL);
	EXPECT_ERRNO(run_xs(&c, &run, SKAS_RUN_XSTATE_OUT, buf, 0), EINVAL);
	EXPECT_ERRNO(run_xs(&c, &run, 4, buf, size), EINVAL);
	EXPECT_ERRNO(run_xs(&c, &run, 1ULL << 63, buf, size), EINVAL);
	EXPECT_ERRNO(run_xs(&c, &run, 0, buf, size), EINVAL);
	EXPECT_ERRNO(run_xs(&c, &run, 0, NULL, size), EINVAL);
	EXPECT_ERRNO(run_xs(&c, &run, 0, buf, 0), EINVAL);
	EXPECT_ERRNO(run_xs(&c, &run, SKAS_RUN_XSTATE_IN, (void *)8, size), EFAULT);
	EXPECT_ERRNO(run_xs(&c, &run, SKAS_RUN_XSTATE_IN,
			    (void *)0xffff800000000000UL, size), EFAULT);
	CHECK(run.regs.rip == BLOB(blob_xmm_in), "a refused RUN ran the guest");

	/* None of that reached the carrier. */
	regs_init(&run.regs, BLOB(blob_xmm_out), 0, 0, 0);
	SYSCHK(run_xs(&c, &run, SKAS_RUN_XSTATE_OUT, buf, size));
	CHECK(reported(&run) == 0x5566778899aabbccUL &&
	      run.regs.rsi == 0x0102030405060708UL && !memcmp(buf, good, size),
	      "after refused RUNs: xmm0 %#llx xmm1 %#llx, buffer %s",
	      (unsigned long long)run.regs.rdi, (unsigned long long)run.regs.rsi,
	      memcmp(buf, good, size) ? "changed" : "same");

	/* A bad OUT pointer: the guest ran, its stop is reported as lost. */
	regs_init(&run.regs, BLOB(blob_xmm_in), 0x99UL, 0, 0);
	EXPECT_ERRNO(run_xs(&c, &run, SKAS_RUN_XSTATE_OUT, (void *)8, size), EFAULT);
	regs_init(&run.regs, BLOB(blob_xmm_out), 0, 0, 0);
	SYSCHK(run_xs(&c, &run, 0, NULL, 0));
	CHECK(reported(&run) == 0x99UL, "after the lost stop: xmm0 %#llx",
	      (unsigned long long)run.regs.rdi);

	/* A dead carrier: stop DEAD, the buffer left alone. */
	int st;

	SYSCHK(kill(c.pid, SIGKILL));
	SYSCHK(waitpid(c.pid, &st, 0));
	memset(buf, 0x5a, size);
	memcpy(good, buf, size);
	regs_init(&run.regs, BLOB(blob_xmm_out), 0, 0, 0);
	SYSCHK(run_xs(&c, &run, SKAS_RUN_XSTATE_IN | SKAS_RUN_XSTATE_OUT, buf, size));
	expect_stop(&run, SKAS_EXIT_DEAD);
	CHECK(!memcmp(buf, good, size), "a DEAD stop wrote the buffer");
	close(c.dev);
	close(c.mm);
	free(buf);
	free(good);
}

/* CPUID.7.EBX bit 0 and the kernel's HWCAP2_FSGSBASE: user rd/wrgsbase. */
static int have_fsgsbase(void)
{
	return (getauxval(AT_HWCAP2) & 2) != 0;
}

TEST(carrier_segments_per_guest, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };

	SYSCHK(prctl(PR_SET_DUMPABLE, 0));
	c.dev = dev_open();
	c.mm = space_new();
	c.pid = carrier_spawn(c.dev, TLS_DESC);
	space_map_words(c.mm, DATA_ADDR, 1, 11);

	/* The GS base the runner gives is the guest's, and the stop says it. */
	regs_init(&run.regs, BLOB(blob_load), DATA_ADDR, 0, 0);
	run_first(&c, &run);
	unsigned long word = reported(&run);

	regs_init(&run.regs, BLOB(blob_gs0), 0, 0, 0);
	run.regs.gs_base = DATA_ADDR;
	SYSCHK(run_raw(&c, &run, -1));
	CHECK(reported(&run) == word, "%%gs:0 = %#llx, expected %#lx",
	      (unsigned long long)run.regs.rdi, word);
	CHECK(run.regs.gs_base == DATA_ADDR, "gs_base at the stop %#llx",
	      (unsigned long long)run.regs.gs_base);

	/* Selectors a guest loads are reported, and the next guest starts clean. */
	regs_init(&run.regs, BLOB(blob_ldsegs), USER_DS, 0, 0);
	SYSCHK(run_raw(&c, &run, -1));
	reported(&run);
	CHECK(run.regs.ds == USER_DS && run.regs.gs == USER_DS, "ds %#llx gs %#llx",
	      (unsigned long long)run.regs.ds, (unsigned long long)run.regs.gs);
	regs_init(&run.regs, BLOB(blob_rdsels), 0, 0, 0);
	SYSCHK(run_raw(&c, &run, -1));
	reported(&run);
	CHECK(run.regs.rsi == 0 && run.regs.rdx == 0, "the next guest has ds %#llx gs %#llx",
	      (unsigned long long)run.regs.rsi, (unsigned long long)run.regs.rdx);

	/* The GDT TLS descriptor of the process it was is gone (selector 0x63). */
	regs_init(&run.regs, BLOB(blob_gs), 0x63, 0, 0);
	SYSCHK(run_raw(&c, &run, -1));
	CHECK(run.exit.reason == SKAS_EXIT_SIGNAL && run.exit.signo == SIGSEGV,
	      "loading the TLS selector: stop %s (the descriptor is still there: %%gs:0 %#llx)",
	      reason_str(run.exit.reason), (unsigned long long)run.regs.rsi);

	if (!have_fsgsbase()) {
		note("carrier_segments_per_guest: no FSGSBASE here; wrgsbase not tried");
	} else {
		/* A GS base the guest set itself goes with its registers... */
		regs_init(&run.regs, BLOB(blob_wrgsbase), 0x12340000, 0, 0);
		SYSCHK(run_raw(&c, &run, -1));
		CHECK(reported(&run) == 0x12340000 && run.regs.gs_base == 0x12340000,
		      "wrgsbase: rdgsbase %#llx, stop gs_base %#llx",
		      (unsigned long long)run.regs.rdi, (unsigned long long)run.regs.gs_base);
		/* ...and not to the next one. */
		regs_init(&run.regs, BLOB(blob_rdsegs), 0, 0, 0);
		SYSCHK(run_raw(&c, &run, -1));
		CHECK(reported(&run) == 0, "the next guest's GS base %#llx",
		      (unsigned long long)run.regs.rdi);
	}
	carrier_end(&c);
}

TEST(carrier_run_applies_ops, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };
	struct proc_mm_op ops[3];

	carrier_start(&c);
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	run_first(&c, &run);

	/* A page the guest reads, mapped by the same RUN: anonymous, then a file. */
	int mfd = memfd_words(1, 5);
	unsigned long want;

	SYSCHK(pread(mfd, &want, sizeof(want), 0));
	ops[0] = mk_mmap(DATA_ADDR, PAGE, RW, ANON_FIXED, -1, 0);
	ops[1] = mk_mmap(DATA_ADDR + PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, mfd, 0);
	run.ops = (unsigned long)ops;
	run.nr_ops = 2;
	regs_init(&run.regs, BLOB(blob_load), DATA_ADDR + PAGE, 0, 0);
	SYSCHK(run_raw(&c, &run, -1));
	CHECK(run.ops_done == 2 && run.ops_err == 0, "ops done %u err %d", run.ops_done,
	      run.ops_err);
	CHECK(reported(&run) == want, "the file page reads %#llx, expected %#lx",
	      (unsigned long long)run.regs.rdi, want);
	maps_expect(c.pid, DATA_ADDR, PAGE, "rw-p");

	/* The third fails in the space (unaligned munmap): a stop, the guest did not run. */
	ops[0] = mk_munmap(DATA_ADDR, PAGE);
	ops[1] = mk_mmap(DATA_ADDR, PAGE, RW, ANON_FIXED, -1, 0);
	ops[2] = mk_munmap(DATA_ADDR + 1, PAGE);
	run.nr_ops = 3;
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	SYSCHK(run_raw(&c, &run, -1));
	expect_stop(&run, SKAS_EXIT_REFUSED);
	CHECK(run.ops_done == 2 && run.ops_err == EINVAL && run.exit.code == EINVAL,
	      "ops done %u err %d code %d", run.ops_done, run.ops_err, run.exit.code);
	CHECK(run.regs.rip == BLOB(blob_getpid), "the guest ran: rip %#llx",
	      (unsigned long long)run.regs.rip);

	/* Bad requests fail the RUN before anything happens. */
	ops[0] = mk_mmap(DATA_ADDR, PAGE, 0x100, ANON_FIXED, -1, 0);
	run.nr_ops = 1;
	EXPECT_ERRNO(run_raw(&c, &run, -1), EINVAL);
	ops[0] = mk_mmap(DATA_ADDR, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, 9999, 0);
	EXPECT_ERRNO(run_raw(&c, &run, -1), EBADF);
	run.nr_ops = PROC_MM_MAX_OPS + 1;
	EXPECT_ERRNO(run_raw(&c, &run, -1), E2BIG);
	run.ops = 8;
	run.nr_ops = 1;
	EXPECT_ERRNO(run_raw(&c, &run, -1), EFAULT);
	run.ops = 0;
	run.nr_ops = 0;
	run.xstate_size = 1;	/* no flags: must be zero */
	EXPECT_ERRNO(ioctl(c.dev, SKAS_CARRIER_RUN, &run), EINVAL);
	run.xstate_size = 0;
	run.version = 1;	/* the interface before RUN carried xstate */
	EXPECT_ERRNO(ioctl(c.dev, SKAS_CARRIER_RUN, &run), EINVAL);

	/* Still a working carrier. */
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	SYSCHK(run_raw(&c, &run, -1));
	expect_stop(&run, SKAS_EXIT_SYSCALL);
	close(mfd);
	carrier_end(&c);
}

/* A space's LDT, set by the runner; the guest loads its selector. */
TEST(carrier_ldt, T_DEFAULT)
{
	struct carrier c;
	struct skas_run run = { 0 };
	struct user_desc d = { .entry_number = 0, .base_addr = DATA_ADDR, .limit = 0xfffff,
			       .seg_32bit = 1, .limit_in_pages = 1, .useable = 1 };
	struct skas_ldt req;

	carrier_start(&c);
	space_map_words(c.mm, DATA_ADDR, 1, 3);
	regs_init(&run.regs, BLOB(blob_load), DATA_ADDR, 0, 0);
	run_first(&c, &run);
	unsigned long word = reported(&run);

	req = (struct skas_ldt){ .mm_fd = c.mm, .func = 1, .ptr = (unsigned long)&d,
				 .bytecount = sizeof(d) };
	SYSCHK(ioctl(c.dev, SKAS_CARRIER_LDT, &req));
	regs_init(&run.regs, BLOB(blob_gs), 7, 0, 0);	/* LDT entry 0, RPL 3 */
	SYSCHK(run_raw(&c, &run, -1));
	reported(&run);
	CHECK(run.regs.r8 == 1 && run.regs.rsi == (word & 0xffffffff),
	      "through the LDT: valid %llu, %%gs:0 %#llx, expected %#lx",
	      (unsigned long long)run.regs.r8, (unsigned long long)run.regs.rsi,
	      word & 0xffffffff);
	CHECK(run.regs.gs == 7, "gs at the stop %#llx", (unsigned long long)run.regs.gs);
	/*
	 * Not carried across a stop yet: the context switch would load it
	 * before the carrier moves into the RUN's space (see carrier.c).
	 */
	run.regs.rip = BLOB(blob_rdsels);
	EXPECT_ERRNO(run_raw(&c, &run, -1), EINVAL);
	run.regs.gs = 0;
	SYSCHK(run_raw(&c, &run, -1));
	reported(&run);
	CHECK(run.regs.rdx == 0, "gs %#llx", (unsigned long long)run.regs.rdx);

	/* Nor can a RUN copy an LDT in: it would not be loaded before the guest runs. */
	struct proc_mm_op op = mk_copy_segments(c.mm);

	run.ops = (unsigned long)&op;
	run.nr_ops = 1;
	EXPECT_ERRNO(run_raw(&c, &run, -1), EINVAL);
	run.nr_ops = 0;

	/* Read back, and the errors of PTRACE_LDT. */
	unsigned char ldt[16];

	req = (struct skas_ldt){ .mm_fd = c.mm, .func = 0, .ptr = (unsigned long)ldt,
				 .bytecount = sizeof(ldt) };
	CHECK(ioctl(c.dev, SKAS_CARRIER_LDT, &req) == (long)sizeof(ldt), "read the LDT: %s",
	      errstr(errno));
	req.mm_fd = c.dev;
	EXPECT_ERRNO(ioctl(c.dev, SKAS_CARRIER_LDT, &req), EINVAL);
	req = (struct skas_ldt){ .mm_fd = c.mm, .func = 1, .ptr = 8, .bytecount = sizeof(d) };
	EXPECT_ERRNO(ioctl(c.dev, SKAS_CARRIER_LDT, &req), EFAULT);
	carrier_end(&c);
}
