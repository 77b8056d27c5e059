// SPDX-License-Identifier: GPL-2.0
/*
 * PTRACE_SWITCH_MM: moving a stopped tracee into a /proc/mm address space.
 *
 * Changing another task's ->mm from outside is unsafe on modern kernels:
 * the scheduler keeps per-mm state keyed by the task's mm (mm_cid users
 * and CPU ids since 6.4, membarrier state, lazy-TLB references), and
 * only the task itself, on its own CPU, may update it consistently.
 * exec() is the kernel's own "this task now runs in another mm", and it
 * does the swap in the task's context.  So do we: the request records
 * the target and queues a task_work on the tracee; the tracee performs
 * the swap itself when it resumes, before it executes another user
 * instruction, using the same steps exec_mmap() uses.
 *
 * Until it resumes the tracee still runs in its old mm as far as /proc
 * and PTRACE_PEEK* are concerned; our own requests (PTRACE_LDT) act on
 * the pending one.  A second request before the tracee resumes replaces
 * the pending target.
 *
 * Security: a pending switch is the tracer's request, and the tracer's
 * right to make it (ptrace access to the tracee as it was then) must
 * still hold when the tracee carries it out.  So the record keeps the
 * requesting tracer, the tracee's credentials and its exec generation,
 * and the tracee drops the switch unless, when it resumes, the same
 * tracer still traces it, its credentials are the same object (any
 * change makes a new one) and it has not exec'd; a fatal signal drops
 * it too.  Detach, tracer exit, exec (of a setuid program above all),
 * setuid() and SIGKILL therefore all cancel it.
 *
 * The swap must also never happen inside a system call: a task_work runs
 * not only on the final return to user mode but also where a system call
 * runs task works itself (KVM_RUN before entering the guest, io_uring's
 * waits), and a call that began in one mm must not go on in another
 * (KVM would fault guest memory in from the space while its mmu notifier
 * watches the old mm).  So a request is refused (EBUSY) while the tracee
 * is stopped at the entry of a system call that will run: a syscall-entry
 * stop that was not reached under PTRACE_SYSEMU (SYSEMU skips the call,
 * whatever the tracer resumes with, as the entry code decided before the
 * stop), or a seccomp stop.  From every other stop the tracee goes
 * straight back to user mode.  The tracee's own conditions are checked
 * again when it swaps.  Tasks that share their
 * mm with another process (CLONE_VM, a vfork child) are refused, as is
 * moving a space's creator into its own space (space.c: the creator is
 * the space's memcg owner and must never run in it).
 *
 * Locking: skas_pending_lock protects the table of pending switches.
 * Only the tracer makes requests for a tracee, one at a time (ptrace
 * holds the tracee frozen), so a record is added or replaced by one
 * requester at once, and removed by the tracee's task_work.  The swap
 * itself takes the tracee's exec_update_lock and its old mm's mmap_lock
 * for reading, as exec does, so that /proc readers, ptrace attach and
 * core dumps see either the old mm or the new one with the same creds.
 */
#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/ptrace.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <asm/mmu_context.h>

#include "compat.h"
#include "skas_host.h"

struct skas_pending_switch {
	struct callback_head work;
	struct hlist_node node;
	struct task_struct *task;
	struct mm_struct *mm;		/* holds an mm_users reference */
	struct task_struct *tracer;	/* holds a task reference */
	const struct cred *cred;	/* the tracee's, held */
	u64 exec_id;			/* the tracee's self_exec_id */
};

static DEFINE_SPINLOCK(skas_pending_lock);
static DEFINE_HASHTABLE(skas_pending, 6);

static struct skas_pending_switch *skas_find_pending(struct task_struct *t)
{
	struct skas_pending_switch *sw;

	hash_for_each_possible(skas_pending, sw, node, (unsigned long)t)
		if (sw->task == t)
			return sw;
	return NULL;
}

/*
 * Forget what the old address space held of this task: user pointers
 * registered by the task (rseq area, robust futex list, clear_child_tid)
 * point into the old mm and must not be written in the new one.
 */
static void skas_forget_user_pointers(struct task_struct *tsk)
{
	rseq_execve(tsk);
	skas_forget_robust_list(tsk);
	tsk->clear_child_tid = NULL;
}

/*
 * exec's clean-up of the futex state the task holds in its old mm (robust
 * list, PI futexes).  Without the kernel's function (not found, or sealed
 * under IBT) the robust list is only forgotten, and tasks holding PI
 * futexes are refused at request time.
 */
static void skas_futex_exec_release(struct task_struct *tsk)
{
	if (skas_sym.futex_release)
		skas_sym.futex_release(tsk);
}

static void skas_futex_exec_done(struct task_struct *tsk)
{
	if (skas_sym.futex_done)
		skas_sym.futex_done(tsk);
}

