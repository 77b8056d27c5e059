// SPDX-License-Identifier: GPL-2.0
/*
 * mmap/munmap/mprotect, anonymous and file-backed; faults delivered as
 * SIGSEGV/SIGBUS with the right si_addr and si_code; a SIGSEGV handler that
 * repairs the mapping and resumes the faulting access; no page a freed page
 * table mapped stays reachable; a mapping the host refuses ends the
 * process.
 */
#include "t.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define PSZ 4096UL

static sigjmp_buf jb;
static volatile int got_sig, got_code;
static void *volatile got_addr;

static void catcher(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	got_addr = si->si_addr;
	siglongjmp(jb, 1);
}

/* probe: performs a read (write=0) or write of *p; returns the signal it
 * raised (0 if none) and records si_addr/si_code.
 */
static int probe(volatile char *p, int write)
{
	got_sig = 0;
	got_addr = NULL;
	got_code = 0;
	if (sigsetjmp(jb, 1) == 0) {
		if (write)
			*p = 1;
		else
			(void)*p;
	}
	return got_sig;
}

/* The fault must be SIG at exactly ADDR with CODE. */
static void expect_fault(const char *name, volatile char *addr, int write, int sig, int code)
{
	int s = probe(addr, write);

	if (s != sig)
		t_fail(name, "signal %d, want %d", s, sig);
	else if (got_addr != (void *)addr)
		t_fail(name, "si_addr %p, want %p", got_addr, (void *)addr);
	else if (got_code != code)
		t_fail(name, "si_code %d, want %d", got_code, code);
	else
		t_ok(name);
}

