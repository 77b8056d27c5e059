/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uml-skas host support: declarations shared by the module's files.
 *
 * The module is split by job:
 *   main.c      load/unload order
 *   symbols.c   kernel internals reached without an export (kallsyms)
 *   worker.c    jobs run inside a foreign mm by workqueue workers
 *   space.c     who may open /proc/mm, how many spaces, who pays for them
 *   proc_mm.c   the /proc/mm file: create, change and drop address spaces
 *   mm_ops.c    the operations a /proc/mm write carries, run by a worker
 *   switch_mm.c PTRACE_SWITCH_MM: moving a tracee into an address space
 *   ptrace.c    the ptrace hook and the other requests
 *   carrier.c   /dev/uml-skas: carriers for skas4
 */
#ifndef _UML_SKAS_HOST_H
#define _UML_SKAS_HOST_H

#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/kref.h>
#include <linux/mm_types.h>
#include <linux/resource.h>
#include <linux/uidgid.h>
#include <linux/workqueue.h>

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
	void (*futex_release)(struct task_struct *t);
	void (*futex_done)(struct task_struct *t);
	/* x86-64 system call entry points, called with a pt_regs. */
	long (*sys_mprotect)(const struct pt_regs *regs);
	long (*sys_modify_ldt)(const struct pt_regs *regs);
};

extern struct skas_symbols skas_sym;
int skas_resolve_symbols(void);
unsigned long skas_lookup_name(const char *name);

/* worker.c */
#define SKAS_JOB_LIMITS	4	/* RLIMIT_AS, _DATA, _MEMLOCK, _STACK */

/*
 * A job is embedded in a heap object that fn and free know; free releases
 * that object and whatever it holds.  The rest is skas_run_job()'s.
 */
struct skas_job {
	void (*fn)(struct skas_job *job);	/* runs in mm */
	void (*free)(struct skas_job *job);
	struct mm_struct *mm;		/* mm_users reference */
	const struct cred *cred;	/* the requester's credentials */
	struct rlimit rlim[SKAS_JOB_LIMITS];	/* and memory limits */
	struct kref ref;
	struct completion done;
	struct work_struct work;
	bool abandoned;			/* the requester was killed */
	kuid_t uid;			/* whose job slot it holds */
};

int skas_workers_start(void);
void skas_workers_stop(void);
int skas_run_job(struct skas_job *job, struct mm_struct *mm);
void skas_job_done(struct skas_job *job);
void skas_job_capture(struct skas_job *job);
void skas_job_run_here(struct skas_job *job);
void skas_job_release_here(struct skas_job *job);

/* space.c */
kgid_t skas_proc_mm_group(void);
bool skas_space_may_open(void);
int skas_space_register(struct mm_struct *mm);
bool skas_space_owned_by(struct mm_struct *mm, struct task_struct *tsk);
int skas_user_job_begin(kuid_t uid);
void skas_user_job_end(kuid_t uid);
void skas_space_exit(void);

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
	unsigned int nr;		/* operations to run */
	unsigned int done;		/* operations that succeeded */
	long err;			/* errno of operation number done */
	struct skas_op ops[];
};

struct skas_batch *skas_batch_alloc(unsigned int nr);
int skas_op_prepare(struct skas_op *op);
long skas_batch_on_mm(struct mm_struct *mm, struct skas_batch *batch);
long skas_batch_here(struct skas_batch *batch, unsigned int *done);
void skas_batch_drop(struct skas_batch *batch);
long skas_ldt_on_mm(struct mm_struct *mm, int func, void *kbuf,
		    unsigned long bytecount);

/* switch_mm.c */
long skas_switch_mm(struct task_struct *child, unsigned long fd);
int skas_switch_self(struct mm_struct *mm);
struct mm_struct *skas_tracee_mm(struct task_struct *child);
void skas_switch_exit(void);

/* ptrace.c */
int skas_ptrace_init(void);
long skas_ldt_request(struct mm_struct *mm, int func, void __user *ptr,
		      unsigned long bytecount);
void skas_ptrace_exit(void);

/* carrier.c */
int skas_carrier_init(void);
void skas_carrier_exit(void);

#endif /* _UML_SKAS_HOST_H */
