# packaging/: the Debian and RPM packages and their repositories.
# Included by the top Makefile.  See packaging/README.md, docs/install.md.

.PHONY: deb rpm repo dist srpm dsc check-build check-packages check-e2e check-srpm check-dsc

# build/pkg/deb/*.deb (dpkg-buildpackage -b on a copy of the tree).
deb:
	packaging/build-deb

# build/pkg/rpm/*.rpm (rpmbuild -bb on the same staged outputs).
rpm:
	packaging/build-rpm

# build/dist/uml-skas-VERSION.tar.gz: the source tarball.
dist:
	packaging/make-dist

# build/pkg/srpm/uml-skas-suite-VERSION-1.src.rpm: the source RPM (its sources
# in build/dist).
srpm:
	packaging/build-srpm

# build/pkg/dsc/uml-skas_VERSION.dsc: the Debian source package.
dsc:
	packaging/build-dsc

# build/repo/{apt,dnf}: signed apt repository and dnf repository.
repo:
	packaging/make-repo

# What a package build built, checked unprivileged and offline in seconds:
# rpm's %check and debian/rules' dh_auto_test run it.
check-build: $(BUILD)/uml/linux $(BUILD)/images/tiny.ext4 $(UMLCTL) dkms-tree
	packaging/tests/check-build

# Builds all of it, lints it, installs it into throw-away roots.
# The kernel and the images as their builders have them (stamp-checked,
# waiting for a build in progress), not just as they last were.
check-packages: uml image-tiny image-debian
	timeout -k 30 900 packaging/tests/check-packages

# The packages end to end in a Debian 13 VM: apt install from the signed
# repository, DKMS, a reboot with an autostart instance in skas4 mode,
# purge; an upgrade from the previous release with an instance running,
# and a new host kernel.  The VM image is cached in build/e2e (its build
# needs Debian's mirror).  About 20 minutes here (TCG; two chains of
# boots side by side), the user guide's commands included.  Two hours with the guide's slow blocks under TCG
# (E2E_GUIDE_SLOW=1: boot 1 may take an hour).
check-e2e:
	timeout -k 30 $(if $(filter 1,$(E2E_GUIDE_SLOW)),7200,3600) packaging/tests/e2e

# rpmbuild --rebuild of the SRPM in a clean Debian 12 root without
# network: every package, rpmlint, the built kernel and umlctl run.  Not
# part of make check (the kernel build alone is about 10 minutes here).
check-srpm: uml image-debian
	timeout -k 30 3600 packaging/tests/check-srpm

# dpkg-buildpackage of the source package in a clean Debian 13 root
# without network (Build-Depends: linux-source-7.2): every package but
# the Debian image, lintian, Built-Using, the built kernel and umlctl
# run.  Not part of make check (the kernel build: about 10 minutes).
check-dsc: uml
	timeout -k 30 3600 packaging/tests/check-dsc

CHECK_SUITES += check-build check-packages check-e2e
HELP_LINES += "make deb rpm repo  packages in build/pkg, repositories in build/repo"
HELP_LINES += "make dist srpm dsc  the source tarball (build/dist), the SRPM, the Debian source package (build/pkg)"
HELP_LINES += "make check-build  what a package build built, unprivileged and offline (rpm %check, dh_auto_test)"
HELP_LINES += "make check-packages  build, lint, install, remove and purge the packages"
HELP_LINES += "make check-srpm  rpmbuild --rebuild of the SRPM in a clean root, offline (not in make check)"
HELP_LINES += "make check-dsc   dpkg-buildpackage of the source package in a clean root, offline (not in make check)"
HELP_LINES += "make check-e2e   the packages in a trixie VM: apt install, DKMS, reboot, skas4 autostart, purge, upgrade, new host kernel"
