#!/bin/bash
# uml/build.sh: builds the UML kernel (ARCH=um, x86_64) from Debian's
# linux-source package named in uml/source.mk.
#
# Stages (each prints one line):
#   fetch    apt-get download of the source .deb into build/uml/dl/
#   unpack   the linux-source tarball into build/uml/src, then uml/patches/series
#   config   defconfig + uml/config (merge_config.sh) + olddefconfig, then a
#            check that every option of uml/config is in the final .config
#   build    make linux in build/uml/obj (log: build/logs/uml-build.log)
#   install  build/uml/linux (stripped), linux-debug, config
#
# Every stage is skipped when its stamp (a hash of everything it depends on)
# is current, so a second `make uml` returns at once.
#
# --source-tarball FILE: fetch only, and write the package's tarball
# (linux-source-X.Y.tar.xz) to FILE, its mtime the source's date (the
# SRPM's Source1, packaging/build-srpm).
#
# Environment: JOBS (default: nproc); UML_SOURCE_TARBALL: build from that
# tarball instead of fetching the package (rpmbuild, which has no
# network), dated by its mtime unless SOURCE_DATE_EPOCH is set.
set -eu

name="uml-build"
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/../scripts/common.sh"

uml=$top/uml
out=$build/uml
dl=$out/dl
src=$out/src
obj=$out/obj
logs=$build/logs
log=$logs/uml-build.log
jobs=${JOBS:-$(nproc)}

usage="uml/build.sh [--source-tarball FILE] (environment: JOBS, UML_SOURCE_TARBALL)"
tarball_out=
case $# in
0) ;;
2) [ "$1" = --source-tarball ] || die "usage" "$usage"
	tarball_out=$(realpath -m "$2") ;;
*) die "usage" "$usage" ;;
esac
given=${UML_SOURCE_TARBALL:-}
if [ -n "$given" ]; then
	[ -z "$tarball_out" ] || die "usage" "--source-tarball with UML_SOURCE_TARBALL: nothing to do"
	[ -f "$given" ] || die "UML_SOURCE_TARBALL" "$given: no such file"
	given=$(realpath "$given")
fi

# srcmk_get NAME: the value of "NAME := value" in uml/source.mk.  Parsed
# rather than sourced because the file is make syntax.
srcmk_get() {
	local v
	v=$(sed -n "s/^$1[[:space:]]*:=[[:space:]]*\\(.*[^[:space:]]\\)[[:space:]]*\$/\\1/p" \
		"$uml/source.mk")
	[ -n "$v" ] || die "uml/source.mk" "no '$1 := value' line"
	printf '%s\n' "$v"
}

pkg=$(srcmk_get UML_SOURCE_PACKAGE)
ver=$(srcmk_get UML_SOURCE_VERSION)
suites=$(srcmk_get UML_SOURCE_SUITES)

# --- tools -----------------------------------------------------------------
# Checked up front so that a missing tool gives one clear line instead of a
# failure deep inside the kernel's make.
missing=()
if [ -n "$tarball_out" ]; then
	tools=(tar dpkg-deb gzip sed)
else
	tools=(gcc make flex bison bc perl tar xz patch strip sha256sum awk sed)
	[ -n "$given" ] || tools+=(dpkg-deb)
fi
for t in "${tools[@]}"; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[ -n "$tarball_out" ] || [ -e /usr/include/stdio.h ] ||
	missing+=("libc6-dev (no /usr/include/stdio.h)")
