// SPDX-License-Identifier: GPL-2.0
/*
 * Isolation seen from a guest process: every way into a kernel that the CPU
 * offers must reach the guest kernel (or end in a signal), never the host's.
 *
 *  - System calls through the other entry paths: int $0x80 and sysenter from
 *    64-bit code and from a 32-bit code segment, syscall from that segment
 *    too, x32 numbers, the vsyscall page.  The calls chosen (uname, getpid,
 *    gettimeofday's timezone) answer differently on the host: the host's
 *    uname names another release, the carrier's host pid is not the guest
 *    pid, and the guest sets a timezone of its own.  So each check passes
 *    when the buffer is untouched or holds the guest's own answer, and fails
 *    when it holds anything else.  int $0x80 from the 32-bit segment must
 *    come back to 64-bit code, so the trip is known to work.  The 64-bit
 *    argument registers are set to values that make the 64-bit reading of
 *    the same number harmless (fd -1).
 *  - Instructions a user process may not run: each gives the process the
 *    signal the host would give a native process, and nothing else.
 *  - Per-process CPU state that user code writes directly, without a system
 *    call: the SSE control word and a vector register stay each process's
 *    own, also among more processes than skas4 keeps carriers per vCPU;
 *    the GS base (wrgsbase) and the protection-key register (wrpkru),
 *    which the guest kernel does not offer but the host CPU may allow,
 *    never pass from one process to another.
 *  - A process spinning in user mode is preempted.
 *  - A forged FPU state (sigreturn copies the frame's state as it is) never
 *    makes a process run on another process's vector registers: the skas4
 *    carrier is told the state only when it differs from what it holds, and
 *    "holds something unknown" must not be a state a process can forge.
 *
 * Every attempt runs in a child with an alarm, so a wrong path shows up as a
 * failed check rather than a hung or dead suite.
 */
#include "t.h"
#include <cpuid.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>

/* Low fixed pages: 32-bit code can address nothing else. */
#define LOW_CODE	0x20000000UL
#define LOW_DATA	0x20001000UL
#define LOW_STACK_TOP	0x20004000UL

/* Layout of the shared data page, also used by the 32-bit code below. */
#define D_SAVED_RSP	0x00	/* 8 bytes */
#define D_FARPTR	0x08	/* m16:32 to the 32-bit entry */
#define D_METHOD	0x10	/* 0: int $0x80, 1: sysenter, 2: syscall, 3: none */
#define D_RESULT	0x14	/* eax after the call */
#define D_REACHED	0x18	/* set by the 64-bit code after the way back */
#define D_BUF		0x40	/* uname buffer, 390 bytes */

struct low_data {
	uint64_t saved_rsp;
	uint32_t far_off;
	uint16_t far_sel;
	uint16_t pad;
	uint32_t method;
	int32_t result;
	uint32_t reached;
	uint8_t pad2[D_BUF - D_REACHED - 4];
	struct utsname buf;
	long value;		/* results of 64-bit children */
	long pid;
	long step[2];		/* turns taken by each process of a pair */
};

_Static_assert(__builtin_offsetof(struct low_data, far_off) == D_FARPTR, "layout");
_Static_assert(__builtin_offsetof(struct low_data, method) == D_METHOD, "layout");
_Static_assert(__builtin_offsetof(struct low_data, result) == D_RESULT, "layout");
_Static_assert(__builtin_offsetof(struct low_data, reached) == D_REACHED, "layout");
_Static_assert(__builtin_offsetof(struct low_data, buf) == D_BUF, "layout");

/*
 * The trip into a 32-bit code segment (selector 0x23, the host's user
 * 32-bit code segment) and back (0x33).  Assembled here and copied to
 * LOW_CODE, so every absolute address in it is LOW_CODE + offset.
 */
