// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/mm: address spaces as file descriptors.
 *
 * open() makes a new, empty mm_struct: no mappings, no vDSO, a mmap layout
 * picked as exec would pick it for the opener.  The open file holds one
 * mm_users reference, so the mappings live while the fd does; a task
 * switched into the space (switch_mm.c) holds its own.  write() carries
 * operations (mm_ops.c), run in a worker that has entered the mm.
 *
 * The opener is not the mm's memcg owner: mm->owner must point at a task
 * whose ->mm is this mm, or at nothing, or it dangles once the opener is
 * reaped.  Tasks that switch in become owners; workers lend the writer
 * for the duration of a write.
 */
#include <linux/file.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "skas_host.h"

static struct proc_dir_entry *skas_proc_entry;
static const struct proc_ops skas_proc_mm_ops;

/*
 * The mm behind @file, or NULL if @file is not a /proc/mm file.  Our
 * entry's data is the address of our proc_ops, which no other proc inode
 * carries; the super block check keeps us off other filesystems' i_private.
 */
struct mm_struct *skas_file_mm(struct file *file)
{
	struct inode *inode = file_inode(file);

	if (inode->i_sb->s_magic != PROC_SUPER_MAGIC ||
	    pde_data(inode) != &skas_proc_mm_ops)
		return NULL;
	return file->private_data;
}

/*
 * The mm of the caller's /proc/mm file descriptor @fd, with an mm_users
 * reference; ERR_PTR(-EBADF) for a bad fd, ERR_PTR(-EINVAL) for a file
 * that is not /proc/mm.
 */
struct mm_struct *skas_get_fd_mm(unsigned long fd)
{
	struct mm_struct *mm;
	struct file *file;

	if (fd > INT_MAX)
		return ERR_PTR(-EBADF);
	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	mm = skas_file_mm(file);
	if (mm)
		mmget(mm);
	fput(file);
	return mm ? mm : ERR_PTR(-EINVAL);
}

static struct mm_struct *skas_new_mm(void)
{
	struct mm_struct *mm;

	mm = skas_sym.mm_alloc();
	if (!mm)
		return NULL;
#ifdef CONFIG_MEMCG
	WRITE_ONCE(mm->owner, NULL);
#endif
	mm->task_size = current->mm->task_size;
	skas_sym.arch_pick_mmap_layout(mm, &current->signal->rlim[RLIMIT_STACK]);
	return mm;
}

static int skas_proc_mm_open(struct inode *inode, struct file *file)
{
	struct mm_struct *mm;

	if (!(file->f_mode & FMODE_WRITE))
		return -EINVAL;
	if (!current->mm)
		return -EINVAL;
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;

	mm = skas_new_mm();
	if (!mm) {
		module_put(THIS_MODULE);
		return -ENOMEM;
	}
	file->private_data = mm;
	return 0;
}

static int skas_proc_mm_release(struct inode *inode, struct file *file)
{
	mmput(file->private_data);
	module_put(THIS_MODULE);
	return 0;
}

static ssize_t skas_proc_mm_read(struct file *file, char __user *buf,
				 size_t count, loff_t *ppos)
{
	return -EINVAL;
}

/*
 * Check and take references for ops[0..nr).  Returns how many are ready;
 * *err is the errno of the first one that is not.
 */
static unsigned int skas_prepare_batch(struct skas_op *ops, unsigned int nr,
				       long *err)
{
	unsigned int i;

	*err = 0;
	for (i = 0; i < nr; i++) {
		*err = skas_op_prepare(&ops[i]);
		if (*err)
			break;
	}
	return i;
}

static ssize_t skas_proc_mm_write(struct file *file, const char __user *buf,
				  size_t count, loff_t *ppos)
{
	struct mm_struct *mm = file->private_data;
	struct skas_batch batch = {
		.job = { .mm = mm, .fn = skas_batch_run },
	};
	struct skas_op *ops;
	unsigned int nr, ready, i;
	long prepare_err;
	ssize_t ret;

	if (count == 0 || count % sizeof(struct proc_mm_op))
		return -EINVAL;
	nr = count / sizeof(struct proc_mm_op);
	if (nr > PROC_MM_MAX_OPS)
		return -E2BIG;

	ops = kvmalloc_array(nr, sizeof(*ops), GFP_KERNEL);
	if (!ops)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		if (copy_from_user(&ops[i].op, buf + i * sizeof(ops[i].op),
				   sizeof(ops[i].op))) {
			ret = -EFAULT;
			goto out_free;
		}
	}

	ready = skas_prepare_batch(ops, nr, &prepare_err);
	batch.ops = ops;
	batch.nr = ready;
	if (ready) {
		/* Our mm_users reference (the open file) outlives the job. */
		skas_run_job(&batch.job);
	}
	for (i = 0; i < ready; i++)
		skas_op_release(&ops[i]);

	if (batch.done < ready)
		ret = batch.done ? batch.done * sizeof(struct proc_mm_op) :
				   batch.err;
	else if (ready < nr)
		ret = ready ? ready * sizeof(struct proc_mm_op) : prepare_err;
	else
		ret = count;
out_free:
	kvfree(ops);
	return ret;
}

static const struct proc_ops skas_proc_mm_ops = {
	.proc_open	= skas_proc_mm_open,
	.proc_release	= skas_proc_mm_release,
	.proc_read	= skas_proc_mm_read,
	.proc_write	= skas_proc_mm_write,
	.proc_lseek	= noop_llseek,
};

/*
 * World-writable on purpose: creating an address space is no more than
 * fork() does, and UML runs as an ordinary user.
 */
int skas_proc_mm_init(void)
{
	skas_proc_entry = proc_create_data("mm", 0222, NULL, &skas_proc_mm_ops,
					   (void *)&skas_proc_mm_ops);
	if (!skas_proc_entry) {
		pr_err("cannot create /proc/mm (does it exist already?)\n");
		return -EEXIST;
	}
	return 0;
}

void skas_proc_mm_exit(void)
{
	proc_remove(skas_proc_entry);
	skas_proc_entry = NULL;
}
