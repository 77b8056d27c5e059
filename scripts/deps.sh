#!/bin/bash
# deps.sh [--no-kernels]
#
# Installs every Debian package the test scripts need on a Debian 12 machine
# (quickly does nothing when all are present; 'apt-get update' only runs when
# something is missing), then runs scripts/fetch-kernels.
set -eu

name=deps.sh
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"

[ "$(id -u)" = 0 ] || die "start" "must run as root (apt-get install)"

packages=(
	# apt-private, fetch-kernels
	apt dpkg debian-archive-keyring mmdebstrap util-linux coreutils
	# building out-of-tree modules against Debian's headers
	gcc make libc6-dev bc flex bison libelf-dev libssl-dev dwarves kmod dkms zstd
	# vmrun: QEMU, static init, initramfs
	qemu-system-x86 busybox-static cpio
	# checking the scripts
	shellcheck
	# UML kernel build and its guest tests (uml/)
	patch xz-utils binutils e2fsprogs gdb
)

# Each part of the tree lists what else it needs in its own deps.list
# (one package per line, # comments).  "PACKAGE >= VERSION SUITESET": a
# newer version than Debian 12 has, from that suite set of
# scripts/apt-private (the machine's apt sources stay as they are).
newer=()
for list in "$top"/*/deps.list "$top"/*/*/deps.list; do
	[ -f "$list" ] || continue
	while read -r p op v suites _; do
		case $p in '' | '#'*) continue ;; esac
		case $op in
		'') packages+=("$p") ;;
		'>=')
			if [ -z "$v" ] || [ -z "$suites" ]; then
				die "deps.list" "${list#"$top"/}: '$p >= VERSION SUITESET' wanted"
			fi
			newer+=("$p $v $suites")
			;;
		*) die "deps.list" "${list#"$top"/}: '$p $op ...': want a package name alone or 'PACKAGE >= VERSION SUITESET'" ;;
		esac
	done <"$list"
done

missing=()
for p in "${packages[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case $st in
	ii*) ;;
	*) missing+=("$p") ;;
	esac
done

if [ ${#missing[@]} -eq 0 ]; then
	say "all ${#packages[@]} packages are installed (and ${#newer[@]} newer from backports)"
else
	say "missing packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	say "running apt-get update"
	apt-get -q update || die "apt-get update" "failed: see apt's messages above"
	say "installing: ${missing[*]}"
	apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		die "apt-get install" "failed: see apt's messages above"
fi

for want in "${newer[@]}"; do
	read -r p v suites <<<"$want"
	have=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
	dpkg --compare-versions "${have:-0}" ge "$v" && continue
	say "installing $p >= $v from $suites (have ${have:-none})"
	DEBIAN_FRONTEND=noninteractive "$top/scripts/apt-private" "$suites" -- \
		apt-get install -y -q --no-install-recommends -t "$suites" "$p" ||
		die "apt-get install" "$p from $suites failed: see apt's messages above"
	have=$(dpkg-query -W -f='${Version}' "$p") || die "$p" "not installed after apt-get install"
	dpkg --compare-versions "$have" ge "$v" ||
		die "$p" "$suites gave $have, not $v or newer"
done

if [ "${1:-}" = --no-kernels ]; then
	exit 0
fi
say "running scripts/fetch-kernels"
exec "$top/scripts/fetch-kernels"