#define STR_(x) #x
#define STR(x) STR_(x)
__asm__(
	"	.pushsection .rodata\n"
	"	.globl trip32_start, trip32_end\n"
	"trip32_start:\n"
	"	.code64\n"
	"	push %rbx\n"
	"	push %rbp\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	mov %rsp, " STR(LOW_DATA) "+" STR(D_SAVED_RSP) "\n"
	/* sysenter's entry reads a word at %esp: it must be mapped. */
	"	mov $" STR(LOW_STACK_TOP) "-64, %esp\n"
	/* A 64-bit process may run with a null %ds; 32-bit code may not. */
	"	mov %ss, %eax\n"
	"	mov %eax, %ds\n"
	"	mov %eax, %es\n"
	"	ljmpl *" STR(LOW_DATA) "+" STR(D_FARPTR) "\n"
	"	.code32\n"
	"trip32_in:\n"
	"	mov $122, %eax\n"			/* i386 newuname */
	"	mov $" STR(LOW_DATA) "+" STR(D_BUF) ", %ebx\n"
	"	mov %esp, %ebp\n"
	"	cmpl $3, " STR(LOW_DATA) "+" STR(D_METHOD) "\n"
	"	je 2f\n"
	"	cmpl $1, " STR(LOW_DATA) "+" STR(D_METHOD) "\n"
	"	je 1f\n"
	"	cmpl $2, " STR(LOW_DATA) "+" STR(D_METHOD) "\n"
	"	je 3f\n"
	"	int $0x80\n"
	"	jmp 2f\n"
	"1:	sysenter\n"
	"	jmp 2f\n"
	/* Intel CPUs raise #UD here; AMD's enter the host's compat path. */
	"3:	syscall\n"
	"2:	mov %eax, " STR(LOW_DATA) "+" STR(D_RESULT) "\n"
	"	ljmpl $0x33, $" STR(LOW_CODE) "+(trip32_back-trip32_start)\n"
	"	.code64\n"
	"trip32_back:\n"
	"	movl $1, " STR(LOW_DATA) "+" STR(D_REACHED) "\n"
	"	mov " STR(LOW_DATA) "+" STR(D_SAVED_RSP) ", %rsp\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbp\n"
	"	pop %rbx\n"
	"	ret\n"
	"trip32_in_off: .long trip32_in-trip32_start\n"
	"	.globl trip32_in_off\n"
	"trip32_end:\n"
	"	.popsection\n");

extern const unsigned char trip32_start[], trip32_end[];
extern const uint32_t trip32_in_off;

static struct low_data *low;
static struct utsname guest_uts;

static void reset_low(void)
{
	memset(low, 0, sizeof(*low));
	memset(&low->buf, 0xaa, sizeof(low->buf));
	low->value = 0x5a5a5a5a;
}

static int buf_untouched(void)
{
	const unsigned char *b = (const unsigned char *)&low->buf;

	for (size_t i = 0; i < sizeof(low->buf); i++)
		if (b[i] != 0xaa)
			return 0;
	return 1;
}

/* The child ended by itself or by a fault: not by its alarm (a hang). */
static int ended(int st)
{
	return st != -1 && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM);
}

/* The uname buffer holds nothing, or the guest's own answer. */
static void check_uname(const char *name, int st)
{
	if (!ended(st))
		t_fail(name, "the child did not end by itself: %s", how(st));
	else if (buf_untouched())
		t_ok(name);
	else if (memcmp(&low->buf, &guest_uts, sizeof(guest_uts)) == 0)
		t_ok(name);
	else
		t_fail(name, "the call wrote release \"%.64s\" (the guest is \"%s\"): "
		       "a host kernel answered; the child ended with %s",
		       low->buf.release, guest_uts.release, how(st));
	t_note("%s: child %s, untouched %d", name, how(st), buf_untouched());
}

/* --- other system call entries --------------------------------------------------- */

static long int80(long nr, long b)
{
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(b), "c"(0L), "d"(0L), "D"(-1L), "S"(-1L)
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

static long x32_call(long nr, long a)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr | 0x40000000L), "D"(a), "S"(-1L), "d"(0L)
			 : "memory", "rcx", "r11");
	return ret;
}

static void int80_uname_child(void)
{
	low->value = int80(122, (long)&low->buf);
}

static void int80_getpid_child(void)
{
	low->pid = getpid();
	low->value = int80(20, 0);
}

static void x32_uname_child(void)
{
	low->value = x32_call(63, (long)&low->buf);
}

static void x32_getpid_child(void)
{
	low->pid = getpid();
	low->value = x32_call(39, 0);
}

