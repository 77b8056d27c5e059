# packaging/: the Debian and RPM packages and their repositories.
# Included by the top Makefile.  See packaging/README.md, docs/install.md.

.PHONY: deb rpm repo check-packages

# build/pkg/deb/*.deb (dpkg-buildpackage -b on a copy of the tree).
deb:
	packaging/build-deb

# build/pkg/rpm/*.rpm (rpmbuild -bb on the same staged outputs).
rpm:
	packaging/build-rpm

# build/repo/{apt,dnf}: signed apt repository and dnf repository.
repo:
	packaging/make-repo

# Builds all of it, lints it, installs it into throw-away roots.
check-packages:
	timeout -k 30 900 packaging/tests/check-packages

CHECK_SUITES += check-packages
HELP_LINES += "make deb rpm repo  packages in build/pkg, repositories in build/repo"
HELP_LINES += "make check-packages  build, lint, install, remove and purge the packages"
