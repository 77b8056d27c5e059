// SPDX-License-Identifier: GPL-2.0
/*
 * The /proc/mm operations one at a time: every kind of mmap, munmap and
 * mprotect, checked from inside the space (a tracee loads/stores/faults)
 * and through /proc/PID/maps of the tracee.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <unistd.h>

#include "harness.h"
#include "tracee.h"

#define SEED_A 0xa1a1a1a100000000UL
#define SEED_B 0xb2b2b2b200000000UL
#define MAGIC 0x0123456789abcdefUL

static unsigned long load(pid_t pid, unsigned long addr)
{
	return tracee_call(pid, BLOB(blob_load), addr, 0, 0, NULL);
}

static void store(pid_t pid, unsigned long addr, unsigned long val)
{
	tracee_call(pid, BLOB(blob_store), addr, val, 0, NULL);
}

#define EXPECT_LOAD(pid, addr, want)					\
	do {								\
		unsigned long el_got_ = load(pid, addr);		\
		unsigned long el_want_ = (want);			\
		CHECK(el_got_ == el_want_, "tracee load at %#lx gave %#lx, expected %#lx", \
		      (unsigned long)(addr), el_got_, el_want_);	\
	} while (0)

/* A tracee switched into a new space holding only code and stack. */
static pid_t tracee_in(int fd)
{
	pid_t pid = tracee_spawn();

	tracee_switch(pid, fd);
	return pid;
}

TEST(ops_empty_space, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid = tracee_in(fd);
	static struct map m[64];
	unsigned long first;
	int n, i;

	/* It runs our code: the first 8 bytes of the blob, read from inside. */
	memcpy(&first, blob_start, sizeof(first));
	EXPECT_LOAD(pid, CODE_ADDR, first);

	n = maps_read(pid, m, 64);
	for (i = 0; i < n; i++) {
		if (m[i].start == CODE_ADDR) {
			CHECK(m[i].end == CODE_ADDR + blob_pages() * PAGE &&
			      !strcmp(m[i].perms, "r-xp"), "code mapping wrong: %s", maps_str(m, n));
		} else if (m[i].start == STACK_ADDR) {
			CHECK(m[i].end == STACK_ADDR + STACK_SIZE && !strcmp(m[i].perms, "rw-p"),
			      "stack mapping wrong: %s", maps_str(m, n));
		} else {
			/*
			 * [vsyscall] is the gate area, shown for 64-bit mms but not a
			 * VMA of the mm; anything else (vdso, vvar, leftovers of the
			 * tracee's old mm) means the space was not empty.
			 */
			CHECK(!strcmp(m[i].path, "[vsyscall]"),
			      "unexpected mapping in a fresh space: %s", maps_str(m, n));
		}
	}
	CHECK(maps_find(m, n, CODE_ADDR) && maps_find(m, n, STACK_ADDR),
	      "code or stack missing: %s", maps_str(m, n));
}

TEST(ops_empty_space_no_mappings, T_DEFAULT)
{
	/* A space with nothing at all: a tracee switched in faults on its first fetch. */
	int fd = space_open();
	pid_t pid = tracee_in(fd);
	struct ptrace_ex_faultinfo fi;
	static struct map m[16];
	int n = maps_read(pid, m, 16), i;

	for (i = 0; i < n; i++)
		CHECK(!strcmp(m[i].path, "[vsyscall]"), "fresh space is not empty: %s",
		      maps_str(m, n));
	tracee_segv(pid, BLOB(blob_load), 0, 0, &fi);
	check_fault(&fi, BLOB(blob_load), 0);
}

TEST(ops_mmap_anon_private, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid;

	OP_OK(op_mmap(fd, DATA_ADDR, 2 * PAGE, RW, ANON_FIXED, -1, 0));
	pid = tracee_in(fd);
	maps_expect(pid, DATA_ADDR, 2 * PAGE, "rw-p");
	EXPECT_LOAD(pid, DATA_ADDR, 0);
	EXPECT_LOAD(pid, DATA_ADDR + PAGE + 8, 0);
	store(pid, DATA_ADDR + PAGE + 8, MAGIC);
	EXPECT_LOAD(pid, DATA_ADDR + PAGE + 8, MAGIC);
	EXPECT_LOAD(pid, DATA_ADDR, 0);
}