static void sysenter64_child(void)
{
	long a = 122, di = -1, si = -1;

	/* sysenter does not keep the return address: if it comes back at
	 * all, it is somewhere else, and the child ends there.  Its entry
	 * reads a word at the 32-bit %esp, so the stack is the low one.
	 */
	__asm__ volatile("push %%rbp\n\tmov %%rsp, %%r12\n\t"
			 "mov $" STR(LOW_STACK_TOP) "-64, %%esp\n\tmov %%esp, %%ebp\n\t"
			 "sysenter\n\tmov %%r12, %%rsp\n\tpop %%rbp"
			 : "+a"(a), "+D"(di), "+S"(si)
			 : "b"((long)&low->buf)
			 : "memory", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12");
	low->value = a;
}

static void trip32_child(void)
{
	((void (*)(void))LOW_CODE)();
}

static void vsyscall_child(void)
{
	long (*vtime)(long *) = (long (*)(long *))0xffffffffff600400UL;

	low->value = vtime(NULL);
}

/*
 * gettimeofday's timezone is the kernel's own (settimeofday sets it), not
 * the clock: a distinctive one in the guest tells the kernels apart.
 */
#define GUEST_TZ_MINUTES	567	/* within settimeofday's +-15 hours */

static void vsyscall_tz_child(void)
{
	long (*vgtod)(struct timeval *, struct timezone *) =
		(long (*)(struct timeval *, struct timezone *))0xffffffffff600000UL;
	struct timezone tz = { -1, -1 };
	struct timeval tv;

	low->result = (int32_t)vgtod(&tv, &tz);
	low->value = tz.tz_minuteswest;
}

static void check_pid(const char *name, int st)
{
	/* Passing: killed, an error, or the guest's pid; a host pid fails. */
	int ok = ended(st) &&
		 (!WIFEXITED(st) || low->value < 0 || low->value == low->pid);

	t_check(name, ok, "returned %ld, the guest pid is %ld: a host kernel answered",
		low->value, low->pid);
	t_note("%s: child %s, value %ld", name, how(st), low->value);
}

static void entries(void)
{
	static const struct {
		const char *name;
		void (*child)(void);
		void (*check)(const char *name, int st);
	} calls[] = {
		{ "int80-uname-from-64bit", int80_uname_child, check_uname },
		{ "int80-getpid-from-64bit", int80_getpid_child, check_pid },
		{ "x32-uname", x32_uname_child, check_uname },
		{ "x32-getpid", x32_getpid_child, check_pid },
		{ "sysenter-from-64bit", sysenter64_child, check_uname },
	};
	int st;

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		reset_low();
		st = in_child(calls[i].child);
		calls[i].check(calls[i].name, st);
	}

	static const char *const trips[] = { "int80-from-32bit-segment",
					     "sysenter-from-32bit-segment",
					     "syscall-from-32bit-segment" };
	int trip_works, int80_back = 0;

	/* First a trip with no call: hosts without 32-bit code refuse 0x23. */
	reset_low();
	low->method = 3;
	low->far_off = (uint32_t)LOW_CODE + trip32_in_off;
	low->far_sel = 0x23;
	st = in_child(trip32_child);
	trip_works = WIFEXITED(st) && WEXITSTATUS(st) == 0 && low->reached == 1;
	t_note("32-bit trip without a call: child %s, came back %u", how(st), low->reached);

	for (uint32_t m = 0; m < 3; m++) {
		reset_low();
		low->method = m;
		low->far_off = (uint32_t)LOW_CODE + trip32_in_off;
		low->far_sel = 0x23;
		st = in_child(trip32_child);
		check_uname(trips[m], st);
		t_note("%s: result %d, came back %u", trips[m], low->result, low->reached);
		if (m == 0)
			int80_back = WIFEXITED(st) && WEXITSTATUS(st) == 0 && low->reached == 1;
	}
	/*
	 * int $0x80 is the system call every x86 kernel takes: where 32-bit
	 * code runs at all, the guest's must return to it, and it comes back
	 * (else the int80 check above saw no trip).  What it answered is the
	 * guest's affair: UML has no 32-bit system calls and reads the number
	 * as a 64-bit one.
	 */
	if (trip_works)
		t_check("int80-from-32bit-segment-came-back", int80_back,
			"the trip without a call came back, the one with int $0x80 did not");
	else
		t_skip("int80-from-32bit-segment-came-back",
		       "this host runs no 32-bit code (far jump to 0x23 failed)");

	/* vsyscall: time() is the same on both sides, so only the guest's
	 * survival and a sane answer (or a signal) are checked.
	 */
	reset_low();
	st = in_child(vsyscall_child);
	{
		long now = time(NULL);
		int ok = !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
			 (low->value > now - 600 && low->value < now + 600);

		t_check("vsyscall-time", st != -1 && ok, "child %s, value %ld, now %ld",
			how(st), low->value, now);
		t_note("vsyscall-time: child %s", how(st));
	}

	/* Passing: a signal, an error, or the guest's timezone. */
	struct timezone tz = { GUEST_TZ_MINUTES, 0 }, utc = { 0, 0 };

	if (syscall(SYS_settimeofday, NULL, &tz) != 0) {
		t_skip("vsyscall-gettimeofday-timezone", "settimeofday: %s", strerror(errno));
		return;
	}
	reset_low();
	st = in_child(vsyscall_tz_child);
	syscall(SYS_settimeofday, NULL, &utc);

	/*
	 * On a host that emulates vsyscalls (vsyscall=xonly) the emulation
	 * consults seccomp but not PTRACE_SYSEMU or Syscall User Dispatch:
	 * in every mode a filter on the process traps it.  The VM suite boots
	 * its hosts with vsyscall=xonly so this runs in every mode.
	 */
	int host_answered = ended(st) && WIFEXITED(st) && low->result == 0 &&
			    low->value != GUEST_TZ_MINUTES;

	t_check("vsyscall-gettimeofday-timezone", ended(st) && !host_answered,
		"child %s, returned %d with timezone %ld (the guest's is %d): a host kernel answered",
		how(st), low->result, low->value, GUEST_TZ_MINUTES);
	t_note("vsyscall-gettimeofday-timezone: child %s, returned %d, timezone %ld", how(st),
	       low->result, low->value);
}

