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
 * Who may open the file, how many spaces a user may have and who pays
 * for their memory is space.c's business.
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
	mm->task_size = current->mm->task_size;
	skas_sym.arch_pick_mmap_layout(mm, &current->signal->rlim[RLIMIT_STACK]);
	return mm;
}

static int skas_proc_mm_open(struct inode *inode, struct file *file)
{
	struct mm_struct *mm;
	int ret;

	if (!skas_space_may_open())
		return -EACCES;
	if (!(file->f_mode & FMODE_WRITE))
		return -EINVAL;
	if (!current->mm)
		return -EINVAL;
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;

	mm = skas_new_mm();
	if (!mm) {
		ret = -ENOMEM;
		goto out_module;
	}
	ret = skas_space_register(mm);
	if (ret)
		goto out_mm;
	file->private_data = mm;
	return 0;

out_mm:
	mmput(mm);
out_module:
	module_put(THIS_MODULE);
	return ret;
}

/*
 * The last reference usually goes here, and tearing a space down waits
 * for an SRCU grace period (its mmu notifier, space.c): let a worker do
 * that rather than the closer (UML, at every guest process exit).
 */
static int skas_proc_mm_release(struct inode *inode, struct file *file)
{
	mmput_async(file->private_data);
	module_put(THIS_MODULE);
	return 0;
}

static ssize_t skas_proc_mm_read(struct file *file, char __user *buf,
				 size_t count, loff_t *ppos)
{
	return -EINVAL;
}

/*
 * A write carries up to PROC_MM_MAX_OPS operations.  They are checked
 * and prepared here until the first bad one, then the good ones run in
 * the space (mm_ops.c); the result counts the operations applied, or is
 * the errno of the first when none was.
 */
static ssize_t skas_proc_mm_write(struct file *file, const char __user *buf,
				  size_t count, loff_t *ppos)
{
	struct mm_struct *mm = file->private_data;
	struct skas_batch *batch;
	unsigned int nr, i;
	long prepare_err = 0, done;

	if (count == 0 || count % sizeof(struct proc_mm_op))
		return -EINVAL;
	nr = count / sizeof(struct proc_mm_op);
	if (nr > PROC_MM_MAX_OPS)
		return -E2BIG;

	batch = skas_batch_alloc(nr);
	if (!batch)
		return -ENOMEM;
	/* A bad buffer fails the whole write, before any operation ran. */
	for (i = 0; i < nr; i++) {
		if (copy_from_user(&batch->ops[i].op,
				   buf + i * sizeof(struct proc_mm_op),
				   sizeof(struct proc_mm_op))) {
			batch->nr = 0;
			skas_batch_on_mm(mm, batch);
			return -EFAULT;
		}
	}
	for (i = 0; i < nr; i++) {
		prepare_err = skas_op_prepare(&batch->ops[i]);
		if (prepare_err)
			break;
		batch->nr++;
	}

	/* The batch is gone after this; it holds our references meanwhile. */
	i = batch->nr;
	done = skas_batch_on_mm(mm, batch);
	if (done < 0)
		return done;
	if (done < i)
		return done * sizeof(struct proc_mm_op);
	if (i < nr)
		return i ? i * sizeof(struct proc_mm_op) : prepare_err;
	return count;
}

static const struct proc_ops skas_proc_mm_ops = {
	.proc_open	= skas_proc_mm_open,
	.proc_release	= skas_proc_mm_release,
	.proc_read	= skas_proc_mm_read,
	.proc_write	= skas_proc_mm_write,
	.proc_lseek	= noop_llseek,
};

/*
 * Root's, and its group's when proc_mm_gid= names one (space.c): the
 * module's code is reached by those who may run UML in skas3 mode only.
 */
int skas_proc_mm_init(void)
{
	kgid_t gid = skas_proc_mm_group();
	umode_t mode = gid_valid(gid) ? 0660 : 0600;

	skas_proc_entry = proc_create_data("mm", mode, NULL, &skas_proc_mm_ops,
					   (void *)&skas_proc_mm_ops);
	if (!skas_proc_entry) {
		pr_err("cannot create /proc/mm (does it exist already?)\n");
		return -EEXIST;
	}
	if (gid_valid(gid))
		proc_set_user(skas_proc_entry, GLOBAL_ROOT_UID, gid);
	return 0;
}

void skas_proc_mm_exit(void)
{
	proc_remove(skas_proc_entry);
	skas_proc_entry = NULL;
}
