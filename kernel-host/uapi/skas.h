/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * User-space ABI of the uml-skas host module: /proc/mm and the skas ptrace
 * extensions.  x86_64 only.  This interface is fixed: the UML kernel, the
 * tests and outside tools include this file as it is.
 *
 * See docs/host-support.md for the reference.
 */
#ifndef _UAPI_UML_SKAS_H
#define _UAPI_UML_SKAS_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/* Operations written to a /proc/mm file descriptor. */
#define MM_MMAP			54
#define MM_MUNMAP		55
#define MM_MPROTECT		56
#define MM_COPY_SEGMENTS	57

struct mm_mmap {
	unsigned long addr;
	unsigned long len;
	unsigned long prot;
	unsigned long flags;
	unsigned long fd;
	unsigned long offset;
};

struct mm_munmap {
	unsigned long addr;
	unsigned long len;
};

struct mm_mprotect {
	unsigned long addr;
	unsigned long len;
	unsigned int prot;
};

/*
 * One operation.  A write() may carry several back to back; it returns the
 * bytes of the operations applied, or -1 with the errno of the first one if
 * that one failed.
 */
struct proc_mm_op {
	int op;
	union {
		struct mm_mmap mmap;
		struct mm_munmap munmap;
		struct mm_mprotect mprotect;
		int copy_segments;
	} u;
};

/* Most operations one write() may carry; more is E2BIG. */
#define PROC_MM_MAX_OPS		1024

/*
 * ptrace(2) requests; each takes its argument in ptrace's data.
 * PTRACE_FAULTINFO reports addr 0, is_write 0 when the stop is not a fault.
 */
#define PTRACE_FAULTINFO	52
#define PTRACE_SIGPENDING	53
#define PTRACE_LDT		54
#define PTRACE_SWITCH_MM	55
#define PTRACE_EX_FAULTINFO	56

struct ptrace_faultinfo {
	int is_write;
	unsigned long addr;
};

/*
 * The fault behind the tracee's current stop.  trap_no is -1 (and the
 * rest 0) when the stop is not for a fault the kernel raised: another
 * signal, or a SIGSEGV someone sent.  error_code is the x86 error code
 * of the fault (X86_PF_* bits for trap 14); it sits in what was padding
 * in the first version of this structure, which the module always
 * zeroed, so a zero there means a module without it.
 */
struct ptrace_ex_faultinfo {
	int is_write;
	unsigned long addr;
	int trap_no;
	unsigned int error_code;
};

struct ptrace_ldt {
	int func;
	void *ptr;
	unsigned long bytecount;
};

/*
 * /dev/uml-skas: carriers, for skas4 mode.  The device exists unless the
 * module is loaded with carrier=0.  SKAS_CARRIER_VERSION says which
 * version of this part of the interface a caller speaks.
 *
 * One open file per virtual CPU.  A carrier is a process of the opener's
 * that gives itself up to the module with SKAS_CARRIER_ENTER and never
 * runs its own code again: from then on it runs guest code in /proc/mm
 * address spaces, and every system call, fault or signal of that code
 * stops it in the host kernel.  SKAS_CARRIER_RUN (from any other task
 * holding the file) loads registers into it, moves it into an address
 * space, lets it run, and returns when it stops, with the reason.
 */
#define SKAS_CARRIER_VERSION	2

/* Registers, in the order and meaning of struct user_regs_struct. */
struct skas_regs {
	__u64 r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	__u64 rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss;
	__u64 fs_base, gs_base, ds, es, fs, gs;
};

/* Why SKAS_CARRIER_RUN returned (struct skas_exit.reason). */
#define SKAS_EXIT_SYSCALL	1	/* a system call; nr in .syscall */
#define SKAS_EXIT_FAULT		2	/* page fault: .addr, .error_code */
#define SKAS_EXIT_SIGNAL	3	/* another signal: .signo, .code */
#define SKAS_EXIT_KICK		4	/* SKAS_CARRIER_KICK or a signal to the runner */
#define SKAS_EXIT_DEAD		5	/* the carrier is gone */
#define SKAS_EXIT_REFUSED	6	/* could not switch to mm_fd or apply ops: errno in .code */

