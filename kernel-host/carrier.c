// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/uml-skas: carriers, the ptrace-free process mode (skas4).
 * Registered unless the module parameter carrier=0 says otherwise.
 *
 * A carrier is a process that gives itself up with SKAS_CARRIER_ENTER on
 * a /dev/uml-skas file and from then on runs nothing but guest code, in
 * /proc/mm address spaces, on behalf of whoever holds that file (the
 * runner: UML's vCPU thread).  SKAS_CARRIER_RUN hands it registers and an
 * address space, lets it run, and returns at its next stop.
 *
 * How guest events stop the carrier, with no ptrace:
 *  - System calls: ENTER turns Syscall User Dispatch on for the carrier
 *    with no exempt range and no selector, so the entry code of every
 *    system call instruction (syscall, int $0x80, sysenter) skips the call
 *    and forces a SIGSYS instead.  The guest cannot turn it off: prctl is
 *    a system call too.
 *  - Faults and other signals: the kernel forces a signal (SIGSEGV,
 *    SIGILL, SIGTRAP, ...) as it would for any process.
 *  - Our probe on the signal_generate tracepoint sees every signal queued
 *    to a carrier and queues the carrier's task_work.  get_signal() runs
 *    task works before it dequeues anything, so the work runs in the
 *    carrier, on its way back to user mode, before any signal is
 *    delivered.  It takes the signal off the queue, writes the stop for
 *    the runner and waits there, in the kernel, for the next RUN.
 *  - The fast paths: ftrace hooks (IPMODIFY) on force_sig_info(),
 *    force_sig_fault() and force_sig_pkuerr() send a carrier's Syscall
 *    User Dispatch SIGSYS and its traps' signals (page faults, ud2,
 *    divide errors, ...; a fault that a protection key forbids) to
 *    skas_sud_stop(), skas_trap_stop() and skas_pkuerr_stop(), which
 *    record the stop and queue the work without queueing a signal (no
 *    siginfo to allocate, queue and take back; docs/skas-modes.md has
 *    what that saves).  What the guest did is skipped or undone either
 *    way; without a hook (no ftrace, or the function taken by a live
 *    patch or another IPMODIFY user) the signal takes the stop as above.
 *    carrier_fast_syscalls=0 and carrier_fast_traps=0 turn the hooks'
 *    effect off.  The hooks are registered only while /dev/uml-skas is
 *    in use (skas_fast_hooks_get()).
 *    If the work cannot be queued the carrier is killed: no stop is lost.
 *  - SKAS_CARRIER_KICK, or a signal to the runner while it waits, queues
 *    the same work with TWA_SIGNAL, which stops a carrier spinning in
 *    user mode.
 *
 * Why nothing escapes (see docs/host-support.md):
 *  - ENTER requires the carrier to have set no_new_privs, a seccomp
 *    filter (UML's allows only ENTER and exit) and to be non-dumpable; a
 *    system call that ever got past Syscall User Dispatch meets the filter.
 *  - The carrier must be a single-threaded process with its own mm, signal
 *    handlers and file table, holding no file but the /dev/uml-skas one,
 *    which ENTER closes: a guest never has a host descriptor.
 *  - Its signal handlers are reset at ENTER: those of the synchronous
 *    signals point at a non-canonical address, so that the kernel does not
 *    log every guest fault as an unhandled segfault, and so that a signal
 *    we ever failed to take off the queue kills the carrier (its delivery
 *    faults) instead of running code.
 *  - Its FPU state is reset before the first RUN (unless the runner set
 *    it): no register of the process it was reaches the guest.
 *  - A signal that is not a stop of ours (SIGKILL, SIGSTOP, a SIGTERM sent
 *    by the instance's user) is left on the queue: default action.
 *  - RUN accepts only user code and stack segments, user data selectors,
 *    user-changeable flags and canonical user addresses, and moves the carrier only into an
 *    address space whose /proc/mm file the runner holds, with the checks
 *    of PTRACE_SWITCH_MM (switch_mm.c).
 *  - The runner must have the carrier's effective uid; the file lives as
 *    long as the runner holds it, and closing it kills the carrier.
 *
 * Lifetime: struct skas_carrier is counted (ref): one for the open file,
 * one while a carrier is registered (from ENTER until the carrier's exit,
 * seen by our probe on sched_process_exit, which every exit passes), one
 * while its task_work is queued.  Registered carriers are in skas_carriers
 * (RCU readers: the probes, which run with preemption off); the last put
 * frees the structure after a grace period.  A registered carrier and a
 * queued work each hold a module reference, so rmmod is refused while
 * carriers live.
 *
 * Locking: skas_carriers_lock (IRQ-safe: the signal probe runs under the
 * target's siglock with interrupts off) protects the table; c->lock
 * (IRQ-safe, same reason) protects state, kick and the exit record;
 * c->work_lock (raw, IRQ-safe, innermost: taken under the siglock and
 * under c->lock; raw because the probes run with preemption off, and
 * nothing under it sleeps on PREEMPT_RT either) makes "the work is
 * queued" mean that it is on the carrier's task_work list, or taken off
 * it and about to run;
 * c->wait wakes both sides.  The carrier's registers are only touched by
 * the carrier itself, in its task_work; so are fast_sig and its details
 * (set by the hooks, in the carrier on its way back to user mode, read by
 * its work before it gets there) and in_work.  The hooks' registration
 * belongs to skas_hooks_work alone (see skas_fast_hooks_get()).
 */
#include <linux/anon_inodes.h>
#include <linux/fdtable.h>
#include <linux/ftrace.h>
#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/regset.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/seccomp.h>
#include <linux/slab.h>
#include <linux/task_work.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <linux/elf.h>
#include <asm/fpu/types.h>
#include <asm/segment.h>
#include <asm/traps.h>
#include <trace/events/signal.h>

#include "compat.h"
#include "skas_host.h"

static bool carrier = true;
module_param(carrier, bool, 0444);
MODULE_PARM_DESC(carrier,
		 "register /dev/uml-skas, the carrier interface of skas4 mode (default: on)");

/*
 * Spin before sleeping: a runner and its carrier on two CPUs hand a stop
 * and a RUN to each other without a wake-up (an IPI) when the other side
 * answers within this time.  0 (the default) always sleeps at once.
 */
static unsigned int carrier_spin_us;
module_param(carrier_spin_us, uint, 0644);
MODULE_PARM_DESC(carrier_spin_us,
		 "microseconds a runner or carrier polls for the other side before it sleeps (0-1000, default 0)");

enum skas_carrier_state {
	SKAS_C_NEW,		/* no carrier yet */
	SKAS_C_STARTING,	/* ENTER done, first stop not reached */
	SKAS_C_PARKED,		/* stopped, no stop to report */
	SKAS_C_GO,		/* a runner handed it registers */
	SKAS_C_RUNNING,		/* running guest code */
	SKAS_C_STOPPED,		/* stopped, exit record waits for the runner */
	SKAS_C_DEAD,		/* exited, or never will run again */
};

struct skas_carrier {
	struct kref ref;
	struct rcu_head rcu;
	struct hlist_node node;		/* in skas_carriers while registered */
	spinlock_t lock;
	wait_queue_head_t wait;
	enum skas_carrier_state state;
	bool kick;			/* stop at the next chance */
	bool closing;			/* the file was released */
	bool runner_busy;		/* a RUN is in progress */
	bool ran;			/* a RUN gave it an address space */
	bool xstate_ours;		/* its FPU state is the runner's, not its own */
	struct task_struct *task;	/* the carrier, held from ENTER */
	kuid_t euid;			/* the opener's */
	struct callback_head work;
	raw_spinlock_t work_lock;	/* work_queued and the queueing: see the top */
	bool work_queued;		/* under work_lock: see skas_carrier_queue() */
	/* Handed over by RUN, consumed by the carrier (under lock). */
	struct mm_struct *next_mm;	/* mm_users reference, or NULL */
	struct skas_batch *next_ops;	/* prepared by the runner, or NULL */
	unsigned int ops_done;		/* of the last RUN's operations */
	int ops_err;
	struct skas_regs regs;		/* in: to load; out: at the stop */
	struct skas_exit exit;
	/*
	 * Only in the carrier (its hooks and its work): a stop the fast path
	 * took, no signal queued.  fast_sig 0: none; SIGSYS: a system call
	 * (sys_nr); else a trap's signal (fast_code, fast_addr).
	 */
	int fast_sig;
	int fast_code;
	int sys_nr;
	int fast_trap_nr;		/* the thread's, when the trap was raised */
	unsigned long fast_error_code;
	unsigned long fast_addr;
	bool in_work;			/* the carrier's work is running */
	/* Used only by the seat holder; lives as long as the file. */
	void *xbuf;			/* a RUN's xstate, or NULL: no XSAVE */
	unsigned int xbuf_size;
};

/* Non-canonical: delivery to it faults and kills the carrier. */
#define SKAS_CARRIER_HANDLER	((__force __sighandler_t)0x8000000000000000UL)

/* The signals the kernel forces for what a guest instruction did. */
#define SKAS_SYNC_SIGNALS	(sigmask(SIGSEGV) | sigmask(SIGBUS) | \
				 sigmask(SIGILL) | sigmask(SIGFPE) | \
				 sigmask(SIGTRAP) | sigmask(SIGSYS))

/*
 * The flags a runner may set: ptrace's (x86-64 ptrace takes NT too), and
 * ID, which guest code sets itself with popf.  The carrier runs one guest
 * process after another, so each must get its own back, not the last one's.
 */
#define SKAS_FLAG_MASK	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
			 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_TF | \
			 X86_EFLAGS_DF | X86_EFLAGS_OF | X86_EFLAGS_RF | \
			 X86_EFLAGS_AC | X86_EFLAGS_NT | X86_EFLAGS_ID)

static DEFINE_SPINLOCK(skas_carriers_lock);
static DEFINE_HASHTABLE(skas_carriers, 6);
static atomic_t skas_carriers_live = ATOMIC_INIT(0);
/*
 * Stops: system calls by skas_sud_stop() and by signal, traps by
 * skas_trap_stop() or skas_pkuerr_stop() and by signal.
 */
static DEFINE_PER_CPU(unsigned long, skas_fast_stops);
static DEFINE_PER_CPU(unsigned long, skas_slow_stops);
static DEFINE_PER_CPU(unsigned long, skas_fast_traps);
static DEFINE_PER_CPU(unsigned long, skas_slow_traps);

static void skas_carrier_free_rcu(struct rcu_head *rcu)
{
	struct skas_carrier *c = container_of(rcu, struct skas_carrier, rcu);

	if (c->task)
		put_task_struct(c->task);
	kfree(c);
}

/* May run in atomic context: whatever might sleep was dropped before. */
static void skas_carrier_release(struct kref *ref)
{
	struct skas_carrier *c = container_of(ref, struct skas_carrier, ref);

	WARN_ON_ONCE(c->next_mm || c->next_ops);
	call_rcu(&c->rcu, skas_carrier_free_rcu);
}

static void skas_carrier_put(struct skas_carrier *c)
{
	kref_put(&c->ref, skas_carrier_release);
}

/* Under rcu_read_lock() (or preemption off). */
static struct skas_carrier *skas_carrier_find(struct task_struct *t)
{
	struct skas_carrier *c;

	hash_for_each_possible_rcu(skas_carriers, c, node, (unsigned long)t)
		if (c->task == t)
			return c;
	return NULL;
}

static void skas_carrier_work(struct callback_head *work);

/*
 * Queues the carrier's task_work unless it is queued already.  Any
 * context; fails quietly for an exiting carrier (its exit is seen anyway).
 *
 * "Queued already" must mean that the work is on the carrier's list (or
 * being started): a probe that skips on the word of a queuer that has not
 * added it yet lets the carrier reach get_signal() with no work, and the
 * signal it just raised is delivered instead of captured.  So the flag is
 * set and the work added in one step, under work_lock.  A put under it is
 * fine: the release only schedules an RCU free.
 */
/* Returns whether the work is queued now (by this call or before). */
static bool skas_carrier_queue(struct skas_carrier *c, enum task_work_notify_mode mode)
{
	unsigned long flags;
	bool queued;

	raw_spin_lock_irqsave(&c->work_lock, flags);
	queued = c->work_queued;
	if (queued || !kref_get_unless_zero(&c->ref))
		goto out;
	__module_get(THIS_MODULE);
	if (task_work_add(c->task, &c->work, mode)) {
		module_put(THIS_MODULE);
		skas_carrier_put(c);
		goto out;
	}
	c->work_queued = true;
	queued = true;
out:
	raw_spin_unlock_irqrestore(&c->work_lock, flags);
	return queued;
}

/* signal_generate: every signal queued to any task passes here. */
static void skas_probe_signal(void *data, int sig, struct kernel_siginfo *info,
			      struct task_struct *task, int group, int result)
{
	struct skas_carrier *c;

	if (likely(!atomic_read(&skas_carriers_live)))
		return;
	if (result != TRACE_SIGNAL_DELIVERED &&
	    result != TRACE_SIGNAL_ALREADY_PENDING &&
	    result != TRACE_SIGNAL_LOSE_INFO)
		return;
	rcu_read_lock();
	c = skas_carrier_find(task);
	/*
	 * TWA_RESUME, not TWA_NONE: a signal that does not wake the task
	 * (it is stopped, the signal already pending) would leave the work
	 * queued with nothing to run it, and every later queueing (KICK)
	 * would be taken for done.  Setting TIF_NOTIFY_RESUME is safe
	 * under the siglock.
	 */
	if (c)
		skas_carrier_queue(c, TWA_RESUME);
	rcu_read_unlock();
}

/* sched_process_exit: every task passes here on its way out. */
static void skas_carrier_exited(struct task_struct *p)
{
	struct skas_carrier *c;
	unsigned long flags;

	if (likely(!atomic_read(&skas_carriers_live)))
		return;
	/* Every exit on the host passes: most are not carriers. */
	rcu_read_lock();
	c = skas_carrier_find(p);
	rcu_read_unlock();
	if (!c)
		return;
	spin_lock_irqsave(&skas_carriers_lock, flags);
	c = skas_carrier_find(p);
	if (c) {
		hash_del_rcu(&c->node);
		atomic_dec(&skas_carriers_live);
	}
	spin_unlock_irqrestore(&skas_carriers_lock, flags);
	if (!c)
		return;

	spin_lock_irqsave(&c->lock, flags);
	c->state = SKAS_C_DEAD;
	spin_unlock_irqrestore(&c->lock, flags);
	wake_up_all(&c->wait);
	skas_carrier_put(c);
	/* Module exit unregisters this probe and waits for it to return. */
	module_put(THIS_MODULE);
}

#ifdef SKAS_HAVE_EXIT_GROUP_DEAD
static void skas_probe_exit(void *data, struct task_struct *p, bool group_dead)
{
	skas_carrier_exited(p);
}
#else
static void skas_probe_exit(void *data, struct task_struct *p)
{
	skas_carrier_exited(p);
}
#endif

/* ---- in the carrier ------------------------------------------------- */

/* Any of SKAS_SYNC_SIGNALS pending?  A racy read is fine: callers recheck. */
static bool skas_sync_pending(struct task_struct *tsk)
{
	return (READ_ONCE(tsk->pending.signal.sig[0]) |
		READ_ONCE(tsk->signal->shared_pending.signal.sig[0])) &
		SKAS_SYNC_SIGNALS;
}

static void skas_regs_save(struct skas_regs *r, const struct pt_regs *regs)
{
	memset(r, 0, sizeof(*r));
	r->r15 = regs->r15;
	r->r14 = regs->r14;
	r->r13 = regs->r13;
	r->r12 = regs->r12;
	r->rbp = regs->bp;
	r->rbx = regs->bx;
	r->r11 = regs->r11;
	r->r10 = regs->r10;
	r->r9 = regs->r9;
	r->r8 = regs->r8;
	r->rax = regs->ax;
	r->rcx = regs->cx;
	r->rdx = regs->dx;
	r->rsi = regs->si;
	r->rdi = regs->di;
	r->orig_rax = regs->orig_ax;
	r->rip = regs->ip;
	r->cs = regs->cs;
	r->eflags = regs->flags;
	r->rsp = regs->sp;
	r->ss = regs->ss;
}

/* Checked by RUN before the carrier sees them (skas_regs_check()); segments: skas_segs_load(). */
static void skas_regs_load(struct pt_regs *regs, const struct skas_regs *r)
{
	regs->r15 = r->r15;
	regs->r14 = r->r14;
	regs->r13 = r->r13;
	regs->r12 = r->r12;
	regs->bp = r->rbp;
	regs->bx = r->rbx;
	regs->r11 = r->r11;
	regs->r10 = r->r10;
	regs->r9 = r->r9;
	regs->r8 = r->r8;
	regs->ax = r->rax;
	regs->cx = r->rcx;
	regs->dx = r->rdx;
	regs->si = r->rsi;
	regs->di = r->rdi;
	/* Not in a system call: no restart logic on the way out. */
	regs->orig_ax = -1;
	regs->ip = r->rip;
	regs->cs = r->cs;
	regs->flags = (regs->flags & ~SKAS_FLAG_MASK) | (r->eflags & SKAS_FLAG_MASK);
	regs->sp = r->rsp;
	regs->ss = r->ss;
}

/*
 * What stopped the carrier, taken off its signal queue.  Returns false
 * when there is nothing of ours to report (a signal for its default
 * action, a stale work).
 */
/* A trap's details, as the kernel left them in the thread for its signal. */
static void skas_exit_trap(struct skas_exit *e, unsigned long addr, int trap_nr,
			   unsigned long error_code)
{
	e->trap_nr = trap_nr;
	e->error_code = error_code;
	e->addr = addr;
	if ((e->signo == SIGSEGV || e->signo == SIGBUS) && e->trap_nr == X86_TRAP_PF)
		e->reason = SKAS_EXIT_FAULT;
}

static bool skas_carrier_take_stop(struct skas_carrier *c, struct skas_exit *e)
{
	struct task_struct *tsk = current;
	kernel_siginfo_t info;
	enum pid_type type;
	sigset_t mask;
	bool more;
	int sig;

	memset(e, 0, sizeof(*e));
	e->trap_nr = -1;
	if (fatal_signal_pending(tsk))
		return false;

	/* A stop the fast path caught: no signal was queued. */
	if (c->fast_sig) {
		e->signo = c->fast_sig;
		c->fast_sig = 0;
		if (e->signo == SIGSYS) {
			e->reason = SKAS_EXIT_SYSCALL;
			e->code = SYS_USER_DISPATCH;
			e->syscall = c->sys_nr;
		} else {
			e->reason = SKAS_EXIT_SIGNAL;
			e->code = c->fast_code;
			skas_exit_trap(e, c->fast_addr, c->fast_trap_nr, c->fast_error_code);
			/*
			 * The same event may have forced the signal once more
			 * (vsyscall emulation: a fault, then SIGSEGV): queued,
			 * it would have merged with the trap's.  So it goes.
			 */
			siginitsetinv(&mask, sigmask(e->signo));
			spin_lock_irq(&tsk->sighand->siglock);
			skas_dequeue_signal(&mask, &info, &type);
			spin_unlock_irq(&tsk->sighand->siglock);
		}
		if (skas_sync_pending(tsk))
			skas_carrier_queue(c, TWA_RESUME);
		return true;
	}

	siginitsetinv(&mask, SKAS_SYNC_SIGNALS);
	spin_lock_irq(&tsk->sighand->siglock);
	sig = skas_dequeue_signal(&mask, &info, &type);
	more = skas_sync_pending(tsk);
	spin_unlock_irq(&tsk->sighand->siglock);
	/* One stop at a time; the next one before the guest runs again. */
	if (more)
		skas_carrier_queue(c, TWA_RESUME);

	if (sig) {
		e->signo = sig;
		e->code = info.si_code;
		if (sig == SIGSYS && info.si_code == SYS_USER_DISPATCH) {
			e->reason = SKAS_EXIT_SYSCALL;
			e->syscall = info.si_syscall;
			this_cpu_inc(skas_slow_stops);
			return true;
		}
		e->reason = SKAS_EXIT_SIGNAL;
		/* Raised by the kernel for an instruction: trap details. */
		if (info.si_code > 0 && sig != SIGSYS) {
			skas_exit_trap(e, (unsigned long)info.si_addr, tsk->thread.trap_nr,
				       tsk->thread.error_code);
			this_cpu_inc(skas_slow_traps);
		}
		return true;
	}

	spin_lock_irq(&c->lock);
	if (c->kick) {
		c->kick = false;
		e->reason = SKAS_EXIT_KICK;
	}
	spin_unlock_irq(&c->lock);
	return e->reason != 0;
}

/* Applies a RUN: address space, then registers.  In the carrier. */
static int skas_carrier_load(struct skas_carrier *c)
{
	struct mm_struct *mm;
	struct skas_regs regs;
	int ret = 0;

	struct skas_batch *ops;
	long err;

	spin_lock_irq(&c->lock);
	mm = c->next_mm;
	c->next_mm = NULL;
	ops = c->next_ops;
	c->next_ops = NULL;
	c->ops_done = 0;
	c->ops_err = 0;
	regs = c->regs;
	spin_unlock_irq(&c->lock);
	/*
	 * A stop is taken before the next RUN is loaded, and the hooks take
	 * none while the work runs: none can be left.
	 */
	WARN_ON_ONCE(c->fast_sig);
	c->fast_sig = 0;

	if (mm) {
		ret = skas_switch_self(mm);
		if (ret) {
			if (ops)
				skas_batch_drop(ops);
			return ret;
		}
	}
	/* The space's pending changes, here and now: no worker. */
	if (ops) {
		err = skas_batch_here(ops, &c->ops_done);
		if (err) {
			c->ops_err = -err;
			return err;
		}
	}
	skas_regs_load(current_pt_regs(), &regs);
	return 0;
}

/* What a parked carrier waits for. */
static bool skas_carrier_go(struct skas_carrier *c)
{
	return READ_ONCE(c->state) == SKAS_C_GO || READ_ONCE(c->closing);
}

static void skas_carrier_work(struct callback_head *work)
{
	struct skas_carrier *c = container_of(work, struct skas_carrier, work);
	struct skas_regs regs;
	struct skas_exit e;
	int ret;

	raw_spin_lock_irq(&c->work_lock);
	c->work_queued = false;
	raw_spin_unlock_irq(&c->work_lock);
	c->in_work = true;
	if (current->flags & PF_EXITING)
		goto out;
	if (READ_ONCE(c->closing)) {
		send_sig(SIGKILL, current, 1);
		goto out;
	}

	spin_lock_irq(&c->lock);
	if (c->state == SKAS_C_STARTING) {
		/* The first stop: nothing to report. */
		c->state = SKAS_C_PARKED;
		spin_unlock_irq(&c->lock);
		wake_up_all(&c->wait);
		/*
		 * Signals queued before the probe knew the carrier (or blocked
		 * until ENTER): stops too, before the guest runs.
		 */
		if (skas_sync_pending(current))
			skas_carrier_queue(c, TWA_RESUME);
	} else {
		spin_unlock_irq(&c->lock);
		if (!skas_carrier_take_stop(c, &e))
			goto out;
		skas_regs_save(&regs, current_pt_regs());
		spin_lock_irq(&c->lock);
		if (c->state != SKAS_C_RUNNING) {
			spin_unlock_irq(&c->lock);
			goto out;
		}
		c->regs = regs;
		c->exit = e;
		c->state = SKAS_C_STOPPED;
		spin_unlock_irq(&c->lock);
		wake_up_all(&c->wait);
	}

	for (;;) {
		/*
		 * Parked: killable, freezable (suspend must not wait for a
		 * runner), and no load.  The cgroup v2 freezer and job control
		 * reach the carrier only when it next runs.
		 */
		if (wait_event_state(c->wait, skas_carrier_go(c),
				     (TASK_KILLABLE | TASK_NOLOAD | TASK_FREEZABLE)))
			break;	/* fatal signal: get_signal() ends us */
		if (READ_ONCE(c->closing)) {
			send_sig(SIGKILL, current, 1);
			break;
		}
		ret = skas_carrier_load(c);
		spin_lock_irq(&c->lock);
		if (ret) {
			/* Could not run there: a stop that says why. */
			memset(&c->exit, 0, sizeof(c->exit));
			c->exit.reason = SKAS_EXIT_REFUSED;
			c->exit.trap_nr = -1;
			c->exit.code = -ret;
			c->state = SKAS_C_STOPPED;
			spin_unlock_irq(&c->lock);
			wake_up_all(&c->wait);
			continue;
		}
		c->state = SKAS_C_RUNNING;
		c->ran = true;
		if (c->kick)
			skas_carrier_queue(c, TWA_RESUME);
		spin_unlock_irq(&c->lock);
		break;
	}
out:
	c->in_work = false;
	skas_carrier_put(c);
	/* Our code runs on for a few instructions: see skas_carrier_exit(). */
	module_put(THIS_MODULE);
}

/* ---- the runner's side ---------------------------------------------- */

/*
 * A data segment selector a user program may hold, of the GDT: the
 * context switch loads the selectors when the carrier wakes, before it
 * moves into the RUN's space, so an LDT selector would be looked up in
 * the wrong LDT.  Not carried yet.
 */
static bool skas_user_data_sel(u64 sel)
{
	return sel == 0 || sel == __USER_DS;
}

static int skas_regs_check(const struct skas_regs *r)
{
	if (r->rip >= TASK_SIZE_MAX || r->fs_base >= TASK_SIZE_MAX ||
	    r->gs_base >= TASK_SIZE_MAX)
		return -EINVAL;
	if (r->cs != __USER_CS && r->cs != __USER32_CS)
		return -EINVAL;
	if (r->ss != __USER_DS)
		return -EINVAL;
	if (!skas_user_data_sel(r->ds) || !skas_user_data_sel(r->es) ||
	    !skas_user_data_sel(r->fs) || !skas_user_data_sel(r->gs))
		return -EINVAL;
	return 0;
}

static void skas_carrier_settle(struct task_struct *t);

/*
 * The user segment state (FS and GS bases and selectors, DS, ES) lives in
 * thread_struct while the task is off its CPU: the context switch saved
 * it there and loads it from there.  So the runner reads and writes it,
 * with the carrier settled (skas_carrier_settle()).
 */
static void skas_segs_save(struct task_struct *t, struct skas_regs *r)
{
	r->fs_base = t->thread.fsbase;
	r->gs_base = t->thread.gsbase;
	r->fs = t->thread.fsindex;
	r->gs = t->thread.gsindex;
	r->ds = t->thread.ds;
	r->es = t->thread.es;
}

static void skas_segs_write(struct task_struct *t, const struct skas_regs *r)
{
	t->thread.fsbase = r->fs_base;
	t->thread.gsbase = r->gs_base;
	t->thread.fsindex = r->fs;
	t->thread.gsindex = r->gs;
	t->thread.ds = r->ds;
	t->thread.es = r->es;
}

/*
 * A settled carrier may still be woken for a moment (a thaw) and switched
 * out again, saving the CPU's registers over what we wrote: write again
 * until it was off its CPU the whole time (its switch counts did not move).
 */
static void skas_segs_load(struct task_struct *t, const struct skas_regs *r)
{
	unsigned long switches;

	for (;;) {
		skas_carrier_settle(t);
		switches = READ_ONCE(t->nvcsw) + READ_ONCE(t->nivcsw);
		skas_segs_write(t, r);
		/* Our writes before the checks; pairs with the scheduler's. */
		smp_mb();
		if (!READ_ONCE(t->on_cpu) &&
		    switches == READ_ONCE(t->nvcsw) + READ_ONCE(t->nivcsw))
			return;
	}
}

/* Stops a running carrier at its next return to user mode. */
static void skas_carrier_kick(struct skas_carrier *c)
{
	spin_lock_irq(&c->lock);
	if (c->state == SKAS_C_GO || c->state == SKAS_C_RUNNING) {
		c->kick = true;
		if (c->state == SKAS_C_RUNNING)
			skas_carrier_queue(c, TWA_SIGNAL);
	}
	spin_unlock_irq(&c->lock);
}

/*
 * Polls @cond for up to carrier_spin_us; true when it came true.  Gives
 * up at once when the CPU is wanted or a signal is pending.
 */
static bool skas_carrier_spin(struct skas_carrier *c,
			      bool (*cond)(struct skas_carrier *c))
{
	unsigned int us = min(READ_ONCE(carrier_spin_us), 1000U);
	u64 end;

	if (!us)
		return false;
	end = ktime_get_ns() + (u64)us * NSEC_PER_USEC;
	while (!cond(c)) {
		if (need_resched() || signal_pending(current) ||
		    ktime_get_ns() > end)
			return false;
		cpu_relax();
	}
	return true;
}

static bool skas_carrier_idle(struct skas_carrier *c)
{
	enum skas_carrier_state s = READ_ONCE(c->state);

	return s == SKAS_C_PARKED || s == SKAS_C_STOPPED || s == SKAS_C_DEAD;
}

static bool skas_carrier_done(struct skas_carrier *c)
{
	enum skas_carrier_state s = READ_ONCE(c->state);

	return s == SKAS_C_STOPPED || s == SKAS_C_DEAD;
}

static int skas_carrier_xstate_reset(struct skas_carrier *c);
static int skas_carrier_xstate_io(struct skas_carrier *c, void *buf,
				  unsigned int size, bool set);

#define SKAS_RUN_XSTATE	(SKAS_RUN_XSTATE_IN | SKAS_RUN_XSTATE_OUT)

static int skas_run_check_xstate(const struct skas_carrier *c,
				 const struct skas_run *run)
{
	if (run->flags & ~SKAS_RUN_XSTATE)
		return -EINVAL;
	if (!(run->flags & SKAS_RUN_XSTATE))
		return run->xstate_size || run->xstate ? -EINVAL : 0;
	if (!c->xbuf)
		return -EOPNOTSUPP;
	return run->xstate_size == c->xbuf_size ? 0 : -EINVAL;
}

/*
 * The xstate a RUN brings (or else the reset one, never the state of the
 * process the carrier was), with the seat held and the carrier stopped.
 */
static int skas_carrier_xstate_in(struct skas_carrier *c,
				  const struct skas_run *run)
{
	if (!(run->flags & SKAS_RUN_XSTATE_IN))
		return c->xstate_ours ? 0 : skas_carrier_xstate_reset(c);
	if (copy_from_user(c->xbuf, u64_to_user_ptr(run->xstate), c->xbuf_size))
		return -EFAULT;
	return skas_carrier_xstate_io(c, c->xbuf, c->xbuf_size, true);
}

/* And at its stop, with the carrier settled off its CPU. */
static int skas_carrier_xstate_out(struct skas_carrier *c,
				   const struct skas_run *run)
{
	int ret;

	if (!(run->flags & SKAS_RUN_XSTATE_OUT))
		return 0;
	ret = skas_carrier_xstate_io(c, c->xbuf, c->xbuf_size, false);
	if (ret)
		return ret;
	if (copy_to_user(u64_to_user_ptr(run->xstate), c->xbuf, c->xbuf_size))
		return -EFAULT;
	return 0;
}

/*
 * The operations a RUN carries, checked and prepared in the runner as a
 * /proc/mm write's are (mm_ops.c: files from the runner's table), with
 * its credentials and limits for the carrier to apply them with.  NULL
 * for none; any bad one fails the RUN before anything happened.
 */
static struct skas_batch *skas_carrier_prepare_ops(struct skas_run *run)
{
	const struct proc_mm_op __user *uops = u64_to_user_ptr(run->ops);
	struct skas_batch *batch;
	unsigned int i;
	int ret;

	if (!run->nr_ops)
		return NULL;
	if (run->nr_ops > PROC_MM_MAX_OPS)
		return ERR_PTR(-E2BIG);
	batch = skas_batch_alloc(run->nr_ops);
	if (!batch)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < run->nr_ops; i++) {
		if (copy_from_user(&batch->ops[i].op, &uops[i], sizeof(uops[i]))) {
			ret = -EFAULT;
			goto fail;
		}
		/*
		 * An LDT copied in after the switch would not be loaded
		 * before the guest runs: that one goes through /proc/mm.
		 */
		ret = batch->ops[i].op.op == MM_COPY_SEGMENTS ? -EINVAL :
		      skas_op_prepare(&batch->ops[i]);
		if (ret)
			goto fail;
		batch->nr++;
	}
	skas_job_capture(&batch->job);
	return batch;

fail:
	skas_batch_drop(batch);
	return ERR_PTR(ret);
}

