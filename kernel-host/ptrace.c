// SPDX-License-Identifier: GPL-2.0
/*
 * The skas ptrace requests.
 *
 * ptrace(2) has no extension point for modules.  sys_ptrace() checks the
 * caller is the tracer of a stopped (and frozen) tracee and then calls
 * arch_ptrace() for every request that is not an attach.  We put an
 * ftrace hook on arch_ptrace(): for our request numbers the hook sends the
 * call to skas_arch_ptrace() instead, with the same arguments; all other
 * requests are left alone.  So every request here is made by the tracer
 * of a stopped tracee, exactly as ptrace's own are.
 *
 * While the hook is registered it may send a task into our code; the
 * handler takes a module reference for its duration and unloading waits
 * for an RCU-tasks grace period, so no task is left in our text.
 */
#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/ptrace.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/ldt.h>
#include <asm/trap_pf.h>
#include <asm/trapnr.h>

#include "compat.h"
#include "skas_host.h"

/*
 * The fault behind the tracee's current stop.  A fault stops the tracee
 * for the signal the fault raised, and only then do thread.cr2,
 * error_code and trap_nr describe this stop: for a signal someone sent
 * (kill -SEGV, si_code <= 0) or any other stop they are left over from
 * an earlier fault.  So the report is taken from the stop's siginfo: a
 * fault is a SIGSEGV or SIGBUS the kernel raised; its address is the
 * signal's si_addr.  Anything else reports trap_no -1 (no fault).  The
 * tracee is frozen in its stop, so last_siginfo stays put while we read.
 *
 * Only a page fault is reported: a SIGSEGV or SIGBUS with a fault si_code
 * whose address is the one the fault handler recorded with trap 14.  A
 * kernel-made SIGSEGV without a fault (a signal frame that could not be
 * written, rseq) leaves thread.trap_nr and error_code as an earlier fault
 * left them, so nothing else can be trusted to be this stop's.
 */
static bool skas_fault_code(const kernel_siginfo_t *info)
{
	switch (info->si_signo) {
	case SIGSEGV:
		return info->si_code == SEGV_MAPERR || info->si_code == SEGV_ACCERR ||
		       info->si_code == SEGV_PKUERR;
	case SIGBUS:
		return info->si_code == BUS_ADRERR;
	}
	return false;
}

static void skas_stop_fault(struct task_struct *child,
			    struct ptrace_ex_faultinfo *fi)
{
	kernel_siginfo_t info;
	bool have = false;

	memset(fi, 0, sizeof(*fi));	/* no padding bytes leak */
	fi->trap_no = -1;
	spin_lock_irq(&child->sighand->siglock);
	if (child->last_siginfo) {
		copy_siginfo(&info, child->last_siginfo);
		have = true;
	}
	spin_unlock_irq(&child->sighand->siglock);

	if (!have || !skas_fault_code(&info) ||
	    child->thread.trap_nr != X86_TRAP_PF ||
	    (unsigned long)info.si_addr != child->thread.cr2)
		return;
	fi->addr = child->thread.cr2;
	fi->trap_no = X86_TRAP_PF;
	fi->error_code = child->thread.error_code;
	fi->is_write = !!(fi->error_code & X86_PF_WRITE);
}

static long skas_faultinfo(struct task_struct *child, void __user *data)
{
	struct ptrace_ex_faultinfo ex;
	struct ptrace_faultinfo fi;

	skas_stop_fault(child, &ex);
	memset(&fi, 0, sizeof(fi));
	fi.is_write = ex.is_write;
	fi.addr = ex.addr;
	return copy_to_user(data, &fi, sizeof(fi)) ? -EFAULT : 0;
}

static long skas_ex_faultinfo(struct task_struct *child, void __user *data)
{
	struct ptrace_ex_faultinfo fi;

	skas_stop_fault(child, &fi);
	return copy_to_user(data, &fi, sizeof(fi)) ? -EFAULT : 0;
}

/*
 * Signals pending for the tracee: its own and its thread group's.  The
 * tracee is frozen in a ptrace stop, so its sighand cannot go away.
 */
static long skas_sigpending(struct task_struct *child, void __user *data)
{
	sigset_t set;

	spin_lock_irq(&child->sighand->siglock);
	sigorsets(&set, &child->pending.signal,
		  &child->signal->shared_pending.signal);
	spin_unlock_irq(&child->sighand->siglock);
	return copy_to_user(data, &set, sizeof(set)) ? -EFAULT : 0;
}