/* --- instructions a user process may not run ------------------------------------ */

static void do_int3(void) { __asm__ volatile("int3"); }
static void do_ud2(void) { __asm__ volatile("ud2"); }
static void do_hlt(void) { __asm__ volatile("hlt"); }
static void do_cli(void) { __asm__ volatile("cli"); }
static void do_in(void) { __asm__ volatile("inb $0x80, %%al" : : : "eax"); }
static void do_cr3(void) { unsigned long v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); }
static void do_int81(void) { __asm__ volatile("int $0x81"); }
static void do_bad_ds(void) { __asm__ volatile("mov %0, %%ds" : : "r"(0x1234)); }
static void do_bad_gs(void) { __asm__ volatile("mov %0, %%gs" : : "r"(0x2fff)); }
static void do_good_ds(void) { __asm__ volatile("mov %0, %%ds" : : "r"(0x2b)); }

static void instructions(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
		int sig;	/* 0: must exit normally */
	} cases[] = {
		{ "int3-gives-sigtrap", do_int3, SIGTRAP },
		{ "ud2-gives-sigill", do_ud2, SIGILL },
		{ "hlt-gives-sigsegv", do_hlt, SIGSEGV },
		{ "cli-gives-sigsegv", do_cli, SIGSEGV },
		{ "port-io-gives-sigsegv", do_in, SIGSEGV },
		{ "cr3-read-gives-sigsegv", do_cr3, SIGSEGV },
		{ "int81-gives-sigsegv", do_int81, SIGSEGV },
		{ "bad-ds-load-gives-sigsegv", do_bad_ds, SIGSEGV },
		{ "bad-gs-load-gives-sigsegv", do_bad_gs, SIGSEGV },
		{ "user-ds-load-is-fine", do_good_ds, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = in_child(cases[i].fn);
		int ok = cases[i].sig ? WIFSIGNALED(st) && WTERMSIG(st) == cases[i].sig
				      : WIFEXITED(st) && WEXITSTATUS(st) == 0;

		t_check(cases[i].name, ok, "the child ended with %s", how(st));
	}
}

/* --- per-process state written without a system call ---------------------------- */

/* A yield as a raw syscall, so that nothing between the write of the state
 * and its read back (not even libc) touches it.
 */
#define YIELD_KEEPING(body_in, body_out, ...)                                  \
	__asm__ volatile(body_in "\n\tmov $24, %%eax\n\tsyscall\n\t" body_out \
			 __VA_ARGS__)

static int turns = 300;
static int me;			/* 0 or 1: which process of the pair */
static long other_moves;	/* times the other's step changed under us */

/* Counts a turn, and whether the other process moved since our last. */
static void mark_turn(void)
{
	static long last = -1;
	long other = __atomic_load_n(&low->step[1 - me], __ATOMIC_RELAXED);

	__atomic_add_fetch(&low->step[me], 1, __ATOMIC_RELAXED);
	if (last != -1 && other != last)
		other_moves++;
	last = other;
}

static int keep_vector(uint64_t mine)
{
	for (int i = 0; i < turns; i++) {
		mark_turn();
		uint64_t seen;

		YIELD_KEEPING("movq %1, %%xmm15", "movq %%xmm15, %0",
			      : "=r"(seen) : "r"(mine) : "rax", "rcx", "r11", "xmm15", "memory");
		if (seen != mine)
			return 1;
	}
	return 0;
}

