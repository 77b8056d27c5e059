// SPDX-License-Identifier: GPL-2.0
/*
 * The operations a /proc/mm write carries.
 *
 * skas_op_prepare() runs in the writer: it checks an operation and takes
 * the references it needs from the writer's context (a file from the
 * writer's fd table, the source mm of MM_COPY_SEGMENTS).  skas_batch_run()
 * then runs in a worker that has entered the target mm (worker.c), where
 * the kernel's own mmap(2), munmap(2) and mprotect(2) paths apply to it
 * with the writer's credentials and limits, so the operations mean what
 * the system calls mean and every check of theirs applies.
 */
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/ldt.h>
#include <asm/mmu_context.h>

#include "skas_host.h"

#define SKAS_PROT_MASK	(PROT_READ | PROT_WRITE | PROT_EXEC)

/*
 * mmap(2) flags we accept.  MAP_HUGETLB is left out: anonymous huge
 * pages need a hugetlbfs file made in the writer's context, which
 * vm_mmap() does not do.  Anything unknown is an error rather than
 * silently ignored, so that later meanings cannot surprise old callers.
 */
#define SKAS_MAP_MASK	(MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_32BIT | \
			 MAP_GROWSDOWN | MAP_DENYWRITE | MAP_EXECUTABLE | \
			 MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | \
			 MAP_NONBLOCK | MAP_STACK | MAP_SYNC | \
			 MAP_FIXED_NOREPLACE)

static int skas_prepare_mmap(struct skas_op *op)
{
	struct mm_mmap *m = &op->op.u.mmap;

	/* x86-64 mmap(2) takes a byte offset that must be page aligned. */
	if (offset_in_page(m->offset))
		return -EINVAL;
	if (m->prot & ~SKAS_PROT_MASK)
		return -EINVAL;
	if (m->flags & ~SKAS_MAP_MASK)
		return -EINVAL;
	/* Legacy flags mmap(2) ignores, as ksys_mmap_pgoff() does. */
	m->flags &= ~(MAP_DENYWRITE | MAP_EXECUTABLE);
	if (m->flags & MAP_ANONYMOUS)
		return 0;
	if (m->fd > INT_MAX)
		return -EBADF;
	op->file = fget(m->fd);
	return op->file ? 0 : -EBADF;
}

static int skas_prepare_copy_segments(struct skas_op *op)
{
	struct mm_struct *src = skas_get_fd_mm(op->op.u.copy_segments);

	if (IS_ERR(src))
		return PTR_ERR(src);
	op->src = src;
	return 0;
}

int skas_op_prepare(struct skas_op *op)
{
	op->file = NULL;
	op->src = NULL;

	switch (op->op.op) {
	case MM_MMAP:
		return skas_prepare_mmap(op);
	case MM_MUNMAP:
		return 0;
	case MM_MPROTECT:
		/* The ABI field is 32 bits; mprotect(2) checks the bits. */
		return 0;
	case MM_COPY_SEGMENTS:
		return skas_prepare_copy_segments(op);
	default:
		return -EINVAL;
	}
}

void skas_op_release(struct skas_op *op)
{
	if (op->file)
		fput(op->file);
	if (op->src)
		mmput(op->src);
}

static long skas_do_mmap(struct skas_op *op)
{
	const struct mm_mmap *m = &op->op.u.mmap;
	unsigned long addr;

	/*
	 * vm_mmap_pgoff() is what mmap(2) calls once it has its file;
	 * the exported vm_mmap() checks the offset differently.
	 */
	addr = skas_sym.vm_mmap_pgoff(op->file, m->addr, m->len, m->prot,
				      m->flags, m->offset >> PAGE_SHIFT);
	return IS_ERR_VALUE(addr) ? (long)addr : 0;
}

static long skas_do_mprotect(struct skas_op *op)
{
	struct pt_regs regs = {
		.di = op->op.u.mprotect.addr,
		.si = op->op.u.mprotect.len,
		.dx = op->op.u.mprotect.prot,
	};

	return skas_sym.sys_mprotect(&regs);
}