static long skas_carrier_run(struct skas_carrier *c, struct skas_run __user *arg)
{
	struct mm_struct *mm = NULL, *unused = NULL;
	struct skas_batch *ops, *unused_ops = NULL;
	struct skas_run run;
	long ret;

	if (copy_from_user(&run, arg, sizeof(run)))
		return -EFAULT;
	if (run.version != SKAS_CARRIER_VERSION)
		return -EINVAL;
	ret = skas_run_check_xstate(c, &run);
	if (ret)
		return ret;
	ret = skas_regs_check(&run.regs);
	if (ret)
		return ret;
	ops = skas_carrier_prepare_ops(&run);
	if (IS_ERR(ops))
		return PTR_ERR(ops);
	if (run.mm_fd != -1) {
		mm = skas_get_fd_mm(run.mm_fd);
		if (IS_ERR(mm)) {
			if (ops)
				skas_batch_drop(ops);
			return PTR_ERR(mm);
		}
		/* Where dumpability is the mm's (6.x), the space's must be off. */
		if (skas_mm_dumpable(mm)) {
			mmput(mm);
			if (ops)
				skas_batch_drop(ops);
			return -EPERM;
		}
	}

	spin_lock_irq(&c->lock);
	if (c->runner_busy)
		ret = -EBUSY;
	else if (c->state == SKAS_C_NEW)
		ret = -ESRCH;
	else if (!mm && !c->ran)
		ret = -EINVAL;	/* never in the carrier's own mm */
	else
		c->runner_busy = true;
	spin_unlock_irq(&c->lock);
	if (ret)
		goto out_mm;

	/* The carrier's first stop may still be on its way. */
	ret = wait_event_interruptible(c->wait, skas_carrier_idle(c));
	if (ret)
		goto out_busy;
	if (READ_ONCE(c->state) != SKAS_C_DEAD) {
		ret = skas_carrier_xstate_in(c, &run);
		if (ret)
			goto out_busy;
		skas_segs_load(c->task, &run.regs);
	}

	spin_lock_irq(&c->lock);
	if (c->state != SKAS_C_DEAD) {
		c->next_mm = mm;
		mm = NULL;
		c->next_ops = ops;
		ops = NULL;
		c->regs = run.regs;
		c->state = SKAS_C_GO;
	}
	spin_unlock_irq(&c->lock);
	wake_up_all(&c->wait);

	if (!skas_carrier_spin(c, skas_carrier_done) &&
	    wait_event_interruptible(c->wait, skas_carrier_done(c))) {
		/*
		 * A signal for the runner: stop the carrier, then report.
		 * Freezable: the suspend freezer's signal lands here, and the
		 * carrier may be frozen before it sees the kick.
		 */
		skas_carrier_kick(c);
		if (wait_event_state(c->wait, skas_carrier_done(c),
				     (TASK_KILLABLE | TASK_FREEZABLE))) {
			ret = -EINTR;
			goto out_busy;
		}
	}

	spin_lock_irq(&c->lock);
	if (c->state == SKAS_C_DEAD) {
		memset(&run.exit, 0, sizeof(run.exit));
		run.exit.reason = SKAS_EXIT_DEAD;
		run.exit.trap_nr = -1;
		/* Not consumed: the carrier died before it took it. */
		unused = c->next_mm;
		c->next_mm = NULL;
		unused_ops = c->next_ops;
		c->next_ops = NULL;
	} else {
		run.regs = c->regs;
		run.exit = c->exit;
		run.ops_done = c->ops_done;
		run.ops_err = c->ops_err;
		c->state = SKAS_C_PARKED;
		/* A kick that a real stop overtook is spent. */
		c->kick = false;
	}
	spin_unlock_irq(&c->lock);
	if (run.exit.reason != SKAS_EXIT_DEAD) {
		skas_carrier_settle(c->task);
		skas_segs_save(c->task, &run.regs);
		ret = skas_carrier_xstate_out(c, &run);
	}
	if (copy_to_user(arg, &run, sizeof(run)))
		ret = -EFAULT;
out_busy:
	spin_lock_irq(&c->lock);
	c->runner_busy = false;
	spin_unlock_irq(&c->lock);
out_mm:
	if (mm)
		mmput(mm);
	if (unused)
		mmput(unused);
	if (ops)
		skas_batch_drop(ops);
	if (unused_ops)
		skas_batch_drop(unused_ops);
	return ret;
}

