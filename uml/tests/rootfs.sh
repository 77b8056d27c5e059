#!/bin/bash
# uml/tests/rootfs.sh: builds the root file system image of the UML guest
# test suite, build/uml/test-rootfs.ext4, without mounting anything:
#
#   /bin/busybox + applet links  from Debian's busybox-static
#   /init                        mounts proc, sys, devtmpfs, /tmp; runs
#                                /tests/runner /tests/t; powers off
#   /tests/runner, /tests/t/*    the programs of uml/tests/guest/ (static,
#                                except 11-dynamic, whose libraries are
#                                copied in as ldd lists them)
#   /bench-init, /bench/*        bench/micro's programs and an init that
#                                runs them (bench/skas-modes)
#
# The image is made by `mke2fs -d`; it is rebuilt on every run (a few
# seconds) and written atomically.
set -eu

name="rootfs"
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/../../scripts/common.sh"

guest=$top/uml/tests/guest
out=$build/uml
bin=$out/tests/bin
stage=$out/tests/rootfs
image=$out/test-rootfs.ext4
busybox=/bin/busybox
cflags=(-std=c11 -Wall -Wextra -Werror -O2 -g0)

[ $# -eq 0 ] || die "usage" "rootfs.sh takes no arguments"

missing=()
for t in gcc mke2fs ldd readelf; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[ ${#missing[@]} -eq 0 ] || die "tools" "missing: ${missing[*]} (gcc, e2fsprogs, libc-bin, binutils)"
[ -x "$busybox" ] || die "busybox" "$busybox missing: install busybox-static"
# A dynamic busybox would need its libraries in the image too.
if readelf -l "$busybox" | grep -q 'INTERP'; then
	die "busybox" "$busybox is dynamically linked: install busybox-static"
fi

# --- test programs ---------------------------------------------------------------
say "compiling the guest programs"
rm -rf "$bin"
mkdir -p "$bin"
gcc "${cflags[@]}" -static -o "$bin/runner" "$guest/runner.c" ||
	die "compile" "runner.c failed"
for c in "$guest"/[0-9][0-9]-*.c; do
	b=$(basename "$c" .c)
	case $b in
	11-dynamic) extra=(-lm) ;;	# dynamically linked on purpose
	03-threads) extra=(-static -pthread) ;;
	17-smp) extra=(-static -pthread -lm) ;;
	18-stress) extra=(-static -pthread) ;;
	*) extra=(-static) ;;
	esac
	gcc "${cflags[@]}" -o "$bin/$b" "$c" "${extra[@]}" || die "compile" "$b.c failed"
done

# --- staging tree ----------------------------------------------------------------
rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,mnt,var/tmp,root,etc,tests/t}
chmod 1777 "$stage/tmp" "$stage/var/tmp"
cp "$busybox" "$stage/bin/busybox"
# One link per applet, at the path busybox itself names (bin/sh, sbin/poweroff, ...).
while IFS= read -r applet; do
	[ "$applet" = bin/busybox ] && continue
	dir=$(dirname "$applet")
	mkdir -p "$stage/$dir"
	rel=$(realpath -m --relative-to="/$dir" /bin/busybox)
	ln -sf "$rel" "$stage/$applet"
done < <("$busybox" --list-full)
for a in bin/sh sbin/poweroff bin/mount bin/grep; do
	[ -e "$stage/$a" ] || die "busybox" "$busybox has no ${a#*/} applet"
done

cp "$bin/runner" "$stage/tests/runner"
cp "$bin"/[0-9][0-9]-* "$stage/tests/t/"
# The microbenchmarks of bench/micro, for bench/skas-modes (init=/bench-init).
make -s -C "$top/bench/micro" O="$out/tests/bench" >/dev/null ||
	die "compile" "bench/micro failed"
mkdir -p "$stage/bench"
cp "$out"/tests/bench/* "$stage/bench/"

# Libraries of the dynamic program, at the paths ldd resolves them to.
while read -r lib; do
	mkdir -p "$stage$(dirname "$lib")"
	cp -L "$lib" "$stage$lib"
done < <(ldd "$bin/11-dynamic" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
[ -n "$(find "$stage" -name 'ld-linux*' -print -quit)" ] ||
	die "dynamic" "no dynamic loader found for 11-dynamic (ldd output changed?)"

# What both inits do first (sourced).
cat >"$stage/etc/init-basics" <<'EOF'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# CONFIG_DEVTMPFS_MOUNT normally mounts /dev already.
grep -q " /dev " /proc/mounts || mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
EOF
cat >"$stage/init" <<'EOF'
#!/bin/sh
# /init of the uml-skas test root: mount the basics, run the tests, power off.
. /etc/init-basics
read -r up _ </proc/uptime
echo "UML-TEST: init started at ${up} s guest uptime"
/tests/runner /tests/t
echo "UML-TEST: runner exit status $?"
sync
poweroff -f
EOF
chmod 755 "$stage/init"
cat >"$stage/bench-init" <<'EOF'
#!/bin/sh
# /bench-init: runs the microbenchmarks instead of the tests.  Kernel
# command-line words BENCH_SET (comma-separated names), BENCH_T (ms per
# benchmark) and BENCH_R (rounds), or BENCH_PROFILE, arrive as
# environment.
. /etc/init-basics
echo "UML-BENCH: mode $(sed -n 's/^mode[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
# BENCH_PROFILE=prog:N:N,...: each program run for exactly N units, between
# marker lines that bench/profile-modes finds in its trace of the kernel.
if [ -n "${BENCH_PROFILE:-}" ]; then
	for c in $(echo "$BENCH_PROFILE" | tr , ' '); do
		prog=${c%%:*}
		for n in $(echo "${c#*:}" | tr : ' '); do
			echo "UML-PROFILE-MARK begin $prog $n"
			"/bench/$prog" -n "$n" -m 1
			echo "UML-PROFILE-MARK end $prog $n"
		done
	done
	poweroff -f
fi
/bench/bench-all -t "${BENCH_T:-300}" -r "${BENCH_R:-3}" -m 8 \
	$(echo "${BENCH_SET:-syscall,fork_exit,pagefault,pipe}" | tr , ' ')
echo "UML-BENCH: exit status $?"
poweroff -f
EOF
chmod 755 "$stage/bench-init"
echo "/dev/ubda / ext4 defaults 0 1" >"$stage/etc/fstab"

# --- image ----------------------------------------------------------------------------
say "writing $image"
rm -f "$image.tmp"
# Small: it travels inside the QEMU runner's initramfs for the VM runs.
truncate -s 40M "$image.tmp"
mke2fs -q -F -t ext4 -L uml-test -E root_owner=0:0 -d "$stage" "$image.tmp" ||
	die "mke2fs" "could not build the image from $stage"
mv "$image.tmp" "$image"
say "done: $image ($(find "$stage/tests/t" -type f | wc -l) test programs)"