/*
 * Copy the LDT of op->src into current->mm, which must not have one yet:
 * ldt_dup_context() is the kernel's fork-time copy and installs without
 * freeing.  The target's ldt_usr_sem keeps modify_ldt() out meanwhile.
 */
static long skas_do_copy_segments(struct skas_op *op)
{
	struct mm_struct *mm = current->mm;
	long ret;

	if (down_write_killable(&mm->context.ldt_usr_sem))
		return -EINTR;
	if (mm->context.ldt)
		ret = -EBUSY;
	else
		ret = skas_sym.ldt_dup_context(op->src, mm);
	up_write(&mm->context.ldt_usr_sem);
	return ret;
}

static long skas_op_run(struct skas_op *op)
{
	switch (op->op.op) {
	case MM_MMAP:
		return skas_do_mmap(op);
	case MM_MUNMAP:
		return vm_munmap(op->op.u.munmap.addr, op->op.u.munmap.len);
	case MM_MPROTECT:
		return skas_do_mprotect(op);
	case MM_COPY_SEGMENTS:
		return skas_do_copy_segments(op);
	}
	return -EINVAL;
}

/* Worker side: run the batch until the first failure. */
void skas_batch_run(struct skas_job *job)
{
	struct skas_batch *batch = container_of(job, struct skas_batch, job);
	long ret;

	for (batch->done = 0; batch->done < batch->nr; batch->done++) {
		ret = skas_op_run(&batch->ops[batch->done]);
		if (ret) {
			batch->err = ret;
			return;
		}
		cond_resched();
	}
}

/*
 * modify_ldt(2) on another address space.
 *
 * The LDT code is static inside arch/x86/kernel/ldt.c and works on
 * current->mm, with its argument in user memory.  So the worker enters
 * the target mm, puts the argument on a scratch page mapped there for the
 * call, runs the real system call and removes the page again.  The tracee
 * is stopped meanwhile and never sees the page.
 */
struct skas_ldt_job {
	struct skas_job job;
	int func;
	void *kbuf;
	unsigned long bytecount;
	unsigned long copy;	/* bytes of kbuf that travel */
	long ret;
};

static void skas_ldt_run(struct skas_job *job)
{
	struct skas_ldt_job *lj = container_of(job, struct skas_ldt_job, job);
	unsigned long size = PAGE_ALIGN(max(lj->copy, 1UL));
	struct pt_regs regs = {};
	unsigned long scratch;
	bool is_write = lj->func == 1 || lj->func == 0x11;

	scratch = vm_mmap(NULL, 0, size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(scratch)) {
		lj->ret = (long)scratch;
		return;
	}
	if (is_write && copy_to_user((void __user *)scratch, lj->kbuf,
				     lj->copy)) {
		lj->ret = -EFAULT;
		goto out;
	}
	regs.di = lj->func;
	regs.si = scratch;
	regs.dx = lj->bytecount;
	/* The system call returns an int zero-extended to long. */
	lj->ret = (int)skas_sym.sys_modify_ldt(&regs);
	if (!is_write && lj->ret > 0 &&
	    copy_from_user(lj->kbuf, (void __user *)scratch, lj->ret))
		lj->ret = -EFAULT;
out:
	vm_munmap(scratch, size);
}

/*
 * Perform modify_ldt(@func, @kbuf, @bytecount) on @mm.  For writes kbuf
 * holds the argument (at most one struct user_desc travels); for reads
 * it receives the result, and must hold min(bytecount, LDT size) bytes.
 */
long skas_ldt_on_mm(struct mm_struct *mm, int func, void *kbuf,
		    unsigned long bytecount)
{
	struct skas_ldt_job lj = {
		.job = { .mm = mm, .fn = skas_ldt_run },
		.func = func,
		.kbuf = kbuf,
		.bytecount = bytecount,
	};

	if (func == 1 || func == 0x11)
		lj.copy = min_t(unsigned long, bytecount,
				sizeof(struct user_desc));
	else
		lj.copy = min_t(unsigned long, bytecount,
				LDT_ENTRIES * LDT_ENTRY_SIZE);
	skas_run_job(&lj.job);
	return lj.ret;
}
