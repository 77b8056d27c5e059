// SPDX-License-Identifier: GPL-2.0
/*
 * Jobs: work run inside a foreign address space by a kernel worker.
 *
 * mmap(), munmap() and mprotect() act on current->mm, and the kernel has
 * no variant taking another mm.  A user task must not borrow a foreign mm
 * itself: its scheduler state (mm_cid, membarrier, lazy TLB) belongs to
 * its own.  kthread_use_mm() is the supported way for a kernel thread to
 * enter any mm, so a /proc/mm write hands its operations to a workqueue
 * worker, which enters the target mm, takes on the writer's credentials
 * and memory limits (so nothing is allowed that the writer could not do
 * with mmap(2)), runs the job and leaves again.
 *
 * Jobs of different writers never wait for each other: the workqueue is
 * per CPU (the job runs on the writer's CPU, no cross-CPU wake-up) and
 * WQ_CPU_INTENSIVE, so a job that blocks (a page-in from a FUSE file
 * whose server does not answer) or runs long (MAP_POPULATE of a large
 * range) holds one worker and the pool starts another for the next job,
 * up to SKAS_MAX_ACTIVE jobs at once per CPU, of which one user may hold
 * max_jobs_per_user (space.c).  The writer waits killably:
 * on SIGKILL it returns at once and the job finishes, or stays blocked,
 * on its own.  A job therefore owns everything it uses (the mm, the
 * credentials, its operations); whoever drops the last reference, the
 * writer or the worker, frees it.  Each job holds a module reference;
 * module exit destroys the workqueue, which waits for running jobs.
 *
 * Charging: memory the job allocates in the target mm follows the rules
 * of space.c (user pages: the space's owner, its creator); kernel memory
 * such as page tables is charged to the same cgroup through the active
 * memcg.
 */
#include <linux/kthread.h>
#include <linux/memcontrol.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "skas_host.h"

#define SKAS_MAX_ACTIVE	WQ_MAX_ACTIVE

static struct workqueue_struct *skas_wq;

/* Limits consulted by mmap(2) paths through current->signal. */
static const unsigned int skas_job_limits[SKAS_JOB_LIMITS] = {
	RLIMIT_AS, RLIMIT_DATA, RLIMIT_MEMLOCK, RLIMIT_STACK,
};

/* Swap the worker's limits for the job's (and back: workers are shared). */
static void skas_swap_limits(struct rlimit *rlim)
{
	struct rlimit *own = current->signal->rlim, tmp;
	unsigned int i;

	for (i = 0; i < SKAS_JOB_LIMITS; i++) {
		tmp = own[skas_job_limits[i]];
		own[skas_job_limits[i]] = rlim[i];
		rlim[i] = tmp;
	}
}

/* In a worker (use_mm), or in a task that is in job->mm already. */
static void skas_job_run(struct skas_job *job, bool use_mm)
{
	const struct cred *saved_cred;
#ifdef CONFIG_MEMCG
	struct mem_cgroup *memcg, *saved_memcg;

	memcg = get_mem_cgroup_from_mm(job->mm);
	saved_memcg = set_active_memcg(memcg);
#endif
	saved_cred = override_creds(job->cred);
	skas_swap_limits(job->rlim);
	if (use_mm)
		kthread_use_mm(job->mm);
	job->fn(job);
	if (use_mm)
		kthread_unuse_mm(job->mm);
	skas_swap_limits(job->rlim);
	revert_creds(saved_cred);
#ifdef CONFIG_MEMCG
	set_active_memcg(saved_memcg);
	mem_cgroup_put(memcg);
#endif
}

static void skas_job_release(struct kref *ref)
{
	struct skas_job *job = container_of(ref, struct skas_job, ref);

	kuid_t uid = job->uid;

	mmput_async(job->mm);
	put_cred(job->cred);
	job->free(job);
	skas_user_job_end(uid);
	module_put(THIS_MODULE);
}

static void skas_job_put(struct skas_job *job)
{
	kref_put(&job->ref, skas_job_release);
}

static void skas_job_work(struct work_struct *work)
{
	struct skas_job *job = container_of(work, struct skas_job, work);

	skas_job_run(job, true);
	complete(&job->done);
	skas_job_put(job);
}

/*
 * Run @job (fn and free set, the rest ours to fill) in @mm on a worker
 * and wait for it.  Returns 0 when it ran, with the caller still holding
 * its reference (drop it with skas_job_done()), or -EINTR when the caller
 * was killed meanwhile, in which case the job is no longer the caller's:
 * it runs, or goes on running, and frees itself.  The same errors may
 * come before the job started (waiting for a job slot of the user, see
 * space.c); the job is freed then.  Either way, on error it is gone.
 */
int skas_run_job(struct skas_job *job, struct mm_struct *mm)
{
	unsigned int i;
	int ret;

	job->uid = current_uid();
	ret = skas_user_job_begin(job->uid);
	if (ret) {
		job->free(job);
		return ret;
	}
	__module_get(THIS_MODULE);
	mmget(mm);
	job->mm = mm;
	job->cred = get_current_cred();
	for (i = 0; i < SKAS_JOB_LIMITS; i++)
		job->rlim[i] = current->signal->rlim[skas_job_limits[i]];
	init_completion(&job->done);
	job->abandoned = false;
	kref_init(&job->ref);		/* the caller's */
	kref_get(&job->ref);		/* the worker's */
	INIT_WORK(&job->work, skas_job_work);
	queue_work(skas_wq, &job->work);

	if (wait_for_completion_killable(&job->done)) {
		/* Long jobs (populating) stop early; see mm_ops.c. */
		WRITE_ONCE(job->abandoned, true);
		skas_job_put(job);
		return -EINTR;
	}
	return 0;
}

void skas_job_done(struct skas_job *job)
{
	skas_job_put(job);
}

/*
 * A job that its requester hands to a carrier (carrier.c) instead of a
 * worker: skas_job_capture() in the requester takes its credentials and
 * limits; skas_job_run_here() runs it in the carrier, which is in the
 * target mm already, as a worker would (credentials, limits, memory
 * cgroup of the mm's owner); skas_job_release_here() drops what capture
 * took.  No job slot: nothing waits for a worker.
 */
void skas_job_capture(struct skas_job *job)
{
	unsigned int i;

	job->cred = get_current_cred();
	for (i = 0; i < SKAS_JOB_LIMITS; i++)
		job->rlim[i] = current->signal->rlim[skas_job_limits[i]];
	job->abandoned = false;
}

void skas_job_run_here(struct skas_job *job)
{
	job->mm = current->mm;
	skas_job_run(job, false);
	job->mm = NULL;
}

void skas_job_release_here(struct skas_job *job)
{
	if (job->cred)
		put_cred(job->cred);
	job->cred = NULL;
}

int skas_workers_start(void)
{
	skas_wq = alloc_workqueue("uml_skas", SKAS_WQ_PERCPU | WQ_CPU_INTENSIVE,
				  SKAS_MAX_ACTIVE);
	return skas_wq ? 0 : -ENOMEM;
}

void skas_workers_stop(void)
{
	if (skas_wq)
		destroy_workqueue(skas_wq);
	skas_wq = NULL;
}