static int keep_mxcsr(uint32_t mine)
{
	for (int i = 0; i < turns; i++) {
		mark_turn();
		uint32_t seen;

		YIELD_KEEPING("ldmxcsr %1", "stmxcsr %0",
			      : "=m"(seen) : "m"(mine) : "rax", "rcx", "r11", "memory");
		if (seen != mine)
			return 1;
	}
	return 0;
}

/*
 * The GS base and PKRU: the guest kernel does not offer them (no
 * HWCAP2_FSGSBASE; no pkey system calls), but the host CPU lets user code
 * write them.  What must hold is that one process's value never shows in
 * another: the writer sets its value before every yield, the reader never
 * reads it.
 */
#define GS_MINE		0x0000555511110000ULL
#define PKRU_MINE	0x5555555cU	/* key 1: no access, no write */

static int write_gsbase(void)
{
	for (int i = 0; i < turns; i++) {
		mark_turn();
		YIELD_KEEPING("wrgsbase %0", "", : : "r"(GS_MINE) : "rax", "rcx", "r11", "memory");
	}
	return 0;
}

static int read_gsbase(void)
{
	for (int i = 0; i < turns; i++) {
		mark_turn();
		uint64_t seen;

		YIELD_KEEPING("", "rdgsbase %0", : "=r"(seen) : : "rax", "rcx", "r11", "memory");
		if (seen == GS_MINE)
			return 1;
	}
	return 0;
}

static int write_pkru(void)
{
	for (int i = 0; i < turns; i++) {
		mark_turn();
		YIELD_KEEPING("xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\tmov %0, %%eax\n\twrpkru",
			      "", : : "r"(PKRU_MINE) : "rax", "rcx", "rdx", "r11", "memory");
	}
	return 0;
}

static int read_pkru(void)
{
	for (int i = 0; i < turns; i++) {
		mark_turn();
		uint32_t seen;

		YIELD_KEEPING("", "xor %%ecx, %%ecx\n\trdpkru\n\tmov %%eax, %0",
			      : "=r"(seen) : : "rax", "rcx", "rdx", "r11", "memory");
		if (seen == PKRU_MINE)
			return 1;
	}
	return 0;
}

/*
 * Two flags user code sets with popf: nested task, which x86-64 ptrace
 * sets, and ID, which it does not (its SETREGS keeps it as it was).  A
 * host process that runs one guest process after another (skas3's, the
 * carrier of skas4) must hand neither on.  Each pushf/popf steps below the
 * red zone.
 */
#define FLAGS_MINE	(0x4000UL | 0x200000UL)	/* X86_EFLAGS_NT | X86_EFLAGS_ID */

static int write_eflags(void)
{
	for (int i = 0; i < turns; i++) {
		mark_turn();
		YIELD_KEEPING("lea -128(%%rsp), %%rsp\n\tpushfq\n\torq %0, (%%rsp)\n\t"
			      "popfq\n\tlea 128(%%rsp), %%rsp", "",
			      : : "r"(FLAGS_MINE) : "rax", "rcx", "r11", "memory", "cc");
	}
	return 0;
}

static int read_eflags(void)
{
	for (int i = 0; i < turns; i++) {
		mark_turn();
		unsigned long seen;

		YIELD_KEEPING("", "lea -128(%%rsp), %%rsp\n\tpushfq\n\tpopq %0\n\t"
			      "lea 128(%%rsp), %%rsp",
			      : "=r"(seen) : : "rax", "rcx", "r11", "memory", "cc");
		if (seen & FLAGS_MINE)
			return 1;
	}
	return 0;
}

enum state_kind { VECTOR, MXCSR, GSBASE, PKRU, EFLAGS };

static int part(enum state_kind k, int which);

/*
 * Process 0 and 1 of a pair; exit 1: it read the other's value, exit 2:
 * the two never took turns (so the check would have proved nothing).
 */
static int play(enum state_kind k, int which)
{
	int r = part(k, which);

	return r ? r : other_moves >= turns / 10 ? 0 : 2;
}

