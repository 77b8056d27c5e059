// SPDX-License-Identifier: GPL-2.0
/*
 * Who may make /proc/mm address spaces, how many, and who pays for them.
 *
 * Access: /proc/mm is mode 0600 root:root, or 0660 root:GROUP with the
 * proc_mm_gid= parameter (the packages pass their uml-skas group).
 * skas_space_may_open() repeats that rule at open time, so a later chmod
 * of the proc entry cannot widen it: only CAP_SYS_ADMIN or membership of
 * the group opens the file.
 *
 * Count: each user (real uid, as RLIMIT_NPROC counts) may have at most
 * max_spaces_per_user spaces alive at once; CAP_SYS_RESOURCE is exempt, as
 * it is from RLIMIT_NPROC.  A space is alive from open() until its mm is
 * torn down, which may be after the last fd is closed (a task switched
 * into it keeps it).
 *
 * Jobs (worker.c): each user may have max_jobs_per_user jobs in flight at
 * once, counted until the job ends, also after its writer was killed; a
 * writer over the limit waits, killably.  So one user's jobs that block
 * for good (a FUSE server that never answers) use up that user's share
 * only, never the workqueue's capacity for everybody.
 *
 * Memory: user pages are charged to mm->owner's memory cgroup.  A space's
 * owner is its creator, for the space's whole life: mm_alloc() made the
 * opener the owner, and we pin the opener's task_struct until the mm is
 * torn down, so the pointer never dangles even after the opener exits.
 * The core kernel moves mm->owner only when the owner itself leaves the
 * mm (mm_update_next_owner()), and the owner never runs in its own space
 * (switch_mm.c refuses that), so nobody else ever becomes the owner and
 * the space is never left without one (which would charge the root
 * cgroup).
 *
 * End of life is seen through an mmu notifier registered at open: its
 * release callback runs when the mm's last user goes (exit_mmap), and
 * free_notifier once no callback can run any more.  That last user is
 * usually dropped with mmput_async() (a /proc/mm close, a switch away):
 * exit_mmap waits for an SRCU grace period because of the notifier, and
 * must not stall a guest.  So teardowns run in the system workqueue,
 * outside the opener's CPU cgroup; max_spaces_per_user bounds how many
 * one user can have pending.
 *
 * Locking: skas_users_lock (irq-safe: the count drops in an SRCU
 * callback) protects the per-user table.  A struct skas_space is owned by
 * the mmu notifier machinery from skas_space_register() on; it holds a
 * module reference until it is freed, so our callbacks never outlive
 * the module text (skas_space_exit() waits for the last RCU callback).
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uidgid.h>

#include "skas_host.h"

static int proc_mm_gid = -1;
module_param(proc_mm_gid, int, 0444);
MODULE_PARM_DESC(proc_mm_gid,
		 "group (numeric id) whose members may open /proc/mm besides root; -1: root only");

static unsigned int max_spaces_per_user = 8192;
module_param(max_spaces_per_user, uint, 0644);
MODULE_PARM_DESC(max_spaces_per_user,
		 "live /proc/mm address spaces one user may have (0: no limit; CAP_SYS_RESOURCE is exempt)");

static unsigned int max_jobs_per_user = 64;
module_param(max_jobs_per_user, uint, 0644);
MODULE_PARM_DESC(max_jobs_per_user,
		 "/proc/mm and PTRACE_LDT jobs one user may have in flight (at least 1)");

struct skas_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned int spaces;
	unsigned int jobs;
};

static DEFINE_SPINLOCK(skas_users_lock);
static DEFINE_HASHTABLE(skas_users, 6);
static DECLARE_WAIT_QUEUE_HEAD(skas_jobs_wait);

struct skas_space {
	struct mmu_notifier mn;
	struct task_struct *creator;	/* pinned: it is mm->owner */
	kuid_t uid;			/* counted against this user */
	struct rcu_head rcu;
};

kgid_t skas_proc_mm_group(void)
{
	if (proc_mm_gid < 0)
		return INVALID_GID;
	return make_kgid(&init_user_ns, proc_mm_gid);
}

bool skas_space_may_open(void)
{
	kgid_t gid = skas_proc_mm_group();

	/* The group first: a capability check that fails is audited. */
	if (gid_valid(gid) && in_group_p(gid))
		return true;
	return capable(CAP_SYS_ADMIN);
}

static struct skas_user *skas_find_user(kuid_t uid)
{
	struct skas_user *u;

