/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uml-skas host support: declarations shared by the module's files.
 *
 * The module is split by job:
 *   main.c      load/unload order
 *   symbols.c   kernel internals reached without an export (kallsyms)
 *   worker.c    kernel threads that run work inside a foreign mm
 *   proc_mm.c   the /proc/mm file: create, change and drop address spaces
 *   mm_ops.c    the operations a /proc/mm write carries, run by a worker
 *   switch_mm.c PTRACE_SWITCH_MM: moving a tracee into an address space
 *   ptrace.c    the ptrace hook and the other requests
 */
#ifndef _UML_SKAS_HOST_H
#define _UML_SKAS_HOST_H

#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/mm_types.h>
#include <linux/resource.h>

#include "uapi/skas.h"

struct file;
struct task_struct;

/* symbols.c */
struct skas_symbols {
	struct mm_struct *(*mm_alloc)(void);
	void (*arch_pick_mmap_layout)(struct mm_struct *mm,
				      const struct rlimit *rlim_stack);
	unsigned long (*vm_mmap_pgoff)(struct file *file, unsigned long addr,
				       unsigned long len, unsigned long prot,
				       unsigned long flag, unsigned long pgoff);
	int (*ldt_dup_context)(struct mm_struct *old_mm, struct mm_struct *mm);
	void (*switch_mm_irqs_off)(struct mm_struct *prev,
				   struct mm_struct *next,
				   struct task_struct *tsk);
	void (*membarrier_update_current_mm)(struct mm_struct *next_mm);
	/* Optional: absent where the kernel has no such thing. */
	void (*mm_update_next_owner)(struct mm_struct *mm);
	void (*sync_mm_rss)(struct mm_struct *mm);
	void (*sched_mm_cid_before_execve)(struct task_struct *t);
	void (*sched_mm_cid_after_execve)(struct task_struct *t);
	/* x86-64 system call entry points, called with a pt_regs. */
	long (*sys_mprotect)(const struct pt_regs *regs);
	long (*sys_modify_ldt)(const struct pt_regs *regs);
};

extern struct skas_symbols skas_sym;
int skas_resolve_symbols(void);
unsigned long skas_lookup_name(const char *name);

/* worker.c */
struct skas_job {
	struct mm_struct *mm;		/* the address space to work in */
	void (*fn)(struct skas_job *job);
	const struct cred *cred;	/* the requester's credentials */
	struct rlimit rlim[RLIM_NLIMITS];	/* and memory limits */
	struct task_struct *requester;
	struct completion done;
};

int skas_workers_start(void);
void skas_workers_stop(void);
void skas_run_job(struct skas_job *job);

/* proc_mm.c */
int skas_proc_mm_init(void);
void skas_proc_mm_exit(void);
struct mm_struct *skas_file_mm(struct file *file);
struct mm_struct *skas_get_fd_mm(unsigned long fd);

/* mm_ops.c */
struct skas_op {
	struct proc_mm_op op;
	struct file *file;		/* MM_MMAP of a file */
	struct mm_struct *src;		/* MM_COPY_SEGMENTS */
};

struct skas_batch {
	struct skas_job job;
	struct skas_op *ops;
	unsigned int nr;		/* operations to run */
	unsigned int done;		/* operations that succeeded */
	long err;			/* errno of operation number done */
};

int skas_op_prepare(struct skas_op *op);
void skas_op_release(struct skas_op *op);
void skas_batch_run(struct skas_job *job);
long skas_ldt_on_mm(struct mm_struct *mm, int func, void *kbuf,
		    unsigned long bytecount);

/* switch_mm.c */
long skas_switch_mm(struct task_struct *child, unsigned long fd);
struct mm_struct *skas_tracee_mm(struct task_struct *child);
void skas_switch_exit(void);

/* ptrace.c */
int skas_ptrace_init(void);
void skas_ptrace_exit(void);

#endif /* _UML_SKAS_HOST_H */