struct skas_exit {
	__u32 reason;
	__s32 signo;		/* SIGSYS, SIGSEGV, ...; 0 for KICK, DEAD */
	__s32 code;		/* siginfo si_code */
	__s32 trap_nr;		/* x86 trap number, -1 if not from a trap */
	__u64 addr;		/* faulting address (si_addr) */
	__u64 error_code;	/* x86 error code of the trap */
	__s64 syscall;		/* system call number (SYSCALL) */
	__u64 reserved[3];	/* zero */
};

/*
 * struct skas_run.flags: the FPU and extended state travels with the RUN,
 * in the layout of struct skas_xstate's buffer (below), so that a guest
 * event costs one request.  Loading it fails the RUN before anything
 * happened if the kernel's checks refuse it (reserved bits, MXCSR).  It
 * is stored at every stop but DEAD.
 */
#define SKAS_RUN_XSTATE_IN	_BITULL(0)	/* load xstate into the carrier first */
#define SKAS_RUN_XSTATE_OUT	_BITULL(1)	/* store the carrier's into xstate at the stop */

struct skas_run {
	__u32 version;		/* in: SKAS_CARRIER_VERSION */
	__s32 mm_fd;		/* in: /proc/mm file to run in; -1: the same as before */
	__u64 flags;		/* in: SKAS_RUN_* */
	__u64 ops;		/* in: struct proc_mm_op[nr_ops], applied to that space first */
	__u32 nr_ops;		/* in: at most PROC_MM_MAX_OPS */
	__u32 ops_done;		/* out: how many were applied */
	__s32 ops_err;		/* out: errno of the first that failed (stop REFUSED), or 0 */
	__u32 xstate_size;	/* in: with SKAS_RUN_XSTATE_*, SKAS_CARRIER_XSTATE_SIZE's; else 0 */
	__u64 xstate;		/* in: user pointer to xstate_size bytes, or 0 */
	struct skas_regs regs;	/* in: registers to load; out: at the stop */
	struct skas_exit exit;	/* out */
};

/*
 * The carrier's FPU and extended state, in the standard (uncompacted)
 * XSAVE layout of PTRACE_GETREGSET NT_X86_XSTATE.  size must be exactly
 * what SKAS_CARRIER_XSTATE_SIZE returns.  Only while the carrier is
 * stopped, by its runner.
 */
struct skas_xstate {
	__u64 buf;		/* user pointer */
	__u32 size;
	__u32 flags;		/* zero */
};

/*
 * modify_ldt(2) on the space of mm_fd (a /proc/mm file of the caller),
 * as PTRACE_LDT does: func, ptr (in the caller's memory) and bytecount
 * are modify_ldt's.  No carrier is involved.
 */
struct skas_ldt {
	__s32 mm_fd;
	__s32 func;
	__u64 ptr;
	__u64 bytecount;
};

#define SKAS_CARRIER_IOC	0xE5
#define SKAS_CARRIER_ENTER	_IO(SKAS_CARRIER_IOC, 1)
#define SKAS_CARRIER_RUN	_IOWR(SKAS_CARRIER_IOC, 2, struct skas_run)
#define SKAS_CARRIER_KICK	_IO(SKAS_CARRIER_IOC, 3)
#define SKAS_CARRIER_GET_XSTATE	_IOW(SKAS_CARRIER_IOC, 4, struct skas_xstate)
#define SKAS_CARRIER_SET_XSTATE	_IOW(SKAS_CARRIER_IOC, 5, struct skas_xstate)
#define SKAS_CARRIER_XSTATE_SIZE _IO(SKAS_CARRIER_IOC, 6)
#define SKAS_CARRIER_LDT	_IOW(SKAS_CARRIER_IOC, 7, struct skas_ldt)

#endif /* _UAPI_UML_SKAS_H */
