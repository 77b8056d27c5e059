/* thread context switch: two threads of one process hand a token back and
 * forth through a futex word; per round trip (two switches, no address
 * space change). */
#include "common.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

/* 0: main thread's turn, 1: partner's turn, 2: partner must stop. */
static _Atomic int turn;

static void futex_wait(int val)
{
	syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(void)
{
	syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *partner(void *arg)
{
	(void)arg;
	for (;;) {
		int t;

		while ((t = atomic_load(&turn)) == 0)
			futex_wait(0);
		if (t == 2)
			return NULL;
		atomic_store(&turn, 0);
		futex_wake();
	}
}

static void body(void *ctx, long n)
{
	(void)ctx;
	for (long i = 0; i < n; i++) {
		atomic_store(&turn, 1);
		futex_wake();
		while (atomic_load(&turn) == 1)
			futex_wait(1);
	}
}

int main(int argc, char **argv)
{
	struct opts o = parse_opts(argc, argv);
	pthread_t th;

	if ((errno = pthread_create(&th, NULL, partner, NULL)))
		die("pthread_create");
	run_bench("thread_switch", body, NULL, 1, &o);
	atomic_store(&turn, 2);
	futex_wake();
	pthread_join(th, NULL);
	return 0;
}
