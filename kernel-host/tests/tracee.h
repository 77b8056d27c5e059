/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers to build /proc/mm address spaces and to run code in them through
 * a ptraced child (the "tracee").  All of them FAIL() the test on an
 * unexpected error, except the op helpers, which return the errno so that
 * tests can check it.
 */
#ifndef SKAS_TESTS_TRACEE_H
#define SKAS_TESTS_TRACEE_H

#include <sys/mman.h>
#include <sys/types.h>
#include <sys/user.h>

#include "../uapi/skas.h"

#define PAGE		4096UL
/* Fixed layout used in the test spaces (all below 4 GiB: LDT bases are 32-bit). */
#define CODE_ADDR	0x10000000UL
#define STACK_ADDR	0x20000000UL
#define STACK_SIZE	(16 * PAGE)
#define DATA_ADDR	0x30000000UL
/* Nothing is ever mapped here by the helpers. */
#define FREE_ADDR	0x50000000UL

#define RW	(PROT_READ | PROT_WRITE)
#define ANON_FIXED	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

/* blob.S */
extern const char blob_start[], blob_end[];
extern const char blob_load[], blob_store[], blob_trap[], blob_trap_int3[];
extern const char blob_getpid[], blob_getpid_syscall[], blob_gs[], blob_lsl[];
extern const char blob_incr[], blob_touch[], blob_spin[], blob_exit[], blob_report_syscall[];
extern const char blob_int80[], blob_fs[], blob_flags[], blob_syscall_loop[], blob_call[];
extern const char blob_xmm_out[], blob_xmm_in[], blob_gs0[], blob_wrgsbase[];
extern const char blob_rdsegs[], blob_rdsels[], blob_ldsegs[];
extern const char blob_pkru_load[], blob_pkru_load_read[];

/* Address of a blob label inside a space (code mapped at CODE_ADDR). */
#define BLOB(sym) (CODE_ADDR + (unsigned long)((sym) - blob_start))

long xptrace(long req, pid_t pid, unsigned long addr, unsigned long data);

/* ---- /proc/mm ---- */

int space_open(void);			/* empty space */
void space_setup(int fd);		/* maps the blob at CODE_ADDR and a stack */
int space_new(void);			/* space_open() + space_setup() */
/* Maps pages of a fresh memfd (word i = seed + i) at addr, RW, MAP_PRIVATE|MAP_FIXED. */
void space_map_words(int fd, unsigned long addr, unsigned long pages, unsigned long seed);

struct proc_mm_op mk_mmap(unsigned long addr, unsigned long len, unsigned long prot,
			  unsigned long flags, long fd, unsigned long off);
struct proc_mm_op mk_munmap(unsigned long addr, unsigned long len);
struct proc_mm_op mk_mprotect(unsigned long addr, unsigned long len, unsigned int prot);
struct proc_mm_op mk_copy_segments(int src);

/* One op per write(): 0 on success, else the errno.  Any other return FAILs. */
int op_apply(int fd, struct proc_mm_op op);
int op_mmap(int fd, unsigned long addr, unsigned long len, unsigned long prot,
	    unsigned long flags, long mfd, unsigned long off);
int op_munmap(int fd, unsigned long addr, unsigned long len);
int op_mprotect(int fd, unsigned long addr, unsigned long len, unsigned int prot);
int op_copy_segments(int fd, int src);

/* The blob in a memfd (cached per process). */
int blob_memfd(void);
unsigned long blob_pages(void);
/* A memfd of `pages` pages where 64-bit word i is seed + i. */
int memfd_words(unsigned long pages, unsigned long seed);

/* ---- tracees ---- */

/*
 * Forks a child that becomes our tracee and stops (SIGSTOP).  The child
 * closes all fds >= 3 first, so that it never keeps a /proc/mm space alive
 * by accident.  setup (may be NULL) runs in the child before that.
 */
pid_t tracee_spawn(void);
pid_t tracee_spawn_with(void (*setup)(void *), void *arg);
void tracee_switch(pid_t pid, int mmfd);
void tracee_kill(pid_t pid);

enum stop_kind { STOP_SYSCALL, STOP_SIGNAL, STOP_EXITED, STOP_KILLED };
struct stop {
	enum stop_kind kind;
	int sig;		/* stop signal, exit status or killing signal */
	struct user_regs_struct regs;	/* for STOP_SYSCALL and STOP_SIGNAL */
};

void get_regs(pid_t pid, struct user_regs_struct *r);
void set_regs(pid_t pid, const struct user_regs_struct *r);
/* Sets rip/rsp/rdi/rsi/rdx for a fresh run (orig_rax = -1: no syscall restart). */
void tracee_set(pid_t pid, unsigned long rip, unsigned long a0, unsigned long a1,
		unsigned long a2);
void tracee_resume(pid_t pid, long req);
void tracee_wait(pid_t pid, struct stop *s);
const char *stop_str(pid_t pid, const struct stop *s);
const char *blob_sym(unsigned long addr);

/*
 * Runs a blob routine under PTRACE_SYSEMU until its report syscall; returns
 * rdi, and the registers in *regs if not NULL.  Anything else FAILs.
 */
unsigned long tracee_call(pid_t pid, unsigned long entry, unsigned long a0,
			  unsigned long a1, unsigned long a2,
			  struct user_regs_struct *regs);
/*
 * Runs a routine under PTRACE_CONT expecting a SIGSEGV stop; returns the
 * PTRACE_EX_FAULTINFO of it.
 */
void tracee_segv(pid_t pid, unsigned long entry, unsigned long a0, unsigned long a1,
		 struct ptrace_ex_faultinfo *fi);
/* FAILs unless fi describes a page fault at addr with the given is_write. */
void check_fault(const struct ptrace_ex_faultinfo *fi, unsigned long addr, int is_write);

/* ---- /proc/PID/maps ---- */

struct map {
	unsigned long start, end, off;
	char perms[8];
	char path[200];
};

int maps_read(pid_t pid, struct map *m, int max);
const struct map *maps_find(const struct map *m, int n, unsigned long addr);
const char *maps_str(const struct map *m, int n);
/* FAILs unless [addr, addr+len) is covered by mappings with these perms. */
void maps_expect(pid_t pid, unsigned long addr, unsigned long len, const char *perms);
/* FAILs if anything in [addr, addr+len) is mapped. */
void maps_expect_none(pid_t pid, unsigned long addr, unsigned long len);

/* ---- users ---- */

#define NOBODY 65534
/* The group /proc/mm admits (module parameter proc_mm_gid), or -1. */
int procmm_gid(void);
/*
 * Become nobody with no capabilities; with_group keeps the /proc/mm
 * group (procmm_gid(), if there is one) as a supplementary group.
 */
void become_nobody(int with_group);
/* The same as another user id. */
void become_user(uid_t uid, int with_group);

#endif