static int part(enum state_kind k, int which)
{
	/* Both start together: neither may finish before the other began. */
	me = which;
	__atomic_store_n(&low->step[me], 1, __ATOMIC_RELAXED);
	while (!__atomic_load_n(&low->step[1 - me], __ATOMIC_RELAXED))
		sched_yield();
	switch (k) {
	case VECTOR:
		return keep_vector(which ? 0x0123456789abcdefULL : 0xfedcba9876543210ULL);
	case MXCSR:
		return keep_mxcsr(which ? 0x1f80 | (3 << 13) : 0x1f80 | (1 << 13));
	case GSBASE:
		return which ? read_gsbase() : write_gsbase();
	case PKRU:
		return which ? read_pkru() : write_pkru();
	case EFLAGS:
		return which ? read_eflags() : write_eflags();
	}
	return 1;
}

/*
 * Two processes take turns on one CPU (vCPU 0: with more, they would run
 * beside each other, each on its own, and not take turns), each playing
 * its part.
 */
static void pair(const char *name, enum state_kind k)
{
	pid_t pid[2];
	int st[2] = { -1, -1 };
	cpu_set_t cpu0;

	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	low->step[0] = low->step[1] = 0;
	for (int w = 0; w < 2; w++) {
		pid[w] = fork();
		if (pid[w] == 0) {
			alarm(20);
			if (sched_setaffinity(0, sizeof(cpu0), &cpu0))
				_exit(3);
			_exit(play(k, w));
		}
	}
	for (int w = 0; w < 2; w++)
		if (pid[w] > 0)
			waitpid(pid[w], &st[w], 0);
	t_check(name, WIFEXITED(st[0]) && WEXITSTATUS(st[0]) == 0 &&
		      WIFEXITED(st[1]) && WEXITSTATUS(st[1]) == 0,
		"first process %s, second %s (exit 1: it read the other's value; "
		"exit 2: the two did not take turns; 3: could not pin them)",
		how(st[0]), how(st[1]));
}

/*
 * More processes than skas4 keeps carriers on a vCPU (skas4_carriers=, at
 * most 8) take turns on CPU 0, each keeping a value of its own in a vector
 * register and in MXCSR across yields.  Carriers then keep moving between
 * their spaces, and every move must load the process's own state.
 */
#define CROWD 12

struct crowd {
	long ready;		/* members at the start line */
	long turns;		/* turns taken by all, in order */
};

/* Exit 1: it read another's value; 2: nobody ran between its turns. */
static int crowd_member(struct crowd *c, int i)
{
	uint64_t mine = 0x0101010101010101ULL * (uint64_t)(i + 1) ^ 0x8040201008040201ULL;
	/* Each its own: rounding control, flush-to-zero, denormals-are-zero. */
	uint32_t csr = 0x1f80 | (uint32_t)(i & 3) << 13 | (uint32_t)(i >> 2 & 1) << 15 |
		       (uint32_t)(i >> 3 & 1) << 6;
	long last = -1, others_ran = 0;

	__atomic_add_fetch(&c->ready, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&c->ready, __ATOMIC_RELAXED) < CROWD)
		sched_yield();
	for (int t = 0; t < turns; t++) {
		long now = __atomic_add_fetch(&c->turns, 1, __ATOMIC_RELAXED);
		uint64_t seen;
		uint32_t seen_csr;

		if (last != -1 && now != last + 1)
			others_ran++;
		last = now;
		YIELD_KEEPING("movq %2, %%xmm15\n\tldmxcsr %3",
			      "movq %%xmm15, %0\n\tstmxcsr %1",
			      : "=r"(seen), "=m"(seen_csr) : "r"(mine), "m"(csr)
			      : "rax", "rcx", "r11", "xmm15", "memory");
		if (seen != mine || seen_csr != csr)
			return 1;
	}
	return others_ran >= turns / 10 ? 0 : 2;
}

static void crowd(void)
{
	const char *name = "vector-state-per-process-in-a-crowd";
	struct crowd *c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid[CROWD];
	int st, bad = 0, worst = 0;
	cpu_set_t cpu0;

	if (c == MAP_FAILED) {
		t_fail(name, "mmap: %s", strerror(errno));
		return;
	}
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	for (int i = 0; i < CROWD; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			alarm(60);
			if (sched_setaffinity(0, sizeof(cpu0), &cpu0))
				_exit(3);
			_exit(crowd_member(c, i));
		}
	}
	for (int i = 0; i < CROWD; i++) {
		st = -1;
		if (pid[i] < 0 || waitpid(pid[i], &st, 0) != pid[i] ||
		    !WIFEXITED(st) || WEXITSTATUS(st)) {
			if (!bad++)
				worst = st;
		}
	}
	t_check(name, !bad,
		"%d of %d processes failed, the first %s (exit 1: it read another's value; "
		"2: nobody ran between its turns; 3: could not pin it)",
		bad, CROWD, how(worst));
	munmap(c, sizeof(*c));
}

