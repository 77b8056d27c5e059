// SPDX-License-Identifier: GPL-2.0
/*
 * modify_ldt: write an LDT entry (a data segment whose base is a variable of
 * ours), read the table back, load the selector into %gs and read through it.
 * UML 7.2 has no LDT support (modify_ldt is ENOSYS there): the checks are
 * then reported as skipped, and anything else than ENOSYS is a failure.
 */
#include "t.h"
#include <asm/ldt.h>
#include <stdint.h>
#include <sys/syscall.h>

static volatile uint32_t target = 0x5eed1234;

int main(void)
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
	long r;
	uint32_t got;
	uint16_t sel = (uint16_t)((0 << 3) | 4 | 3);	/* index 0, LDT, RPL 3 */

	if ((uintptr_t)&target > 0xffffffffu) {
		t_skip("modify-ldt-write", "variable above 4 GiB (PIE?)");
		return 0;
	}
	r = syscall(SYS_modify_ldt, 1, &d, sizeof(d));
	if (r != 0 && errno == ENOSYS) {
		t_skip("modify-ldt-write", "modify_ldt is ENOSYS (no LDT support in this kernel)");
		return 0;
	}
	if (r != 0) {
		t_fail("modify-ldt-write", "returned %ld (%s)", r, strerror(errno));
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

	/* Load the selector and read through it; then put %gs back to 0 (glibc
	 * uses %fs for TLS on x86-64, %gs is free).
	 */
	__asm__ volatile("mov %1, %%gs\n\t"
			 "movl %%gs:0, %0\n\t"
			 "mov %2, %%gs"
			 : "=r"(got) : "r"(sel), "r"((uint16_t)0) : "memory");
	t_check("modify-ldt-load-selector", got == target,
		"read 0x%x through the selector, want 0x%x", got, target);
	return t_exit();
}
