// SPDX-License-Identifier: GPL-2.0
/*
 * The skas ptrace requests: SWITCH_MM and running code in a space, SYSEMU
 * in a space, FAULTINFO/EX_FAULTINFO, SIGPENDING, LDT and COPY_SEGMENTS.
 */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "tracee.h"

#define SEED_A 0x5566778811223344UL	/* %gs:0 = 0x11223344, %gs:4 = 0x55667788 */
#define SEED_B 0x0b0b0b0b0a0a0a0aUL
#define SEED_C 0x0c0c0c0c0d0d0d0dUL
#define SEL(entry) (((entry) << 3) | 7)	/* LDT, RPL 3 */

static pid_t tracee_in(int fd)
{
	pid_t pid = tracee_spawn();

	tracee_switch(pid, fd);
	return pid;
}

static unsigned long load(pid_t pid, unsigned long addr)
{
	return tracee_call(pid, BLOB(blob_load), addr, 0, 0, NULL);
}

TEST(ptrace_run_int3, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid = tracee_in(fd);
	struct stop s;
	int i;

	/* Plain PTRACE_CONT: the code runs in the space and stops at its int3. */
	for (i = 0; i < 3; i++) {
		tracee_set(pid, BLOB(blob_trap), 41 + i, 0, 0);
		tracee_resume(pid, PTRACE_CONT);
		tracee_wait(pid, &s);
		CHECK(s.kind == STOP_SIGNAL && s.sig == SIGTRAP &&
		      s.regs.rip == BLOB(blob_trap_int3) + 1 && s.regs.rax == 42UL + i,
		      "run %d: %s, rax %lld", i, stop_str(pid, &s), (long long)s.regs.rax);
	}
}

TEST(ptrace_host_syscalls_in_space, T_DEFAULT)
{
	/* Under PTRACE_CONT the host does execute the tracee's syscalls. */
	int fd = space_new();
	pid_t pid = tracee_in(fd), pid2;
	struct stop s;

	/* getpid, then exit(its result): the exit status is our pid's low byte. */
	tracee_set(pid, BLOB(blob_getpid), 0, 0, 0);
	tracee_resume(pid, PTRACE_CONT);
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_EXITED && s.sig == (pid & 0xff),
	      "getpid + exit in the space: %s, expected exit status %d", stop_str(pid, &s),
	      pid & 0xff);

	pid2 = tracee_in(fd);
	tracee_set(pid2, BLOB(blob_exit), 7, 0, 0);
	tracee_resume(pid2, PTRACE_CONT);
	tracee_wait(pid2, &s);
	CHECK(s.kind == STOP_EXITED && s.sig == 7, "exit(7) in the space: %s", stop_str(pid2, &s));
}

TEST(ptrace_sysemu, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid = tracee_in(fd);
	struct stop s;
	int round;

	for (round = 0; round < 2; round++) {
		tracee_set(pid, BLOB(blob_getpid), 0, 0, 0);
		tracee_resume(pid, PTRACE_SYSEMU);
		tracee_wait(pid, &s);
		CHECK(s.kind == STOP_SYSCALL && s.regs.orig_rax == 39 &&
		      s.regs.rip == BLOB(blob_getpid_syscall) + 2,
		      "expected the getpid syscall stop, got %s", stop_str(pid, &s));
		CHECK(s.regs.rax == (unsigned long)-ENOSYS, "rax at syscall entry %lld, expected -ENOSYS",
		      (long long)s.regs.rax);
		CHECK(s.regs.rdi == 0x1111 && s.regs.rsi == 0x2222 && s.regs.rdx == 0x3333 &&
		      s.regs.r10 == 0x4444 && s.regs.r8 == 0x5555 && s.regs.r9 == 0x6666,
		      "syscall args %#llx %#llx %#llx %#llx %#llx %#llx",
		      (unsigned long long)s.regs.rdi, (unsigned long long)s.regs.rsi,
		      (unsigned long long)s.regs.rdx, (unsigned long long)s.regs.r10,
		      (unsigned long long)s.regs.r8, (unsigned long long)s.regs.r9);
		if (round == 1) {
			/* The tracer emulates the syscall: its result is what the code sees. */
			s.regs.rax = 777;
			set_regs(pid, &s.regs);
		}
		tracee_resume(pid, PTRACE_SYSEMU);
		tracee_wait(pid, &s);
		CHECK(s.kind == STOP_SYSCALL && s.regs.orig_rax == 60 &&
		      s.regs.rip == BLOB(blob_report_syscall) + 2, "expected the report stop, got %s",
		      stop_str(pid, &s));
		/* Not executed by the host: no pid came back. */
		CHECK(s.regs.rdi == (round ? 777UL : (unsigned long)-ENOSYS),
		      "round %d: getpid gave %lld to the code (pid %d)", round,
		      (long long)s.regs.rdi, pid);
	}
}