	hash_for_each_possible(skas_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/* Count one more space for the current user, or -EAGAIN at the cap. */
static int skas_user_charge(kuid_t uid)
{
	unsigned int max = READ_ONCE(max_spaces_per_user);
	bool exempt = !max || ns_capable_noaudit(&init_user_ns, CAP_SYS_RESOURCE);
	struct skas_user *u, *fresh;
	unsigned long flags;
	int ret = 0;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;
	spin_lock_irqsave(&skas_users_lock, flags);
	u = skas_find_user(uid);
	if (!u) {
		u = fresh;
		fresh = NULL;
		u->uid = uid;
		hash_add(skas_users, &u->node, __kuid_val(uid));
	}
	if (!exempt && u->spaces >= max)
		ret = -EAGAIN;
	else
		u->spaces++;
	if (!u->spaces && !u->jobs) {
		hash_del(&u->node);
		fresh = u;
	}
	spin_unlock_irqrestore(&skas_users_lock, flags);
	kfree(fresh);
	return ret;
}

/*
 * Drop one space (@job false) or one job of @uid; the entry goes with the
 * last of both.
 */
static void skas_user_put(kuid_t uid, bool job)
{
	struct skas_user *u, *gone = NULL;
	unsigned int *count;
	unsigned long flags;

	spin_lock_irqsave(&skas_users_lock, flags);
	u = skas_find_user(uid);
	count = u ? (job ? &u->jobs : &u->spaces) : NULL;
	if (!WARN_ON_ONCE(!count || !*count) && !--*count && !u->jobs && !u->spaces) {
		hash_del(&u->node);
		gone = u;
	}
	spin_unlock_irqrestore(&skas_users_lock, flags);
	kfree(gone);
}

static void skas_user_uncharge(kuid_t uid)
{
	skas_user_put(uid, false);
}

/* Take a job slot for @uid if one is free; *fresh is used for a new entry. */
static bool skas_job_slot(kuid_t uid, struct skas_user **fresh)
{
	unsigned int max = max(READ_ONCE(max_jobs_per_user), 1U);
	struct skas_user *u;
	unsigned long flags;
	bool got = false;

	spin_lock_irqsave(&skas_users_lock, flags);
	u = skas_find_user(uid);
	if (!u) {
		u = *fresh;
		*fresh = NULL;
		u->uid = uid;
		hash_add(skas_users, &u->node, __kuid_val(uid));
	}
	if (u->jobs < max) {
		u->jobs++;
		got = true;
	}
	spin_unlock_irqrestore(&skas_users_lock, flags);
	return got;
}

/* A job slot for the current user; -EINTR if killed while waiting. */
int skas_user_job_begin(kuid_t uid)
{
	struct skas_user *fresh;
	int ret = 0;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return -ENOMEM;
	if (wait_event_killable(skas_jobs_wait, skas_job_slot(uid, &fresh)))
		ret = -EINTR;
	kfree(fresh);
	return ret;
}

void skas_user_job_end(kuid_t uid)
{
	skas_user_put(uid, true);
	wake_up(&skas_jobs_wait);
}

static struct mmu_notifier *skas_space_alloc(struct mm_struct *mm)
{
	struct skas_space *space = kzalloc(sizeof(*space), GFP_KERNEL);

	if (!space)
		return ERR_PTR(-ENOMEM);
	return &space->mn;
}

/* The mm is being torn down: nothing is charged to it any more. */
static void skas_space_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	mmu_notifier_put(mn);
}

static void skas_space_free_rcu(struct rcu_head *rcu)
{
	struct skas_space *space = container_of(rcu, struct skas_space, rcu);

	put_task_struct(space->creator);
	skas_user_uncharge(space->uid);
	kfree(space);
	module_put(THIS_MODULE);
}

/*
 * No notifier callback runs any more; an RCU reader of mm->owner
 * (get_mem_cgroup_from_mm()) may still, so the creator goes after a
 * grace period.
 */
static void skas_space_free(struct mmu_notifier *mn)
{
	struct skas_space *space = container_of(mn, struct skas_space, mn);

#ifdef CONFIG_MEMCG
	WRITE_ONCE(mn->mm->owner, NULL);
#endif
	call_rcu(&space->rcu, skas_space_free_rcu);
}

static const struct mmu_notifier_ops skas_space_ops = {
	.release	= skas_space_release,
	.alloc_notifier	= skas_space_alloc,
	.free_notifier	= skas_space_free,
};

/*
 * Make @mm, fresh from mm_alloc() by current, a /proc/mm space: count it
 * against the opener and pin the opener as its owner.  On error the
 * caller still owns @mm and drops it.
 */
int skas_space_register(struct mm_struct *mm)
{
	struct mmu_notifier *mn;
	struct skas_space *space;
	kuid_t uid = current_uid();
	int ret;

	ret = skas_user_charge(uid);
	if (ret)
		return ret;
	mn = mmu_notifier_get(&skas_space_ops, mm);
	if (IS_ERR(mn)) {
		skas_user_uncharge(uid);
		return PTR_ERR(mn);
	}
	space = container_of(mn, struct skas_space, mn);
	space->creator = get_task_struct(current);
	space->uid = uid;
	__module_get(THIS_MODULE);
#ifdef CONFIG_MEMCG
	WRITE_ONCE(mm->owner, current);
#endif
	return 0;
}

/* Is @tsk the pinned owner (creator) of the space @mm? */
bool skas_space_owned_by(struct mm_struct *mm, struct task_struct *tsk)
{
#ifdef CONFIG_MEMCG
	return READ_ONCE(mm->owner) == tsk;
#else
	return false;
#endif
}

/*
 * Module exit: spaces hold module references, so none is left; wait for
 * the SRCU and RCU callbacks that dropped the last ones to return.
 */
void skas_space_exit(void)
{
	mmu_notifier_synchronize();
	rcu_barrier();
}
