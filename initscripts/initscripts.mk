# initscripts/: umlctl, the host network, systemd units, the SysV script.
# Included by the top Makefile.  See initscripts/README.md.

.PHONY: umlctl check-initscripts demo

UMLCTL := $(BUILD)/initscripts/umlctl
UMLCTL_SRC := $(wildcard initscripts/src/*.c)
UMLCTL_HDR := $(wildcard initscripts/src/*.h)
# CFLAGS, CPPFLAGS and LDFLAGS are the builder's (dpkg-buildflags in a
# package build, which also sets WERROR= : -Werror is for development
# builds); the defaults below are for `make umlctl` in the tree.
# Paths are bounded by PATH_LEN; where a cut path would matter the code
# checks with snprintf_ok, so -Wformat-truncation is off.
CFLAGS ?= -O2 -g
CPPFLAGS ?= -D_FORTIFY_SOURCE=2
WERROR ?= -Werror
UMLCTL_CFLAGS := -std=c11 -Wall -Wextra -Wshadow \
	-Wformat=2 -Wno-format-nonliteral -Wno-format-truncation \
	-DUMLCTL_VERSION='"$(VERSION)"' \
	$(shell pkg-config --cflags inih json-c libsystemd 2>/dev/null)
UMLCTL_LIBS := $(shell pkg-config --libs inih json-c libsystemd 2>/dev/null || \
	echo -linih -ljson-c -lsystemd)
UMLCTL_OBJ := $(patsubst initscripts/src/%.c,$(BUILD)/initscripts/obj/%.o,$(UMLCTL_SRC))

umlctl: $(UMLCTL)

# kernel-host/VERSION: compiled in (UMLCTL_VERSION).
$(BUILD)/initscripts/obj/%.o: initscripts/src/%.c $(UMLCTL_HDR) kernel-host/VERSION
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(UMLCTL_CFLAGS) $(WERROR) -c -o $@ $<

$(UMLCTL): $(UMLCTL_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(UMLCTL_OBJ) $(UMLCTL_LIBS)

# The suite needs the UML kernel and both images (uml/rootfs/rootfs.mk).
# A hard limit for the whole suite (it took 857 s in CI on 2026-12-05).
check-initscripts: umlctl uml image-tiny image-debian image-lab
	timeout -k 30 1200 initscripts/tests/run

# `make demo`: the packages it needs (no host kernels), the UML kernel,
# the tiny image, umlctl; then one tiny instance in a network namespace of
# its own.
demo:
	scripts/deps.sh --no-kernels
	$(MAKE) --no-print-directory umlctl uml image-tiny
	initscripts/demo

CHECK_SUITES += check-initscripts
HELP_LINES += "make demo        boot a tiny instance with umlctl in a private network namespace"
HELP_LINES += "make check-initscripts  umlctl, host networking and init scripts in network namespaces"
