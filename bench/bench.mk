# bench/: benchmarks (make bench).  Included by the top Makefile.
# Timings are reported, never asserted; check-bench only proves that the
# benchmark runs end to end and yields every figure (--quick).

.PHONY: bench bench-quick check-bench

HELP_LINES += "make bench       process-mode benchmark (skas3, seccomp, ptrace) in QEMU"

bench: uml uml-rootfs
	bench/skas-modes

bench-quick: uml uml-rootfs
	bench/skas-modes --quick

check-bench: uml uml-rootfs
	scripts/check-bench

CHECK_SUITES += check-bench
