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
 * the system calls mean and every check of theirs applies: the LSM's
 * mmap hooks see the writer's credentials.  What the worker cannot be is
 * the writer's task, so only regular files (memfd and tmpfs included)
 * may be mapped, since device drivers' ->mmap handlers may look at
 * current.  A batch is a job (worker.c) and owns its operations'
 * references until it is freed.
 *
 * A file mapping adds no audit record.  mmap(2) adds its MMAP record only
 * to system calls the audit rules select (__audit_mmap_fd(), which a
 * module cannot call), and a record of our own per mapping would let a
 * guest fill the host's audit backlog: UML maps its memory page by page,
 * one write per page fault.  The writes to /proc/mm are ordinary write(2)
 * calls, which the audit rules see like any other.
 *
 * MAP_POPULATE is done here, not by mmap's own mm_populate(): that loop
 * retries a page whose read fails after dropping mmap_lock (a FUSE file
 * whose server answers EIO) for as long as no fatal signal is pending,
 * which for a kernel worker is forever.  Ours faults page by page with
 * fixup_user_fault(), which gives up on the second failure and may drop
 * mmap_lock while it waits, and stops when the writer has been killed.
 * MAP_LOCKED, which populates through the same loop, is therefore
 * allowed for anonymous memory only, where no fault can fail that way,
 * and so is a file mapping after mlockall(MCL_FUTURE) in the space.
 */
#include <linux/file.h>
#include <linux/magic.h>
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

/*
 * Files whose mmap is the file system's page-cache (or shmem) mapping: on
 * a block device's file system, in memory (tmpfs, memfd, ramfs,
 * hugetlbfs) or on the network and user-space file systems UML may keep
 * its memory file on.  Not procfs, sysfs, debugfs and their kind, nor
 * device nodes, whose mmap is driver code that may look at current.
 */
static bool skas_mappable(struct file *file)
{
	struct inode *inode = file_inode(file);

	if (!S_ISREG(inode->i_mode))
		return false;
	if (inode->i_sb->s_type->fs_flags & FS_REQUIRES_DEV)
		return true;
	switch (inode->i_sb->s_magic) {
	case TMPFS_MAGIC:
	case RAMFS_MAGIC:
	case HUGETLBFS_MAGIC:
	case FUSE_SUPER_MAGIC:
	case OVERLAYFS_SUPER_MAGIC:
	case NFS_SUPER_MAGIC:
	case V9FS_MAGIC:
		return true;
	}
	return false;
}

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
	if (m->flags & MAP_LOCKED)
		return -EINVAL;
	if (m->fd > INT_MAX)
		return -EBADF;
	op->file = fget(m->fd);
	if (!op->file)
		return -EBADF;
	if (!skas_mappable(op->file)) {
		fput(op->file);
		op->file = NULL;
		return -ENODEV;
	}
	return 0;
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

static void skas_op_release(struct skas_op *op)
{
	if (op->file)
		fput(op->file);
	if (op->src)
		mmput(op->src);
}

/*
 * Fault in [addr, addr + len) of current->mm as mm_populate() would,
 * ignoring errors as mmap(2) does, until the writer is gone.
 */
