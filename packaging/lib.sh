# shellcheck shell=bash
# Shared by the packaging scripts; source it after scripts/common.sh,
# which sets top and build.
# shellcheck disable=SC2154

# pkg_prereqs: the UML kernel and the images, built only when missing (a
# rebuild of either takes minutes; the Makefile's install-inputs).
pkg_prereqs() {
	make -C "$top" --no-print-directory install-inputs
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
