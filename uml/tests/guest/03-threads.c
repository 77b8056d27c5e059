// SPDX-License-Identifier: GPL-2.0
/* Threads: raw clone(CLONE_VM) with futex wait/wake, pthreads with mutexes,
 * condition variables and per-thread TLS.
 */
#include "t.h"
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

static int futex(_Atomic int *uaddr, int op, int val, const struct timespec *ts)
{
	return (int)syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static _Atomic int flag;
static int shared_val;

static int clone_child(void *arg)
{
	(void)arg;
	shared_val = 1234;	/* same address space: the parent sees it */
	atomic_store(&flag, 1);
	futex(&flag, FUTEX_WAKE, 1, NULL);
	return 0;
}

static void raw_clone(void)
{
	const size_t stack_size = 64 * 1024;
	char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	struct timespec ts = { .tv_sec = 5 };
	int st = 0;
	pid_t pid;

	if (stack == MAP_FAILED) {
		t_fail("clone-vm-futex", "mmap: %s", strerror(errno));
		return;
	}
	pid = clone(clone_child, stack + stack_size, CLONE_VM | SIGCHLD, NULL);
	if (pid < 0) {
		t_fail("clone-vm-futex", "clone: %s", strerror(errno));
		return;
	}
	/* Sleep in the kernel until the child wakes us (or 5 s pass). */
	while (atomic_load(&flag) == 0)
		if (futex(&flag, FUTEX_WAIT, 0, &ts) != 0 && errno == ETIMEDOUT)
			break;
	waitpid(pid, &st, 0);
	t_check("clone-vm-futex", atomic_load(&flag) == 1 && shared_val == 1234 &&
		WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"flag %d, shared value %d, status 0x%x", atomic_load(&flag), shared_val, st);
	munmap(stack, stack_size);
}

/* A futex wait with a timeout must time out. */
static void futex_timeout(void)
{
	_Atomic int word = 0;
	struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
	int r = futex(&word, FUTEX_WAIT, 0, &ts);

	t_check("futex-wait-timeout", r == -1 && errno == ETIMEDOUT,
		"returned %d (%s)", r, strerror(errno));
}

#define NTHREADS 8
#define NITER 20000

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static _Atomic long acounter;
static int started;
static _Thread_local int tls_var;
static int tls_bad;

static void *worker(void *arg)
{
	int id = (int)(long)arg;

	tls_var = id * 1000;
	pthread_mutex_lock(&mtx);
	started++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mtx);
	for (int i = 0; i < NITER; i++) {
		pthread_mutex_lock(&mtx);
		counter++;
		pthread_mutex_unlock(&mtx);
		atomic_fetch_add(&acounter, 1);
		if (i % 1000 == 0)
			sched_yield();
	}
	/* Another thread's store must not have changed our TLS copy. */
	if (tls_var != id * 1000) {
		pthread_mutex_lock(&mtx);
		tls_bad = 1;
		pthread_mutex_unlock(&mtx);
	}
	return (void *)(long)(id + 100);
}

static void pthreads(void)
{
	pthread_t th[NTHREADS];
	int bad_ret = 0;

	for (long i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i) != 0) {
			t_fail("pthread-create", "thread %ld", i);
			return;
		}
	pthread_mutex_lock(&mtx);
	while (started < NTHREADS)
		pthread_cond_wait(&cond, &mtx);
	pthread_mutex_unlock(&mtx);
	t_ok("pthread-create-condvar");
	for (long i = 0; i < NTHREADS; i++) {
		void *ret;

		pthread_join(th[i], &ret);
		if ((long)ret != i + 100)
			bad_ret = 1;
	}
	t_check("pthread-join-values", !bad_ret, "wrong return value from a thread");
	t_check("pthread-mutex-counter", counter == (long)NTHREADS * NITER,
		"counter %ld, want %ld", counter, (long)NTHREADS * NITER);
	t_check("atomic-counter", atomic_load(&acounter) == (long)NTHREADS * NITER,
		"counter %ld", atomic_load(&acounter));
	t_check("thread-local-storage", !tls_bad && tls_var == 0,
		"TLS values leaked between threads");
}

/* A signal sent to one thread with pthread_kill runs there. */
static pthread_t target;
static volatile int sig_in_target;

static void on_usr1(int sig)
{
	(void)sig;
	sig_in_target = pthread_equal(pthread_self(), target) ? 1 : 2;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (int i = 0; i < 500 && !sig_in_target; i++)
		usleep(10000);
	return NULL;
}

static void thread_signal(void)
{
	signal(SIGUSR1, on_usr1);
	pthread_create(&target, NULL, sleeper, NULL);
	pthread_kill(target, SIGUSR1);
	pthread_join(target, NULL);
	t_check("pthread-kill-target", sig_in_target == 1,
		"handler ran %s", sig_in_target ? "in the wrong thread" : "never");
}

int main(void)
{
	raw_clone();
	futex_timeout();
	pthreads();
	thread_signal();
	return t_exit();
}