/*
 * The request's authority still stands (see the top of this file).
 * Called by the tracee itself.
 */
static bool skas_switch_still_allowed(const struct skas_pending_switch *sw)
{
	struct task_struct *tsk = current;
	bool same_tracer;

	if (fatal_signal_pending(tsk) || (tsk->flags & PF_EXITING) || !tsk->mm)
		return false;
	if (tsk->real_cred != sw->cred || tsk->cred != sw->cred ||
	    tsk->self_exec_id != sw->exec_id)
		return false;
	rcu_read_lock();
	same_tracer = ptrace_parent(tsk) == sw->tracer;
	rcu_read_unlock();
	return same_tracer;
}

/*
 * The swap itself, in the tracee's context; modelled on exec_mmap().
 * Consumes the caller's reference on @mm.  Returns false (and drops
 * @mm) when a fatal signal interrupts it.
 */
static bool skas_switch_current(struct mm_struct *mm)
{
	struct task_struct *tsk = current;
	struct mm_struct *old_mm = tsk->mm, *active_mm;

	if (mm == old_mm) {
		mmput(mm);
		return true;
	}
	/* The futex state the task holds in the old mm, as exec drops it. */
	skas_futex_exec_release(tsk);

	if (down_write_killable(&tsk->signal->exec_update_lock))
		goto fail;
	if (mmap_read_lock_killable(old_mm)) {
		up_write(&tsk->signal->exec_update_lock);
		goto fail;
	}
	if (skas_sym.sync_mm_rss)
		skas_sym.sync_mm_rss(old_mm);
	if (skas_sym.sched_mm_cid_before_execve)
		skas_sym.sched_mm_cid_before_execve(tsk);

	task_lock(tsk);
	local_irq_disable();
	active_mm = tsk->active_mm;
	tsk->active_mm = mm;
	tsk->mm = mm;
	skas_sym.membarrier_update_current_mm(mm);
	skas_sym.switch_mm_irqs_off(active_mm, mm, tsk);
	local_irq_enable();
	task_unlock(tsk);

	if (skas_sym.sched_mm_cid_after_execve)
		skas_sym.sched_mm_cid_after_execve(tsk);
	skas_forget_user_pointers(tsk);
	skas_futex_exec_done(tsk);

	mmap_read_unlock(old_mm);
	up_write(&tsk->signal->exec_update_lock);

	setmax_mm_hiwater_rss(&tsk->signal->maxrss, old_mm);
	/*
	 * Hand memcg ownership of the old mm on, as exec does.  It returns
	 * at once unless we owned it, which we never do of a /proc/mm space
	 * (space.c), so only the first leave of a process's own mm may walk.
	 */
	if (skas_sym.mm_update_next_owner)
		skas_sym.mm_update_next_owner(old_mm);
	/*
	 * active_mm was old_mm: a user task's active_mm is its mm.  Ours may
	 * be the last reference (a guest process that exited, its /proc/mm
	 * file closed), and its teardown waits for an SRCU grace period (the
	 * space's mmu notifier, space.c): milliseconds in which the guest
	 * would not run.  A workqueue does it, as after a /proc/mm close.
	 */
	mmput_async(old_mm);
	return true;

fail:
	skas_futex_exec_done(tsk);
	mmput(mm);
	return false;
}

static void skas_pending_free(struct skas_pending_switch *sw)
{
	put_task_struct(sw->tracer);
	put_cred(sw->cred);
	kfree(sw);
}

static int skas_check_tracee(struct task_struct *child, struct mm_struct *mm);

static void skas_switch_work(struct callback_head *work)
{
	struct skas_pending_switch *sw =
		container_of(work, struct skas_pending_switch, work);
	struct mm_struct *mm;

	spin_lock(&skas_pending_lock);
	hash_del(&sw->node);
	mm = sw->mm;
	spin_unlock(&skas_pending_lock);

	if (skas_switch_still_allowed(sw) && !skas_check_tracee(current, mm)) {
		bool other = mm != current->mm;

		/*
		 * Guest code sets ID with popf, and ptrace cannot set it
		 * (SETREGS keeps it as it was): the process that ran in the
		 * old space would hand it on to the new one's.
		 */
		if (skas_switch_current(mm) && other)
			task_pt_regs(current)->flags &= ~X86_EFLAGS_ID;
	} else {
		mmput(mm);
	}

	skas_pending_free(sw);
	/* Our code runs on for a few instructions: see skas_switch_exit(). */
	module_put(THIS_MODULE);
}

/*
 * Is @child stopped at the entry of a system call that will run once it
 * is resumed?  Read as PTRACE_GET_SYSCALL_INFO reads it: the stop's
 * siginfo and ptrace_message.  A SIGTRAP stop with a stale message can be
 * taken for one; that only refuses a request.
 */
