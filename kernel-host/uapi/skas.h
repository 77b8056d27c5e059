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

#ifdef __KERNEL__
#include <linux/types.h>
#endif

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

#endif /* _UAPI_UML_SKAS_H */
