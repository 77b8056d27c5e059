// SPDX-License-Identifier: GPL-2.0
/*
 * Workers: kernel threads that run a job inside a foreign address space.
 *
 * mmap(), munmap() and mprotect() act on current->mm, and the kernel has
 * no variant taking another mm.  A user task must not borrow a foreign mm
 * itself: its scheduler state (mm_cid, membarrier, lazy TLB) belongs to
 * its own.  kthread_use_mm() is the supported way for a kernel thread to
 * enter any mm, so a /proc/mm write hands its operations to a worker
 * thread, which enters the target mm, takes on the writer's credentials
 * and memory limits (so nothing is allowed that the writer could not do
 * with mmap(2)), runs the job and leaves again.  The writer sleeps
 * meanwhile.  Each CPU online at load time has a worker bound to it, so
 * that the hand-off is two context switches on the writer's CPU and never
 * a cross-CPU wake-up (an IPI to an idle CPU costs more than the job).
 * A CPU without a worker (brought online later) uses the first one; a
 * worker whose CPU goes offline is moved by the scheduler and keeps
 * serving.
 *
 * Locking: worker->lock serialises requesters of one worker; worker->job
 * is written by the requester under that lock and cleared by the worker.
 */
#include <linux/cpu.h>
#include <linux/kthread.h>
#include <linux/memcontrol.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "skas_host.h"

struct skas_worker {
	struct task_struct *task;
	struct mutex lock;		/* one requester at a time */
	struct skas_job *job;
};

/* Indexed by CPU number (nr_cpu_ids entries); task NULL: no worker. */
static struct skas_worker *skas_workers;
static struct skas_worker *skas_first_worker;

/* Limits consulted by mmap(2) paths through current->signal. */
static const unsigned int skas_job_limits[] = {
	RLIMIT_AS, RLIMIT_DATA, RLIMIT_MEMLOCK, RLIMIT_STACK,
};

static void skas_job_enter(struct skas_job *job)
{
	struct rlimit *rlim = current->signal->rlim;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(skas_job_limits); i++)
		rlim[skas_job_limits[i]] = job->rlim[skas_job_limits[i]];
	kthread_use_mm(job->mm);
}

static void skas_job_leave(void)
{
	kthread_unuse_mm(current->mm);
}

/*
 * Charge what the job allocates to the requester, as mmap(2) would:
 * kernel memory (page tables) follows the active memcg, user pages
 * follow mm->owner.  Our address spaces have no owner while no task runs
 * in them; lend them the requester for the job's duration.
 */
static void skas_job_run(struct skas_job *job)
{
	const struct cred *saved_cred;
#ifdef CONFIG_MEMCG
	struct mem_cgroup *memcg, *saved_memcg;
	bool lent_owner;

	memcg = get_mem_cgroup_from_mm(job->requester->mm);
	saved_memcg = set_active_memcg(memcg);
	lent_owner = !cmpxchg(&job->mm->owner, NULL, job->requester);
#endif
	saved_cred = override_creds(job->cred);
	skas_job_enter(job);
	job->fn(job);
	skas_job_leave();
	revert_creds(saved_cred);
#ifdef CONFIG_MEMCG
	if (lent_owner)
		cmpxchg(&job->mm->owner, job->requester, NULL);
	set_active_memcg(saved_memcg);
	mem_cgroup_put(memcg);
#endif
}

static int skas_worker_fn(void *data)
{
	struct skas_worker *worker = data;
	struct skas_job *job;

	for (;;) {
		set_current_state(TASK_IDLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			break;
		}
		job = READ_ONCE(worker->job);
		if (!job) {
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		skas_job_run(job);
		WRITE_ONCE(worker->job, NULL);
		complete(&job->done);
	}
	return 0;
}

/*
 * Run @job in job->mm on a worker and wait for it.  The caller holds a
 * reference on job->mm (mm_users) for the duration.
 */
void skas_run_job(struct skas_job *job)
{
	struct skas_worker *worker;

	worker = &skas_workers[raw_smp_processor_id()];
	if (!worker->task)
		worker = skas_first_worker;
	job->cred = get_current_cred();
	job->requester = current;
	memcpy(job->rlim, current->signal->rlim, sizeof(job->rlim));
	init_completion(&job->done);

	mutex_lock(&worker->lock);
	WRITE_ONCE(worker->job, job);
	wake_up_process(worker->task);
	wait_for_completion(&job->done);
	mutex_unlock(&worker->lock);

	put_cred(job->cred);
}

int skas_workers_start(void)
{
	unsigned int cpu;

	skas_workers = kcalloc(nr_cpu_ids, sizeof(*skas_workers), GFP_KERNEL);
	if (!skas_workers)
		return -ENOMEM;

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		struct skas_worker *worker = &skas_workers[cpu];
		struct task_struct *task;

		mutex_init(&worker->lock);
		task = kthread_create(skas_worker_fn, worker, "uml-skas/%u",
				      cpu);
		if (IS_ERR(task)) {
			cpus_read_unlock();
			skas_workers_stop();
			return PTR_ERR(task);
		}
		kthread_bind(task, cpu);
		worker->task = task;
		if (!skas_first_worker)
			skas_first_worker = worker;
		wake_up_process(task);
	}
	cpus_read_unlock();
	return 0;
}

void skas_workers_stop(void)
{
	unsigned int i;

	if (!skas_workers)
		return;
	for (i = 0; i < nr_cpu_ids; i++)
		if (skas_workers[i].task)
			kthread_stop(skas_workers[i].task);
	kfree(skas_workers);
	skas_workers = NULL;
	skas_first_worker = NULL;
}
