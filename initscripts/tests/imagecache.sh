# shellcheck shell=bash
# shellcheck disable=SC2154 # root, etc, images, write_global: set by run, which sources this
# shellcheck disable=SC2016 # bash -c scripts take their values as $1, $2
# shellcheck disable=SC2012 # ls of folders whose names the suite chose
# initscripts/tests/imagecache.sh: an image shipped compressed
# (image_dir/NAME.ext4.zst, as the Debian image package ships it) is
# unpacked by umlctl into /var/cache/uml-skas/images on first use (part
# of check-initscripts, sourced by run).  A real tiny image compressed
# with zstd, real instances booted on it.

zdir=$(mktemp -d /tmp/uml-skas-test-zimg.XXXXXX)
chmod 755 "$zdir"
cp --sparse=always "$images/tiny.ext4" "$zdir/tiny.ext4"
zstd -q "$images/tiny.ext4" -o "$zdir/ztiny.ext4.zst"
touch -d '2026-01-02 03:04:05' "$zdir/ztiny.ext4.zst"
printf 'not a zstd frame\n' >"$zdir/zbad.ext4.zst"
chmod 644 "$zdir"/*
cache=$root/var/cache/uml-skas/images
zimg=$cache/ztiny.ext4
saved_images=$images
images=$zdir
write_global

rc=0
out=$(u create zc1 --net none --image ztiny 2>&1) || rc=$?
check "create on an image shipped as NAME.ext4.zst: its unpacked path, nothing unpacked yet" "rc=$rc $out" \
	bash -c '[ "$1" = 0 ] && grep -q "image $2," <<<"$3" && [ ! -e "$2" ]' _ "$rc" "$zimg" "$out"
rc=0
out=$(u start zc1 2>&1) || rc=$?
check "start unpacks it, says so, and boots" "rc=$rc $(tr '\n' '|' <<<"$out")" \
	bash -c '[ "$1" = 0 ] && grep -q "unpacking $2 into $3" <<<"$4"' _ "$rc" "$zdir/ztiny.ext4.zst" "$zimg" "$out"
check "the unpacked image: the image's bytes, root's 0644, the .zst's mtime, sparse, nothing else left" \
	"$(stat -c '%n %U %a %Y %b' "$cache"/* | tr '\n' '|')" \
	bash -c 'cmp -s "$1" "$2" && [ "$(stat -c "%U %a %Y" "$1")" = "root 644 $(stat -c %Y "$3")" ] &&
		[ "$(du -k "$1" | cut -f1)" -lt "$(($(du -k --apparent-size "$1" | cut -f1) / 2))" ] &&
		[ "$(ls -A "$(dirname "$1")")" = ztiny.ext4 ] &&
		[ "$(stat -c "%U %a" "$(dirname "$1")")" = "root 755" ]' \
	_ "$zimg" "$images/tiny.ext4" "$zdir/ztiny.ext4.zst"
out=$(dx zc1 'echo kept >/root/f; sync; cat /root/f')
check "zc1 writes a file on its disk" "$out" test "$out" = kept
u stop zc1 >/dev/null 2>&1

# The cache lost (an administrator cleaned /var/cache): unpacked again,
# the same image to the disk (same mtime), which boots with its file.
rm -f "$zimg"
rc=0
out=$(u start zc1 2>&1) || rc=$?
out2=$(dx zc1 'cat /root/f')
check "a removed cache file: unpacked again, the disk boots on it with its file" \
	"rc=$rc $(tr '\n' '|' <<<"$out") / $out2" \
	bash -c '[ "$1" = 0 ] && grep -q "unpacking" <<<"$2" && ! grep -q "cannot boot\|kept then" <<<"$2" &&
		[ "$3" = kept ]' _ "$rc" "$out" "$out2"
u stop zc1 >/dev/null 2>&1
out=$(u image unpack ztiny 2>&1 || true)
check "image unpack of an unpacked image: nothing to do" "$out" test -z "$out"

# A file someone else put in the cache, or one a crash left half
# written under the final name, is not booted: it is unpacked again.
cp "$images/tiny.ext4" "$zimg.planted"
chown 65534 "$zimg.planted"
chmod 666 "$zimg.planted"
touch -r "$zdir/ztiny.ext4.zst" "$zimg.planted"
mv "$zimg.planted" "$zimg"
out=$(u image unpack ztiny 2>&1 || true)
check "a cache file not root's 0644: replaced by root's unpacked image" "$out $(stat -c '%U %a' "$zimg")" \
	bash -c 'grep -q unpacking <<<"$1" && [ "$(stat -c "%U %a" "$2")" = "root 644" ] && cmp -s "$2" "$3"' \
	_ "$out" "$zimg" "$images/tiny.ext4"

# The cache folder writable by others: a file planted there would be
# every instance's root file system.  umlctl refuses to unpack there.
rm -f "$zimg"
for how in 'chmod 777' 'chown 65534'; do
	$how "$cache"
	rc=0
	out=$(u start zc1 2>&1) || rc=$?
	check "cache folder after '$how': start refuses, says why, unpacks nothing" "rc=$rc $out" \
		bash -c '[ "$1" != 0 ] && grep -q "not a folder of root.s that only root may write to" <<<"$2" &&
			[ ! -e "$3" ] && ! pgrep -f "umid=[z]c1 " >/dev/null' _ "$rc" "$out" "$zimg"
	chmod 755 "$cache"
	chown 0 "$cache"
done

# A .zst someone else may write to, or a link: its bytes would be every
# instance's root file system; refused.
chmod 666 "$zdir/ztiny.ext4.zst"
rc=0
out=$(u image unpack ztiny 2>&1) || rc=$?
check "a .zst others may write to: refused, says why, unpacks nothing" "rc=$rc $out" \
	bash -c '[ "$1" = 1 ] && grep -q "not a file of root.s that only root may write to" <<<"$2" &&
		[ ! -e "$3" ]' _ "$rc" "$out" "$zimg"
chmod 644 "$zdir/ztiny.ext4.zst"
ln -s "$zdir/ztiny.ext4.zst" "$zdir/zlink.ext4.zst"
rc=0
out=$(u image unpack zlink 2>&1) || rc=$?
check "a .zst that is a symbolic link: refused, says why" "rc=$rc $out" \
	bash -c '[ "$1" = 1 ] && grep -q "zlink.ext4.zst: a symbolic link: refusing to unpack it" <<<"$2" &&
		[ ! -e "$3/zlink.ext4" ]' _ "$rc" "$out" "$cache"
rm -f "$zdir/zlink.ext4.zst"

# Root's umask does not reach the folders: the instances' users must go
# through them.
rm -rf "$root/var/cache/uml-skas"
rc=0
out=$(umask 077 && u image unpack ztiny 2>&1) || rc=$?
check "image unpack under umask 077: the cache folders are 0755 all the same" \
	"rc=$rc $out $(stat -c '%a %n' "$root/var/cache/uml-skas" "$cache" 2>&1 | tr '\n' ' ')" \
	bash -c '[ "$1" = 0 ] && [ "$(stat -c %a "$2" "$3" | tr "\n" " ")" = "755 755 " ] &&
		[ "$(stat -c "%U %a" "$3/ztiny.ext4")" = "root 644" ]' _ "$rc" "$root/var/cache/uml-skas" "$cache"
rm -f "$zimg"

# Only root unpacks.
rc=0
out=$(UMLSKAS_ROOT=$root as_id 65534 "$umlctl" image unpack ztiny 2>&1) || rc=$?
check "image unpack by a user: refused, says who may, writes nothing" "rc=$rc $out" \
	bash -c '[ "$1" != 0 ] && grep -q "image: needs root" <<<"$2" && [ -z "$(ls -A "$3")" ]' _ "$rc" "$out" "$cache"

# Four at once (two package scripts, two starts): one unpacks, the
# others find it done.
for i in 1 2 3 4; do
	(rc=0; u image unpack ztiny >"$root/unpack$i.out" 2>&1 || rc=$?; echo "rc=$rc" >>"$root/unpack$i.out") &
done
wait
out=$(cat "$root"/unpack[1-4].out)
check "four image unpack at once: all succeed, one unpacks" "$(tr '\n' '|' <<<"$out")" \
	bash -c '[ "$(grep -c "^rc=0$" <<<"$1")" = 4 ] && [ "$(grep -c "unpacking" <<<"$1")" = 1 ] &&
		cmp -s "$2" "$3" && [ "$(ls -A "$(dirname "$2")")" = ztiny.ext4 ]' _ "$out" "$zimg" "$images/tiny.ext4"
rm -f "$root"/unpack[1-4].out

# Bad input: clear errors, nothing written.
for bad in '../x' 'a/b' '.hidden' 'nosuch' 'zbad'; do
	rc=0
	out=$(u image unpack "$bad" 2>&1) || rc=$?
	case $bad in
	nosuch) want="no $zdir/nosuch.ext4 nor $zdir/nosuch.ext4.zst" ;;
	zbad) want="$zdir/zbad.ext4.zst: zstd failed" ;;
	*) want="not an image name" ;;
	esac
	check "image unpack '$bad': refused, says why, leaves nothing" "rc=$rc $(tr '\n' '|' <<<"$out")" \
		bash -c '[ "$1" = 1 ] && grep -qF "$3" <<<"$2" && [ "$(ls -A "$4")" = ztiny.ext4 ]' \
		_ "$rc" "$out" "$want" "$cache"
done

# The package upgrade: its preinst keeps the unpacked image for the
# disks made on it, the new .zst comes with another mtime; the next
# start unpacks the new one, and zc1's disk boots on the kept copy.
out=$(u image keep "$zimg" 2>&1 || true)
check "image keep of the unpacked image before the upgrade" "$out" grep -q "kept as" <<<"$out"
old_mtime=$(stat -c %Y "$zimg")
touch -d '2026-02-03 04:05:06' "$zdir/ztiny.ext4.zst"
rc=0
out=$(u start zc1 2>&1) || rc=$?
out2=$(dx zc1 'cat /root/f')
check "after the upgrade: the new image unpacked, the disk boots on the kept copy with its file" \
	"rc=$rc $(tr '\n' '|' <<<"$out") / $out2" \
	bash -c '[ "$1" = 0 ] && grep -q "unpacking" <<<"$2" && grep -q "booting on the copy kept then, .*ztiny.ext4@$4" <<<"$2" &&
		[ "$3" = kept ] && [ "$(stat -c %Y "$5")" = "$(stat -c %Y "$6")" ]' \
	_ "$rc" "$out" "$out2" "$old_mtime" "$zimg" "$zdir/ztiny.ext4.zst"
u stop zc1 >/dev/null 2>&1
u destroy zc1 >/dev/null 2>&1
check "destroy of its last user removes the kept copy" "$(ls -A "$root/var/lib/uml-skas/.images" 2>&1 | tr '\n' ' ')" \
	bash -c '! ls -A "$1" 2>/dev/null | grep -q ztiny' _ "$root/var/lib/uml-skas/.images"

images=$saved_images
write_global
rm -rf "$zdir" "$cache"