static bool skas_ldt_is_write(int func)
{
	return func == 1 || func == 0x11;
}

/* modify_ldt(2) on the tracee's address space; ptr is in our memory. */
/*
 * modify_ldt(2) with its arguments in the caller's memory, on @mm (whose
 * reference stays the caller's).  PTRACE_LDT and carrier.c's LDT request.
 */
long skas_ldt_request(struct mm_struct *mm, int func, void __user *ptr,
		      unsigned long bytecount)
{
	unsigned long size;
	void *kbuf;
	long ret;

	size = skas_ldt_is_write(func) ?
		min_t(unsigned long, bytecount, sizeof(struct user_desc)) :
		min_t(unsigned long, bytecount, LDT_ENTRIES * LDT_ENTRY_SIZE);
	kbuf = kvzalloc(max(size, 1UL), GFP_KERNEL);
	if (!kbuf)
		return -ENOMEM;
	if (skas_ldt_is_write(func) && copy_from_user(kbuf, ptr, size)) {
		ret = -EFAULT;
		goto out_free;
	}
	ret = skas_ldt_on_mm(mm, func, kbuf, bytecount);
	if (!skas_ldt_is_write(func) && ret > 0 && copy_to_user(ptr, kbuf, ret))
		ret = -EFAULT;
out_free:
	kvfree(kbuf);
	return ret;
}

static long skas_ldt(struct task_struct *child, void __user *data)
{
	struct ptrace_ldt req;
	struct mm_struct *mm;
	long ret;

	if (copy_from_user(&req, data, sizeof(req)))
		return -EFAULT;
	mm = skas_tracee_mm(child);
	if (!mm)
		return -ESRCH;
	ret = skas_ldt_request(mm, req.func, (void __user *)req.ptr, req.bytecount);
	mmput(mm);
	return ret;
}

static long skas_arch_ptrace(struct task_struct *child, long request,
			     unsigned long addr, unsigned long data)
{
	void __user *udata = (void __user *)data;
	long ret;

	if (!try_module_get(THIS_MODULE))
		return -EIO;
	/* Those who may not use /proc/mm do not reach the rest either. */
	if (!skas_space_may_open()) {
		module_put(THIS_MODULE);
		return -EPERM;
	}

	switch (request) {
	case PTRACE_FAULTINFO:
		ret = skas_faultinfo(child, udata);
		break;
	case PTRACE_EX_FAULTINFO:
		ret = skas_ex_faultinfo(child, udata);
		break;
	case PTRACE_SIGPENDING:
		ret = skas_sigpending(child, udata);
		break;
	case PTRACE_LDT:
		ret = skas_ldt(child, udata);
		break;
	case PTRACE_SWITCH_MM:
		ret = skas_switch_mm(child, data);
		break;
	default:
		ret = -EIO;
	}

	module_put(THIS_MODULE);
	return ret;
}

static bool skas_is_our_request(long request)
{
	return request >= PTRACE_FAULTINFO && request <= PTRACE_EX_FAULTINFO;
}

static void notrace skas_ptrace_hook(unsigned long ip, unsigned long parent_ip,
				     struct ftrace_ops *ops,
				     struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);

	/* arch_ptrace(child, request, addr, data): request is argument 2. */
	if (regs && skas_is_our_request((long)regs->si))
		skas_ftrace_set_ip(fregs, (unsigned long)skas_arch_ptrace);
}

static struct ftrace_ops skas_ptrace_ops = {
	.func	= skas_ptrace_hook,
	.flags	= FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY |
		  FTRACE_OPS_FL_RECURSION,
};

int skas_ptrace_init(void)
{
	char target[] = "arch_ptrace";	/* the API wants it writable */
	int ret;

	ret = ftrace_set_filter(&skas_ptrace_ops, target, strlen(target), 0);
	if (ret) {
		pr_err("cannot trace arch_ptrace (%d): CONFIG_DYNAMIC_FTRACE needed\n",
		       ret);
		return ret;
	}
	ret = register_ftrace_function(&skas_ptrace_ops);
	if (ret) {
		pr_err("cannot hook arch_ptrace (%d): is it live-patched already?\n",
		       ret);
		ftrace_free_filter(&skas_ptrace_ops);
	}
	return ret;
}

void skas_ptrace_exit(void)
{
	unregister_ftrace_function(&skas_ptrace_ops);
	ftrace_free_filter(&skas_ptrace_ops);
	/* Tasks sent into skas_arch_ptrace() may still be leaving it. */
	synchronize_rcu_tasks();
}