TEST(ops_mmap_anon_shared, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid, pid2;

	OP_OK(op_mmap(fd, DATA_ADDR, 2 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	pid = tracee_in(fd);
	maps_expect(pid, DATA_ADDR, 2 * PAGE, "rw-s");
	EXPECT_LOAD(pid, DATA_ADDR + 16, 0);
	store(pid, DATA_ADDR + 16, MAGIC);
	EXPECT_LOAD(pid, DATA_ADDR + 16, MAGIC);
	/* A second tracee in the same space sees the same memory. */
	pid2 = tracee_in(fd);
	EXPECT_LOAD(pid2, DATA_ADDR + 16, MAGIC);
}

/*
 * File-backed mappings.  The file has 3 pages, word i = SEED_A + i; the
 * space maps pages 1-2 (offset PAGE) at DATA_ADDR.
 */
static void file_mapping(int ffd, int shared)
{
	int fd = space_new();
	unsigned long *view, w;
	pid_t pid;
	const unsigned long words = PAGE / 8;

	OP_OK(op_mmap(fd, DATA_ADDR, 2 * PAGE, RW, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED,
		      ffd, PAGE));
	pid = tracee_in(fd);
	maps_expect(pid, DATA_ADDR, 2 * PAGE, shared ? "rw-s" : "rw-p");

	/* The tracee sees the file contents at the right offset. */
	EXPECT_LOAD(pid, DATA_ADDR, SEED_A + words);
	EXPECT_LOAD(pid, DATA_ADDR + PAGE + 8, SEED_A + 2 * words + 1);

	/* Our own view of the same file. */
	view = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ffd, 0);
	CHECK(view != MAP_FAILED, "mmap of the file in the test: %s", errstr(errno));

	store(pid, DATA_ADDR + 16, MAGIC);
	EXPECT_LOAD(pid, DATA_ADDR + 16, MAGIC);
	w = view[words + 2];
	if (shared) {
		CHECK(w == MAGIC, "MAP_SHARED store by the tracee not seen by the parent: %#lx", w);
		CHECK(pread(ffd, &w, 8, PAGE + 16) == 8 && w == MAGIC,
		      "MAP_SHARED store not in the file: %#lx", w);
	} else {
		CHECK(w == SEED_A + words + 2, "MAP_PRIVATE store by the tracee leaked to the file: %#lx", w);
	}

	/* Changes to the file show in pages the tracee has not written (both kinds). */
	view[2 * words + 3] = MAGIC ^ 1;
	EXPECT_LOAD(pid, DATA_ADDR + PAGE + 24, MAGIC ^ 1);
	munmap(view, 3 * PAGE);
}

static int fill_file(int ffd)
{
	unsigned long *w = malloc(3 * PAGE);
	unsigned long i;

	CHECK(w, "malloc");
	for (i = 0; i < 3 * PAGE / 8; i++)
		w[i] = SEED_A + i;
	CHECK(pwrite(ffd, w, 3 * PAGE, 0) == (ssize_t)(3 * PAGE), "pwrite: %s", errstr(errno));
	free(w);
	return ffd;
}

static int tmp_file(void)
{
	char path[] = "/tmp/skas-test-XXXXXX";
	int ffd = mkstemp(path);

	CHECK(ffd >= 0, "mkstemp in /tmp: %s", errstr(errno));
	unlink(path);
	return fill_file(ffd);
}

TEST(ops_mmap_memfd_private, T_DEFAULT)
{
	file_mapping(fill_file(SYSCHK(memfd_create("skas-file", MFD_CLOEXEC))), 0);
}

TEST(ops_mmap_memfd_shared, T_DEFAULT)
{
	file_mapping(fill_file(SYSCHK(memfd_create("skas-file", MFD_CLOEXEC))), 1);
}

TEST(ops_mmap_file_private, T_DEFAULT)
{
	file_mapping(tmp_file(), 0);
}

TEST(ops_mmap_file_shared, T_DEFAULT)
{
	file_mapping(tmp_file(), 1);
}

TEST(ops_mmap_read_only_file, T_DEFAULT)
{
	/* A read-only fd may be mapped shared read-only; the tracee reads it. */
	char path[] = "/tmp/skas-test-XXXXXX";
	int wfd = mkstemp(path), rfd, fd = space_new();
	pid_t pid;

	CHECK(wfd >= 0, "mkstemp: %s", errstr(errno));
	fill_file(wfd);
	rfd = SYSCHK(open(path, O_RDONLY | O_CLOEXEC));
	unlink(path);
	OP_OK(op_mmap(fd, DATA_ADDR, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, rfd, 2 * PAGE));
	OP_ERR(op_mmap(fd, DATA_ADDR + PAGE, PAGE, RW, MAP_SHARED | MAP_FIXED, rfd, 0), EACCES);
	pid = tracee_in(fd);
	maps_expect(pid, DATA_ADDR, PAGE, "r--s");
	maps_expect_none(pid, DATA_ADDR + PAGE, PAGE);
	EXPECT_LOAD(pid, DATA_ADDR + 8, SEED_A + 2 * PAGE / 8 + 1);
}

TEST(ops_mmap_fixed_replace, T_DEFAULT)
{
	int fd = space_new(), mfd;
	pid_t pid;

	space_map_words(fd, DATA_ADDR, 2, SEED_A);
	pid = tracee_in(fd);
	EXPECT_LOAD(pid, DATA_ADDR + 8, SEED_A + 1);
	EXPECT_LOAD(pid, DATA_ADDR + PAGE, SEED_A + PAGE / 8);

	/* Replace the first page with anonymous memory while the tracee is in the space. */
	OP_OK(op_mmap(fd, DATA_ADDR, PAGE, RW, ANON_FIXED, -1, 0));
	EXPECT_LOAD(pid, DATA_ADDR + 8, 0);
	EXPECT_LOAD(pid, DATA_ADDR + PAGE, SEED_A + PAGE / 8);

	/* And both pages with another file, read-only. */
	mfd = memfd_words(2, SEED_B);
	OP_OK(op_mmap(fd, DATA_ADDR, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, mfd, 0));
	EXPECT_LOAD(pid, DATA_ADDR + 8, SEED_B + 1);
	EXPECT_LOAD(pid, DATA_ADDR + PAGE, SEED_B + PAGE / 8);
	maps_expect(pid, DATA_ADDR, 2 * PAGE, "r--p");
}

TEST(ops_mmap_fixed_noreplace, T_DEFAULT)
{
	int fd = space_new();
	pid_t pid;

	space_map_words(fd, DATA_ADDR, 1, SEED_A);
	OP_ERR(op_mmap(fd, DATA_ADDR, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0), EEXIST);
	/* Partial overlap is occupied too. */
	OP_ERR(op_mmap(fd, DATA_ADDR - PAGE, 2 * PAGE, RW,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
	OP_ERR(op_mmap(fd, CODE_ADDR, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0), EEXIST);
	/* Free range: mapped exactly there. */
	OP_OK(op_mmap(fd, DATA_ADDR + 4 * PAGE, PAGE, RW,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
	pid = tracee_in(fd);
	EXPECT_LOAD(pid, DATA_ADDR + 8, SEED_A + 1);
	EXPECT_LOAD(pid, DATA_ADDR + 4 * PAGE, 0);
	maps_expect(pid, DATA_ADDR + 4 * PAGE, PAGE, "rw-p");
	maps_expect_none(pid, DATA_ADDR - PAGE, PAGE);
}

TEST(ops_mmap_nonfixed, T_DEFAULT)
{
	int fd = space_new();
	static struct map before[64], after[64];
	int nb, na, i, found = -1;
	pid_t pid = tracee_in(fd);

	nb = maps_read(pid, before, 64);
	/* No hint: the kernel picks an address; it shows up in the maps. */
	OP_OK(op_mmap(fd, 0, 3 * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	na = maps_read(pid, after, 64);
	CHECK(na == nb + 1, "expected one new mapping: before %s", maps_str(before, nb));
	for (i = 0; i < na; i++)
		if (!maps_find(before, nb, after[i].start))
			found = i;
	CHECK(found >= 0 && after[found].end - after[found].start == 3 * PAGE &&
	      !strcmp(after[found].perms, "rw-p"), "new mapping not found: %s", maps_str(after, na));
	store(pid, after[found].start + 2 * PAGE, MAGIC);
	EXPECT_LOAD(pid, after[found].start + 2 * PAGE, MAGIC);

	/* A free hint is honoured, as by mmap(2). */
	OP_OK(op_mmap(fd, FREE_ADDR, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	maps_expect(pid, FREE_ADDR, PAGE, "rw-p");
	/* An occupied hint is not an error: it goes elsewhere, the old mapping stays. */
	OP_OK(op_mmap(fd, CODE_ADDR, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	maps_expect(pid, CODE_ADDR, blob_pages() * PAGE, "r-xp");
	EXPECT_LOAD(pid, FREE_ADDR, 0);
}

TEST(ops_munmap, T_DEFAULT)
{
	int fd = space_new();
	struct ptrace_ex_faultinfo fi;
	pid_t pid;

	OP_OK(op_mmap(fd, DATA_ADDR, 3 * PAGE, RW, ANON_FIXED, -1, 0));
	pid = tracee_in(fd);
	store(pid, DATA_ADDR, 1);
	store(pid, DATA_ADDR + PAGE, 2);
	store(pid, DATA_ADDR + 2 * PAGE, 3);

	/* Punch out the middle page. */
	OP_OK(op_munmap(fd, DATA_ADDR + PAGE, PAGE));
	maps_expect(pid, DATA_ADDR, PAGE, "rw-p");
	maps_expect_none(pid, DATA_ADDR + PAGE, PAGE);
	maps_expect(pid, DATA_ADDR + 2 * PAGE, PAGE, "rw-p");
	EXPECT_LOAD(pid, DATA_ADDR, 1);
	EXPECT_LOAD(pid, DATA_ADDR + 2 * PAGE, 3);
	tracee_segv(pid, BLOB(blob_load), DATA_ADDR + PAGE + 0x18, 0, &fi);
	check_fault(&fi, DATA_ADDR + PAGE + 0x18, 0);

	/* Unmapping an unmapped range is fine, as for munmap(2). */
	OP_OK(op_munmap(fd, DATA_ADDR + PAGE, PAGE));

	/* Everything: writes fault now. */
	OP_OK(op_munmap(fd, DATA_ADDR, 3 * PAGE));
	maps_expect_none(pid, DATA_ADDR, 3 * PAGE);
	tracee_segv(pid, BLOB(blob_store), DATA_ADDR + 2 * PAGE + 8, 5, &fi);
	check_fault(&fi, DATA_ADDR + 2 * PAGE + 8, 1);
	/* The code and stack are still there. */
	EXPECT_LOAD(pid, STACK_ADDR, 0);
}

TEST(ops_mprotect_readonly, T_DEFAULT)
{
	int fd = space_new();
	struct ptrace_ex_faultinfo fi;
	struct ptrace_faultinfo f;
	pid_t pid;

	OP_OK(op_mmap(fd, DATA_ADDR, 2 * PAGE, RW, ANON_FIXED, -1, 0));
	pid = tracee_in(fd);
	store(pid, DATA_ADDR + PAGE + 0x40, MAGIC);

	OP_OK(op_mprotect(fd, DATA_ADDR + PAGE, PAGE, PROT_READ));
	maps_expect(pid, DATA_ADDR, PAGE, "rw-p");
	maps_expect(pid, DATA_ADDR + PAGE, PAGE, "r--p");
	EXPECT_LOAD(pid, DATA_ADDR + PAGE + 0x40, MAGIC);
	tracee_segv(pid, BLOB(blob_store), DATA_ADDR + PAGE + 0x48, 1, &fi);
	check_fault(&fi, DATA_ADDR + PAGE + 0x48, 1);
	memset(&f, 0xa5, sizeof(f));
	SYSCHK(xptrace(PTRACE_FAULTINFO, pid, 0, (unsigned long)&f));
	CHECK(f.is_write == 1 && f.addr == DATA_ADDR + PAGE + 0x48,
	      "PTRACE_FAULTINFO: is_write %d addr %#lx", f.is_write, f.addr);
	/* The write did not happen; the RW page is still writable. */
	EXPECT_LOAD(pid, DATA_ADDR + PAGE + 0x48, 0);
	store(pid, DATA_ADDR + 8, 7);

	/* Back to RW: the store works. */
	OP_OK(op_mprotect(fd, DATA_ADDR + PAGE, PAGE, RW));
	store(pid, DATA_ADDR + PAGE + 0x48, 9);
	EXPECT_LOAD(pid, DATA_ADDR + PAGE + 0x48, 9);
}

TEST(ops_mprotect_none, T_DEFAULT)
{
	int fd = space_new();
	struct ptrace_ex_faultinfo fi;
	pid_t pid;

	space_map_words(fd, DATA_ADDR, 1, SEED_A);
	pid = tracee_in(fd);
	EXPECT_LOAD(pid, DATA_ADDR + 0x10, SEED_A + 2);

	OP_OK(op_mprotect(fd, DATA_ADDR, PAGE, PROT_NONE));
	maps_expect(pid, DATA_ADDR, PAGE, "---p");
	tracee_segv(pid, BLOB(blob_load), DATA_ADDR + 0x10, 0, &fi);
	check_fault(&fi, DATA_ADDR + 0x10, 0);

	OP_OK(op_mprotect(fd, DATA_ADDR, PAGE, PROT_READ));
	EXPECT_LOAD(pid, DATA_ADDR + 0x10, SEED_A + 2);
}

TEST(ops_mprotect_exec, T_DEFAULT)
{
	/* Code copied into an anonymous page runs once that page is made executable. */
	int fd = space_new();
	struct ptrace_ex_faultinfo fi;
	unsigned long off = blob_load - blob_start, w;
	pid_t pid;
	size_t i;

	OP_OK(op_mmap(fd, DATA_ADDR, PAGE, RW, ANON_FIXED, -1, 0));
	pid = tracee_in(fd);
	/* Copy blob_load and everything after it (it jumps to report). */
	for (i = 0; off + i < (size_t)(blob_end - blob_start); i += 8) {
		memset(&w, 0, 8);
		memcpy(&w, blob_start + off + i,
		       (size_t)(blob_end - blob_start) - off - i < 8 ?
		       (size_t)(blob_end - blob_start) - off - i : 8);
		store(pid, DATA_ADDR + i, w);
	}
	/* Not executable yet: an instruction fetch fault (is_write 0). */
	tracee_segv(pid, DATA_ADDR, STACK_ADDR, 0, &fi);
	check_fault(&fi, DATA_ADDR, 0);
	OP_OK(op_mprotect(fd, DATA_ADDR, PAGE, PROT_READ | PROT_EXEC));
	{
		struct user_regs_struct r;
		struct stop s;

		tracee_set(pid, DATA_ADDR, CODE_ADDR, 0, 0);
		tracee_resume(pid, PTRACE_SYSEMU);
		tracee_wait(pid, &s);
		memcpy(&w, blob_start, 8);
		r = s.regs;
		CHECK(s.kind == STOP_SYSCALL && r.orig_rax == 60 && r.rdi == w,
		      "code in the mprotect'ed page: %s, rdi %#llx", stop_str(pid, &s),
		      (unsigned long long)r.rdi);
	}
}
