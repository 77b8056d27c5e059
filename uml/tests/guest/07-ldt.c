// SPDX-License-Identifier: GPL-2.0
/*
 * modify_ldt: write an LDT entry (a data segment whose base is a variable of
 * ours), read the table back, load the selector into %gs and read through
 * it; a forked child inherits the entry; an exec'd program starts without
 * it.
 *
 * skas3 mode implements modify_ldt with the host module's PTRACE_LDT; the
 * stub modes (seccomp, ptrace) have no LDT support, as upstream UML 7.2:
 * there every check is reported as skipped, and anything but ENOSYS fails.
 * In skas3 mode ENOSYS is a failure.
 */
#include "t.h"
#include <asm/ldt.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const char *const checks[] = {
	"modify-ldt-write", "modify-ldt-read-back", "modify-ldt-load-selector",
	"modify-ldt-inherited-by-fork", "modify-ldt-dropped-by-exec",
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

	if ((uintptr_t)&target > 0xffffffffu) {
		for (size_t i = 0; i < NCHECKS; i++)
			t_skip(checks[i], "variable above 4 GiB (PIE?)");
		return 0;
	}
	process_mode(mode, sizeof(mode));
	r = syscall(SYS_modify_ldt, 1, &d, sizeof(d));
	if (r != 0 && errno == ENOSYS && strcmp(mode, "skas3") != 0) {
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
	/* Descriptor bytes 2,3,4 and 7 hold the base address. */
	{
		uint32_t base = table[2] | table[3] << 8 | table[4] << 16 |
				(uint32_t)table[7] << 24;

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
	return t_exit();
}