/* ---- FPU and extended state ----------------------------------------- */

/*
 * ptrace's NT_X86_XSTATE regset: the conversion between the kernel's
 * compacted buffer and the standard layout, and its validation (reserved
 * bits, MXCSR), are the kernel's own.  Its functions want a target that
 * is not current and not running: a stopped carrier, off its CPU.
 */
/*
 * From the caller's view, never the carrier's: the view looks at the
 * task's user registers on its stack, which a dead carrier no longer has.
 * The runner is a 64-bit task (no compat ioctl), and both views have the
 * same NT_X86_XSTATE regset.
 */
static const struct user_regset *skas_xstate_regset(void)
{
	const struct user_regset_view *view = task_user_regset_view(current);
	unsigned int i;

	for (i = 0; i < view->n; i++)
		if (view->regsets[i].core_note_type == NT_X86_XSTATE)
			return view->regsets[i].n ? &view->regsets[i] : NULL;
	return NULL;
}

static long skas_xstate_size(void)
{
	const struct user_regset *rs = skas_xstate_regset();

	return rs ? (long)rs->n * rs->size : -EOPNOTSUPP;
}

/*
 * Parked carriers go to sleep after they say so: wait until this one is
 * off its CPU, so that its saved FPU state is complete.  It stays
 * asleep: only its runner, which holds the seat, wakes it for good.
 */