TEST(ptrace_switch_back_forth, T_DEFAULT)
{
	int a = space_new(), b = space_new(), i, n = 200, last[2] = { -1, -1 };
	pid_t pid = tracee_spawn();

	/* Different data at the same address in each space. */
	space_map_words(a, DATA_ADDR, 1, SEED_A);
	space_map_words(b, DATA_ADDR, 1, SEED_B);
	tracee_switch(pid, a);
	tracee_switch(pid, a);	/* switching to the current space is fine */
	for (i = 0; i < n; i++) {
		int which = (i / 3) % 2;	/* A A A B B B ... also repeats */
		unsigned long v;

		tracee_switch(pid, which ? b : a);
		v = load(pid, DATA_ADDR);
		CHECK(v == (which ? SEED_B : SEED_A), "switch %d to space %c: read %#lx", i,
		      which ? 'B' : 'A', v);
		if (last[which] >= 0) {
			v = load(pid, DATA_ADDR + 16);
			CHECK(v == (unsigned long)last[which], "switch %d: space %c remembers %#lx, expected %d",
			      i, which ? 'B' : 'A', v, last[which]);
		}
		tracee_call(pid, BLOB(blob_store), DATA_ADDR + 16, i, 0, NULL);
		last[which] = i;
	}
}

TEST(ptrace_faultinfo, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid;
	struct ptrace_ex_faultinfo fi;
	/* Trailing canary: the requests must write their struct and nothing more. */
	struct {
		struct ptrace_faultinfo f;
		uint64_t canary;
	} buf;

	OP_OK(op_mmap(fd, DATA_ADDR, PAGE, PROT_READ, ANON_FIXED, -1, 0));
	pid = tracee_in(fd);

	/* Write to a read-only page. */
	tracee_segv(pid, BLOB(blob_store), DATA_ADDR + 0x28, 1, &fi);
	check_fault(&fi, DATA_ADDR + 0x28, 1);
	memset(&buf, 0xa5, sizeof(buf));
	SYSCHK(xptrace(PTRACE_FAULTINFO, pid, 0, (unsigned long)&buf.f));
	CHECK(buf.f.is_write == 1 && buf.f.addr == DATA_ADDR + 0x28,
	      "FAULTINFO after a write fault: is_write %d addr %#lx", buf.f.is_write, buf.f.addr);
	CHECK(buf.canary == 0xa5a5a5a5a5a5a5a5UL, "FAULTINFO wrote past its struct");

	/* Read of an unmapped address. */
	tracee_segv(pid, BLOB(blob_load), FREE_ADDR + 0x123, 0, &fi);
	check_fault(&fi, FREE_ADDR + 0x123, 0);
	memset(&buf, 0xa5, sizeof(buf));
	SYSCHK(xptrace(PTRACE_FAULTINFO, pid, 0, (unsigned long)&buf.f));
	CHECK(buf.f.is_write == 0 && buf.f.addr == FREE_ADDR + 0x123,
	      "FAULTINFO after a read fault: is_write %d addr %#lx", buf.f.is_write, buf.f.addr);

	/* Instruction fetch from an unmapped address. */
	tracee_segv(pid, FREE_ADDR + 0x40, 0, 0, &fi);
	check_fault(&fi, FREE_ADDR + 0x40, 0);
}

