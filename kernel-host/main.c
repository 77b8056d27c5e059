// SPDX-License-Identifier: GPL-2.0
/*
 * uml-skas host support: /proc/mm and the skas ptrace extensions on stock
 * x86-64 kernels, for User-Mode Linux's skas3 mode.
 *
 * See docs/host-support.md for the interface and the design.
 */

#include <linux/module.h>
#include <asm/cpufeature.h>

#include "skas_host.h"

static int __init skas_host_init(void)
{
	int ret;

	/*
	 * A Xen PV guest's page tables and mm switches belong to the
	 * hypervisor's paravirt code, which switch_mm.c does not follow.
	 */
	if (cpu_feature_enabled(X86_FEATURE_XENPV)) {
		pr_err("Xen PV guests are not supported\n");
		return -ENODEV;
	}
	ret = skas_resolve_symbols();
	if (ret)
		return ret;
	ret = skas_workers_start();
	if (ret)
		return ret;
	ret = skas_ptrace_init();
	if (ret)
		goto out_workers;
	ret = skas_proc_mm_init();
	if (ret)
		goto out_ptrace;
	ret = skas_carrier_init();
	if (ret)
		goto out_proc_mm;
	pr_info("/proc/mm and skas ptrace requests ready\n");
	return 0;

out_proc_mm:
	skas_proc_mm_exit();
out_ptrace:
	skas_ptrace_exit();
out_workers:
	skas_workers_stop();
	return ret;
}

static void __exit skas_host_exit(void)
{
	skas_carrier_exit();
	skas_proc_mm_exit();
	skas_ptrace_exit();
	skas_switch_exit();
	skas_workers_stop();
	skas_space_exit();
}

module_init(skas_host_init);
module_exit(skas_host_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("/proc/mm and skas ptrace extensions for User-Mode Linux");
MODULE_AUTHOR("uml-skas developers");
MODULE_VERSION(UML_SKAS_VERSION);