static void skas_carrier_settle(struct task_struct *t)
{
	/* Pairs with the release of on_cpu in the scheduler's finish_task(). */
	while (smp_load_acquire(&t->on_cpu)) {
		if (need_resched())
			cond_resched();
		else
			cpu_relax();
	}
}

/* With the seat held and the carrier stopped; buf holds size bytes. */
static int skas_carrier_xstate_io(struct skas_carrier *c, void *buf,
				  unsigned int size, bool set)
{
	const struct user_regset *rs;
	int ret;

	skas_carrier_settle(c->task);
	rs = skas_xstate_regset();
	if (!rs || rs->n * rs->size != size)
		return -EOPNOTSUPP;
	if (!set) {
		ret = regset_get(c->task, rs, size, buf);
		return ret < 0 ? ret : 0;
	}
	ret = rs->set(c->task, rs, 0, size, buf, NULL);
	if (!ret)
		c->xstate_ours = true;
	return ret;
}

/*
 * Before the first RUN, unless the runner set it: the initial state, so
 * that no register of the process the carrier was reaches the guest.  FP
 * and SSE are written out, with the default control words: a header
 * without them would leave MXCSR as the process had it (the kernel keeps
 * it then, and XRSTOR loads it whenever SSE state is requested).
 */
static int skas_carrier_xstate_reset(struct skas_carrier *c)
{
	long size = skas_xstate_size();
	struct fxregs_state *fx;
	void *buf;
	int ret;

	if (size < 0)
		return size;
	if (size < sizeof(*fx) + sizeof(struct xstate_header))
		return -EOPNOTSUPP;
	buf = kvzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	fx = buf;
	fx->cwd = 0x37f;		/* what FNINIT loads */
	fx->mxcsr = MXCSR_DEFAULT;
	((struct xstate_header *)(fx + 1))->xfeatures = XFEATURE_MASK_FP | XFEATURE_MASK_SSE;
	ret = skas_carrier_xstate_io(c, buf, size, true);
	kvfree(buf);
	return ret;
}