static void anon(void)
{
	char *m = mmap(NULL, 16 * PSZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int zero = 1;

	if (m == MAP_FAILED) {
		t_fail("anon-mmap", "%s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < 16 * PSZ; i++)
		if (m[i])
			zero = 0;
	t_check("anon-zero-filled", zero, "fresh anonymous memory is not zero");
	memset(m, 0xab, 16 * PSZ);
	t_check("anon-write-read", m[5 * PSZ + 7] == (char)0xab, "read back wrong value");

	/* Read-only: reads work, writes fault with SEGV_ACCERR. */
	mprotect(m + 2 * PSZ, PSZ, PROT_READ);
	t_check("mprotect-ro-read", probe(m + 2 * PSZ + 10, 0) == 0 &&
		m[2 * PSZ + 10] == (char)0xab, "read of a read-only page failed");
	expect_fault("mprotect-ro-write-segv", m + 2 * PSZ + 10, 1, SIGSEGV, SEGV_ACCERR);

	/* PROT_NONE: reads and writes fault; the data survives. */
	mprotect(m + 3 * PSZ, PSZ, PROT_NONE);
	expect_fault("prot-none-read-segv", m + 3 * PSZ + 123, 0, SIGSEGV, SEGV_ACCERR);
	expect_fault("prot-none-write-segv", m + 3 * PSZ + 4095, 1, SIGSEGV, SEGV_ACCERR);
	mprotect(m + 3 * PSZ, PSZ, PROT_READ | PROT_WRITE);
	t_check("mprotect-restore-keeps-data", m[3 * PSZ + 123] == (char)0xab,
		"data lost across PROT_NONE");

	/* munmap: the hole faults with SEGV_MAPERR, neighbours stay. */
	munmap(m + 5 * PSZ, PSZ);
	expect_fault("munmap-hole-segv", m + 5 * PSZ + 8, 0, SIGSEGV, SEGV_MAPERR);
	t_check("munmap-neighbours", m[4 * PSZ] == (char)0xab && m[6 * PSZ] == (char)0xab,
		"neighbour pages changed");

	/* MAP_FIXED over an existing range replaces it with zeroes. */
	char *f = mmap(m + 8 * PSZ, PSZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	t_check("map-fixed-replaces", f == m + 8 * PSZ && f[0] == 0,
		"MAP_FIXED: %p, first byte %d", (void *)f, f == MAP_FAILED ? -1 : f[0]);
	munmap(m, 16 * PSZ);
}

/* Wild accesses: unmapped low and high user addresses, kernel-half address. */
static void wild(void)
{
	char *hole = mmap(NULL, PSZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	munmap(hole, PSZ);	/* a known-unmapped user address */
	expect_fault("wild-unmapped-read", hole + 42, 0, SIGSEGV, SEGV_MAPERR);
	expect_fault("wild-unmapped-write", hole + 4000, 1, SIGSEGV, SEGV_MAPERR);
	expect_fault("wild-null-page", (char *)16, 0, SIGSEGV, SEGV_MAPERR);
	/* Beyond the user address space the kernel reports the address but the
	 * code varies by architecture; only the signal and address are checked.
	 */
	int s = probe((char *)0x7ffffffff000UL - PSZ * 1000000UL, 0);

	t_check("wild-high-user", s == SIGSEGV, "signal %d at an unmapped high address", s);
}

/* File-backed: MAP_SHARED writes reach the file, MAP_PRIVATE ones do not;
 * access beyond EOF raises SIGBUS.
 */
static void filemap(void)
{
	char path[] = "/var/tmp/mmXXXXXX", buf[16];
	int fd = mkstemp(path);
	char *s, *p;

	if (fd < 0 || ftruncate(fd, 2 * PSZ)) {
		t_fail("file-setup", "%s", strerror(errno));
		return;
	}
	unlink(path);
	if (pwrite(fd, "hello-file", 10, PSZ) != 10) {
		t_fail("file-setup", "pwrite: %s", strerror(errno));
		return;
	}
	s = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	p = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (s == MAP_FAILED || p == MAP_FAILED) {
		t_fail("file-mmap", "%s", strerror(errno));
		return;
	}
	t_check("file-map-reads-file", memcmp(s + PSZ, "hello-file", 10) == 0,
		"shared mapping does not show the file data");
	memcpy(s, "shared!", 7);
	t_check("file-shared-write-visible", pread(fd, buf, 7, 0) == 7 &&
		memcmp(buf, "shared!", 7) == 0, "write through MAP_SHARED not in file");
	t_check("file-private-sees-shared", memcmp(p, "shared!", 7) == 0,
		"MAP_PRIVATE does not see an untouched page's file data");
	memcpy(p + PSZ, "private", 7);
	t_check("file-private-write-hidden", pread(fd, buf, 7, PSZ) == 7 &&
		memcmp(buf, "hello-f", 7) == 0, "MAP_PRIVATE write reached the file");
	t_check("msync", msync(s, 2 * PSZ, MS_SYNC) == 0, "msync: %s", strerror(errno));

	/* Shrink the file: the mapped second page is now beyond EOF. */
	if (ftruncate(fd, PSZ) == 0)
		expect_fault("file-beyond-eof-sigbus", s + PSZ + 5, 0, SIGBUS, BUS_ADRERR);
	else
		t_fail("file-beyond-eof-sigbus", "ftruncate: %s", strerror(errno));
	munmap(s, 2 * PSZ);
	munmap(p, 2 * PSZ);
	close(fd);
}

/*
 * A page table freed and a new one put in its place within one call: the
 * host must not keep the old table's pages mapped.  A 2 MiB area, alone in
 * its page table, is filled with a mark; one mmap(MAP_FIXED|MAP_POPULATE)
 * puts a one-page file over all of it.  The old pages and their table are
 * freed, a new table gets the file's page, and the rest of the area is
 * beyond the end of the file: an access there raises SIGBUS.  A mark read
 * there is read from a page the kernel freed, through a host mapping that
 * nothing removed.
 */
#define TABLE_SPAN (2UL << 20)
#define TABLE_MARK 0x7ab1e5f3

static void freed_table(void)
{
	const char *name = "freed-table-range-unmapped";
	char path[] = "/var/tmp/ftXXXXXX";
	char *raw, *area, *f;
	int fd = mkstemp(path), sig = -1;
	long marks = 0;

	raw = mmap(NULL, 3 * TABLE_SPAN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || ftruncate(fd, PSZ) || pwrite(fd, "table", 5, 0) != 5 ||
	    raw == MAP_FAILED) {
		t_fail(name, "setup: %s", strerror(errno));
		return;
	}
	unlink(path);
	/* The area alone in its page table: nothing mapped beside it. */
	area = (char *)(((uintptr_t)raw + TABLE_SPAN - 1) & ~(TABLE_SPAN - 1));
	if (area > raw)
		munmap(raw, area - raw);
	munmap(area + TABLE_SPAN, raw + 3 * TABLE_SPAN - (area + TABLE_SPAN));
	for (size_t i = 0; i < TABLE_SPAN; i += PSZ)
		*(volatile int *)(area + i) = TABLE_MARK;

	f = mmap(area, TABLE_SPAN, PROT_READ, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd, 0);
	/* The file's page is in: the new table is there. */
	if (f != area || memcmp(area, "table", 5)) {
		t_fail(name, "mmap over the area: %s",
		       f == area ? "the file's page reads wrong" : strerror(errno));
		return;
	}
	for (size_t i = PSZ; i < TABLE_SPAN; i += PSZ) {
		sig = probe(area + i, 0);
		if (sig == 0 && *(volatile int *)(area + i) == TABLE_MARK)
			marks++;
		else if (sig != SIGBUS)
			break;
	}
	t_check(name, marks == 0 && sig == SIGBUS,
		"%ld of %lu pages beyond the end of the file read the old pages' mark; last access: signal %d, want SIGBUS",
		marks, TABLE_SPAN / PSZ - 1, sig);
	munmap(area, TABLE_SPAN);
	close(fd);
}

/* Repair: the handler makes the page writable and returns; the faulting
 * store is restarted and completes.  Done for many pages in a row.
 */
static char *rep_base;
static volatile int rep_count;

static void repair(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr & ~(PSZ - 1);

	(void)sig;
	(void)uc;
	rep_count++;
	if (mprotect((void *)a, PSZ, PROT_READ | PROT_WRITE) != 0)
		_exit(3);
}

static void repair_resume(void)
{
	const int pages = 64;
	struct sigaction sa = { .sa_sigaction = repair, .sa_flags = SA_SIGINFO };
	int bad = 0;

	rep_base = mmap(NULL, pages * PSZ, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rep_base == MAP_FAILED) {
		t_fail("segv-repair-resume", "mmap: %s", strerror(errno));
		return;
	}
	sigaction(SIGSEGV, &sa, NULL);
	for (int i = 0; i < pages; i++)
		((volatile char *)rep_base)[i * PSZ + i] = (char)(i + 1);
	for (int i = 0; i < pages; i++)
		if (rep_base[i * PSZ + i] != (char)(i + 1))
			bad = 1;
	t_check("segv-repair-resume", !bad && rep_count == pages,
		"%d faults for %d pages, data %s", rep_count, pages, bad ? "wrong" : "ok");
	signal(SIGSEGV, SIG_DFL);
	munmap(rep_base, pages * PSZ);
}

/*
 * A host that refuses a mapping: the host process of a guest address space
 * may have vm.max_map_count mappings (65530 by default), and the zero page
 * read at 80000 addresses in a row makes one host mapping per page (one
 * page frame at many addresses: nothing merges).  The mapping the host
 * refuses must end the process (SIGSEGV, as every mode reports a failed
 * address space operation), never be dropped.  Upstream's seccomp mode
 * dropped it two ways: a sync's queue flushed when full (the population
 * of all pages in one call), and a fault's sync applied at the start of
 * the next run (most pages in one call, the last ones one fault each);
 * the page then faulted again and again.
 */
#define ZERO_PAGES	80000UL

static size_t zero_populate;

/* A failed operation is fatal (the kernel forces SIGSEGV, no handler
 * runs); a SIGSEGV that reaches a handler is a fault of a page or register
 * the failure left wrong.
 */
static void zero_reader_caught(int sig)
{
	(void)sig;
	_exit(4);
}

static void zero_page_reader(void)
{
	volatile char *p = mmap(NULL, ZERO_PAGES * PSZ, PROT_READ,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char sum = 0;

	alarm(40);
	signal(SIGSEGV, zero_reader_caught);
	if (p == MAP_FAILED ||
	    madvise((void *)p, zero_populate * PSZ, MADV_POPULATE_READ))
		_exit(2);
	/* Pages a failed sync left out fault where they should not. */
	for (size_t i = 0; i < ZERO_PAGES; i++)
		sum |= p[i * PSZ];
	_exit(sum ? 3 : 0);
}

static void host_map_limit(const char *name, size_t populate)
{
	int st;

	zero_populate = populate;
	st = in_child(zero_page_reader);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		t_note("the host took %lu mappings of one guest process (its "
		       "vm.max_map_count is higher): %s showed nothing",
		       ZERO_PAGES, name);
	t_check(name, (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) ||
		      (WIFEXITED(st) && WEXITSTATUS(st) == 0),
		"the reader ended with %s (exit 2: setup failed, 3: a page read "
		"non-zero, 4: a SIGSEGV it could catch; SIGALRM: it faulted on "
		"for 40 s)", how(st));
}

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/*
 * fork copies the parent's pages to the child as not accessed; the
 * child's first sync takes them as accessed (uml/patches/0019), so its
 * reads of them fault no more (each such fault cost a stop).  UML maps a
 * page that is not accessed with PROT_EXEC alone: a read of it faults
 * only where the host has protection keys (execute-only memory), as the
 * VM harness's CPU does; elsewhere reads never faulted, and the check
 * passes either way.  What reclaim ages afterwards faults again:
 * MADV_COLD makes the child's own (copied, dirty) pages old, and a write
 * to them faults on any host, as the accessed bit's emulation wants (it
 * would not if every sync took old entries as accessed).  The data is
 * the parent's, and copies stay apart.
 */
#define FORK_PAGES 64
static void pin_to_this_cpu(void)
{
	cpu_set_t one;
	int cpu = sched_getcpu();

	CPU_ZERO(&one);
	CPU_SET(cpu < 0 ? 0 : cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

/* Whether the (host's) CPU flags UML shows name protection keys. */
static int host_has_pkeys(void)
{
	char line[4096];
	FILE *f = fopen("/proc/cpuinfo", "r");
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "flags", 5) && strstr(line, " ospke");
	if (f)
		fclose(f);
	return found;
}

static void fork_copies(void)
{
	struct { long reads, cold_writes, cold_err; int data_ok; } r = { 0 };
	char *m = mmap(NULL, FORK_PAGES * PSZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fds[2], st = 0, ok = 1;
	long before;
	pid_t pid;

	if (m == MAP_FAILED || pipe(fds) < 0) {
		t_fail("fork-copies-setup", "%s", strerror(errno));
		return;
	}
	for (int i = 0; i < FORK_PAGES; i++)
		m[i * PSZ] = (char)(i + 1);
	pid = fork();
	if (pid == 0) {
		volatile char *v = m;
		int sum = 0;

		pin_to_this_cpu();
		before = minor_faults();
		for (int i = 0; i < FORK_PAGES; i++)
			sum += v[i * PSZ] == (char)(i + 1);
		r.reads = minor_faults() - before;
		r.data_ok = sum == FORK_PAGES;
		for (int i = 0; i < FORK_PAGES; i++)
			v[i * PSZ] = 0x5a;      /* the child's own copies now */
		/*
		 * MADV_COLD drains only this CPU's batch of pages on their
		 * way to the LRU and skips the rest: the copies were made on
		 * this CPU, and the child stays on it.
		 */
		pin_to_this_cpu();
		r.cold_err = madvise(m, FORK_PAGES * PSZ, MADV_COLD) ? errno : 0;
		before = minor_faults();
		for (int i = 0; i < FORK_PAGES; i++)
			v[i * PSZ] = 0x5b;
		r.cold_writes = minor_faults() - before;
		_exit(write(fds[1], &r, sizeof(r)) == sizeof(r) ? 0 : 2);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &r, sizeof(r)) != sizeof(r)) {
		t_fail("fork-copies-child", "fork or the child's report failed: %s",
		       strerror(errno));
		close(fds[0]);
		munmap(m, FORK_PAGES * PSZ);
		return;
	}
	close(fds[0]);
	waitpid(pid, &st, 0);
	for (int i = 0; i < FORK_PAGES; i++)
		ok &= m[i * PSZ] == (char)(i + 1);
	t_check("fork-copies-hold-the-parents-data", r.data_ok && ok,
		"child read the parent's data: %s; the parent's pages after the child wrote its own: %s",
		r.data_ok ? "yes" : "no", ok ? "unchanged" : "changed");
	if (!host_has_pkeys())
		t_note("fork-copies-read-without-faults: no protection keys on the host: reads of pages not accessed never fault here, so this check cannot fail");
	t_check("fork-copies-read-without-faults", r.reads < FORK_PAGES / 4,
		"the child's reads of %d pages fork copied took %ld minor faults",
		FORK_PAGES, r.reads);
	if (r.cold_err)
		t_fail("fork-copies-aged-fault-again", "madvise(MADV_COLD): %s",
		       strerror((int)r.cold_err));
	else
		t_check("fork-copies-aged-fault-again", r.cold_writes >= FORK_PAGES / 2,
			"after MADV_COLD, the child's writes to its %d own pages took %ld minor faults (the accessed bit is no longer emulated)",
			FORK_PAGES, r.cold_writes);
	munmap(m, FORK_PAGES * PSZ);
}

/* An unhandled SIGSEGV kills the process with that signal. */
static void unhandled(void)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		/* Through a volatile pointer so the compiler keeps the store. */
		int *volatile wild_ptr = (int *)8;

		signal(SIGSEGV, SIG_DFL);
		*wild_ptr = 1;
		_exit(0);
	}
	waitpid(pid, &st, 0);
	t_check("segv-unhandled-kills", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
		"status 0x%x", st);
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = catcher, .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	anon();
	wild();
	filemap();
	freed_table();
	repair_resume();
	fork_copies();
	unhandled();
	host_map_limit("host-refused-mapping-in-sync-kills", ZERO_PAGES);
	host_map_limit("host-refused-mapping-at-run-kills", 65000);
	return t_exit();
}