static void gsbase_probe(void) { __asm__ volatile("wrgsbase %0" : : "r"(0UL)); }

/* The CPU flags of /proc/cpuinfo (UML shows the host's) name this one. */
static int cpu_flag(const char *flag)
{
	char line[4096];
	size_t n = strlen(flag);
	int found = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && !found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		for (char *p = strstr(line, flag); p && !found; p = strstr(p + 1, flag))
			found = p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n');
	}
	if (f)
		fclose(f);
	return found;
}

static void cpu_state(void)
{
	unsigned int a, b, c, d;
	int st = in_child(gsbase_probe);

	pair("vector-register-per-process", VECTOR);
	pair("mxcsr-per-process", MXCSR);
	crowd();
	pair("eflags-nt-id-do-not-leak", EFLAGS);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGILL)
		t_skip("gsbase-does-not-leak", "the host CPU does not let user code use wrgsbase");
	else if (!cpu_flag("fsgsbase"))
		/* wrgsbase works but the host kernel does not know it (a
		 * hypervisor's CR4): the host's own processes share the GS
		 * base, so no guest kernel can keep it apart.
		 */
		t_skip("gsbase-does-not-leak", "the host kernel does not manage FSGSBASE "
		       "although the CPU allows it: its own processes share the GS base");
	else
		pair("gsbase-does-not-leak", GSBASE);
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 4)))	/* OSPKE */
		pair("pkru-does-not-leak", PKRU);
	else
		t_skip("pkru-does-not-leak", "no protection keys enabled on this CPU");
}

/* --- a forged FPU state gets no other process's registers ------------------------- */

#define FPU_SECRET	0x5ec2e75ec2e75ec2ULL
#define FORGERS		8

/* One vector register's worth of the secret. */
static const uint64_t fpu_secret[2] __attribute__((aligned(16))) = { FPU_SECRET, FPU_SECRET };

/* The victim: every vector register holds the secret while it spins. */
static void secret_spinner(void)
{
	alarm(60);
	__asm__ volatile("movdqa (%0), %%xmm0\n\tmovdqa (%0), %%xmm1\n\t"
			 "movdqa (%0), %%xmm2\n\tmovdqa (%0), %%xmm3\n\t"
			 "movdqa (%0), %%xmm4\n\tmovdqa (%0), %%xmm5\n\t"
			 "movdqa (%0), %%xmm6\n\tmovdqa (%0), %%xmm7\n\t"
			 "movdqa (%0), %%xmm8\n\tmovdqa (%0), %%xmm9\n\t"
			 "movdqa (%0), %%xmm10\n\tmovdqa (%0), %%xmm11\n\t"
			 "movdqa (%0), %%xmm12\n\tmovdqa (%0), %%xmm13\n\t"
			 "movdqa (%0), %%xmm14\n\tmovdqa (%0), %%xmm15\n\t"
			 "1: pause\n\tjmp 1b" : : "r"(fpu_secret) : "memory");
	_exit(0);
}

/* The size of the frame's state: XSAVE's for the enabled features. */
static size_t xsave_size(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d) || b < 512)
		return 512;
	return b;
}

/* All 0xff: an invalid state (MXCSR's reserved bits), as a frame may hold. */
static void forge_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	(void)sig;
	(void)si;
	memset(uc->uc_mcontext.fpregs, 0xff, xsave_size());
}

/*
 * A forger: its parent traces it up to the return of its sigreturn (its
 * forged state loaded in the guest kernel, not yet run), then lets it go.
 * If it ever runs, it looks for the secret in its vector registers: exit
 * status 42 if it is there.
 */
static void forger(void)
{
	struct sigaction sa = { .sa_sigaction = forge_handler, .sa_flags = SA_SIGINFO };
	unsigned char fx[512] __attribute__((aligned(16)));
	uint64_t *xmm = (uint64_t *)(fx + 160);

	alarm(60);
	sigaction(SIGUSR1, &sa, NULL);
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(2);
	raise(SIGSTOP);
	raise(SIGUSR1);
	__asm__ volatile("fxsave %0" : "=m"(fx));
	for (int i = 0; i < 32; i++)
		if (xmm[i] == FPU_SECRET)
			_exit(42);
	_exit(0);
}

