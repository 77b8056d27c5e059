// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel internals the module needs but the kernel does not export.
 *
 * Distribution kernels export neither kallsyms_lookup_name() (since 5.7)
 * nor the few mm and scheduler functions a foreign address space needs.
 * We find kallsyms_lookup_name() through a kprobe (registering one fills
 * in its address) and ask it for the rest once, at load time.  A missing
 * required symbol makes the load fail with a message naming it; optional
 * ones are features some kernels do not have (mm_cid before 6.4, the split
 * RSS counters before 6.2).
 *
 * Every symbol listed here is documented in docs/host-support.md.
 */
#include <linux/kprobes.h>
#include <linux/module.h>

#include "skas_host.h"

struct skas_symbols skas_sym;

static unsigned long (*kallsyms_lookup_name_fn)(const char *name);

#ifdef CONFIG_X86_KERNEL_IBT
#include <asm/cpufeature.h>
#include <asm/ibt.h>

/*
 * With indirect branch tracking enforced, an indirect call must land on an
 * ENDBR instruction.  objtool seals functions whose address is never taken
 * in vmlinux, so refuse to call those rather than take a #CP fault.
 */
static bool skas_callable(unsigned long addr)
{
	u32 insn;

	if (!cpu_feature_enabled(X86_FEATURE_IBT))
		return true;
	if (copy_from_kernel_nofault(&insn, (void *)addr, sizeof(insn)))
		return false;
	return insn == gen_endbr();
}
#else
static bool skas_callable(unsigned long addr)
{
	return true;
}
#endif

static int skas_find_kallsyms(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	int ret;

	ret = register_kprobe(&kp);
	if (ret < 0) {
		pr_err("cannot find kallsyms_lookup_name (kprobe: %d)\n", ret);
		return ret;
	}
	kallsyms_lookup_name_fn = (void *)kp.addr;
	unregister_kprobe(&kp);
	if (!skas_callable((unsigned long)kallsyms_lookup_name_fn)) {
		pr_err("kallsyms_lookup_name is not callable under IBT\n");
		return -ENOENT;
	}
	return 0;
}

unsigned long skas_lookup_name(const char *name)
{
	return kallsyms_lookup_name_fn ? kallsyms_lookup_name_fn(name) : 0;
}

struct skas_symbol_ref {
	const char *name;
	void **slot;
	bool required;
};

#define REQUIRED(field, sym) { sym, (void **)&skas_sym.field, true }
#define OPTIONAL(field, sym) { sym, (void **)&skas_sym.field, false }

/*
 * Where one slot has two names (a function renamed between kernels) the
 * first one found is kept.
 */
static const struct skas_symbol_ref skas_symbol_table[] = {
	REQUIRED(mm_alloc, "mm_alloc"),
	REQUIRED(arch_pick_mmap_layout, "arch_pick_mmap_layout"),
	REQUIRED(vm_mmap_pgoff, "vm_mmap_pgoff"),
	REQUIRED(ldt_dup_context, "ldt_dup_context"),
	REQUIRED(switch_mm_irqs_off, "switch_mm_irqs_off"),
	REQUIRED(membarrier_update_current_mm, "membarrier_update_current_mm"),
	REQUIRED(sys_mprotect, "__x64_sys_mprotect"),
	REQUIRED(sys_modify_ldt, "__x64_sys_modify_ldt"),
#ifdef CONFIG_MEMCG
	REQUIRED(mm_update_next_owner, "mm_update_next_owner"),
#endif
#ifdef SPLIT_RSS_COUNTING
	REQUIRED(sync_mm_rss, "sync_mm_rss"),
#endif
	/* exec's futex clean-up: 6.x has one call, 7.x a begin and an end. */
	OPTIONAL(futex_release, "futex_exec_release"),
	OPTIONAL(futex_release, "futex_exit_exec_release"),
	OPTIONAL(futex_done, "futex_exec_done"),
#ifdef CONFIG_SCHED_MM_CID
	REQUIRED(sched_mm_cid_before_execve, "sched_mm_cid_before_execve"),
	REQUIRED(sched_mm_cid_after_execve, "sched_mm_cid_after_execve"),
#endif
};

int skas_resolve_symbols(void)
{
	const struct skas_symbol_ref *ref;
	unsigned long addr;
	int ret;

	ret = skas_find_kallsyms();
	if (ret)
		return ret;

	for (ref = skas_symbol_table;
	     ref < skas_symbol_table + ARRAY_SIZE(skas_symbol_table); ref++) {
		addr = skas_lookup_name(ref->name);
		if (addr && !skas_callable(addr)) {
			if (ref->required) {
				pr_err("kernel function %s is not callable under IBT\n",
				       ref->name);
				return -ENOENT;
			}
			pr_info("kernel function %s is not callable under IBT: not used\n",
				ref->name);
			addr = 0;
		}
		if (!addr && ref->required) {
			pr_err("kernel symbol %s not found: this kernel is not supported\n",
			       ref->name);
			return -ENOENT;
		}
		if (!*ref->slot)
			*ref->slot = (void *)addr;
	}
	/* 7.x's begin needs its end. */
	if (!!skas_sym.futex_done !=
	    (skas_sym.futex_release && skas_lookup_name("futex_exit_exec_release"))) {
		skas_sym.futex_release = NULL;
		skas_sym.futex_done = NULL;
	}
	return 0;
}
