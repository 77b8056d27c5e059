// SPDX-License-Identifier: GPL-2.0
/*
 * What a guest process can reach of the host address space it runs in.
 *
 * In the guest: the UML kernel's own text (addresses from /proc/kallsyms)
 * must fault with SIGSEGV at exactly that address, in every mode; so must a
 * sweep of the region above the guest's TASK_SIZE, one probe per GiB.
 *
 * With the host: the harness needs the host's view of this very address
 * space, which the guest cannot see by itself.  The program maps a marker
 * region at a fixed address, prints its own mappings ("# guest-vma ...")
 * and the line "UML-ADDRSPACE: probe 0xADDR", then keeps running for a few
 * seconds without allocating.  The harness finds the host process that has
 * the marker mapped, prints that process's /proc/PID/maps into the log
 * ("UML-HOSTMAPS: ...") and compares: in skas3 no host mapping may lie
 * outside the guest's own mappings; in seccomp and ptrace mode the stub
 * pages must be found there (which shows that the comparison sees them).
 */
#include "t.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#define PSZ 4096UL
#define MARKER_ADDR 0x5a5a5a5a0000UL
#define GIB (1UL << 30)

static sigjmp_buf jb;
static volatile int got_sig;
static void *volatile got_addr;

static void catcher(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_addr = si->si_addr;
	siglongjmp(jb, 1);
}

/* Reads *p; returns the signal that raised (0 if none). */
static int probe(const volatile char *p)
{
	got_sig = 0;
	got_addr = NULL;
	if (sigsetjmp(jb, 1) == 0)
		(void)*p;
	return got_sig;
}

/* Address of a kernel text symbol from /proc/kallsyms, 0 if absent. */
static unsigned long kallsyms_addr(const char *want)
{
	char line[256], name[128], type;
	unsigned long addr, found = 0;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx %c %127s", &addr, &type, name) == 3 &&
		    strcmp(name, want) == 0) {
			found = addr;
			break;
		}
	}
	fclose(f);
	return found;
}

static void kernel_text_unreachable(void)
{
	static const char *const syms[] = { "_stext", "start_kernel", "schedule" };
	char name[64];

	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		unsigned long a = kallsyms_addr(syms[i]);
		int s;

		snprintf(name, sizeof(name), "kernel-%s-unreachable", syms[i]);
		if (a == 0) {
			t_fail(name, "%s not in /proc/kallsyms (or shown as 0)", syms[i]);
			continue;
		}
		s = probe((const char *)a);
		if (s != SIGSEGV)
			t_fail(name, "reading %s at 0x%lx gave signal %d, want SIGSEGV",
			       syms[i], a, s);
		else if (got_addr != (void *)a)
			t_fail(name, "si_addr %p, want 0x%lx", got_addr, a);
		else
			t_ok(name);
	}
}

/* One probe per GiB from the guest's TASK_SIZE (the first address it cannot
 * map) to the end of the 47-bit user address space.
 */
static void above_task_size_unreachable(void)
{
	unsigned long top = 1UL << 47, task_size = 0, a, reached = 0, n = 0;

	/* TASK_SIZE: the lowest GiB boundary that MAP_FIXED refuses. */
	for (a = top - GIB; a >= GIB; a -= GIB) {
		void *m = mmap((void *)a, PSZ, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		/* EEXIST: something is mapped there, so it is below TASK_SIZE. */
		if (m != MAP_FAILED || errno == EEXIST) {
			if (m != MAP_FAILED)
				munmap(m, PSZ);
			task_size = a + GIB;
			break;
		}
	}
	if (task_size == 0) {
		t_fail("above-task-size-unreachable", "could not find TASK_SIZE");
		return;
	}
	t_note("guest TASK_SIZE is about 0x%lx", task_size);
	for (a = task_size; a < top; a += GIB, n++) {
		if (probe((const char *)a) != SIGSEGV || got_addr != (void *)a)
			reached++;
	}
	t_check("above-task-size-unreachable", reached == 0,
		"%lu of %lu probes above TASK_SIZE did not fault at their address", reached, n);
}

/* Prints this process's mappings with write(2) only: the harness compares
 * them with the host's view, so nothing may be mapped after this.
 */
static int print_guest_vmas(void)
{
	static char buf[65536], out[256];
	int fd = open("/proc/self/maps", O_RDONLY);
	ssize_t len = 0, r;
	char *line, *save = NULL;
	int count = 0;

	if (fd < 0)
		return -1;
	while ((r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += r;
	close(fd);
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int n = snprintf(out, sizeof(out), "# guest-vma %s\n", line);

		if (n > 0 && write(1, out, (size_t)n) < 0)
			return -1;
		count++;
	}
	return count;
}

static void host_view_snapshot(void)
{
	char *m = mmap((void *)MARKER_ADDR, 2 * PSZ, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	char line[96];
	double until;
	int n;

	if (m != (char *)MARKER_ADDR) {
		t_fail("host-view-marker", "mmap at 0x%lx: %s", MARKER_ADDR, strerror(errno));
		return;
	}
	m[0] = 1;
	m[PSZ] = 1;	/* both pages present in the host mapping */
	fflush(stdout);
	n = print_guest_vmas();
	t_check("host-view-guest-maps", n > 0, "cannot read /proc/self/maps");
	fflush(stdout);
	n = snprintf(line, sizeof(line), "UML-ADDRSPACE: probe 0x%lx\n", MARKER_ADDR);
	if (write(1, line, (size_t)n) != n)
		t_fail("host-view-marker", "write failed");
	/* Stay the running process while the harness looks; clock_gettime is a
	 * plain system call here, which does not change the address space.
	 */
	until = t_now() + 4.0;
	while (t_now() < until)
		;
	munmap(m, 2 * PSZ);
	t_ok("host-view-marker");
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = catcher, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	kernel_text_unreachable();
	above_task_size_unreachable();
	host_view_snapshot();
	return t_exit();
}