static long skas_carrier_xstate(struct skas_carrier *c,
				struct skas_xstate __user *arg, bool set)
{
	struct skas_xstate x;
	long size, ret;
	void *buf;

	if (copy_from_user(&x, arg, sizeof(x)))
		return -EFAULT;
	size = skas_xstate_size();
	if (size < 0)
		return size;
	if (x.flags || x.size != size)
		return -EINVAL;
	buf = kvzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	if (set && copy_from_user(buf, u64_to_user_ptr(x.buf), size)) {
		ret = -EFAULT;
		goto out_free;
	}

	ret = 0;
	spin_lock_irq(&c->lock);
	if (c->runner_busy)
		ret = -EBUSY;
	else if (c->state == SKAS_C_NEW || c->state == SKAS_C_DEAD)
		ret = -ESRCH;
	else
		c->runner_busy = true;
	spin_unlock_irq(&c->lock);
	if (ret)
		goto out_free;
	ret = wait_event_interruptible(c->wait, skas_carrier_idle(c));
	if (!ret && READ_ONCE(c->state) == SKAS_C_DEAD)
		ret = -ESRCH;
	/* Never the state of the process the carrier was. */
	if (!ret && !set && !c->xstate_ours)
		ret = skas_carrier_xstate_reset(c);
	if (!ret)
		ret = skas_carrier_xstate_io(c, buf, size, set);
	spin_lock_irq(&c->lock);
	c->runner_busy = false;
	spin_unlock_irq(&c->lock);

