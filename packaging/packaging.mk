# packaging/: the Debian and RPM packages and their repositories.
# Included by the top Makefile.  See packaging/README.md, docs/install.md.

.PHONY: deb rpm repo dist srpm check-packages check-e2e check-srpm

# build/pkg/deb/*.deb (dpkg-buildpackage -b on a copy of the tree).
deb:
	packaging/build-deb

# build/pkg/rpm/*.rpm (rpmbuild -bb on the same staged outputs).
rpm:
	packaging/build-rpm

# build/dist/uml-skas-VERSION.tar.gz: the source tarball.
dist:
	packaging/make-dist

# build/pkg/srpm/uml-skas-VERSION-1.src.rpm: the source RPM (its sources
# in build/dist).
srpm:
	packaging/build-srpm

# build/repo/{apt,dnf}: signed apt repository and dnf repository.
repo:
	packaging/make-repo

# Builds all of it, lints it, installs it into throw-away roots.
# The kernel and the images as their builders have them (stamp-checked,
# waiting for a build in progress), not just as they last were.
check-packages: uml image-tiny image-debian
	timeout -k 30 900 packaging/tests/check-packages

# The packages end to end in a Debian 13 VM: apt install from the signed
# repository, DKMS, a reboot with an autostart instance in skas4 mode,
# purge; an upgrade from the previous release with an instance running,
# and a new host kernel.  The VM image is cached in build/e2e (its build
# needs Debian's mirror).  About 25 minutes here (TCG), the user guide's
# commands included.  Two hours with the guide's slow blocks under TCG
# (E2E_GUIDE_SLOW=1: boot 1 may take an hour).
check-e2e:
	timeout -k 30 $(if $(filter 1,$(E2E_GUIDE_SLOW)),7200,3600) packaging/tests/e2e

# rpmbuild --rebuild of the SRPM in a clean Debian 12 root without
# network: every package, rpmlint, the built kernel and umlctl run.  Not
# part of make check (the kernel build alone is about 10 minutes here).
check-srpm: uml image-debian
	timeout -k 30 3600 packaging/tests/check-srpm

CHECK_SUITES += check-packages check-e2e
HELP_LINES += "make deb rpm repo  packages in build/pkg, repositories in build/repo"
HELP_LINES += "make dist srpm    the source tarball (build/dist), the SRPM (build/pkg/srpm)"
HELP_LINES += "make check-packages  build, lint, install, remove and purge the packages"
HELP_LINES += "make check-srpm  rpmbuild --rebuild of the SRPM in a clean root, offline (not in make check)"
HELP_LINES += "make check-e2e   the packages in a trixie VM: apt install, DKMS, reboot, skas4 autostart, purge, upgrade, new host kernel"