TEST(ptrace_ex_faultinfo, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid;
	struct {
		struct ptrace_ex_faultinfo f;
		uint64_t canary;
	} buf;
	struct stop s;

	space_map_words(fd, DATA_ADDR, 1, SEED_A);
	OP_OK(op_mprotect(fd, DATA_ADDR, PAGE, PROT_READ));
	pid = tracee_in(fd);
	CHECK(load(pid, DATA_ADDR) == SEED_A, "load");
	tracee_set(pid, BLOB(blob_store), DATA_ADDR + 0x30, 1, 0);
	tracee_resume(pid, PTRACE_CONT);
	tracee_wait(pid, &s);
	CHECK(s.kind == STOP_SIGNAL && s.sig == SIGSEGV, "expected SIGSEGV, got %s", stop_str(pid, &s));
	memset(&buf, 0xa5, sizeof(buf));
	SYSCHK(xptrace(PTRACE_EX_FAULTINFO, pid, 0, (unsigned long)&buf.f));
	CHECK(buf.f.is_write == 1 && buf.f.addr == DATA_ADDR + 0x30 && buf.f.trap_no == 14,
	      "EX_FAULTINFO: is_write %d addr %#lx trap_no %d", buf.f.is_write, buf.f.addr,
	      buf.f.trap_no);
	CHECK(buf.canary == 0xa5a5a5a5a5a5a5a5UL, "EX_FAULTINFO wrote past its struct");
	/* The faulting instruction is the store in the blob. */
	CHECK(s.regs.rip == BLOB(blob_store), "fault rip %s", blob_sym(s.regs.rip));
}

TEST(ptrace_sigpending, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid = tracee_in(fd);
	struct {
		uint64_t set;
		uint64_t canary;
	} buf;
	const uint64_t usr1 = 1ULL << (SIGUSR1 - 1), usr2 = 1ULL << (SIGUSR2 - 1),
		rt = 1ULL << (40 - 1);

	load(pid, CODE_ADDR);	/* in a syscall stop, inside the space */
	memset(&buf, 0xa5, sizeof(buf));
	SYSCHK(xptrace(PTRACE_SIGPENDING, pid, 0, (unsigned long)&buf.set));
	CHECK(!(buf.set & (usr1 | usr2 | rt)), "signals pending before any was sent: %#llx",
	      (unsigned long long)buf.set);
	CHECK(buf.canary == 0xa5a5a5a5a5a5a5a5UL, "SIGPENDING wrote more than 8 bytes");

	SYSCHK(kill(pid, SIGUSR1));				/* shared (process) queue */
	SYSCHK(syscall(SYS_tgkill, pid, pid, SIGUSR2));		/* private (thread) queue */
	SYSCHK(kill(pid, 40));					/* a real-time signal */
	memset(&buf, 0xa5, sizeof(buf));
	SYSCHK(xptrace(PTRACE_SIGPENDING, pid, 0, (unsigned long)&buf.set));
	CHECK((buf.set & (usr1 | usr2 | rt)) == (usr1 | usr2 | rt),
	      "pending set %#llx lacks SIGUSR1 (kill), SIGUSR2 (tgkill) or signal 40: want bits %#llx",
	      (unsigned long long)buf.set, (unsigned long long)(usr1 | usr2 | rt));
	CHECK(!(buf.set & (1ULL << (SIGTERM - 1))), "SIGTERM reported pending: %#llx",
	      (unsigned long long)buf.set);
	CHECK(buf.canary == 0xa5a5a5a5a5a5a5a5UL, "SIGPENDING wrote more than 8 bytes");
}

/* ---- LDT ---- */

struct desc {
	unsigned long base, limit;
	int type, s, dpl, p, avl, l, d, g;
};

