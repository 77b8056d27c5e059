/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for /dev/uml-skas carriers (skas4): what UML's carrier and
 * runner do, for the tests (test_carrier.c) and the benchmark
 * (stop_bench.c).  They FAIL() the test on unexpected errors, except
 * run_raw(), which returns ioctl's result.
 */
#ifndef SKAS_TESTS_CARRIER_H
#define SKAS_TESTS_CARRIER_H

#include <sys/types.h>

#include "../uapi/skas.h"

#define USER_CS		0x33
#define USER32_CS	0x23
#define USER_DS		0x2b

/* What a child leaves out of ENTER's conditions (carrier_spawn()). */
#define SKIP_NNP	0x1
#define SKIP_SECCOMP	0x2
#define SKIP_NODUMP	0x4
#define EXTRA_FD	0x8
#define EXTRA_THREAD	0x10
#define PENDING_SEGV	0x20	/* not a condition: a blocked SIGSEGV pending at ENTER */
#define TLS_DESC	0x40	/* not a condition: a GDT TLS descriptor (selector 0x63) at ENTER */

/* In %xmm0 and %xmm1 of every carrier child before ENTER. */
#define CARRIER_XMM_DIRT	0x5ca1ab1e5ca1ab1eUL
/* And its MXCSR: round toward zero, not the default 0x1f80. */
#define CARRIER_MXCSR_DIRT	0x7f80U

struct carrier {
	int dev;	/* /dev/uml-skas */
	int mm;		/* the space it runs in */
	pid_t pid;
};

/* /dev/uml-skas, after checking the module has carriers on. */
int dev_open(void);
/* A carrier's seccomp filter (see carrier.c): ENTER and exit, nothing else. */
int install_filter(void);
/*
 * Forks a child that becomes a carrier on dev, minus what skip leaves
 * out.  A failed ENTER ends the child with the errno as exit status.
 */
pid_t carrier_spawn(int dev, unsigned int skip);
/* User code and stack segments, IF set, a stack in the test layout. */
void regs_init(struct skas_regs *r, unsigned long rip, unsigned long a0,
	       unsigned long a1, unsigned long a2);
/* One SKAS_CARRIER_RUN; mm_fd -1: the same space. */
long run_raw(struct carrier *c, struct skas_run *run, int mm_fd);
/* The first RUN, in c->mm, once the child has entered. */
void run_first(struct carrier *c, struct skas_run *run);
/* Non-dumpable, then a device, a space with the blob, a carrier (not yet run). */
void carrier_start(struct carrier *c);
/* Kills the carrier (it must die of that SIGKILL) and closes its files. */
void carrier_end(struct carrier *c);
/* SKAS_EXIT_* as a word. */
const char *reason_str(unsigned int r);

#endif