static void skas_populate(struct skas_job *job, unsigned long addr,
			  unsigned long len)
{
	struct mm_struct *mm = current->mm;
	unsigned long end = addr + PAGE_ALIGN(len), a;
	struct vm_area_struct *vma;
	unsigned int flags;
	bool unlocked;

	for (a = addr; a < end; a += PAGE_SIZE) {
		unlocked = false;
		if (READ_ONCE(job->abandoned))
			return;
		if (mmap_read_lock_killable(mm))
			return;
		vma = vma_lookup(mm, a);
		/* Private writable memory is written, as populate breaks COW. */
		flags = vma && (vma->vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE ?
			FAULT_FLAG_WRITE : 0;
		/* Allowed to drop mmap_lock while it waits for a page-in. */
		if (vma && vma->vm_flags & (VM_READ | VM_WRITE | VM_EXEC))
			fixup_user_fault(mm, a, flags, &unlocked);
		mmap_read_unlock(mm);
		cond_resched();
	}
}

static long skas_do_mmap(struct skas_job *job, struct skas_op *op)
{
	const struct mm_mmap *m = &op->op.u.mmap;
	bool populate = (m->flags & (MAP_POPULATE | MAP_NONBLOCK)) == MAP_POPULATE;
	unsigned long addr;

	/*
	 * After mlockall(MCL_FUTURE) in the space every mapping is locked,
	 * and mmap populates it in mm_populate()'s loop: files are refused.
	 */
	if (op->file && (current->mm->def_flags & VM_LOCKED))
		return -EPERM;

	/*
	 * vm_mmap_pgoff() is what mmap(2) calls once it has its file;
	 * the exported vm_mmap() checks the offset differently.
	 */
	addr = skas_sym.vm_mmap_pgoff(op->file, m->addr, m->len, m->prot,
				      m->flags & ~MAP_POPULATE,
				      m->offset >> PAGE_SHIFT);
	if (IS_ERR_VALUE(addr))
		return (long)addr;
	if (populate)
		skas_populate(job, addr, m->len);
	return 0;
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

static long skas_op_run(struct skas_job *job, struct skas_op *op)
{
	switch (op->op.op) {
	case MM_MMAP:
		return skas_do_mmap(job, op);
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
static void skas_batch_run(struct skas_job *job)
{
	struct skas_batch *batch = container_of(job, struct skas_batch, job);
	long ret;

	for (batch->done = 0; batch->done < batch->nr; batch->done++) {
		ret = skas_op_run(job, &batch->ops[batch->done]);
		if (ret) {
			batch->err = ret;
			return;
		}
		cond_resched();
	}
}

static void skas_batch_free(struct skas_job *job)
{
	struct skas_batch *batch = container_of(job, struct skas_batch, job);
	unsigned int i;

	for (i = 0; i < batch->nr; i++)
		skas_op_release(&batch->ops[i]);
	kvfree(batch);
}

/* A batch for @nr operations, none prepared (nr: 0); NULL without memory. */
struct skas_batch *skas_batch_alloc(unsigned int nr)
{
	struct skas_batch *batch;

	batch = kvzalloc(struct_size(batch, ops, nr), GFP_KERNEL_ACCOUNT);
	if (!batch)
		return NULL;
	batch->job.fn = skas_batch_run;
	batch->job.free = skas_batch_free;
	return batch;
}

/*
 * Run the batch->nr prepared operations in @mm.  Returns the number that
 * succeeded, or the errno of the first operation when it failed; -EINTR
 * when the writer was killed.  The batch is gone afterwards either way.
 */
long skas_batch_on_mm(struct mm_struct *mm, struct skas_batch *batch)
{
	long ret;

	if (!batch->nr) {
		skas_batch_free(&batch->job);
		return 0;
	}
	ret = skas_run_job(&batch->job, mm);
	if (ret)
		return ret;
	ret = batch->done;
	if (batch->done < batch->nr && !batch->done)
		ret = batch->err;
	skas_job_done(&batch->job);
	return ret;
}

/*
 * A batch a carrier runs in its own mm (carrier.c): prepared and captured
 * (skas_job_capture()) by the runner, run here by the carrier right after
 * it switched into the space.  Returns 0, or the errno of the first
 * operation that failed, with *done the number that succeeded.  The batch
 * is gone afterwards, as it is after skas_batch_drop().
 */
void skas_batch_drop(struct skas_batch *batch)
{
	skas_job_release_here(&batch->job);
	skas_batch_free(&batch->job);
}

long skas_batch_here(struct skas_batch *batch, unsigned int *done)
{
	long ret = 0;

	batch->done = 0;
	if (batch->nr)
		skas_job_run_here(&batch->job);
	*done = batch->done;
	if (batch->done < batch->nr)
		ret = batch->err;
	skas_batch_drop(batch);
	return ret;
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
	unsigned long bytecount;
	unsigned long copy;	/* bytes of buf that travel */
	long ret;
	char buf[];
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
	if (is_write && copy_to_user((void __user *)scratch, lj->buf,
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
	    copy_from_user(lj->buf, (void __user *)scratch, lj->ret))
		lj->ret = -EFAULT;
out:
	vm_munmap(scratch, size);
}

static void skas_ldt_free(struct skas_job *job)
{
	kvfree(container_of(job, struct skas_ldt_job, job));
}

/*
 * Perform modify_ldt(@func, @kbuf, @bytecount) on @mm.  For writes kbuf
 * holds the argument (at most one struct user_desc travels); for reads
 * it receives the result, and must hold min(bytecount, LDT size) bytes.
 */
long skas_ldt_on_mm(struct mm_struct *mm, int func, void *kbuf,
		    unsigned long bytecount)
{
	bool is_write = func == 1 || func == 0x11;
	struct skas_ldt_job *lj;
	unsigned long copy;
	long ret;

	copy = min_t(unsigned long, bytecount, is_write ?
		     sizeof(struct user_desc) : LDT_ENTRIES * LDT_ENTRY_SIZE);
	lj = kvzalloc(struct_size(lj, buf, copy), GFP_KERNEL_ACCOUNT);
	if (!lj)
		return -ENOMEM;
	lj->job.fn = skas_ldt_run;
	lj->job.free = skas_ldt_free;
	lj->func = func;
	lj->bytecount = bytecount;
	lj->copy = copy;
	if (is_write)
		memcpy(lj->buf, kbuf, copy);
	ret = skas_run_job(&lj->job, mm);
	if (ret)
		return ret;
	ret = lj->ret;
	if (!is_write && ret > 0)
		memcpy(kbuf, lj->buf, min_t(unsigned long, ret, copy));
	skas_job_done(&lj->job);
	return ret;
}
