// SPDX-License-Identifier: GPL-2.0
/*
 * skas-suid-helper: what the attack tests exec.  Installed setuid root, it
 * proves that it runs its own code with its own euid by its exit status:
 * 42 when setuid took effect (euid 0, real uid not), 43 otherwise.  Had
 * it been moved into an empty address space, it would die of SIGSEGV
 * before reaching main().
 */
#include <unistd.h>

int main(void)
{
	return geteuid() == 0 && getuid() != 0 ? 42 : 43;
}
