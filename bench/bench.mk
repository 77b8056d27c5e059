# bench/: benchmarks (make bench).  Included by the top Makefile.
# Timings are reported, never asserted; the check suites only prove that
# the benchmarks run end to end and yield every figure (--quick).

.PHONY: bench bench-quick bench-compare check-bench check-bench-compare

HELP_LINES += "make bench       process modes in QEMU (skas-modes), the host cost of a guest system call (host-stops), then uml-skas vs the host and Debian's UML (compare; writes docs/performance.md)"
HELP_LINES += "make bench-quick the same, --quick (a few minutes; results in build/bench only)"
HELP_LINES += "make bench-compare  bench/compare alone"

bench: uml uml-rootfs images umlctl $(KERNELS_STAMP)
	bench/skas-modes
	bench/host-stops
	bench/compare
	bench/lab-scale

bench-quick: uml uml-rootfs images $(KERNELS_STAMP)
	bench/skas-modes --quick
	bench/host-stops --quick
	bench/compare --quick

bench-compare: uml images
	bench/compare

check-bench: uml uml-rootfs $(KERNELS_STAMP)
	scripts/check-bench

check-bench-compare: uml images umlctl $(KERNELS_STAMP)
	bench/check-compare
	bench/lab-scale --nodes 4 --vm-nodes 2 --vm-modes skas4

CHECK_SUITES += check-bench check-bench-compare