/* Drives the traced @pid to the exit of its rt_sigreturn; 0 when there. */
static int to_sigreturn_exit(pid_t pid)
{
	int st, in_call = 0, sig = 0;

	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP ||
	    ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_TRACESYSGOOD))
		return -1;
	for (int stops = 0; stops < 100; stops++) {
		struct user_regs_struct r;

		if (ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig) ||
		    waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
			return -1;
		sig = 0;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80)) {
			sig = WSTOPSIG(st);	/* SIGUSR1: deliver it */
			continue;
		}
		in_call = !in_call;
		if (ptrace(PTRACE_GETREGS, pid, NULL, &r))
			return -1;
		if (!in_call && r.orig_rax == SYS_rt_sigreturn)
			return 0;
	}
	return -1;
}

static void forged_fpu_state(void)
{
	pid_t victim, f[FORGERS];
	int leaked = 0, ran = 0, ready = 0;

	victim = fork();
	if (victim == 0)
		secret_spinner();
	for (int i = 0; i < FORGERS; i++) {
		f[i] = fork();
		if (f[i] == 0)
			forger();
		if (f[i] > 0 && to_sigreturn_exit(f[i]) == 0)
			ready++;
	}
	usleep(50000);
	/*
	 * Whatever ran last holds the secret: the spinning victim, or this
	 * process, which lets them go with the secret in its upper vector
	 * registers (libc's system call wrappers leave them alone).
	 */
	__asm__ volatile("movdqa (%0), %%xmm8\n\tmovdqa (%0), %%xmm9\n\t"
			 "movdqa (%0), %%xmm10\n\tmovdqa (%0), %%xmm11\n\t"
			 "movdqa (%0), %%xmm12\n\tmovdqa (%0), %%xmm13\n\t"
			 "movdqa (%0), %%xmm14\n\tmovdqa (%0), %%xmm15"
			 : : "r"(fpu_secret) : "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
			 "xmm13", "xmm14", "xmm15");
	for (int i = 0; i < FORGERS; i++)
		if (f[i] > 0)
			ptrace(PTRACE_DETACH, f[i], NULL, NULL);
	for (int i = 0; i < FORGERS; i++) {
		int st;

		if (f[i] <= 0 || waitpid(f[i], &st, 0) != f[i])
			continue;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 42)
			leaked++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ran++;
	}
	if (victim > 0) {
		kill(victim, SIGKILL);
		waitpid(victim, NULL, 0);
	}
	if (ready != FORGERS)
		t_fail("forged-fpu-state-leaks-nothing", "only %d of %d forgers reached their sigreturn",
		       ready, FORGERS);
	else
		t_check("forged-fpu-state-leaks-nothing", !leaked,
			"%d of %d processes with a forged FPU state ran on the victim's vector registers",
			leaked, FORGERS);
	t_note("forged FPU state: %d of %d forgers ran on registers of their own, %d on the victim's",
	       ran, FORGERS, leaked);
}

/* --- a spinning process is preempted ---------------------------------------------- */

static void preemption(void)
{
	struct timespec t0, t1, nap = { 0, 20 * 1000 * 1000 };
	pid_t spinner = fork();
	double waited;

	if (spinner == 0) {
		alarm(30);
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 10; i++)
		nanosleep(&nap, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (spinner > 0) {
		kill(spinner, SIGKILL);
		waitpid(spinner, NULL, 0);
	}
	waited = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* Ten 20 ms naps beside a spinner: a few seconds at the very most
	 * on a slow emulated host, never the spinner's 30 s alarm.
	 */
	t_check("spinner-is-preempted", spinner > 0 && waited < 10.0,
		"ten 20 ms naps took %.1f s beside a spinning process", waited);
}

int main(void)
{
	void *code, *data, *stack;

	uname(&guest_uts);
	code = mmap((void *)LOW_CODE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	data = mmap((void *)LOW_DATA, 4096, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	stack = mmap((void *)(LOW_STACK_TOP - 8192), 8192, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (code != (void *)LOW_CODE || data != (void *)LOW_DATA ||
	    stack != (void *)(LOW_STACK_TOP - 8192)) {
		t_fail("low-pages", "mmap at %#lx: %s", LOW_CODE, strerror(errno));
		return t_exit();
	}
	memcpy(code, trip32_start, (size_t)(trip32_end - trip32_start));
	low = data;

	entries();
	instructions();
	cpu_state();
	forged_fpu_state();
	preemption();
	return t_exit();
}
