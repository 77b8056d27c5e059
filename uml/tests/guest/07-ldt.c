// SPDX-License-Identifier: GPL-2.0
/*
 * modify_ldt: write an LDT entry (a data segment whose base is a variable of
 * ours), read the table back, load the selector into %gs and read through
 * it; a forked child inherits the entry; an exec'd program starts without
 * it; a modify_ldt that sleeps while another process runs still changes
 * the caller's LDT, not the other's.
 *
 * skas3 mode implements modify_ldt with the host module's PTRACE_LDT,
 * skas4 with SKAS_CARRIER_LDT; the stub modes (seccomp, ptrace) have no LDT
 * support, as upstream UML 7.2: there every check is reported as skipped,
 * and anything but ENOSYS fails.  In skas3 and skas4 mode ENOSYS is a
 * failure.
 */
#include "t.h"
#include <asm/ldt.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const char *const checks[] = {
	"modify-ldt-write", "modify-ldt-read-back", "modify-ldt-load-selector",
	"modify-ldt-inherited-by-fork", "modify-ldt-dropped-by-exec",
	"modify-ldt-while-another-runs",
};
#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

static volatile uint32_t target = 0x5eed1234;
/* index 0, LDT, RPL 3 */
static const uint16_t sel = (uint16_t)((0 << 3) | 4 | 3);

/* Reads a word through the LDT selector; %gs is put back to 0 (glibc uses
 * %fs for TLS on x86-64, %gs is free).
 */
static uint32_t read_through_selector(void)
{
	uint32_t got;

	__asm__ volatile("mov %1, %%gs\n\t"
			 "movl %%gs:0, %0\n\t"
			 "mov %2, %%gs"
			 : "=r"(got) : "r"(sel), "r"((uint16_t)0) : "memory");
	return got;
}

/* Bytes of LDT modify_ldt reads back: 0 when there is none. */
static long ldt_bytes(void)
{
	unsigned char table[LDT_ENTRY_SIZE * 2];

	return syscall(SYS_modify_ldt, 0, table, sizeof(table));
}

/* The base address in an 8-byte descriptor (bytes 2, 3, 4 and 7). */
static uint32_t entry_base(const unsigned char *e)
{
	return e[2] | e[3] << 8 | e[4] << 16 | (uint32_t)e[7] << 24;
}

/*
 * Run in a fresh exec'd process (no LDT): a child spins, always runnable,
 * while we call modify_ldt with its argument on a file page dropped from
 * the page cache, so the call sleeps on the disk read and the child runs
 * meanwhile.  In skas3 mode one host process runs both of us: the write
 * must still land in our LDT, not in the child's.  Entries 0..7, one per
 * round; the child's LDT must stay empty.
 */
static int ldt_while_another_runs(void)
{
	const char *name = "modify-ldt-while-another-runs";
	char path[] = "/var/ldt-arg.XXXXXX";	/* on the disk: /tmp is tmpfs */
	unsigned char table[LDT_ENTRY_SIZE * 8];
	int go[2], fd, status = 0, i;
	long bytes = 0, r = 0;
	pid_t spinner;

	fd = mkstemp(path);
	if (fd < 0 || pipe(go) != 0) {
		t_fail(name, "setup: %s", strerror(errno));
		return t_exit();
	}
	unlink(path);
	spinner = fork();
	if (spinner == 0) {
		char c;

		close(go[1]);
		fcntl(go[0], F_SETFL, O_NONBLOCK);
		while (read(go[0], &c, 1) < 0 && errno == EAGAIN)
			;
		_exit(ldt_bytes() == 0 ? 0 : 1);
	}
	close(go[0]);
	for (i = 0; i < 8 && spinner > 0; i++) {
		struct user_desc d = {
			.entry_number = i,
			.base_addr = (unsigned int)(uintptr_t)&target,
			.limit = 0xfff,
			.seg_32bit = 1,
			.useable = 1,
		};
		void *arg;

		if (pwrite(fd, &d, sizeof(d), 0) != (ssize_t)sizeof(d) || fsync(fd) != 0 ||
		    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) {
			t_fail(name, "writing the argument file: %s", strerror(errno));
			break;
		}
		arg = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		if (arg == MAP_FAILED) {
			t_fail(name, "mmap: %s", strerror(errno));
			break;
		}
		r = syscall(SYS_modify_ldt, 1, arg, sizeof(d));
		munmap(arg, 4096);
		/* Entry i of our table must hold the base just written. */
		memset(table, 0, sizeof(table));
		bytes = syscall(SYS_modify_ldt, 0, table, sizeof(table));
		if (r != 0 || bytes < (i + 1) * LDT_ENTRY_SIZE ||
		    entry_base(table + i * LDT_ENTRY_SIZE) != d.base_addr)
			break;
	}
	close(fd);
	if (write(go[1], "x", 1) != 1 || spinner <= 0 || waitpid(spinner, &status, 0) != spinner)
		status = -1;
	if (i == 8 || t_failures == 0)
		t_check(name, i == 8 && status == 0,
			"round %d: modify_ldt gave %ld, then read %ld bytes of LDT without "
			"entry %d; the spinning child %s", i, r, bytes, i,
			status == 0 ? "kept an empty LDT" :
			"found an LDT of its own (or failed)");
	return t_exit();
}

