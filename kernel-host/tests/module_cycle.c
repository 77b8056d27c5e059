// SPDX-License-Identifier: GPL-2.0
/*
 * skas-module-cycle KO_PATH: module lifecycle.  Run it last: it unloads and
 * reloads uml_skas_host (and leaves it loaded when it passes).
 *
 *  - rmmod is refused (EBUSY/EWOULDBLOCK) while a /proc/mm fd is open;
 *  - then SKAS_CYCLES (default 20) rounds of delete_module + finit_module:
 *    after unload /proc/mm is gone (ENOENT) and the skas ptrace requests
 *    give EIO; after load /proc/mm works again (a tracee runs in a space).
 *    Every other load passes carrier=0: /dev/uml-skas is absent then;
 *    after the others (the default) it is there and a carrier runs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "carrier.h"
#include "harness.h"
#include "tracee.h"

#define MODNAME "uml_skas_host"

static const char *ko_path;
static int total_retries;

/* delete_module; EBUSY/EAGAIN is retried for up to `patience` seconds. */
static int unload(double patience)
{
	double deadline = now() + patience;

	for (;;) {
		if (!syscall(SYS_delete_module, MODNAME, O_NONBLOCK))
			return 0;
		if ((errno != EAGAIN && errno != EBUSY) || now() > deadline)
			return errno;
		/* References held by dying spaces may need a moment (lazy TLB mms). */
		total_retries++;
		visit_all_cpus();
		usleep(20000);
	}
}

static int load(const char *params)
{
	int fd = open(ko_path, O_RDONLY | O_CLOEXEC), r, e;

	if (fd < 0)
		FAIL("open %s: %s", ko_path, errstr(errno));
	r = syscall(SYS_finit_module, fd, params, 0);
	e = errno;
	close(fd);
	return r ? e : 0;
}

/* The module works: a tracee runs code in a fresh space. */
static void works(int cycle)
{
	int fd = space_new();
	pid_t pid = tracee_spawn();
	unsigned long first;

	tracee_switch(pid, fd);
	memcpy(&first, blob_start, sizeof(first));
	CHECK(tracee_call(pid, BLOB(blob_load), CODE_ADDR, 0, 0, NULL) == first,
	      "cycle %d: tracee read wrong code", cycle);
	tracee_kill(pid);
	close(fd);
}

/* A carrier stops at a guest system call. */
static void carrier_works(int cycle)
{
	struct carrier c;
	struct skas_run run = { 0 };

	carrier_start(&c);
	regs_init(&run.regs, BLOB(blob_getpid), 0, 0, 0);
	run_first(&c, &run);
	CHECK(run.exit.reason == SKAS_EXIT_SYSCALL && run.exit.syscall == 39,
	      "cycle %d: carrier stop %u", cycle, run.exit.reason);
	kill(c.pid, SIGKILL);
	waitpid(c.pid, NULL, 0);
	close(c.dev);
	close(c.mm);
}

TEST(module_busy_while_open, T_DEFAULT)
{
	int fd = space_open();
	long r;

	errno = 0;
	r = syscall(SYS_delete_module, MODNAME, O_NONBLOCK);
	if (r == 0) {
		int e = load("");

		FAIL("the module was unloaded while a /proc/mm fd was open (reloaded: %s)",
		     errstr(e));
	}
	CHECK(errno == EBUSY || errno == EWOULDBLOCK,
	      "delete_module with a /proc/mm fd open: %s, expected EBUSY or EWOULDBLOCK",
	      errstr(errno));
	/* Still fully working, including the fd we held. */
	OP_OK(op_mmap(fd, DATA_ADDR, PAGE, RW, ANON_FIXED, -1, 0));
	close(fd);
	works(0);
}

TEST(module_cycle, 280)
{
	long cycles = env_long("SKAS_CYCLES", 20), c;
	pid_t pid = tracee_spawn();	/* stopped, never switched: for the EIO checks */
	struct ptrace_ex_faultinfo fi;
	unsigned long set;
	struct ptrace_ldt ldt = { 0, &fi, 8 };
	static const long reqs[] = { PTRACE_FAULTINFO, PTRACE_SIGPENDING, PTRACE_LDT,
				     PTRACE_SWITCH_MM, PTRACE_EX_FAULTINFO };
	unsigned long data[] = { (unsigned long)&fi, (unsigned long)&set, (unsigned long)&ldt,
				 0, (unsigned long)&fi };
	size_t i;
	int e;

	for (c = 1; c <= cycles; c++) {
		e = unload(3.0);
		CHECK(e == 0, "cycle %ld: delete_module: %s", c, errstr(e));
		errno = 0;
		CHECK(access("/proc/mm", F_OK) == -1 && errno == ENOENT,
		      "cycle %ld: /proc/mm after unload: %s", c, errstr(errno));
		EXPECT_ERRNO(open("/proc/mm", O_WRONLY | O_CLOEXEC), ENOENT);
		EXPECT_ERRNO(access("/dev/uml-skas", F_OK), ENOENT);
		for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
			errno = 0;
			long r = xptrace(reqs[i], pid, 0, data[i]);

			CHECK(r == -1 && errno == EIO,
			      "cycle %ld: request %ld while unloaded: %ld (%s), expected EIO", c,
			      reqs[i], r, errstr(errno));
		}

		int carriers = c % 2;

		e = load(carriers ? "" : "carrier=0");
		CHECK(e == 0, "cycle %ld: finit_module(%s): %s", c, ko_path, errstr(e));
		CHECK(access("/proc/mm", F_OK) == 0, "cycle %ld: no /proc/mm after load: %s", c,
		      errstr(errno));
		/* The requests are back. */
		CHECK(xptrace(PTRACE_SIGPENDING, pid, 0, (unsigned long)&set) == 0,
		      "cycle %ld: PTRACE_SIGPENDING after load: %s", c, errstr(errno));
		works((int)c);
		if (carriers) {
			carrier_works((int)c);
		} else {
			EXPECT_ERRNO(access("/dev/uml-skas", F_OK), ENOENT);
		}
	}
	note("module_cycle: %ld unload/load cycles; delete_module was retried %d times",
	     cycles, total_retries);
}

int main(int argc, char **argv)
{
	static const char usage[] =
		"usage: skas-module-cycle KO_PATH [-l] [-v] [NAME-GLOB...]\n"
		"  unloads and reloads " MODNAME " (which must be loaded); run it last.\n"
		"  SKAS_CYCLES: number of unload/load cycles (default 20)\n";
	int i;

	if (argc >= 2 && argv[1][0] != '-') {
		ko_path = argv[1];
		if (access(ko_path, R_OK)) {
			fprintf(stderr, "error: %s: %s\n", ko_path, errstr(errno));
			return 2;
		}
		argv[1] = argv[0];
		return harness_main(argc - 1, argv + 1, 1, usage);
	}
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-l"))
			return harness_main(argc, argv, 0, usage);
	fprintf(stderr, "%s", usage);
	return 2;
}
