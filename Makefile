# uml-skas: top-level build.  `make help` lists the targets.
#
# Everything built goes to build/.  Kernel-specific work takes the host
# kernel tags of scripts/fetch-kernels: 6.1 (bookworm), 6.12 (the trixie
# series, from bookworm-backports) and 7.x (newest of trixie-backports).

VERSION := $(shell cat kernel-host/VERSION)
BUILD := build
KERNELS ?= 6.1 6.12 7.x
DKMS_TREE := $(BUILD)/dkms/uml-skas-host-$(VERSION)

.PHONY: all help deps deps-packages kernels module tests dkms-tree check check-host check-dkms \
	check-debug lint clean

all: module tests dkms-tree

help:
	@echo "make deps        install build and test dependencies, fetch kernels"
	@echo "make kernels     fetch the host kernels and headers again (6.1, 6.12, 7.x), if Debian has newer ones"
	@echo "make all         host module for every kernel, tests, DKMS tree"
	@echo "make check       deps, then every test suite (final line: N passed, N failed)"
	@echo "make check-host  host-support suite in QEMU on each kernel (KERNELS=...)"
	@echo "make check-dkms  dkms build of the module for each kernel"
	@echo "make check-debug host-support suite and fuzzer on a KASAN/lockdep/kmemleak 6.12 kernel (long)"
	@echo "make uml         the UML kernel (build/uml/linux, linux-debug)"
	@echo "make check-uml   its guest suite natively in seccomp and ptrace mode"
	@echo "make check-uml-vm  the guest suite in QEMU per host kernel: skas4, skas3 (seccomp on 7.x)"
	@echo "make lint        checkpatch --strict and shellcheck"
	@echo "make install     DESTDIR=... PREFIX=...: every shipped file in place (what the packages use)"
	@echo "make clean       remove build outputs (keeps fetched kernels)"
	@for l in $(HELP_LINES); do echo "$$l"; done

deps:
	scripts/deps.sh
	scripts/fetch-checkpatch

# make deps without the host kernels (fetched on first use).
deps-packages:
	scripts/deps.sh --no-kernels
	scripts/fetch-checkpatch

# The host kernels and headers the module is built and tested against:
# fetched once (make deps does it too) by whatever needs them first;
# make kernels looks for updates.
KERNELS_STAMP := $(BUILD)/kernels/fetched
$(KERNELS_STAMP):
	scripts/fetch-kernels

kernels:
	scripts/fetch-kernels

module: $(KERNELS_STAMP)
	@for k in $(KERNELS); do \
		scripts/build-module $$k kernel-host $(BUILD)/module/$$k || exit 1; \
	done

tests:
	$(MAKE) -C kernel-host/tests O=$(CURDIR)/$(BUILD)/tests