	if (!ret && !set && copy_to_user(u64_to_user_ptr(x.buf), buf, size))
		ret = -EFAULT;
out_free:
	kvfree(buf);
	return ret;
}

/* A space's LDT, as PTRACE_LDT changes it: the runner's, no carrier needed. */
static long skas_carrier_ldt(struct skas_ldt __user *arg)
{
	struct mm_struct *mm;
	struct skas_ldt req;
	long ret;

	if (!skas_space_may_open())
		return -EPERM;
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	mm = skas_get_fd_mm(req.mm_fd);
	if (IS_ERR(mm))
		return PTR_ERR(mm);
	ret = skas_ldt_request(mm, req.func, u64_to_user_ptr(req.ptr), req.bytecount);
	mmput(mm);
	return ret;
}

/* ---- becoming a carrier --------------------------------------------- */

static int skas_other_fd(const void *handle, struct file *file, unsigned int fd)
{
	return fd != (unsigned long)handle;
}

/* What ENTER asks of the caller (see the top of this file). */
static int skas_carrier_check_self(struct skas_carrier *c, unsigned int fd)
{
	struct task_struct *tsk = current;

	if (!uid_eq(current_euid(), c->euid))
		return -EPERM;
	if (!thread_group_empty(tsk) || tsk->vfork_done || !tsk->mm ||
	    skas_mm_multiprocess(tsk->mm) ||
	    refcount_read(&tsk->sighand->count) != 1 ||
	    atomic_read(&tsk->files->count) != 1)
		return -EINVAL;
	if (iterate_fd(tsk->files, 0, skas_other_fd, (void *)(unsigned long)fd))
		return -EBADFD;
	if (!task_no_new_privs(tsk) || tsk->seccomp.mode != SECCOMP_MODE_FILTER ||
	    skas_task_dumpable(tsk) || tsk->ptrace)
		return -EPERM;
	/* I/O port access (ioperm, iopl) would be the guest's; so would a ring. */
	if (test_tsk_thread_flag(tsk, TIF_IO_BITMAP) || skas_task_has_user_shstk(tsk))
		return -EPERM;
	if (tsk->io_uring)
		return -EBUSY;
	if (skas_futex_pi_held(tsk))
		return -EBUSY;
	return 0;
}

/* Handlers as described at the top; nothing blocked, no alternate stack. */
static void skas_carrier_reset_signals(struct task_struct *tsk)
{
	struct k_sigaction *ka;
	int sig;

	spin_lock_irq(&tsk->sighand->siglock);
	for (sig = 1; sig <= _NSIG; sig++) {
		ka = &tsk->sighand->action[sig - 1];
		memset(ka, 0, sizeof(*ka));
		if (sig <= BITS_PER_LONG && (sigmask(sig) & SKAS_SYNC_SIGNALS))
			ka->sa.sa_handler = SKAS_CARRIER_HANDLER;
		else
			ka->sa.sa_handler = SIG_DFL;
	}
	sigemptyset(&tsk->blocked);
	recalc_sigpending();
	spin_unlock_irq(&tsk->sighand->siglock);
	sas_ss_reset(tsk);
}

static long skas_carrier_enter(struct skas_carrier *c, struct file *file,
			       unsigned long fd)
{
	struct task_struct *tsk = current;
	unsigned long flags;
	struct file *f;
	bool taken;
	int ret;

	if (fd > INT_MAX)
		return -EBADF;
	f = fget(fd);
	if (!f)
		return -EBADF;
	fput(f);
	if (f != file)
		return -EBADF;
	ret = skas_carrier_check_self(c, fd);
	if (ret)
		return ret;

	spin_lock_irqsave(&skas_carriers_lock, flags);
	taken = skas_carrier_find(tsk);
	spin_unlock_irqrestore(&skas_carriers_lock, flags);
	if (taken)
		return -EBUSY;

	spin_lock_irq(&c->lock);
	if (c->state != SKAS_C_NEW || c->closing) {
		spin_unlock_irq(&c->lock);
		return -EBUSY;
	}
	c->state = SKAS_C_STARTING;
	c->task = get_task_struct(tsk);
	spin_unlock_irq(&c->lock);

	skas_carrier_reset_signals(tsk);
	/*
	 * No GDT TLS descriptor of the process it was: loaded into the GDT
	 * when it is next switched in, which is before the guest runs (it
	 * sleeps at its first stop).
	 */
	memset(tsk->thread.tls_array, 0, sizeof(tsk->thread.tls_array));
	/* Every system call dispatched: no exempt range, no selector. */
	tsk->syscall_dispatch.selector = NULL;
	tsk->syscall_dispatch.offset = 0;
	tsk->syscall_dispatch.len = 0;
	tsk->syscall_dispatch.on_dispatch = false;
	set_task_syscall_work(tsk, SYSCALL_USER_DISPATCH);

	kref_get(&c->ref);
	__module_get(THIS_MODULE);
	spin_lock_irqsave(&skas_carriers_lock, flags);
	hash_add_rcu(skas_carriers, &c->node, (unsigned long)tsk);
	atomic_inc(&skas_carriers_live);
	spin_unlock_irqrestore(&skas_carriers_lock, flags);

	/*
	 * The guest must never hold a host descriptor: drop ours now.  The
	 * file stays valid until this call returns (this fd was borrowed,
	 * and the last fput() of a user task is deferred to its task works),
	 * but if nobody else holds it its release, which would stop us, runs
	 * among our task works, perhaps after our first stop has parked for
	 * good: so then we are closing already.  Our own reference keeps
	 * the file readable meanwhile: a runner may close its last copy at
	 * the same time.
	 */
	get_file(file);
	close_fd(fd);
	if (file_count(file) == 1) {
		spin_lock_irq(&c->lock);
		c->closing = true;
		spin_unlock_irq(&c->lock);
	}
	/* The first stop, on the way out of this call. */
	skas_carrier_queue(c, TWA_RESUME);
	fput(file);
	return 0;
}

/* ---- the file ------------------------------------------------------- */

static void skas_fast_hooks_get(void);
static void skas_fast_hooks_put(void);

static int skas_carrier_open(struct inode *inode, struct file *file)
{
	long xsize = skas_xstate_size();
	struct skas_carrier *c;

	if (!skas_space_may_open())
		return -EACCES;
	c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return -ENOMEM;
	if (xsize > 0) {
		c->xbuf = kvzalloc(xsize, GFP_KERNEL_ACCOUNT);
		if (!c->xbuf) {
			kfree(c);
			return -ENOMEM;
		}
		c->xbuf_size = xsize;
	}
	kref_init(&c->ref);
	spin_lock_init(&c->lock);
	raw_spin_lock_init(&c->work_lock);
	init_waitqueue_head(&c->wait);
	c->state = SKAS_C_NEW;
	c->euid = current_euid();
	init_task_work(&c->work, skas_carrier_work);
	file->private_data = c;
	skas_fast_hooks_get();
	return 0;
}

static int skas_carrier_file_release(struct inode *inode, struct file *file)
{
	struct skas_carrier *c = file->private_data;
	struct task_struct *tsk = NULL;
	struct skas_batch *ops;
	struct mm_struct *mm;

	spin_lock_irq(&c->lock);
	c->closing = true;
	if (c->state != SKAS_C_NEW && c->state != SKAS_C_DEAD)
		tsk = c->task;
	mm = c->next_mm;
	c->next_mm = NULL;
	ops = c->next_ops;
	c->next_ops = NULL;
	spin_unlock_irq(&c->lock);
	if (mm)
		mmput(mm);
	if (ops)
		skas_batch_drop(ops);
	/* No request is in progress: they hold the file. */
	kvfree(c->xbuf);
	c->xbuf = NULL;
	/* Nobody can run it any more. */
	if (tsk)
		send_sig(SIGKILL, tsk, 1);
	wake_up_all(&c->wait);
	skas_carrier_put(c);
	skas_fast_hooks_put();
	return 0;
}