/* The process mode from /proc/cpuinfo ("skas3", "seccomp", "ptrace"). */
static void process_mode(char *mode, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(mode, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "mode : %63s", mode) == 1 ||
		    sscanf(line, "mode\t: %63s", mode) == 1)
			break;
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	struct user_desc d = {
		.entry_number = 0,
		.base_addr = (unsigned int)(uintptr_t)&target,
		.limit = 0xfff,
		.seg_32bit = 1,
		.contents = 0,		/* data, expand-up */
		.read_exec_only = 0,
		.limit_in_pages = 0,
		.seg_not_present = 0,
		.useable = 1,
	};
	unsigned char table[LDT_ENTRY_SIZE * 2];
	char mode[64];
	int status = 0;
	pid_t pid;
	long r;

	/* Re-executed by the exec check: report how much LDT we have. */
	if (argc == 2 && strcmp(argv[1], "--ldt-bytes") == 0)
		return ldt_bytes() == 0 ? 0 : 1;
	if (argc == 2 && strcmp(argv[1], "--while-another-runs") == 0)
		return ldt_while_another_runs();

	if ((uintptr_t)&target > 0xffffffffu) {
		for (size_t i = 0; i < NCHECKS; i++)
			t_skip(checks[i], "variable above 4 GiB (PIE?)");
		return 0;
	}
	process_mode(mode, sizeof(mode));
	r = syscall(SYS_modify_ldt, 1, &d, sizeof(d));
	if (r != 0 && errno == ENOSYS && strcmp(mode, "skas3") != 0 &&
	    strcmp(mode, "skas4") != 0) {
		for (size_t i = 0; i < NCHECKS; i++)
			t_skip(checks[i], "no LDT support in %s mode (ENOSYS)", mode);
		return 0;
	}
	if (r != 0) {
		t_fail("modify-ldt-write", "returned %ld (%s) in %s mode", r,
		       strerror(errno), mode);
		return t_exit();
	}
	t_ok("modify-ldt-write");

	memset(table, 0, sizeof(table));
	r = syscall(SYS_modify_ldt, 0, table, sizeof(table));
	{
		uint32_t base = entry_base(table);

		t_check("modify-ldt-read-back", r >= LDT_ENTRY_SIZE && base == d.base_addr,
			"read %ld bytes, base 0x%x, want 0x%x", r, base, d.base_addr);
	}

	{
		uint32_t got = read_through_selector();

		t_check("modify-ldt-load-selector", got == target,
			"read 0x%x through the selector, want 0x%x", got, target);
	}

	pid = fork();
	if (pid == 0)
		_exit(read_through_selector() == target && ldt_bytes() > 0 ? 0 : 1);
	t_check("modify-ldt-inherited-by-fork",
		pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		WEXITSTATUS(status) == 0,
		"the child could not use the parent's LDT entry (status 0x%x)", status);

	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "--ldt-bytes", (char *)NULL);
		_exit(127);
	}
	t_check("modify-ldt-dropped-by-exec",
		pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		WEXITSTATUS(status) == 0,
		"after exec the LDT was not empty (status 0x%x)", status);

	/* The exec'd process reports this check itself. */
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "--while-another-runs", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) == 127)
		t_fail("modify-ldt-while-another-runs", "the check did not run (status 0x%x)",
		       status);
	else if (WEXITSTATUS(status) != 0)
		t_failures++;
	return t_exit();
}