static struct desc decode(const unsigned char *e)
{
	uint32_t lo, hi;
	struct desc d;

	memcpy(&lo, e, 4);
	memcpy(&hi, e + 4, 4);
	d.limit = (lo & 0xffff) | (hi & 0xf0000);
	d.base = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
	d.type = (hi >> 8) & 0xf;
	d.s = (hi >> 12) & 1;
	d.dpl = (hi >> 13) & 3;
	d.p = (hi >> 15) & 1;
	d.avl = (hi >> 20) & 1;
	d.l = (hi >> 21) & 1;
	d.d = (hi >> 22) & 1;
	d.g = (hi >> 23) & 1;
	return d;
}

static void ldt_write(pid_t pid, int func, const struct user_desc *u)
{
	struct ptrace_ldt l = { func, (void *)u, sizeof(*u) };
	long r = xptrace(PTRACE_LDT, pid, 0, (unsigned long)&l);

	CHECK(r == 0, "PTRACE_LDT write (func %#x, entry %u): returned %ld (%s)", func,
	      u->entry_number, r, r < 0 ? errstr(errno) : "-");
}

static struct user_desc data_seg(unsigned int entry, unsigned long base, unsigned int limit,
				 int pages)
{
	struct user_desc u;

	memset(&u, 0, sizeof(u));
	u.entry_number = entry;
	u.base_addr = base;
	u.limit = limit;
	u.seg_32bit = 1;
	u.limit_in_pages = pages;
	u.useable = 1;
	return u;
}

/* Reads the LDT of the tracee's space (bytecount bytes). */
static long ldt_read(pid_t pid, void *buf, unsigned long bytecount)
{
	struct ptrace_ldt l = { 0, buf, bytecount };

	return xptrace(PTRACE_LDT, pid, 0, (unsigned long)&l);
}

static void expect_gs(pid_t pid, unsigned int entry, unsigned long word, unsigned long limit)
{
	struct user_regs_struct r;

	tracee_call(pid, BLOB(blob_gs), SEL(entry), 0, 0, &r);
	CHECK(r.rsi == (word & 0xffffffff) && r.rdx == (word >> 32),
	      "via %%gs = %#x the tracee read %#llx %#llx, expected %#lx %#lx", SEL(entry),
	      (unsigned long long)r.rsi, (unsigned long long)r.rdx, word & 0xffffffff, word >> 32);
	CHECK(r.r8 == 1 && r.r10 == limit, "lsl %#x: zf %lld limit %#llx, expected limit %#lx",
	      SEL(entry), (long long)r.r8, (unsigned long long)r.r10, limit);
}

