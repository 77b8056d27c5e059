# shellcheck shell=bash
# Shared by the packaging scripts; source it after scripts/common.sh,
# which sets top and build.
# shellcheck disable=SC2154

# pkg_prereqs: the UML kernel and the images, built by their top-level
# targets only when missing (a rebuild of either takes minutes).
pkg_prereqs() {
	if [ ! -e "$build/uml/linux" ] || [ ! -e "$build/uml/linux-debug" ]; then
		make -C "$top" --no-print-directory uml
	fi
	[ -e "$build/images/tiny.ext4" ] || make -C "$top" --no-print-directory image-tiny
	[ -e "$build/images/debian.ext4" ] || make -C "$top" --no-print-directory image-debian
}

# stage_tree DIR: a copy of the work tree (tracked and new files, never
# build/) in DIR, with the prebuilt kernel and images under DIR/build.
stage_tree() {
	local dir=$1
	rm -rf "$dir"
	mkdir -p "$dir/build/uml" "$dir/build/images"
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		grep -zv '^build/' | tar -c --null -T -) | tar -x -C "$dir"
	cp "$build/uml/linux" "$build/uml/linux-debug" "$dir/build/uml/"
	cp --sparse=always "$build/images/tiny.ext4" "$build/images/debian.ext4" \
		"$dir/build/images/"
}

# pkg_version: the version of every package (kernel-host/VERSION).
pkg_version() {
	cat "$top/kernel-host/VERSION"
}