static long skas_carrier_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	struct skas_carrier *c = file->private_data;

	switch (cmd) {
	case SKAS_CARRIER_ENTER:
		return skas_carrier_enter(c, file, arg);
	case SKAS_CARRIER_RUN:
		if (!uid_eq(current_euid(), c->euid))
			return -EPERM;
		return skas_carrier_run(c, (struct skas_run __user *)arg);
	case SKAS_CARRIER_KICK:
		if (!uid_eq(current_euid(), c->euid))
			return -EPERM;
		skas_carrier_kick(c);
		return 0;
	case SKAS_CARRIER_GET_XSTATE:
	case SKAS_CARRIER_SET_XSTATE:
		if (!uid_eq(current_euid(), c->euid))
			return -EPERM;
		return skas_carrier_xstate(c, (struct skas_xstate __user *)arg,
					   cmd == SKAS_CARRIER_SET_XSTATE);
	case SKAS_CARRIER_XSTATE_SIZE:
		return skas_xstate_size();
	case SKAS_CARRIER_LDT:
		return skas_carrier_ldt((struct skas_ldt __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations skas_carrier_fops = {
	.owner = THIS_MODULE,
	.open = skas_carrier_open,
	.release = skas_carrier_file_release,
	.unlocked_ioctl = skas_carrier_ioctl,
	.llseek = noop_llseek,
};

/*
 * 0666: open() applies /proc/mm's rule (space.c) itself, so the node
 * needs no group of its own.
 */
static struct miscdevice skas_carrier_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "uml-skas",
	.fops = &skas_carrier_fops,
	.mode = 0666,
};

/*
 * The fast paths.  Syscall User Dispatch skips a carrier's system call and
 * calls force_sig_info() with a SIGSYS; a trap in guest code (page fault,
 * ud2, divide error, debug trap; int3 uses force_sig()) calls
 * force_sig_fault() after it left its details in current->thread, except
 * a page fault that a protection key forbids, which calls
 * force_sig_pkuerr() (its own hook: it calls force_sig_info() in the same
 * file, where the compiler may inline it).  An ftrace hook on each of
 * the three functions sends a carrier's own stops into skas_sud_stop(),
 * skas_trap_stop() or skas_pkuerr_stop() instead, which record the stop
 * and queue the carrier's work, without a signal.  What the guest did is
 * undone or skipped either way (syscall_user_dispatch() returns true
 * whatever force_sig_info() did; a trap returns to the faulting
 * instruction, or after it, as the signal path would).  Without a hook
 * (no ftrace, the function taken by a live patch) the signal path above
 * takes the stop.  The hooks take none while the carrier's work runs, or
 * while a fast stop is still to be taken: those go by signal.
 */
static bool carrier_fast_syscalls = true;
module_param(carrier_fast_syscalls, bool, 0644);
MODULE_PARM_DESC(carrier_fast_syscalls,
		 "take carriers' system call stops without a signal (ftrace on force_sig_info; default: on)");

static bool carrier_fast_traps = true;
module_param(carrier_fast_traps, bool, 0644);
MODULE_PARM_DESC(carrier_fast_traps,
		 "take carriers' fault and trap stops without a signal (ftrace on force_sig_fault and force_sig_pkuerr; default: on)");

struct skas_hook {
	struct ftrace_ops ops;
	char target[32];	/* ftrace_set_filter() wants it writable */
	bool hooked;		/* read unlocked by carrier_stops */
	bool stuck;		/* ftrace would not let it go: never touched again */
	int last_err;		/* of the last registration, logged on change */
};

static struct skas_hook skas_sud_hook_ops, skas_trap_hook_ops, skas_pkuerr_hook_ops;

static unsigned long skas_stops_sum(unsigned long __percpu *counter)
{
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(*counter, cpu);
	return sum;
}

static int skas_stops_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf,
			  "fast %lu slow %lu hooked %d traps %lu traps_hooked %d traps_slow %lu pkuerr_hooked %d\n",
			  skas_stops_sum(&skas_fast_stops), skas_stops_sum(&skas_slow_stops),
			  READ_ONCE(skas_sud_hook_ops.hooked), skas_stops_sum(&skas_fast_traps),
			  READ_ONCE(skas_trap_hook_ops.hooked), skas_stops_sum(&skas_slow_traps),
			  READ_ONCE(skas_pkuerr_hook_ops.hooked));
}

/* Read-only, also on the module's command line (parse_one() wants a set). */
static int skas_stops_set(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}

static const struct kernel_param_ops skas_stops_ops = {
	.set = skas_stops_set,
	.get = skas_stops_get,
};

/* Root only: the rate of every user's carriers' system calls. */
module_param_cb(carrier_stops, &skas_stops_ops, NULL, 0400);
MODULE_PARM_DESC(carrier_stops,
		 "carriers' stops so far: system calls by the fast path (ftrace) and by signal, traps by the fast path and by signal");

/*
 * Records a fast stop (in the carrier, on its way back to user mode) and
 * queues the work that takes it.  If the work cannot be queued no stop
 * would be taken: fail closed, as the signal path would.
 */
static void notrace skas_fast_stop(int sig, int code, int nr, unsigned long addr,
				   unsigned long __percpu *counter)
{
	struct skas_carrier *c;
	bool queued = false;

	rcu_read_lock();
	c = skas_carrier_find(current);
	if (c) {
		c->fast_sig = sig;
		c->fast_code = code;
		c->sys_nr = nr;
		c->fast_addr = addr;
		c->fast_trap_nr = current->thread.trap_nr;
		c->fast_error_code = current->thread.error_code;
		queued = skas_carrier_queue(c, TWA_RESUME);
		if (!queued)
			c->fast_sig = 0;
	}
	rcu_read_unlock();
	if (!queued) {
		send_sig(SIGKILL, current, 1);
		return;
	}
	this_cpu_inc(*counter);
}

/* In place of force_sig_info(info). */
static int notrace skas_sud_stop(struct kernel_siginfo *info)
{
	skas_fast_stop(SIGSYS, SYS_USER_DISPATCH, info->si_syscall, 0, &skas_fast_stops);
	return 0;
}

/* In place of force_sig_fault(sig, code, addr). */
static int notrace skas_trap_stop(int sig, int code, void __user *addr)
{
	skas_fast_stop(sig, code, 0, (unsigned long)addr, &skas_fast_traps);
	return 0;
}

/*
 * In place of force_sig_pkuerr(addr, pkey), a read or write that a
 * protection key forbids: on a host with protection keys PROT_EXEC alone
 * is execute-only, and UML maps a page that is not yet accessed that way.
 * The fault left its details in current->thread as for any other page
 * fault.
 */
static int notrace skas_pkuerr_stop(void __user *addr, u32 pkey)
{
	skas_fast_stop(SIGSEGV, SEGV_PKUERR, 0, (unsigned long)addr, &skas_fast_traps);
	return 0;
}

/* Whether current is a carrier that may take a fast stop now. */
static bool notrace skas_fast_stop_ok(void)
{
	struct skas_carrier *c;
	bool ok;

	rcu_read_lock();
	c = skas_carrier_find(current);
	ok = c && READ_ONCE(c->state) == SKAS_C_RUNNING && !c->in_work && !c->fast_sig;
	rcu_read_unlock();
	return ok;
}

static void notrace skas_sud_hook(unsigned long ip, unsigned long parent_ip,
				  struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	const struct kernel_siginfo *info;

	if (likely(!atomic_read(&skas_carriers_live)) || !regs ||
	    !READ_ONCE(carrier_fast_syscalls))
		return;
	/* force_sig_info(info): argument 1. */
	info = (const struct kernel_siginfo *)regs->di;
	if (info->si_signo != SIGSYS || info->si_code != SYS_USER_DISPATCH ||
	    !current->syscall_dispatch.on_dispatch)
		return;
	if (skas_fast_stop_ok())
		skas_ftrace_set_ip(fregs, (unsigned long)skas_sud_stop);
}