[ ${#missing[@]} -eq 0 ] ||
	die "tools" "missing: ${missing[*]} (install them, e.g. with scripts/deps.sh --no-kernels)"

# --- patch list ----------------------------------------------------------------
# patches: the file names of uml/patches/series, in order.
patches=()
while IFS= read -r line || [ -n "$line" ]; do
	line=${line%%#*}
	line=$(printf '%s' "$line" | tr -d '[:space:]')
	[ -n "$line" ] || continue
	[ -f "$uml/patches/$line" ] ||
		die "patches/series" "lists '$line' but uml/patches/$line does not exist"
	patches+=("$line")
done <"$uml/patches/series"

# The skas3 patch includes the host module's ABI header; it is installed
# from kernel-host/ rather than copied into the patch, so there is one copy.
abi=$uml/../kernel-host/uapi/skas.h
[ -f "$abi" ] || die "ABI header" "$abi missing"

# Stamp keys.  Each one covers the previous stage, so a change anywhere
# upstream redoes everything below it.
hash_of() { sha256sum "$@" | sha256sum | cut -c1-64; }
src_key=$(
	{
		echo "$pkg $ver"
		cat "$uml/patches/series"
		for p in "${patches[@]}"; do sha256sum "$uml/patches/$p"; done
		sha256sum "$abi"
	} | sha256sum | cut -c1-64
)
cfg_key=$(echo "$src_key $(hash_of "$uml/config")" | sha256sum | cut -c1-64)
build_key=$(echo "$cfg_key $(hash_of "$0" "$uml/source.mk") $(gcc --version | head -1)" |
	sha256sum | cut -c1-64)

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

mkdir -p "$out" "$dl" "$logs"
# One build at a time: two make runs in one object tree corrupt it (a
# second `make uml`, e.g. from another suite's dependency, waits here and
# then finds the tree current).
build_lock "$out/.build.lock" "the UML kernel"

if [ -z "$tarball_out" ] && stamp_ok "$out/build.stamp" "$build_key" && [ -f "$out/linux" ] &&
	[ -f "$out/linux-debug" ] && [ -f "$out/config" ]; then
	say "up to date: $out/linux ($pkg $ver)"
	exit 0
fi

# --- fetch ---------------------------------------------------------------------
# apt-get download names the file PKG_VERSION_ARCH.deb with ':' as %3a.
deb=$dl/${pkg}_${ver//:/%3a}_all.deb
if [ -n "$given" ]; then
	say "fetch: none, $given given"
elif [ -f "$deb" ] && [ "$(dpkg-deb -f "$deb" Version 2>/dev/null)" = "$ver" ]; then
	say "fetch: have $(basename "$deb")"
else
	say "fetch: $pkg=$ver from $suites"
	rm -f "$dl"/*.deb
	if ! (cd "$dl" && "$top/scripts/apt-private" "$suites" -- \
		apt-get -q download "$pkg=$ver") >"$logs/uml-fetch.log" 2>&1; then
		tail -n 15 "$logs/uml-fetch.log" >&2
		die "fetch" "cannot download $pkg=$ver from $suites (is the version still in the archive? see $logs/uml-fetch.log)"
	fi
	[ -f "$deb" ] || die "fetch" "apt-get download did not produce $deb"
	got=$(dpkg-deb -f "$deb" Version) || die "fetch" "$deb is not a valid .deb"
	[ "$got" = "$ver" ] || die "fetch" "$deb has version $got, expected $ver"
fi

# The build date comes from the source package's changelog, so it is the same
# on every build of the same inputs (and changes when the source does).
tarball=./usr/src/$pkg.tar.xz
changelog=./usr/share/doc/$pkg/changelog.Debian.gz
if [ -z "${SOURCE_DATE_EPOCH:-}" ] && [ -n "$given" ]; then
	SOURCE_DATE_EPOCH=$(stat -c %Y "$given")
elif [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	trailer=$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "$changelog" | gzip -dc |
		sed -n 's/^ -- .*>  \(.*\)$/\1/p' | head -1)
	[ -n "$trailer" ] || die "fetch" "no date in $changelog of $deb"
	SOURCE_DATE_EPOCH=$(date -d "$trailer" +%s) || die "fetch" "bad changelog date '$trailer'"
fi
export SOURCE_DATE_EPOCH
export KBUILD_BUILD_TIMESTAMP
KBUILD_BUILD_TIMESTAMP=$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %e %H:%M:%S UTC %Y')
export KBUILD_BUILD_USER=uml-skas
export KBUILD_BUILD_HOST=uml-skas
# Without it the "#N" of the version string counts builds in obj/.version.
export KBUILD_BUILD_VERSION=1

if [ -n "$tarball_out" ]; then
	mkdir -p "$(dirname "$tarball_out")"
	if ! dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "$tarball" >"$tarball_out.tmp"; then
		rm -f "$tarball_out.tmp"
		die "source tarball" "cannot extract $tarball from $deb"
	fi
	touch -d "@$SOURCE_DATE_EPOCH" "$tarball_out.tmp"
	mv "$tarball_out.tmp" "$tarball_out"
	say "source tarball: $tarball_out ($pkg $ver)"
	exit 0
fi
# The locale shows in messages only, but keep tools' output stable.
export LC_ALL=C

# --- unpack + patch --------------------------------------------------------------
if stamp_ok "$out/src.stamp" "$src_key" && [ -f "$src/Makefile" ]; then
	say "unpack: source current ($ver, ${#patches[@]} patches)"
else
	rm -f "$out/src.stamp" "$out/config.stamp" "$out/build.stamp"
	rm -rf "$src.tmp"
	mkdir -p "$src.tmp"
	if [ -n "$given" ]; then
		say "unpack: $given"
		tar -xJf "$given" --no-same-owner --strip-components=1 -C "$src.tmp" ||
			die "unpack" "cannot extract $given"
	else
		say "unpack: $tarball from $(basename "$deb")"
		dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "$tarball" |
			tar -xJ --no-same-owner --strip-components=1 -C "$src.tmp" ||
			die "unpack" "cannot extract $tarball from $deb"
	fi
	[ -f "$src.tmp/Makefile" ] || die "unpack" "$tarball has no top-level Makefile"
	i=0
	for p in "${patches[@]}"; do
		i=$((i + 1))
		say "unpack: patch $i/${#patches[@]}: $p"
		if ! patch -p1 -N -s -d "$src.tmp" <"$uml/patches/$p" >"$logs/uml-patch.log" 2>&1; then
			cat "$logs/uml-patch.log" >&2
			die "patch" "uml/patches/$p does not apply to $pkg $ver (see above; rebase it)"
		fi
	done
	cp "$abi" "$src.tmp/arch/um/include/shared/skas/proc_mm_abi.h"
	rm -rf "$src"
	mv "$src.tmp" "$src"
	# The tarball's mtimes can be older than objects built from the previous
	# source, which kbuild would then keep: start the object tree afresh.
	rm -rf "$obj"
	echo "$src_key" >"$out/src.stamp"
fi

# kmake ARGS...: the kernel's make, output to the log; on failure the tail of
# the log is shown.
kmake() {
	echo "+ make $*" >>"$log"
	if ! make -C "$src" O="$obj" ARCH=um SUBARCH=x86_64 "$@" >>"$log" 2>&1; then
		echo "---- last lines of $log ----" >&2
		tail -n 40 "$log" >&2
		die "make $*" "failed (full log: $log)"
	fi
}

: >"$log"

# --- config ------------------------------------------------------------------------
if stamp_ok "$out/config.stamp" "$cfg_key" && [ -f "$obj/.config" ]; then
	say "config: current"
else
	say "config: defconfig + uml/config"
	rm -f "$out/config.stamp" "$out/build.stamp"
	mkdir -p "$obj"
	kmake defconfig
	if ! (cd "$obj" && ARCH=um SUBARCH=x86_64 "$src/scripts/kconfig/merge_config.sh" \
		-m -O "$obj" "$obj/.config" "$uml/config") >>"$log" 2>&1; then
		tail -n 20 "$log" >&2
		die "config" "merge_config.sh failed (log: $log)"
	fi
	kmake olddefconfig
	# Every option the fragment asks for must be in the final .config with
	# the same value; "is not set" may also be absent (unreachable symbol).
	dropped=()
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF -- "$line" "$obj/.config" ||
				dropped+=("$line (have: $(grep -E "^(# )?${line%%=*}[= ]" "$obj/.config" || echo absent))")
			;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			if grep -q "^$sym=" "$obj/.config"; then
				dropped+=("$line (have: $(grep "^$sym=" "$obj/.config"))")
			fi
			;;
		esac
	done <"$uml/config"
	if [ ${#dropped[@]} -gt 0 ]; then
		for d in "${dropped[@]}"; do echo "  $d" >&2; done
		die "config" "${#dropped[@]} option(s) of uml/config did not survive olddefconfig (listed above): fix their dependencies or names"
	fi
	echo "$cfg_key" >"$out/config.stamp"
fi

# --- build ---------------------------------------------------------------------------
say "build: make -j$jobs linux (log: $log)"
t0=$(date +%s)
kmake -j"$jobs" linux
say "build: done in $(($(date +%s) - t0)) s"

# --- install ---------------------------------------------------------------------------
# Copy, then rename, so a failed step never leaves a half-written output.
cp "$obj/linux" "$out/linux-debug.tmp"
strip --strip-all -o "$out/linux.tmp" "$obj/linux"
cp "$obj/.config" "$out/config.tmp"
mv "$out/linux-debug.tmp" "$out/linux-debug"
mv "$out/linux.tmp" "$out/linux"
mv "$out/config.tmp" "$out/config"
echo "$build_key" >"$out/build.stamp"
say "install: $out/linux ($(stat -c %s "$out/linux") bytes)," \
	"linux-debug ($(stat -c %s "$out/linux-debug") bytes), config;" \
	"sha256 $(sha256sum "$out/linux" | cut -c1-16)"
