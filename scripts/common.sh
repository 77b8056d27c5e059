# shellcheck shell=bash
# Helpers shared by the scripts in this directory.  Source it after setting
# 'name' (the script's name, used as the prefix of messages).

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC2034 # used by the scripts that source this file
build=$top/build

# die WHAT WHY...: print "name: WHAT: WHY" and exit 1.
die() {
	local what=$1
	shift
	echo "${name:-script}: $what: $*" >&2
	exit 1
}

# need_count OPTION VALUE [MIN]: dies unless VALUE is a whole number
# (decimal, no leading zero) of at least MIN, default 0.
need_count() {
	case $2 in
	'' | *[!0-9]* | 0[0-9]*) die "$1" "'$2' is not a whole number" ;;
	??????????????????*) die "$1" "'$2' is too large" ;;
	esac
	[ "$2" -ge "${3:-0}" ] || die "$1" "'$2' is less than ${3:-0}"
}

# say MESSAGE: progress message on stderr.
say() {
	echo "${name:-script}: $*" >&2
}

# vsyscall_for TAG TAG...: the vsyscall= that a VM test run over the host
# kernels TAG... boots TAG with.  The first of several keeps Debian's
# default, none; the others emulate the page (xonly, the default of many
# distributions), so one run covers both ways.
vsyscall_for() {
	local tag=$1
	shift
	if [ "$tag" = "$1" ] && [ $# -gt 1 ]; then
		echo none
	else
		echo xonly
	fi
}

# build_lock FILE WHAT: holds the lock FILE (fd 9) until the script exits,
# so that one build of WHAT runs at a time: `make check` runs builds in the
# background (scripts/prebuild) while suites that need them may start the
# same build; the second waits here, then finds WHAT up to date.
build_lock() {
	command -v flock >/dev/null 2>&1 || die "tools" "flock is missing (util-linux)"
	mkdir -p "$(dirname "$1")"
	exec 9>"$1"
	if ! flock -n 9; then
		say "another build of $2 is running; waiting for it"
		flock 9
	fi
}

# in_chroot ROOT COMMAND [ARGS...]: runs COMMAND inside the build root ROOT
# with /proc and /dev mounted.  The mounts are made in a private mount
# namespace, so they vanish when the command ends, whatever happens; they are
# also unmounted explicitly on exit.
in_chroot() {
	local root=$1
	shift
	[ -x "$root/bin/sh" ] || die "chroot $root" "not a build root (no /bin/sh)"
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private -- /bin/sh -c '
		r=$1
		shift
		trap "umount -l \"\$r/dev\" 2>/dev/null; umount \"\$r/proc\" 2>/dev/null" EXIT
		mount -t proc proc "$r/proc" || exit 1
		mount --rbind /dev "$r/dev" || exit 1
		chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
			DEBIAN_FRONTEND=noninteractive "$@"
	' in_chroot "$root" "$@"
}

# check_no_mounts DIR: fails if anything is mounted at or below DIR.
check_no_mounts() {
	local dir
	dir=$(realpath -m "$1")
	if findmnt -rn -o TARGET | grep -q -e "^$dir\$" -e "^$dir/"; then
		die "check mounts" "something is still mounted below $dir; unmount it first"
	fi
}

# safe_rm_root DIR: removes a build root, never crossing into mounts.
safe_rm_root() {
	[ -e "$1" ] || return 0
	check_no_mounts "$1"
	rm -rf --one-file-system "$1"
}

# Kernel command line for a QEMU guest under TCG.  There a vCPU is a host
# thread that a busy 2-core host can leave unscheduled for many seconds, and
# the guest's lockup detectors then report time the guest never had (seen in
# CI: "soft lockup - CPU#0 stuck for 22s" in cc1 during a DKMS build).  The
# detectors stay on at their longest thresholds, so a real lockup is still
# reported (soft lockup after 120 s, RCU stall after 60 s) and still fails
# the run; under KVM the defaults apply.
# shellcheck disable=SC2034 # used by the scripts that source this file
tcg_detector_args="watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=60"
