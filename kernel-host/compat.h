/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the host kernels we support (Debian's 6.1, 6.12 and
 * 7.x), kept in one place so the rest reads like in-tree code.  Symbols
 * reached without an export live in symbols.c instead.
 */
#ifndef _UML_SKAS_COMPAT_H
#define _UML_SKAS_COMPAT_H

#include <linux/mm.h>
#include <linux/sched.h>

/* Kbuild probes the headers and defines SKAS_HAVE_*; see Kbuild. */
#ifdef SKAS_HAVE_RSEQ_H
#include <linux/rseq.h>		/* rseq_execve() left sched.h */
#endif

/* ftrace: changing the traced function's return target. */
#ifdef ftrace_regs_set_instruction_pointer
#define skas_ftrace_set_ip(fregs, ip) \
	ftrace_regs_set_instruction_pointer(fregs, ip)
#else
#define skas_ftrace_set_ip(fregs, ip) \
	ftrace_instruction_pointer_set(fregs, ip)
#endif

/* The robust futex list pointers moved into task_struct::futex in 7.x. */
#ifdef SKAS_HAVE_FUTEX_TYPES_H
static inline void skas_forget_robust_list(struct task_struct *t)
{
	t->futex.robust_list = NULL;
#ifdef CONFIG_COMPAT
	t->futex.compat_robust_list = NULL;
#endif
}

/* Priority-inheritance futexes the task owns (their list moved in 7.x). */
static inline bool skas_futex_pi_held(struct task_struct *t)
{
	return !list_empty(&t->futex.pi_state_list);
}
#else
static inline void skas_forget_robust_list(struct task_struct *t)
{
	t->robust_list = NULL;
#ifdef CONFIG_COMPAT
	t->compat_robust_list = NULL;
#endif
}

static inline bool skas_futex_pi_held(struct task_struct *t)
{
	return !list_empty(&t->pi_state_list);
}
#endif

/* mm->flags became a bitmap with accessors in 7.x. */
#ifdef SKAS_HAVE_MM_FLAGS_TEST
static inline bool skas_mm_multiprocess(struct mm_struct *mm)
{
	return mm_flags_test(MMF_MULTIPROCESS, mm);
}
#else
static inline bool skas_mm_multiprocess(struct mm_struct *mm)
{
	return test_bit(MMF_MULTIPROCESS, &mm->flags);
}
#endif

/* 7.x wants per-CPU workqueues to say so (WQ_PERCPU); before, the default. */
#ifdef SKAS_HAVE_WQ_PERCPU
#define SKAS_WQ_PERCPU	WQ_PERCPU
#else
#define SKAS_WQ_PERCPU	0
#endif

/* x86 user shadow stacks (6.6+) point into the task's old mm. */
#ifdef CONFIG_X86_USER_SHADOW_STACK
#include <uapi/asm/prctl.h>
static inline bool skas_task_has_user_shstk(struct task_struct *t)
{
	return t->thread.features & ARCH_SHSTK_SHSTK;
}
#else
static inline bool skas_task_has_user_shstk(struct task_struct *t)
{
	return false;
}
#endif

/* dequeue_signal() lost its task argument (always current) in 6.12. */
#ifdef SKAS_HAVE_DEQUEUE_SIGNAL_TASK
#define skas_dequeue_signal(mask, info, type) \
	dequeue_signal(current, mask, info, type)
#else
#define skas_dequeue_signal(mask, info, type) \
	dequeue_signal(mask, info, type)
#endif

/* Dumpability moved from the mm to the task's exec_state in 7.x. */
#ifdef SKAS_HAVE_EXEC_STATE_H
#include <linux/sched/exec_state.h>
static inline bool skas_task_dumpable(struct task_struct *t)
{
	struct task_exec_state *es;
	bool dumpable;

	rcu_read_lock();
	es = rcu_dereference(t->exec_state);
	dumpable = !es || es->dumpable != TASK_DUMPABLE_OFF;
	rcu_read_unlock();
	return dumpable;
}

/* The task's, not the mm's: a space never makes its runner dumpable. */
static inline bool skas_mm_dumpable(struct mm_struct *mm)
{
	return false;
}
#else
#include <linux/sched/coredump.h>
static inline bool skas_task_dumpable(struct task_struct *t)
{
	return get_dumpable(t->mm) != SUID_DUMP_DISABLE;
}

/* A space takes its dumpability from its creator's mm at creation. */
static inline bool skas_mm_dumpable(struct mm_struct *mm)
{
	return get_dumpable(mm) != SUID_DUMP_DISABLE;
}
#endif

#endif /* _UML_SKAS_COMPAT_H */
