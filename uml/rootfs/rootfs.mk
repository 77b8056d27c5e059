# uml/rootfs/: the root file system images instances boot, and their
# tests.  Included by the top Makefile.  See uml/rootfs/README.md.

.PHONY: images image-tiny image-debian image-lab check-rootfs images-clean

# Both images; each is quick when its recipe has not changed.
images: image-tiny image-debian

# build/images/tiny.ext4: busybox and our init, a few MB.
image-tiny:
	uml/rootfs/build-tiny

# build/images/debian.ext4: Debian 13 with systemd and sshd
# (SUITE=, MIRROR=, EXTRA_PACKAGES= reach the builder).
image-debian:
	uml/rootfs/build-debian

# build/images/lab.ext4: the Debian image with the tools network labs use
# (those of Kathara's images); a lab node whose lab.conf names a
# kathara/... image boots it.
LAB_PACKAGES := net-tools,iputils-ping,tcpdump,traceroute,frr,bind9-dnsutils,curl
image-lab:
	EXTRA_PACKAGES="$(LAB_PACKAGES)" DISABLE_UNITS=frr.service \
		uml/rootfs/build-debian $(BUILD)/images/lab.ext4

# Builds both images (if needed), boots them natively in seccomp mode.
check-rootfs: uml
	uml/rootfs/tests/check-rootfs

# Everything but the downloaded .debs (build/images/debs).
images-clean:
	rm -rf $(BUILD)/images/run $(BUILD)/images/*.ext4 \
		$(BUILD)/images/*.ext4.* $(BUILD)/images/*.work $(BUILD)/images/second

CHECK_SUITES += check-rootfs
HELP_LINES += "make images      root file system images: build/images/tiny.ext4, debian.ext4"
HELP_LINES += "make image-lab   build/images/lab.ext4: debian.ext4 plus frr, tcpdump, ... (lab nodes)"
HELP_LINES += "make check-rootfs  boot both images: COW, metadata, poweroff, errors"
