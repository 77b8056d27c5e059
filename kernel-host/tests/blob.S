/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Code that tracees run inside /proc/mm address spaces.
 *
 * The bytes from blob_start to blob_end are copied into a memfd that the
 * tests map at CODE_ADDR in each space, so everything here must be
 * position independent and must not touch memory the test did not map
 * (no stack use, no libc, no TLS).
 *
 * Calling convention: the tracer sets rip to a routine and passes arguments
 * in rdi, rsi, rdx.  Results are "reported" with a SYS_exit (60) syscall:
 * under PTRACE_SYSEMU the tracer sees it at syscall entry with the results
 * in rdi, rsi, rdx, r10, r8, and the host does not execute it.  If SYSEMU
 * ever let a syscall through, the tracee would exit and the test would see
 * that instead of a stop, so a broken SYSEMU cannot go unnoticed.
 */
	.section .rodata.skas_blob, "a"
	.balign 4096

	.globl blob_start
blob_start:

/* rdi = address: report rdi = *(u64 *)address. */
	.globl blob_load
blob_load:
	movq	(%rdi), %rdi
	jmp	report

/* rdi = address, rsi = value: *(u64 *)address = value; report rdi = 0. */
	.globl blob_store
blob_store:
	movq	%rsi, (%rdi)
	xorl	%edi, %edi
	jmp	report

/* rdi = n: rax = n + 1, then int3 (a SIGTRAP stop under PTRACE_CONT). */
	.globl blob_trap
blob_trap:
	leaq	1(%rdi), %rax
	.globl blob_trap_int3
blob_trap_int3:
	int3
	ud2

/*
 * getpid() with recognisable argument registers; then report rdi = the value
 * the syscall "returned" (-ENOSYS under SYSEMU unless the tracer set rax).
 */
	.globl blob_getpid
blob_getpid:
	movl	$39, %eax
	movl	$0x1111, %edi
	movl	$0x2222, %esi
	movl	$0x3333, %edx
	movl	$0x4444, %r10d
	movl	$0x5555, %r8d
	movl	$0x6666, %r9d
	.globl blob_getpid_syscall
blob_getpid_syscall:
	syscall
	movq	%rax, %rdi
	jmp	report

/*
 * rdi = selector: load it into %gs, then report rsi = %gs:0 (32 bits),
 * rdx = %gs:4 (32 bits), r10 = lsl(selector) (-1 if lsl failed),
 * r8 = ZF of lsl (1 = selector valid).
 */
	.globl blob_gs
blob_gs:
	movl	%edi, %eax
	movw	%ax, %gs
	movq	$-1, %r10
	lsll	%eax, %r10d
	setz	%r8b
	movzbl	%r8b, %r8d
	movl	%gs:0, %esi
	movl	%gs:4, %edx
	jmp	report

/* rdi = selector: only lsl: r10 = limit (-1 if invalid), r8 = ZF. */
	.globl blob_lsl
blob_lsl:
	movq	$-1, %r10
	lsll	%edi, %r10d
	setz	%r8b
	movzbl	%r8b, %r8d
	jmp	report

/* rdi = address, rsi = n: n times "lock incq (address)"; report rdi = 0. */
	.globl blob_incr
blob_incr:
	testq	%rsi, %rsi
	jz	2f
1:	lock incq (%rdi)
	decq	%rsi
	jnz	1b
2:	xorl	%edi, %edi
	jmp	report

/* rdi = address, rsi = n: store 1 to each of n pages from address; report rdi = 0. */
	.globl blob_touch
blob_touch:
	testq	%rsi, %rsi
	jz	2f
1:	movq	$1, (%rdi)
	addq	$4096, %rdi
	decq	%rsi
	jnz	1b
2:	xorl	%edi, %edi
	jmp	report

/* getpid() forever: one system call stop after another (the benchmark). */
	.globl blob_syscall_loop
blob_syscall_loop:
	movl	$39, %eax
	syscall
	jmp	blob_syscall_loop

/* Runs forever (a tracee that is running, not stopped). */
	.globl blob_spin
blob_spin:
	pause
	jmp	blob_spin

/* exit(rdi) through int $0x80 (i386 system call 1); report rdi = rax. */
	.globl blob_int80
blob_int80:
	movl	$1, %eax
	movl	%edi, %ebx
	int	$0x80
	movq	%rax, %rdi
	jmp	report

/* Report rdi = *(u64 *)%fs:0. */
	.globl blob_fs
blob_fs:
	movq	%fs:0, %rdi
	jmp	report

/* Report rdi = low 64 bits of %xmm0, rsi = those of %xmm1, rdx = MXCSR. */
	.globl blob_xmm_out
blob_xmm_out:
	movq	%xmm0, %rdi
	movq	%xmm1, %rsi
	stmxcsr	-8(%rsp)
	movl	-8(%rsp), %edx
	jmp	report

/* %xmm0 = rdi (low 64 bits); report rdi = 0. */
	.globl blob_xmm_in
blob_xmm_in:
	movq	%rdi, %xmm0
	xorl	%edi, %edi
	jmp	report

/* Report rdi = *(u64 *)%gs:0. */
	.globl blob_gs0
blob_gs0:
	movq	%gs:0, %rdi
	jmp	report

/* wrgsbase rdi (needs FSGSBASE); report rdi = rdgsbase. */
	.globl blob_wrgsbase
blob_wrgsbase:
	wrgsbase %rdi
	rdgsbase %rdi
	jmp	report

/* Report rdi = rdgsbase, rsi = %ds, rdx = %gs selector. */
	.globl blob_rdsegs
blob_rdsegs:
	rdgsbase %rdi
	.globl blob_rdsels
blob_rdsels:
	movw	%ds, %si
	movzwl	%si, %esi
	movw	%gs, %dx
	movzwl	%dx, %edx
	jmp	report

/* %ds = %gs = rdi; report rdi = 0. */
	.globl blob_ldsegs
blob_ldsegs:
	movw	%di, %ds
	movw	%di, %gs
	xorl	%edi, %edi
	jmp	report

/* Report rdi = rflags. */
	.globl blob_flags
blob_flags:
	pushfq
	popq	%rdi
	jmp	report

/* rsi = an address: call it (a vsyscall entry, say); report rdi = rax. */
	.globl blob_call
blob_call:
	call	*%rsi
	movq	%rax, %rdi
	jmp	report

/*
 * rdi = address, esi = PKRU: wrpkru, then report rdi = *(u64 *)address
 * (a carrier reset without XSTATE_IN runs with PKRU 0: every protection
 * key allowed, so execute-only memory is readable until the guest denies
 * the keys, as the kernel's default PKRU does).
 */
	.globl blob_pkru_load
blob_pkru_load:
	movl	%esi, %eax
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	wrpkru
	.globl blob_pkru_load_read
blob_pkru_load_read:
	movq	(%rdi), %rdi
	jmp	report

/* rdi = status: a real exit(status), for use under PTRACE_CONT. */
	.globl blob_exit
blob_exit:
	movl	$60, %eax
	syscall
	ud2

report:
	movl	$60, %eax
	.globl blob_report_syscall
blob_report_syscall:
	syscall
	int3
	ud2

	.globl blob_end
blob_end:

	.section .note.GNU-stack, "", @progbits