# The DKMS source tree: the module sources with dkms.conf at the root.
dkms-tree:
	rm -rf $(DKMS_TREE)
	mkdir -p $(DKMS_TREE)/uapi
	cp kernel-host/*.c kernel-host/*.h kernel-host/Kbuild \
		kernel-host/Makefile kernel-host/VERSION $(DKMS_TREE)/
	cp kernel-host/uapi/*.h $(DKMS_TREE)/uapi/
	sed 's/@VERSION@/$(VERSION)/' dkms/dkms.conf.in > $(DKMS_TREE)/dkms.conf

# `make check` is the one test command: it installs what it needs first.
# Every suite runs even if an earlier one failed; a suite that fails
# without reporting its counts still counts as a failure.
CHECK_SUITES := lint check-host check-dkms check-uml check-uml-vm

# scripts/check-all runs them in the stages of CHECK_STAGES (below the
# fragments; with the builds they need started in the background) and
# writes each suite's wall and CPU time to build/check/times (CI's time
# limit is watched there; see scripts/README.md).  The host kernels are
# fetched by the first suite that needs them (KERNELS_STAMP), not before
# check-all: the UML kernel's compile, the longest build, starts that
# much earlier (fetch-kernels is downloads and a trixie build root, about
# 100 s on CI's machine).
check: deps-packages
	@CHECK_SUITES="$(if $(filter file,$(origin CHECK_STAGES)),$(CHECK_SUITES))" \
		scripts/check-all $(CHECK_STAGES)
	@scripts/check-summary

check-host: $(KERNELS_STAMP)
	scripts/check-host-support $(KERNELS)

check-dkms: dkms-tree $(KERNELS_STAMP)
	scripts/check-dkms $(DKMS_TREE) $(KERNELS)

# Not part of `make check`: the debug kernel takes the better part of an
# hour to build on 2 cores the first time (it is cached outside the clone,
# in /var/cache/uml-skas).  Run it before resolving host-module work.
check-debug: deps
	rm -f $(BUILD)/check/summary
	scripts/check-debug || echo "check-debug-exit-status 0 1" >> $(BUILD)/check/summary
	@scripts/check-summary

lint:
	scripts/lint

clean:
	rm -rf $(BUILD)/module $(BUILD)/tests $(BUILD)/dkms $(BUILD)/check \
		$(BUILD)/vm $(BUILD)/logs

# --- UML kernel (uml/) ---
# The UML kernel binary and its native (no QEMU, no module) guest tests.
# See uml/README.md.

.PHONY: uml uml-rootfs check-uml check-uml-vm uml-clean

# build/uml/linux (stripped), linux-debug, config; quick when up to date.
uml:
	uml/build.sh

uml-rootfs:
	uml/tests/rootfs.sh

# Guest suite in both process modes, then the harness's error paths.
# Every part runs even when an earlier one fails.
check-uml: uml uml-rootfs
	scripts/check-uml

# The same suite in QEMU on each host kernel with the host module: skas4
# and skas3 mode, seccomp on the newest (ptrace: natively only); kernels
# side by side on machines with 4 CPUs or more.  Then "identical results
# in every run" (which
# compares with check-uml's runs, so it comes in a later stage).
check-uml-vm: uml uml-rootfs image-tiny $(KERNELS_STAMP)
	scripts/check-uml-vm $(KERNELS)

# Everything of uml/ but the downloaded source package.
uml-clean:
	rm -rf $(BUILD)/uml/src $(BUILD)/uml/src.tmp $(BUILD)/uml/obj \
		$(BUILD)/uml/tests $(BUILD)/uml/run $(BUILD)/uml/*.stamp \
		$(BUILD)/uml/linux $(BUILD)/uml/linux-debug $(BUILD)/uml/config \
		$(BUILD)/uml/test-rootfs.ext4

# --- install: where every shipped file goes ---
# The one place that knows it: debian/rules (dh_auto_install, into
# debian/tmp, split by debian/*.install) and rpm/uml-skas.spec.in (%install)
# both run `make install`.  The directories are the usual variables; the
# systemd ones come from systemd's pkg-config file where it has one.
# INIT_SYSV=no leaves the SysV script out (RPM systems).  Nothing is built
# here that a build target does not build: the UML kernel and the images
# are built only if missing (a package build gets them copied in).
DESTDIR ?=
PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
LIBDIR_UML ?= $(PREFIX)/lib/uml-skas
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/uml-skas
SRCDIR ?= $(PREFIX)/src
DEBUGDIR ?= $(PREFIX)/lib/debug
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
systemd_var = $(shell pkg-config --variable=$(1) systemd 2>/dev/null)
UNITDIR ?= $(or $(call systemd_var,systemdsystemunitdir),$(PREFIX)/lib/systemd/system)
GENERATORDIR ?= $(or $(call systemd_var,systemdsystemgeneratordir),$(PREFIX)/lib/systemd/system-generators)
MODULESLOADDIR ?= $(or $(call systemd_var,modulesloaddir),$(PREFIX)/lib/modules-load.d)
SYSUSERSDIR ?= $(or $(call systemd_var,sysusersdir),$(PREFIX)/lib/sysusers.d)
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
INIT_SYSV ?= yes
# Not $(INSTALL): dh_auto_install sets it to one that warns without -s.
INSTALL_PROGRAM ?= install -m 0755
INSTALL_DATA ?= install -m 0644

.PHONY: install install-inputs install-dkms install-kernel install-kernel-debug \
	install-tools install-images install-doc

install: install-dkms install-kernel install-kernel-debug install-tools \
	install-images install-doc

# DEBIAN_IMAGE_ZST: the compressed image made elsewhere (the SRPM's), or
# none (a Debian source build without network: debian/rules).
DEBIAN_IMAGE_ZST ?= $(BUILD)/images/debian.ext4.zst

# The outputs a package build takes as they are when present.
install-inputs: $(BUILD)/uml/linux $(BUILD)/uml/linux-debug \
	$(BUILD)/images/tiny.ext4 $(if $(filter none,$(DEBIAN_IMAGE_ZST)),,$(BUILD)/images/debian.ext4)
$(BUILD)/uml/linux $(BUILD)/uml/linux-debug:
	uml/build.sh
$(BUILD)/images/tiny.ext4:
	uml/rootfs/build-tiny
$(BUILD)/images/debian.ext4:
	uml/rootfs/build-debian
# Compressed in the package, unpacked sparse at installation.
$(BUILD)/images/debian.ext4.zst: $(BUILD)/images/debian.ext4
	zstd -q -f -T2 $< -o $@

install-dkms: dkms-tree
	install -d "$(DESTDIR)$(SRCDIR)"
	cp -R $(DKMS_TREE) "$(DESTDIR)$(SRCDIR)/"
	install -D -m 0644 dkms/uml-skas-host.conf \
		"$(DESTDIR)$(MODULESLOADDIR)/uml-skas-host.conf"
	install -D -m 0755 dkms/reload-module "$(DESTDIR)$(LIBDIR_UML)/reload-host-module"

# KERNEL_DEBUG=split (the default): the stripped kernel, and its debug
# information under its build ID where gdb looks (Debian's -dbg package).
# KERNEL_DEBUG=keep: the kernel with its debug information, for a
# packager that splits it off itself (rpm's find-debuginfo).
KERNEL_DEBUG ?= split
ifeq ($(filter split keep,$(KERNEL_DEBUG)),)
$(error KERNEL_DEBUG=$(KERNEL_DEBUG): expected split or keep)
endif
install-kernel: $(BUILD)/uml/linux $(BUILD)/uml/linux-debug
	install -D -m 0755 $(BUILD)/uml/$(if $(filter keep,$(KERNEL_DEBUG)),linux-debug,linux) \
		"$(DESTDIR)$(LIBDIR_UML)/linux"

install-kernel-debug: $(BUILD)/uml/linux $(BUILD)/uml/linux-debug
ifeq ($(KERNEL_DEBUG),split)
	id=$$(readelf -n $(BUILD)/uml/linux | sed -n 's/.*Build ID: //p'); \
	test -n "$$id" || { echo "install: $(BUILD)/uml/linux has no build ID" >&2; exit 1; }; \
	d="$(DESTDIR)$(DEBUGDIR)/.build-id/$${id%"$${id#??}"}"; \
	install -d "$$d" && \
	objcopy --only-keep-debug --compress-debug-sections=zlib \
		$(BUILD)/uml/linux-debug "$$d/$${id#??}.debug" && \
	chmod 0644 "$$d/$${id#??}.debug"
endif

install-tools: $(UMLCTL)
	install -d "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(LIBDIR_UML)" \
		"$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(GENERATORDIR)" "$(DESTDIR)$(SYSUSERSDIR)" \
		"$(DESTDIR)$(SYSCONFDIR)/uml-skas/instances" \
		"$(DESTDIR)$(SYSCONFDIR)/uml-skas/networks" "$(DESTDIR)$(BASHCOMPDIR)" \
		"$(DESTDIR)$(LOCALSTATEDIR)/lib/uml-skas" \
		"$(DESTDIR)$(MANDIR)/man5" "$(DESTDIR)$(MANDIR)/man7" "$(DESTDIR)$(MANDIR)/man8"
	$(INSTALL_PROGRAM) $(UMLCTL) "$(DESTDIR)$(SBINDIR)/umlctl"
	$(INSTALL_DATA) initscripts/completion/umlctl "$(DESTDIR)$(BASHCOMPDIR)/umlctl"
	install -m 0755 initscripts/host/host-module-group \
		initscripts/host/autostart-units "$(DESTDIR)$(LIBDIR_UML)/"
	$(INSTALL_DATA) initscripts/systemd/uml-skas-network.service \
		initscripts/systemd/uml-skas-network@.service \
		initscripts/systemd/uml-skas@.service initscripts/systemd/uml-skas.target \
		"$(DESTDIR)$(UNITDIR)/"
	install -m 0755 initscripts/systemd/uml-skas-generator "$(DESTDIR)$(GENERATORDIR)/"
	$(INSTALL_DATA) initscripts/systemd/uml-skas.sysusers "$(DESTDIR)$(SYSUSERSDIR)/uml-skas.conf"
	$(INSTALL_DATA) packaging/uml-skas.conf "$(DESTDIR)$(SYSCONFDIR)/uml-skas/"
	$(INSTALL_DATA) initscripts/man/uml-skas.conf.5 "$(DESTDIR)$(MANDIR)/man5/"
	$(INSTALL_DATA) initscripts/man/uml-skas.7 "$(DESTDIR)$(MANDIR)/man7/"
	$(INSTALL_DATA) initscripts/man/umlctl.8 "$(DESTDIR)$(MANDIR)/man8/"
ifeq ($(INIT_SYSV),yes)
	install -D -m 0755 initscripts/init.d/uml-skas "$(DESTDIR)$(SYSCONFDIR)/init.d/uml-skas"
	install -D -m 0644 initscripts/default/uml-skas "$(DESTDIR)$(SYSCONFDIR)/default/uml-skas"
endif

install-images: $(BUILD)/images/tiny.ext4 $(filter-out none,$(DEBIAN_IMAGE_ZST))
	install -d "$(DESTDIR)$(DATADIR)/uml-skas/images"
	$(INSTALL_DATA) $(BUILD)/images/tiny.ext4 "$(DESTDIR)$(DATADIR)/uml-skas/images/tiny.ext4"
ifneq ($(DEBIAN_IMAGE_ZST),none)
	$(INSTALL_DATA) $(DEBIAN_IMAGE_ZST) "$(DESTDIR)$(DATADIR)/uml-skas/images/debian.ext4.zst"
endif

install-doc:
	install -D -m 0644 README.md "$(DESTDIR)$(DOCDIR)/README.md"

# --- the other parts of the tree bring their own rules ---
# Each fragment adds its targets, its help lines (HELP_LINES += "make x
# what it does", one quoted string each) and its suites (CHECK_SUITES += ...,
# each also placed in CHECK_STAGES below).
include uml/rootfs/rootfs.mk
include initscripts/initscripts.mk
include bench/bench.mk
include packaging/packaging.mk

# The order of `make check`: stages one after the other, each a list of
# suites run in order, or lanes ('|') side by side (scripts/check-all).
# First the suites with VMs, one at a time (the UML kernel builds in the
# background while the host module's suites run): two TCG VMs side by
# side cost more than they save here (beside check-e2e, check-uml-vm took
# 2024 s instead of 696 s and the 6.12 run's 04-signals group hit its
# 300 s limit, twice), and a busy native suite beside one is not much
# better (beside check-packages, check-uml-vm's 6.1 VM ran 506 s instead
# of 77: its VMs want both cores at times, though they average 1.3; the
# CPU they leave goes to scripts/prebuild's builds at nice 19 of what the
# second stage needs).  Then the packages and their
# end-to-end VM, with the suites that need no VM beside them, and last
# check-bench: its VM runs UML pinned to one vCPU.  check-e2e boots its
# VMs in two chains side by side: one boot is mostly single-threaded (apt,
# dpkg), and in the run of 2026-12-04, with one boot at a time, the second
# lane ended 840 s before check-e2e did.
# Every suite of CHECK_SUITES must appear here once.  A subset:
# make check CHECK_STAGES="lint check-uml" (then nothing is checked for
# absence).
CHECK_STAGES := "lint check-host check-dkms check-uml check-uml-vm" \
	"check-build check-packages check-e2e | check-rootfs check-initscripts check-bench-compare check-bench"