TEST(ptrace_ldt_rw, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid = tracee_in(fd);
	struct user_desc u = data_seg(3, DATA_ADDR, 0xfff, 0), old;
	unsigned char buf[128];
	struct desc d;
	long r;
	int i;

	/* No LDT yet: a read gives 0 bytes. */
	r = ldt_read(pid, buf, sizeof(buf));
	CHECK(r == 0, "read of an empty LDT: %ld (%s)", r, r < 0 ? errstr(errno) : "-");

	ldt_write(pid, 0x11, &u);
	memset(buf, 0xee, sizeof(buf));
	r = ldt_read(pid, buf, 64);
	/* modify_ldt(0) returns the bytecount asked for, zero-filling past the entries. */
	CHECK(r == 64, "read of 64 bytes of LDT returned %ld (%s)", r, r < 0 ? errstr(errno) : "-");
	CHECK(buf[64] == 0xee, "LDT read wrote past bytecount");
	for (i = 0; i < 8; i++) {
		static const unsigned char zero[8];

		if (i != 3)
			CHECK(!memcmp(buf + 8 * i, zero, 8), "LDT entry %d not empty", i);
	}
	d = decode(buf + 24);
	CHECK(d.base == DATA_ADDR && d.limit == 0xfff && (d.type & 0xe) == 0x2 && d.s == 1 &&
	      d.dpl == 3 && d.p == 1 && d.avl == 1 && d.l == 0 && d.d == 1 && d.g == 0,
	      "LDT entry 3: base %#lx limit %#lx type %#x s %d dpl %d p %d avl %d l %d d %d g %d",
	      d.base, d.limit, d.type, d.s, d.dpl, d.p, d.avl, d.l, d.d, d.g);

	/* Old-mode write (func 1): same, but the "useable" bit is cleared. */
	old = data_seg(4, DATA_ADDR + PAGE, 0x1f, 1);
	ldt_write(pid, 1, &old);
	memset(buf, 0, sizeof(buf));
	CHECK(ldt_read(pid, buf, 40) == 40, "read after the old-mode write");
	d = decode(buf + 32);
	CHECK(d.base == DATA_ADDR + PAGE && d.limit == 0x1f && d.g == 1 && d.avl == 0 && d.p == 1,
	      "LDT entry 4: base %#lx limit %#lx g %d avl %d p %d", d.base, d.limit, d.g, d.avl, d.p);

	/* func 2: the default LDT, all zeroes. */
	memset(buf, 0xee, sizeof(buf));
	{
		struct ptrace_ldt l = { 2, buf, 16 };

		r = xptrace(PTRACE_LDT, pid, 0, (unsigned long)&l);
		CHECK(r == 16 && !buf[0] && !buf[15] && buf[16] == 0xee,
		      "read of the default LDT: %ld (%s)", r, r < 0 ? errstr(errno) : "-");
	}

	/* It was the tracee's space that got the LDT, not ours. */
	errno = 0;
	r = syscall(SYS_modify_ldt, 0, buf, sizeof(buf));
	CHECK(r == 0 || (r == -1 && errno == ENOSYS),
	      "the tracer's own LDT changed: modify_ldt(0) gave %ld", r);
}

TEST(ptrace_ldt_use, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid = tracee_in(fd);
	struct user_desc u;
	struct user_regs_struct r;

	space_map_words(fd, DATA_ADDR, 2, SEED_A);
	u = data_seg(3, DATA_ADDR, 0xfff, 0);
	ldt_write(pid, 0x11, &u);
	expect_gs(pid, 3, SEED_A, 0xfff);

	/* Page-granular limit; base 8 bytes further. */
	u = data_seg(5, DATA_ADDR + 8, 0xf, 1);
	ldt_write(pid, 0x11, &u);
	expect_gs(pid, 5, SEED_A + 1, 0xffff);

	/* Rewriting an entry takes effect at the next load. */
	u = data_seg(3, DATA_ADDR + PAGE, 0x7ff, 0);
	ldt_write(pid, 0x11, &u);
	expect_gs(pid, 3, SEED_A + PAGE / 8, 0x7ff);

	/* An entry that was never written is not a valid selector. */
	tracee_call(pid, BLOB(blob_lsl), SEL(6), 0, 0, &r);
	CHECK(r.r8 == 0, "lsl of empty LDT entry 6 succeeded (limit %#llx)",
	      (unsigned long long)r.r10);

	/* Clearing entry 5 (all-zero "empty" descriptor) invalidates it. */
	memset(&u, 0, sizeof(u));
	u.entry_number = 5;
	u.read_exec_only = 1;
	u.seg_not_present = 1;
	ldt_write(pid, 0x11, &u);
	tracee_call(pid, BLOB(blob_lsl), SEL(5), 0, 0, &r);
	CHECK(r.r8 == 0, "lsl of cleared LDT entry 5 succeeded");
}

/*
 * PTRACE_LDT acts on a pending switch's target, as UML relies on: a guest
 * system call that slept may find the tracee stopped in another guest's
 * space, and UML requests the switch back before its PTRACE_LDT.
 */