static void notrace skas_trap_hook(unsigned long ip, unsigned long parent_ip,
				   struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	int sig;

	if (likely(!atomic_read(&skas_carriers_live)) || !regs ||
	    !READ_ONCE(carrier_fast_traps))
		return;
	/* force_sig_fault(sig, code, addr): argument 1; only what a trap raises. */
	sig = (int)regs->di;
	if (sig <= 0 || sig >= SIGSYS || !(sigmask(sig) & SKAS_SYNC_SIGNALS) ||
	    (int)regs->si <= 0)
		return;
	if (skas_fast_stop_ok())
		skas_ftrace_set_ip(fregs, (unsigned long)skas_trap_stop);
}

/* force_sig_pkuerr(addr, pkey): raised only for a user-mode fault. */
static void notrace skas_pkuerr_hook(unsigned long ip, unsigned long parent_ip,
				     struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);

	if (likely(!atomic_read(&skas_carriers_live)) || !regs ||
	    !READ_ONCE(carrier_fast_traps))
		return;
	if (skas_fast_stop_ok())
		skas_ftrace_set_ip(fregs, (unsigned long)skas_pkuerr_stop);
}

static void skas_hook_init(struct skas_hook *h, const char *target, ftrace_func_t func)
{
	int ret;

	if (h->hooked || h->stuck)
		return;
	/* As at load: nothing uses the ops of an earlier registration. */
	memset(&h->ops, 0, sizeof(h->ops));
	h->ops.func = func;
	h->ops.flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY |
		       FTRACE_OPS_FL_RECURSION;
	strscpy(h->target, target, sizeof(h->target));
	ret = ftrace_set_filter(&h->ops, h->target, strlen(h->target), 0);
	if (!ret) {
		ret = register_ftrace_function(&h->ops);
		if (ret) {
			/* A refused ops may have been on the list a moment. */
			synchronize_rcu();
			ftrace_free_filter(&h->ops);
		}
	}
	if (ret) {
		if (ret != h->last_err)
			pr_info("carrier: no fast stops through %s (%d): signals take them\n",
				target, ret);
		h->last_err = ret;
		return;
	}
	h->last_err = 0;
	WRITE_ONCE(h->hooked, true);
}

/*
 * Waits until no task is in the hook or on its trampoline.  If ftrace
 * cannot take the hook back (it turned itself off after an internal
 * error), the ops and our text stay in its hands: the hook is left alone
 * from then on and the module pinned.
 */
static void skas_hook_exit(struct skas_hook *h, bool unloading)
{
	int ret;

	if (!h->hooked || h->stuck)
		return;
	ret = unregister_ftrace_function(&h->ops);
	if (ret) {
		WARN_ONCE(1, "uml_skas_host: ftrace kept the hook on %s (%d)%s\n", h->target,
			  ret, unloading ? "" : ": module pinned");
		h->stuck = true;
		if (!unloading)
			__module_get(THIS_MODULE);
		return;
	}
	ftrace_free_filter(&h->ops);
	WRITE_ONCE(h->hooked, false);
}

static void skas_fast_hooks_init(void)
{
	skas_hook_init(&skas_sud_hook_ops, "force_sig_info", skas_sud_hook);
	skas_hook_init(&skas_trap_hook_ops, "force_sig_fault", skas_trap_hook);
	skas_hook_init(&skas_pkuerr_hook_ops, "force_sig_pkuerr", skas_pkuerr_hook);
}

static void skas_fast_hooks_exit(bool unloading)
{
	skas_hook_exit(&skas_pkuerr_hook_ops, unloading);
	skas_hook_exit(&skas_trap_hook_ops, unloading);
	skas_hook_exit(&skas_sud_hook_ops, unloading);
}

/*
 * The hooks are there only while /dev/uml-skas is in use: registered soon
 * after the first open, taken away carrier_hooks_idle_ms after the last
 * file was closed (an open meanwhile keeps them; registering patches
 * kernel text, which a group member's open/close loop must not do at
 * will).  While they are registered no live patch of force_sig_info(),
 * force_sig_fault() or force_sig_pkuerr() can be applied (we are their
 * IPMODIFY users); on a host
 * that runs no instance the functions are as if the module were not
 * there.  A carrier may take its first stops, or its last ones (closing
 * the file kills it), without hooks: by signal.
 *
 * open and release only count and queue skas_hooks_work: they run under
 * the misc device mutex of the whole host (open) or at any task's exit
 * (release), where the grace periods of registering must not be waited
 * for.  The work, never running twice at once, makes the hooks follow
 * the count; skas_hooks_on is its own.
 */
static unsigned int carrier_hooks_idle_ms = 10000;
module_param(carrier_hooks_idle_ms, uint, 0644);
MODULE_PARM_DESC(carrier_hooks_idle_ms,
		 "milliseconds the fast-stop hooks stay after the last /dev/uml-skas file is closed (100-60000, default 10000)");

static atomic_t skas_hooks_users = ATOMIC_INIT(0);
static bool skas_hooks_on;

static void skas_hooks_fn(struct work_struct *work)
{
	if (atomic_read(&skas_hooks_users) && !skas_hooks_on) {
		skas_fast_hooks_init();
		skas_hooks_on = true;
	} else if (!atomic_read(&skas_hooks_users) && skas_hooks_on) {
		skas_fast_hooks_exit(false);
		skas_hooks_on = false;
	}
}

static DECLARE_DELAYED_WORK(skas_hooks_work, skas_hooks_fn);

static void skas_fast_hooks_get(void)
{
	if (atomic_inc_return(&skas_hooks_users) == 1)
		mod_delayed_work(system_long_wq, &skas_hooks_work, 0);
}

static void skas_fast_hooks_put(void)
{
	unsigned int ms = clamp(READ_ONCE(carrier_hooks_idle_ms), 100U, 60000U);

	if (atomic_dec_and_test(&skas_hooks_users))
		mod_delayed_work(system_long_wq, &skas_hooks_work, msecs_to_jiffies(ms));
}

static struct tracepoint *skas_tp_signal, *skas_tp_exit;
static bool skas_carrier_registered;

static void skas_find_tracepoint(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "signal_generate"))
		skas_tp_signal = tp;
	else if (!strcmp(tp->name, "sched_process_exit"))
		skas_tp_exit = tp;
}

int skas_carrier_init(void)
{
	int ret;

	if (!carrier)
		return 0;
	for_each_kernel_tracepoint(skas_find_tracepoint, NULL);
	if (!skas_tp_signal || !skas_tp_exit) {
		pr_warn("carrier: tracepoints signal_generate and sched_process_exit not found\n");
		ret = -ENOENT;
		goto out_warn;
	}
	ret = tracepoint_probe_register(skas_tp_exit, skas_probe_exit, NULL);
	if (ret)
		goto out_warn;
	ret = tracepoint_probe_register(skas_tp_signal, skas_probe_signal, NULL);
	if (ret)
		goto out_exit;
	ret = misc_register(&skas_carrier_dev);
	if (ret)
		goto out_signal;
	skas_carrier_registered = true;
	pr_info("carrier: /dev/uml-skas ready\n");
	return 0;

out_signal:
	tracepoint_probe_unregister(skas_tp_signal, skas_probe_signal, NULL);
out_exit:
	tracepoint_probe_unregister(skas_tp_exit, skas_probe_exit, NULL);
	tracepoint_synchronize_unregister();
out_warn:
	/* /proc/mm and skas3 do not need carriers: the module loads without. */
	pr_warn("carrier: /dev/uml-skas not registered (%d): no skas4 mode\n", ret);
	return 0;
}

/*
 * Only when no file is open and no carrier lives (each holds a module
 * reference): what remains are probes in flight, RCU frees and the return
 * path of the last task_work (skas_switch_exit() waits for that).
 */
void skas_carrier_exit(void)
{
	if (!skas_carrier_registered)
		return;
	misc_deregister(&skas_carrier_dev);
	/* No file is open (each holds a module reference): nobody queues it. */
	cancel_delayed_work_sync(&skas_hooks_work);
	if (skas_hooks_on)
		skas_fast_hooks_exit(true);
	skas_hooks_on = false;
	/* Carriers sent into the skas_*_stop() functions may still be leaving them. */
	synchronize_rcu_tasks();
	tracepoint_probe_unregister(skas_tp_signal, skas_probe_signal, NULL);
	tracepoint_probe_unregister(skas_tp_exit, skas_probe_exit, NULL);
	tracepoint_synchronize_unregister();
	rcu_barrier();
}