static bool skas_stopped_before_syscall(struct task_struct *child)
{
	int code = 0;

	spin_lock_irq(&child->sighand->siglock);
	if (child->last_siginfo && child->last_siginfo->si_signo == SIGTRAP)
		code = child->last_siginfo->si_code;
	spin_unlock_irq(&child->sighand->siglock);

	if (code == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8)))
		return true;
	if ((code & ~0x80) != SIGTRAP ||
	    child->ptrace_message != PTRACE_EVENTMSG_SYSCALL_ENTRY)
		return false;
	return !test_task_syscall_work(child, SYSCALL_EMU);
}

static int skas_check_tracee(struct task_struct *child, struct mm_struct *mm)
{
	/* A thread group shares one mm; one thread cannot leave it. */
	if (!thread_group_empty(child))
		return -EINVAL;
	if (!child->mm || (child->flags & (PF_EXITING | PF_KTHREAD)))
		return -ESRCH;
	/* Nor can a process that shares it (CLONE_VM, vfork). */
	if (child->vfork_done || skas_mm_multiprocess(child->mm))
		return -EINVAL;
	if (skas_task_has_user_shstk(child))
		return -EPERM;
	if (skas_futex_pi_held(child))
		return -EBUSY;
	if (skas_space_owned_by(mm, child))
		return -EBUSY;
	return 0;
}

/*
 * A carrier's own move into @mm (carrier.c), from its task_work on the
 * way back to user mode: the same checks and steps, with no request to
 * keep.  Consumes the reference on @mm.
 */
int skas_switch_self(struct mm_struct *mm)
{
	int ret = skas_check_tracee(current, mm);

	if (ret) {
		mmput(mm);
		return ret;
	}
	return skas_switch_current(mm) ? 0 : -EINTR;
}

long skas_switch_mm(struct task_struct *child, unsigned long fd)
{
	struct skas_pending_switch *sw, *pending;
	struct mm_struct *mm;
	int ret;

	mm = skas_get_fd_mm(fd);
	if (IS_ERR(mm))
		return PTR_ERR(mm);

	ret = skas_check_tracee(child, mm);
	if (ret)
		goto out_put_mm;
	if (skas_stopped_before_syscall(child)) {
		ret = -EBUSY;
		goto out_put_mm;
	}

	sw = kmalloc(sizeof(*sw), GFP_KERNEL);
	if (!sw) {
		ret = -ENOMEM;
		goto out_put_mm;
	}

	sw->task = child;
	sw->mm = mm;
	sw->tracer = get_task_struct(current);
	sw->cred = get_task_cred(child);
	sw->exec_id = child->self_exec_id;

	/* A second request replaces the pending one, authority and all. */
	spin_lock(&skas_pending_lock);
	pending = skas_find_pending(child);
	if (pending) {
		swap(pending->mm, sw->mm);
		swap(pending->tracer, sw->tracer);
		swap(pending->cred, sw->cred);
		swap(pending->exec_id, sw->exec_id);
		spin_unlock(&skas_pending_lock);
		mmput(sw->mm);
		skas_pending_free(sw);
		return 0;
	}
	hash_add(skas_pending, &sw->node, (unsigned long)child);
	spin_unlock(&skas_pending_lock);

	__module_get(THIS_MODULE);
	init_task_work(&sw->work, skas_switch_work);
	ret = task_work_add(child, &sw->work, TWA_RESUME);
	if (ret) {
		/* The tracee is exiting; nobody else can see the record. */
		spin_lock(&skas_pending_lock);
		hash_del(&sw->node);
		mm = sw->mm;
		spin_unlock(&skas_pending_lock);
		skas_pending_free(sw);
		module_put(THIS_MODULE);
		ret = -ESRCH;
		goto out_put_mm;
	}
	return 0;

out_put_mm:
	mmput(mm);
	return ret;
}

/*
 * The address space @child runs in from the tracer's point of view: a
 * pending switch target, else its own.  Returns an mm_users reference.
 */
struct mm_struct *skas_tracee_mm(struct task_struct *child)
{
	struct skas_pending_switch *sw;
	struct mm_struct *mm = NULL;

	spin_lock(&skas_pending_lock);
	sw = skas_find_pending(child);
	if (sw) {
		mm = sw->mm;
		mmget(mm);
	}
	spin_unlock(&skas_pending_lock);
	return mm ? mm : get_task_mm(child);
}

/*
 * Pending switches hold module references, so unloading only happens
 * when none is left; what remains is the return path of the last
 * skas_switch_work(), which an RCU-tasks grace period waits out.
 */
void skas_switch_exit(void)
{
	synchronize_rcu_tasks();
}