TEST(ptrace_ldt_follows_pending_switch, T_DEFAULT)
{
	int a = space_new(), b = space_new();
	pid_t pid = tracee_in(a);
	struct user_desc u = data_seg(2, DATA_ADDR, 0xfff, 0);
	unsigned char buf[32];
	long r;

	space_map_words(a, DATA_ADDR, 1, SEED_A);
	space_map_words(b, DATA_ADDR, 1, SEED_B);
	/* Requested, not yet done: the tracee has not run since. */
	if (xptrace(PTRACE_SWITCH_MM, pid, 0, b))
		FAIL("PTRACE_SWITCH_MM to B: %s", errstr(errno));
	ldt_write(pid, 0x11, &u);
	r = ldt_read(pid, buf, sizeof(buf));
	CHECK(r == (long)sizeof(buf), "read of the pending target's LDT: %ld (%s)", r,
	      r < 0 ? errstr(errno) : "-");

	/* B has the entry (used on B's data), A has none. */
	tracee_switch(pid, b);
	expect_gs(pid, 2, SEED_B, 0xfff);
	tracee_switch(pid, a);
	r = ldt_read(pid, buf, sizeof(buf));
	CHECK(r == 0, "the LDT went to the old space: a read there gave %ld", r);
}

TEST(ptrace_copy_segments, T_DEFAULT)
{
	int a = space_new(), b = space_new(), c = space_new(), d = space_new();
	pid_t pid = tracee_in(a);
	struct user_desc u = data_seg(2, DATA_ADDR, 0xfff, 0);
	unsigned char la[32], lb[32];

	space_map_words(a, DATA_ADDR, 1, SEED_A);
	space_map_words(b, DATA_ADDR, 1, SEED_B);
	space_map_words(c, DATA_ADDR, 1, SEED_C);
	ldt_write(pid, 0x11, &u);
	expect_gs(pid, 2, SEED_A, 0xfff);
	memset(la, 0, sizeof(la));
	CHECK(ldt_read(pid, la, sizeof(la)) == (long)sizeof(la), "read A's LDT");

	/* B gets A's LDT; a tracee in B uses the selector (on B's data). */
	OP_OK(op_copy_segments(b, a));
	tracee_switch(pid, b);
	expect_gs(pid, 2, SEED_B, 0xfff);
	memset(lb, 0, sizeof(lb));
	CHECK(ldt_read(pid, lb, sizeof(lb)) == (long)sizeof(lb), "read B's LDT");
	CHECK(!memcmp(la, lb, sizeof(la)), "B's LDT differs from A's");

	/* Targets that already have an LDT refuse. */
	OP_ERR(op_copy_segments(b, a), EBUSY);
	OP_ERR(op_copy_segments(a, b), EBUSY);

	/* A source without an LDT copies nothing: C still has none afterwards... */
	OP_OK(op_copy_segments(c, d));
	/* ...so it can still take A's. */
	OP_OK(op_copy_segments(c, a));
	tracee_switch(pid, c);
	expect_gs(pid, 2, SEED_C, 0xfff);

	/* A copy, not a share: changing A's entry leaves B's alone. */
	tracee_switch(pid, a);
	u = data_seg(2, DATA_ADDR + 8, 0x3ff, 0);
	ldt_write(pid, 0x11, &u);
	expect_gs(pid, 2, SEED_A + 1, 0x3ff);
	tracee_switch(pid, b);
	expect_gs(pid, 2, SEED_B, 0xfff);
}

TEST(ptrace_copy_segments_lifetime, T_DEFAULT)
{
	/* The copy stays valid after the source space is gone. */
	int a = space_new(), b = space_new();
	pid_t pid = tracee_in(a);
	struct user_desc u = data_seg(7, DATA_ADDR, 0xfff, 0);

	space_map_words(b, DATA_ADDR, 1, SEED_B);
	ldt_write(pid, 0x11, &u);
	OP_OK(op_copy_segments(b, a));
	tracee_kill(pid);
	close(a);
	pid = tracee_in(b);
	expect_gs(pid, 7, SEED_B, 0xfff);
}
