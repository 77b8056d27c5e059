# shellcheck shell=bash
# Helpers shared by the image builders of uml/rootfs/.  Source it after
# scripts/common.sh.

# top and build come from scripts/common.sh; the variables are for the
# scripts that source this file.
# shellcheck disable=SC2034,SC2154
rootfs_dir=$top/uml/rootfs
# shellcheck disable=SC2034,SC2154
images=$build/images

# The default SOURCE_DATE_EPOCH: a fixed date (2025-08-09, Debian 13's
# release), so that two builds of the same recipe give the same bytes
# without anyone having to set it.  Set SOURCE_DATE_EPOCH to override.
default_epoch=1754697600

# epoch: prints the SOURCE_DATE_EPOCH in force, after checking it.
epoch() {
	local e=${SOURCE_DATE_EPOCH:-$default_epoch}
	case $e in '' | *[!0-9]*) die "SOURCE_DATE_EPOCH" "'$e' is not a number of seconds" ;; esac
	echo "$e"
}

# recipe_hash FILE...: one hash over the names and contents of the recipe
# files (directories are walked in sorted order) plus the epoch; the
# image's stamp, so an image is rebuilt exactly when its recipe changed.
recipe_hash() {
	local f
	{
		echo "epoch $(epoch)"
		for f in "$@"; do
			if [ -d "$f" ]; then
				find "$f" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
			else
				sha256sum "$f"
			fi
		done
	} | sed "s|$top/||" | sha256sum | cut -d' ' -f1
}

# up_to_date IMAGE HASH: true when IMAGE exists and its stamp holds HASH.
up_to_date() {
	[ -f "$1" ] && [ -f "$1.stamp" ] && [ "$(cat "$1.stamp")" = "$2" ]
}

# normalize_modes SRC STAGE: the files of the recipe directory SRC, once
# copied to STAGE, get modes that do not depend on the umask of whoever
# checked the tree out: 755 for directories and executables, 644 for the
# rest (the caller then tightens what must be private).
normalize_modes() {
	(cd "$1" && find . -mindepth 1 ! -type l -printf '%P\0') | (
		cd "$2" || exit 1
		while IFS= read -r -d '' f; do
			if [ -d "$f" ] || [ -x "$f" ]; then
				chmod 755 "$f"
			else
				chmod 644 "$f"
			fi
		done
	) || die "modes" "cannot set the modes of $1's files in $2"
}

# make_ext4 STAGE IMAGE SIZE LABEL UUID: writes an ext4 file system holding
# the tree STAGE to IMAGE (atomically, via IMAGE.tmp), reproducibly:
#  - UUID, directory hash seed and every time mke2fs makes up itself are
#    fixed (-U, -E hash_seed=, E2FSPROGS_FAKE_TIME);
#  - mke2fs -d copies each file's atime/mtime/ctime from the host; mtime
#    is set to the epoch in STAGE beforehand; ctime (which no one can set
#    on the host) and atime (which mke2fs's own reading of directories
#    updates) are rewritten in the image afterwards with debugfs.
# The caller runs it under fakeroot when STAGE's ownership is faked.
make_ext4() {
	local stage=$1 image=$2 size=$3 label=$4 uuid=$5 e cmds
	e=$(epoch)
	cmds=$image.ctime
	find "$stage" -exec touch -h -d "@$e" {} + ||
		die "make_ext4" "cannot set the times in $stage"
	# Two "set inode field" per file: ctime, atime := epoch.  debugfs takes
	# paths in double quotes; names with a double quote or newline are
	# refused rather than mangled.
	if find "$stage" -mindepth 1 -name '*"*' -print -quit | grep -q .; then
		die "make_ext4" "a file name in $stage contains a double quote"
	fi
	{
		echo "sif / ctime @$e"
		echo "sif / atime @$e"
		(cd "$stage" && find . -mindepth 1 -printf '%P\n') | LC_ALL=C sort |
			sed -e "s|.*|sif \"/&\" ctime @$e\nsif \"/&\" atime @$e|"
	} >"$cmds"
	rm -f "$image.tmp"
	truncate -s "$size" "$image.tmp"
	E2FSPROGS_FAKE_TIME=$e mke2fs -q -F -t ext4 -L "$label" -U "$uuid" \
		-E "hash_seed=$uuid,root_owner=0:0" -d "$stage" "$image.tmp" ||
		die "mke2fs" "could not build $image from $stage"
	E2FSPROGS_FAKE_TIME=$e debugfs -w -f "$cmds" "$image.tmp" >"$cmds.log" 2>&1 ||
		die "debugfs" "could not fix the ctimes in $image (see $cmds.log)"
	if grep -v '^debugfs' "$cmds.log" | grep -q .; then
		grep -v '^debugfs' "$cmds.log" | head -5 >&2
		die "debugfs" "errors while fixing the ctimes in $image (see $cmds.log)"
	fi
	# A last consistency check: the image must be clean before anyone boots it.
	e2fsck -fn "$image.tmp" >"$cmds.log" 2>&1 ||
		die "e2fsck" "$image is not clean after building it (see $cmds.log)"
	rm -f "$cmds" "$cmds.log"
	mv "$image.tmp" "$image"
}
