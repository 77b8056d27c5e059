# shellcheck shell=bash
# Shared by the packaging scripts; source it after scripts/common.sh,
# which sets top and build.
# shellcheck disable=SC2154

# pkg_prereqs: the UML kernel and the images, built only when missing (a
# rebuild of either takes minutes; the Makefile's install-inputs).
pkg_prereqs() {
	make -C "$top" --no-print-directory install-inputs
}

# tree_files all|tracked: the files of the work tree that make the
# source (tracked ones, and with all new ones not ignored; never build/),
# NUL-terminated, sorted bytewise, relative to top.  Package builds take
# all (a change being tested); the source tarball (make-dist) only what
# git tracks.
tree_files() {
	local others=--others
	[ "$1" = all ] || others=--cached
	(cd "$top" && git ls-files -z --cached "$others" --exclude-standard |
		grep -zv '^build/' | LC_ALL=C sort -z)
}

# stage_tree DIR: a copy of the work tree (tree_files) in DIR, with the
# prebuilt kernel and images under DIR/build.
stage_tree() {
	local dir=$1
	rm -rf "$dir"
	mkdir -p "$dir/build/uml" "$dir/build/images"
	tree_files all | (cd "$top" && tar -c --null -T -) | tar -x -C "$dir"
	cp "$build/uml/linux" "$build/uml/linux-debug" "$dir/build/uml/"
	cp --sparse=always "$build/images/tiny.ext4" "$build/images/debian.ext4" \
		"$dir/build/images/"
}

# debian_root_tar CACHE PKGS [SUITE]: makes sure CACHE-HASH.tar holds a
# Debian root (SUITE: bookworm, the default, or trixie): minbase plus
# PKGS (comma-separated; the suite's backports may provide some), with no
# apt source; made by mmdebstrap once (HASH: of PKGS and the suite, so
# that a new package makes a new root; older tars of CACHE go).  Prints
# the tar's path.  Two makers of one CACHE take turns (flock on
# CACHE.lock): the second finds the first's tar.
debian_root_tar() {
	local cache=$1 pkgs=$2 suite=${3:-bookworm} key tar m=http://deb.debian.org/debian
	key=$pkgs
	[ "$suite" = bookworm ] || key="$suite:$pkgs"
	tar=$cache-$(printf '%s' "$key" | sha256sum | cut -c1-12).tar
	mkdir -p "$(dirname "$cache")"
	(
		flock 7
		[ ! -s "$tar" ] || exit 0
		rm -f "$cache"-*.tar
		# shellcheck disable=SC2016 # "$1" is expanded by mmdebstrap
		mmdebstrap --variant=minbase --format=tar --include="$pkgs" \
			--customize-hook='rm -f "$1"/etc/apt/sources.list; rm -rf "$1"/var/lib/apt/lists/*' \
			"$suite" "$tar.tmp" \
			"deb $m $suite main" "deb $m $suite-updates main" "deb $m $suite-backports main" \
			"deb http://deb.debian.org/debian-security $suite-security main" >&2 || exit 1
		mv "$tar.tmp" "$tar"
	) 7>"$cache.lock" || return 1
	echo "$tar"
}

# debian_root DIR CACHE PKGS [SUITE]: a throw-away Debian root in DIR,
# unpacked from debian_root_tar CACHE PKGS [SUITE].
debian_root() {
	local dir=$1 tar
	tar=$(debian_root_tar "$2" "$3" "${4:-bookworm}") || return 1
	rm -rf "$dir"
	mkdir -p "$dir"
	tar -C "$dir" -xf "$tar"
}

# pkg_version: the version of every package (kernel-host/VERSION).
pkg_version() {
	cat "$top/kernel-host/VERSION"
}

# linux_source: the kernel source package the UML kernel is built from
# (uml/source.mk's UML_SOURCE_PACKAGE, e.g. linux-source-7.2).
linux_source() {
	local linux
	linux=$(sed -n 's/^UML_SOURCE_PACKAGE[[:space:]]*:=[[:space:]]*\([^[:space:]]*\).*/\1/p' \
		"$top/uml/source.mk")
	[ -n "$linux" ] || die "uml/source.mk" "no UML_SOURCE_PACKAGE line"
	echo "$linux"
}

# make_spec OUT: the spec, rpm/uml-skas.spec.in with the version and the
# name of the kernel source package filled in.
make_spec() {
	local linux
	linux=$(linux_source)
	sed -e "s/@VERSION@/$(pkg_version)/" -e "s/@LINUX_SOURCE@/$linux/" \
		"$top/rpm/uml-skas.spec.in" >"$1"
}

# stage_version DIR V: the staged tree in DIR says it is version V: its
# kernel-host/VERSION and a debian/changelog entry on top, dated a day
# before the newest (SOURCE_DATE_EPOCH, and so the files' times in the
# packages, differ from the real build's).
stage_version() {
	local dir=$1 v=$2 when
	when=$(dpkg-parsechangelog -l "$dir/debian/changelog" -S Timestamp)
	echo "$v" >"$dir/kernel-host/VERSION"
	{
		printf 'uml-skas (%s) unstable; urgency=medium\n\n' "$v"
		printf '  * Version %s of the same tree, for upgrade tests.\n\n' "$v"
		printf ' -- uml-skas maintainers <uml-skas@example.org>  %s\n\n' \
			"$(LC_ALL=C date -R -u -d "@$((when - 86400))")"
		cat "$dir/debian/changelog"
	} >"$dir/debian/changelog.new"
	mv "$dir/debian/changelog.new" "$dir/debian/changelog"
}
