// SPDX-License-Identifier: GPL-2.0
/* skas-tests: runs the uml_skas_host test suite (the module must be loaded). */
#include "harness.h"

int main(int argc, char **argv)
{
	return harness_main(argc, argv, 1,
			    "usage: skas-tests [-l] [-v] [NAME-GLOB...]\n"
			    "  -l  list the tests (selected by the globs) and exit\n"
			    "  -v  report slab counts after every test\n"
			    "environment: SKAS_SCALE (stress counts factor, default 1),\n"
			    "  SKAS_BATCH (ops per write in stress_ops, default 1024),\n"
			    "  SKAS_STRESS_BUDGET (seconds per stress test, default 120),\n"
			    "  SKAS_LEAK_SLACK (objects tolerated, default 0), SKAS_NO_LEAK_CHECK=1\n");
}
