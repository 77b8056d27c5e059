# shellcheck shell=bash
# shellcheck disable=SC2154 # root, etc, ns, images: set by run, which sources this
# shellcheck disable=SC2016 # bash -c scripts take their values as $1, $2
# shellcheck disable=SC2012 # ls of folders whose names the suite chose
# initscripts/tests/disks.sh: snapshot, revert, clone and destroy
# --keep-disk (part of check-initscripts, sourced by run, whose check, u,
# as_id, root, etc and images it uses).  Real instances of the tiny and
# debian images; the state folder is the suite's tmpfs (copies keep their
# holes), and one instance's on an XFS file system in a loop file
# (reflinks).

state=$root/var/lib/uml-skas
# dx NAME CMD: one command in an instance by its agent, its output
# (waiting up to 100 s for the agent: a Debian guest may still boot).
dx() { u exec --timeout 100 "$1" -- "$2" 2>&1 || true; }

u create dk1 --net none >/dev/null
rc=0
out=$(u snapshot dk1 2>&1) || rc=$?
check "snapshot of an instance that never ran: refused, says why" "rc=$rc $out" \
	bash -c '[ "$1" = 1 ] && grep -q "dk1 has no disk yet" <<<"$2"' _ "$rc" "$out"
u start dk1 >/dev/null 2>&1
out=$(dx dk1 'echo first >/root/f; sync; cat /root/f')
check "dk1 writes a file" "$out" test "$out" = first
rc=0
out=$(u snapshot dk1 2>&1) || rc=$?
check "snapshot of a running instance: refused" "rc=$rc $out" \
	bash -c '[ "$1" = 1 ] && grep -q "dk1 is running: stop it first" <<<"$2" &&
		[ ! -e "$3/dk1/snapshots" ]' _ "$rc" "$out" "$state"
u stop dk1 >/dev/null 2>&1
rc=0
out=$(u snapshot dk1 s1 2>&1) || rc=$?
check "snapshot dk1 s1: a copy" "rc=$rc $out" \
	bash -c '[ "$1" = 0 ] && grep -q "dk1: snapshot s1 taken" <<<"$2"' _ "$rc" "$out"
check "the snapshot keeps the disk's holes (a few blocks, not the whole file)" \
	"$(du -k --apparent-size "$state/dk1/snapshots/s1.cow") vs $(du -k "$state/dk1/snapshots/s1.cow")" \
	bash -c '[ $(du -k "$1" | cut -f1) -lt $(($(du -k --apparent-size "$1" | cut -f1) / 8)) ] &&
		cmp -s "$1" "$2"' _ "$state/dk1/snapshots/s1.cow" "$state/dk1/disk/disk.cow"
check "snapshots are root's alone (folder 0700, file 0600)" \
	"$(stat -c '%U %a %n' "$state/dk1/snapshots" "$state/dk1/snapshots/s1.cow" | tr '\n' '|')" \
	test "$(stat -c '%U %a' "$state/dk1/snapshots" "$state/dk1/snapshots/s1.cow" | tr '\n' ' ')" = "root 700 root 600 "
dk1_id=$(cat "$state/dk1/id")
rc=0
as_id "$dk1_id" cat "$state/dk1/snapshots/s1.cow" >/dev/null 2>&1 || rc=$?
check "the instance's user cannot read its snapshots" "rc=$rc" test "$rc" != 0
rc=0
out=$(u snapshot dk1 s1 2>&1) || rc=$?
check "a second snapshot s1: refused, the first one kept" "rc=$rc $out" \
	bash -c '[ "$1" = 1 ] && grep -q "already has a snapshot s1" <<<"$2"' _ "$rc" "$out"
for bad in '../x' 'S1' '-x' 'a/b'; do
	rc=0
	out=$(u snapshot dk1 "$bad" 2>&1) || rc=$?
	check "snapshot name '$bad': refused (exit 2)" "rc=$rc $out" \
		bash -c '[ "$1" = 2 ] && ! ls "$3/dk1/snapshots" | grep -qv "^s1.cow$"' _ "$rc" "$out" "$state"
done
u start dk1 >/dev/null 2>&1
dx dk1 'echo second >/root/f; sync' >/dev/null
u stop dk1 >/dev/null 2>&1
u snapshot dk1 s2 >/dev/null 2>&1
u start dk1 >/dev/null 2>&1
dx dk1 'echo third >/root/f; sync' >/dev/null
u stop dk1 >/dev/null 2>&1
out=$(u snapshot --list dk1 2>&1 || true)
check "snapshot --list: s1 then s2, on the tiny image" "$(tr '\n' '|' <<<"$out")" \
	bash -c 'grep -q "^SNAPSHOT" <<<"$1" && [ "$(sed -n "2p;3p" <<<"$1" | cut -d" " -f1 | tr "\n" " ")" = "s1 s2 " ] &&
		! grep -q "cannot boot" <<<"$1" && grep -q "tiny.ext4$" <<<"$1"' _ "$out"
out=$(u snapshot --list -o json dk1 2>&1 || true)
check "snapshot --list -o json: valid JSON, both bootable" "$(tr '\n' ' ' <<<"$out")" \
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert [s["name"] for s in d]==["s1","s2"]; assert all(s["bootable"] and s["image"].endswith("tiny.ext4") and s["bytes"]>0 for s in d)' "$out"
rc=0
out=$(u revert dk1 2>&1) || rc=$?
check "revert: the newest snapshot (s2)" "rc=$rc $out" \
	bash -c '[ "$1" = 0 ] && grep -q "reverted to snapshot s2" <<<"$2"' _ "$rc" "$out"
u start dk1 >/dev/null 2>&1
out=$(dx dk1 'cat /root/f')
check "after revert: the file as it was at s2" "$out" test "$out" = second
u stop dk1 >/dev/null 2>&1
u revert dk1 s1 >/dev/null 2>&1
u start dk1 >/dev/null 2>&1
out=$(dx dk1 'cat /root/f')
check "revert dk1 s1: as it was at s1" "$out" test "$out" = first
rc=0
out=$(u revert dk1 s2 2>&1) || rc=$?
check "revert of a running instance: refused" "rc=$rc $out" \
	bash -c '[ "$1" = 1 ] && grep -q "dk1 is running" <<<"$2"' _ "$rc" "$out"
u stop dk1 >/dev/null 2>&1
check "after revert: the disk is the instance user's, 0600" \
	"$(stat -c '%u %a' "$state/dk1/disk/disk.cow")" \
	test "$(stat -c '%u %a' "$state/dk1/disk/disk.cow")" = "$dk1_id 600"
rc=0
out=$(u revert dk1 nosuch 2>&1) || rc=$?
check "revert to a snapshot that does not exist: refused" "rc=$rc $out" \
	bash -c '[ "$1" = 1 ] && grep -q "dk1 has no snapshot nosuch" <<<"$2"' _ "$rc" "$out"
out=$(u snapshot --delete dk1 s1 2>&1 || true)
check "snapshot --delete dk1 s1" "$out" \
	bash -c 'grep -q "snapshot s1 deleted" <<<"$1" && [ ! -e "$2/dk1/snapshots/s1.cow" ] &&
		[ -e "$2/dk1/snapshots/s2.cow" ]' _ "$out" "$state"

# A process of the instance's user that outlived the stop: killed before
# the copy (nothing may write the disk meanwhile).
as_id "$dk1_id" sleep 600 &
left_pid=$!
sleep 0.3
u snapshot dk1 s3 >/dev/null 2>&1 || true
sleep 0.3
check "snapshot: a process of the instance's user left after the stop is killed first" \
	"$(ps -o pid,user,args -p "$left_pid" | tail -n +2)" bash -c '! kill -0 "$1" 2>/dev/null' _ "$left_pid"
wait "$left_pid" 2>/dev/null || true
u snapshot --delete dk1 s3 >/dev/null 2>&1
# What an interrupted snapshot left is removed by the next one.
dd if=/dev/zero of="$state/dk1/snapshots/.s9.cow.new" bs=1M count=1 status=none
u snapshot dk1 s4 >/dev/null 2>&1 || true
check "an interrupted snapshot's leftover is removed by the next one" \
	"$(ls -A "$state/dk1/snapshots" | tr '\n' ' ')" test ! -e "$state/dk1/snapshots/.s9.cow.new"
u snapshot --delete dk1 s4 >/dev/null 2>&1
# No room for a copy: refused, nothing left (the host's last blocks are
# not root's copy's to take).
mv "$state/dk1/snapshots" "$state/dk1/snapshots.real"
mkdir -m 700 "$state/dk1/snapshots"
mount -t tmpfs -o size=2m,mode=700 uskdk "$state/dk1/snapshots"
rc=0
out=$(u snapshot dk1 s5 2>&1) || rc=$?
check "snapshot without room for the copy: refused, nothing left" \
	"rc=$rc $out / $(ls -A "$state/dk1/snapshots" | tr '\n' ' ')" \
	bash -c '[ "$1" = 1 ] && grep -q "No space left on device" <<<"$2" && [ -z "$(ls -A "$3")" ]' \
	_ "$rc" "$out" "$state/dk1/snapshots"
umount "$state/dk1/snapshots"
rmdir "$state/dk1/snapshots"
mv "$state/dk1/snapshots.real" "$state/dk1/snapshots"

# ---- the instance's user plants a link or a FIFO as its disk: root
# copies neither.
echo "root's secret" >"$root/secret"
chmod 600 "$root/secret"
for kind in symlink fifo; do
	as_id "$dk1_id" rm -f "$state/dk1/disk/disk.cow"
	if [ $kind = symlink ]; then
		as_id "$dk1_id" ln -s "$root/secret" "$state/dk1/disk/disk.cow"
	else
		as_id "$dk1_id" mkfifo "$state/dk1/disk/disk.cow"
	fi
	rc=0
	out=$(u snapshot dk1 "planted-$kind" 2>&1) || rc=$?
	check "a $kind planted as the disk: snapshot refuses, copies nothing" "rc=$rc $out" \
		bash -c '[ "$1" = 1 ] && grep -q "not a plain file of the instance.s user" <<<"$2" &&
			[ ! -e "$3/dk1/snapshots/planted-$4.cow" ] && ! grep -rqs "secret" "$3/dk1/snapshots"' \
		_ "$rc" "$out" "$state" "$kind"
	rc=0
	out=$(u clone dk1 "dkp-$kind" 2>&1) || rc=$?
	check "a $kind planted as the disk: clone refuses, leaves nothing" "rc=$rc $out" \
		bash -c '[ "$1" != 0 ] && [ ! -e "$2/dkp-$3" ] && [ ! -e "$4/instances/dkp-$3.conf" ]' \
		_ "$rc" "$state" "$kind" "$etc"
done
as_id "$dk1_id" rm -f "$state/dk1/disk/disk.cow"
u revert dk1 s2 >/dev/null 2>&1
check "a planted disk is replaced by revert, the secret untouched" \
	"$(stat -c '%F %u' "$state/dk1/disk/disk.cow")" \
	bash -c '[ "$(stat -c "%F %u" "$1")" = "regular file $2" ] && [ "$(cat "$3")" = "root'"'"'s secret" ]' \
	_ "$state/dk1/disk/disk.cow" "$dk1_id" "$root/secret"

# ---- clone
rc=0
out=$(u clone dk1 dk2 2>&1) || rc=$?
check "clone dk1 dk2: a copy of its disk" "rc=$rc $out" \
	bash -c '[ "$1" = 0 ] && grep -q "dk2: cloned from dk1" <<<"$2" && grep -q "a copy of the other" <<<"$2"' \
	_ "$rc" "$out"
dk2_id=$(cat "$state/dk2/id" 2>/dev/null || echo none)
check "the clone has a user of its own, which owns its disk" \
	"dk1 $dk1_id dk2 $dk2_id: $(stat -c '%u %a' "$state/dk2/disk" "$state/dk2/disk/disk.cow" | tr '\n' ' ')" \
	bash -c '[ "$1" != "$2" ] && [ "$(stat -c "%u %a" "$3/dk2/disk" "$3/dk2/disk/disk.cow" | tr "\n" " ")" = "$2 700 $2 600 " ]' \
	_ "$dk1_id" "$dk2_id" "$state"
u start dk2 >/dev/null 2>&1
out=$(dx dk2 'hostname; cat /root/f')
check "the clone boots dk1's files under its own name" "$(tr '\n' '|' <<<"$out")" \
	test "$(tr '\n' '|' <<<"$out")" = "dk2|second|"
check "the clone has an identity of its own" \
	"$(cat "$state/dk1/instance-id" "$state/dk2/instance-id" | tr '\n' ' ')" \
	bash -c '[ -s "$1" ] && [ -s "$2" ] && ! cmp -s "$1" "$2"' _ "$state/dk1/instance-id" "$state/dk2/instance-id"
rc=0
out=$(u clone dk2 dk3 2>&1) || rc=$?
check "clone of a running instance: refused, nothing made" "rc=$rc $out" \
	bash -c '[ "$1" = 1 ] && grep -q "dk2 is running" <<<"$2" && [ ! -e "$3/instances/dk3.conf" ]' \
	_ "$rc" "$out" "$etc"
u stop dk2 >/dev/null 2>&1
rc=0
out=$(u clone dk1 dk2 2>&1) || rc=$?
check "clone onto an existing instance: refused" "rc=$rc $out" \
	bash -c '[ "$1" = 1 ] && grep -q "dk2 exists" <<<"$2"' _ "$rc" "$out"
rc=0
out=$(u clone dk1 dk1 2>&1) || rc=$?
check "clone onto itself: usage error" "rc=$rc $out" test "$rc" = 2

# What two instances cannot share is left out, and said.
u create dkn >/dev/null
cat >>"$etc/instances/dkn.conf" <<'EOF'
address = 10.77.0.170
EOF
sed -i 's/^network = yes$/network = yes\nforward = tcp:8093:80\nlab = somelab/' "$etc/instances/dkn.conf"
rc=0
out=$(u clone dkn dknc 2>&1) || rc=$?
check "clone of a lab's node: refused, nothing made" "rc=$rc $out" \
	bash -c '[ "$1" = 1 ] && grep -q "dkn is a node of lab somelab" <<<"$2" &&
		[ ! -e "$3/instances/dknc.conf" ] && [ ! -e "$4/dknc" ]' _ "$rc" "$out" "$etc" "$state"
sed -i '/^lab = somelab$/d' "$etc/instances/dkn.conf"
rc=0
out=$(u clone dkn dknc 2>&1) || rc=$?
check "clone: fixed address and forward left out and said; MAC of its own" \
	"rc=$rc $(tr '\n' '|' <<<"$out") $(tr '\n' '|' <"$etc/instances/dknc.conf")" \
	bash -c '[ "$1" = 0 ] && grep -q "not cloned: forward = tcp:8093:80" <<<"$2" &&
		grep -q "not cloned: \[net0\] address = 10.77.0.170" <<<"$2" &&
		grep -q "no disk yet" <<<"$2" &&
		! grep -qE "^(forward|address|lab) " "$3/instances/dknc.conf" &&
		[ "$(grep "^mac" "$3/instances/dknc.conf")" != "$(grep "^mac" "$3/instances/dkn.conf")" ] &&
		grep -qx "autostart = no" "$3/instances/dknc.conf"' _ "$rc" "$out" "$etc"
u destroy dkn dknc >/dev/null 2>&1

# ---- destroy --keep-disk
rc=0
out=$(u destroy --keep-disk dk2 2>&1) || rc=$?
check "destroy --keep-disk dk2: the file goes, the disk and its user stay" \
	"rc=$rc $out / $(ls "$state/dk2" | tr '\n' ' ')" \
	bash -c '[ "$1" = 0 ] && [ ! -e "$3/instances/dk2.conf" ] &&
		[ "$(ls "$4/dk2" | tr "\n" " ")" = "cloned disk id instance-id " ] && grep -q "its disk kept" <<<"$2"' \
	_ "$rc" "$out" "$etc" "$state"
rc=0
out=$(u create dk2 --net none 2>&1) || rc=$?
check "create dk2 again without --reuse-disk: refused, says what to do" "rc=$rc $out" \
	bash -c '[ "$1" = 1 ] && grep -q "a disk kept by destroy --keep-disk is in .*create --reuse-disk dk2 boots it" <<<"$2" &&
		[ ! -e "$3/instances/dk2.conf" ]' _ "$rc" "$out" "$etc"
# A lab's node LAB-NODE is an instance like any other: no kept disk of
# that name is booted by lab up either.
u create dkl-n1 --net none >/dev/null
u start dkl-n1 >/dev/null 2>&1
u stop dkl-n1 >/dev/null 2>&1
u destroy --keep-disk dkl-n1 >/dev/null 2>&1
mkdir -p "$root/labs-dk/dkl"
printf 'n1[0]=A\n' >"$root/labs-dk/dkl/lab.conf"
rc=0
out=$(u lab up "$root/labs-dk/dkl" 2>&1) || rc=$?
check "lab up with a node whose instance name has a kept disk: refused, nothing made" "rc=$rc $out" \
	bash -c '[ "$1" != 0 ] && grep -q "dkl-n1 holds a disk kept by destroy --keep-disk" <<<"$2" &&
		[ -e "$3/dkl-n1/disk/disk.cow" ] && [ ! -e "$4/instances/dkl-n1.conf" ]' _ "$rc" "$out" "$state" "$etc"
u lab down "$root/labs-dk/dkl" >/dev/null 2>&1 || true
u destroy dkl-n1 >/dev/null 2>&1
rm -rf "$root/labs-dk"
out=$(u create dk2 --net none --reuse-disk 2>&1 || true)
check "create --reuse-disk dk2: it boots the kept disk" "$out" grep -q "boots the disk kept in" <<<"$out"
u start dk2 >/dev/null 2>&1
out=$(dx dk2 'cat /root/f')
check "the kept disk's files are there" "$out" test "$out" = second
u destroy dk2 >/dev/null 2>&1
check "destroy without --keep-disk removes the kept disk" "$(ls "$state" | tr '\n' ' ')" \
	test ! -e "$state/dk2"

# ---- an image that changed under the disk
cp "$images/tiny.ext4" "$root/dk-img.ext4"
u create dk4 --net none --image "$root/dk-img.ext4" >/dev/null
u start dk4 >/dev/null 2>&1
u stop dk4 >/dev/null 2>&1
u snapshot dk4 before >/dev/null 2>&1
touch -d '+1 min' "$root/dk-img.ext4"
out=$(u snapshot --list dk4 2>&1 || true)
check "snapshot --list: a snapshot made on an image that changed since cannot boot" \
	"$(tr '\n' '|' <<<"$out")" grep -q "before .*(cannot boot: it was made on .*dk-img.ext4 as it was at" <<<"$out"
rc=0
out=$(u revert dk4 before 2>&1) || rc=$?
check "revert to it: refused, says why" "rc=$rc $out" \
	bash -c '[ "$1" = 1 ] && grep -q "snapshot before cannot boot on the image" <<<"$2"' _ "$rc" "$out"
rc=0
out=$(u start dk4 2>&1) || rc=$?
check "start on the changed image: refused before UML, says why and what to do" "rc=$rc $out" \
	bash -c '[ "$1" = 1 ] && grep -q "its disk cannot boot on .*that image has changed since" <<<"$2" &&
		grep -q "Put that image back" <<<"$2" && ! pgrep -f "umid=[d]k4 " >/dev/null' _ "$rc" "$out"
u destroy dk4 >/dev/null 2>&1
rm -f "$root/dk-img.ext4"

# ---- an image replaced under its disks, as a package upgrade does: kept
# first (the packages run image keep), then the disks boot on the copy.
# dk6's image is on another file system than the state (a copy with the
# image's mtime), dk7's on the same one (a hard link).
imgdir=$(mktemp -d /tmp/uml-skas-test-img.XXXXXX)
chmod 755 "$imgdir"
cp "$images/tiny.ext4" "$imgdir/tiny6.ext4"
cp "$images/tiny.ext4" "$root/tiny7.ext4"
chmod 644 "$imgdir/tiny6.ext4" "$root/tiny7.ext4"
u create dk6 --net none --image "$imgdir/tiny6.ext4" >/dev/null
u create dk7 --net none --image "$root/tiny7.ext4" >/dev/null
u start dk6 >/dev/null 2>&1
u start dk7 >/dev/null 2>&1
dx dk6 'echo six >/root/f; sync' >/dev/null
u stop dk6 dk7 >/dev/null 2>&1
mtime6=$(stat -c %Y "$imgdir/tiny6.ext4")
out=$(u image keep "$imgdir/tiny6.ext4" "$root/tiny7.ext4" "$images/debian.ext4" 2>&1 || true)
check "image keep: each image a disk was made on is kept, the others not" "$(tr '\n' '|' <<<"$out")" \
	bash -c 'grep -q "tiny6.ext4: kept as $2/.images/tiny6.ext4@$3 for the disks made on it (1)" <<<"$1" &&
		grep -q "debian.ext4: no disk was made on it as it is: not kept" <<<"$1" &&
		[ ! -e "$2/.images/debian.ext4@$(stat -c %Y "$4/debian.ext4")" ]' _ "$out" "$state" "$mtime6" "$images"
check "the kept copy: the image's bytes and mtime, root's, readable by all; a hard link on one file system" \
	"$(stat -c '%n %s %Y %U %a %h' "$state/.images/"* | tr '\n' '|')" \
	bash -c 'cmp -s "$1/.images/tiny6.ext4@$2" "$3/tiny6.ext4" &&
		[ "$(stat -c "%Y %U %a" "$1/.images/tiny6.ext4@$2")" = "$2 root 644" ] &&
		[ "$(stat -c %i "$1/.images/tiny7.ext4@$(stat -c %Y "$4/tiny7.ext4")")" = "$(stat -c %i "$4/tiny7.ext4")" ]' \
	_ "$state" "$mtime6" "$imgdir" "$root"
out=$(u image keep "$imgdir/tiny6.ext4" 2>&1 || true)
check "image keep again: kept already" "$out" grep -q "kept already" <<<"$out"
u snapshot dk6 pre >/dev/null 2>&1
# The upgrade: a new file renamed over the old one, with another mtime.
cp "$images/tiny.ext4" "$imgdir/tiny6.ext4.new"
touch -d '+2 min' "$imgdir/tiny6.ext4.new"
mv "$imgdir/tiny6.ext4.new" "$imgdir/tiny6.ext4"
rc=0
out=$(u start dk6 2>&1) || rc=$?
check "after the image changed: start boots the disk on the kept copy, says so" "rc=$rc $(tr '\n' '|' <<<"$out")" \
	bash -c '[ "$1" = 0 ] && grep -q "booting on the copy kept then, $3/.images/tiny6.ext4@$4" <<<"$2"' \
	_ "$rc" "$out" "$state" "$mtime6"
out=$(dx dk6 'cat /root/f; echo seven >/root/f; sync')
check "the disk's files are there" "$out" test "$out" = six
u stop dk6 >/dev/null 2>&1
out=$(u snapshot --list dk6 2>&1 || true)
check "a snapshot made on the old image boots on its kept copy: listed bootable" "$(tr '\n' '|' <<<"$out")" \
	bash -c 'grep -q "^pre " <<<"$1" && ! grep -q "cannot boot" <<<"$1"' _ "$out"
rc=0
out=$(u revert dk6 pre 2>&1) || rc=$?
u start dk6 >/dev/null 2>&1
out2=$(dx dk6 'cat /root/f')
check "revert to it, then start: on the kept copy, the file as it was" "rc=$rc $out / $out2" \
	bash -c '[ "$1" = 0 ] && [ "$2" = six ]' _ "$rc" "$out2"
u stop dk6 >/dev/null 2>&1
out=$(u start dk6 2>&1 || true)
check "the next start too (UML now names the copy in the disk)" "$(tr '\n' '|' <<<"$out")" \
	grep -q "booting on the copy kept then" <<<"$out"
u stop dk6 >/dev/null 2>&1
out=$(u image list 2>&1 || true)
check "image list: the kept copies, each with its users (dk6's disk and snapshot, dk7's disk)" "$(tr '\n' '|' <<<"$out")" \
	bash -c 'grep -q "tiny6.ext4@$2 .* 2 disks or snapshots made on it" <<<"$1" &&
		grep -q "tiny7.ext4@[0-9]* .* 1 disk or snapshot made on it" <<<"$1"' _ "$out" "$mtime6"
out=$(u destroy dk6 2>&1 || true)
check "destroy of its last user removes the kept copy" "$(tr '\n' '|' <<<"$out")" \
	bash -c 'grep -q "tiny6.ext4@$2: removed (no disk is made on it any more)" <<<"$1" &&
		[ ! -e "$3/.images/tiny6.ext4@$2" ] && ls "$3/.images" | grep -q "^tiny7.ext4@"' _ "$out" "$mtime6" "$state"
u destroy dk7 >/dev/null 2>&1
check "and of dk7's" "$(ls -A "$state/.images" | tr '\n' ' ')" test -z "$(ls -A "$state/.images")"
# Package scripts of two image packages, or two administrators, keeping
# one image at once (a copy: the image is not root's): each succeeds,
# one copy is made, no staging file is left (the images lock).
cp "$images/tiny.ext4" "$imgdir/tiny8.ext4"
chown 65534 "$imgdir/tiny8.ext4"
chmod 644 "$imgdir/tiny8.ext4"
u create dk8 --net none --image "$imgdir/tiny8.ext4" >/dev/null
u start dk8 >/dev/null 2>&1
u stop dk8 >/dev/null 2>&1
for i in 1 2 3 4; do
	(rc=0; u image keep "$imgdir/tiny8.ext4" >"$root/keep$i.out" 2>&1 || rc=$?; echo "rc=$rc" >>"$root/keep$i.out") &
done
wait
out=$(cat "$root"/keep[1-4].out)
check "four image keep at once: all succeed, one copy made, the others find it kept" "$(tr '\n' '|' <<<"$out")" \
	bash -c '[ "$(grep -c "^rc=0$" <<<"$1")" = 4 ] && [ "$(grep -c "kept as" <<<"$1")" = 1 ] &&
		[ "$(grep -c "kept already" <<<"$1")" = 3 ] &&
		[ "$(ls -A "$2/.images" | grep -c "^tiny8.ext4@")" = 1 ] && ! ls -A "$2/.images" | grep -q "\.new$"' \
	_ "$out" "$state"
u destroy dk8 >/dev/null 2>&1
rm -f "$root"/keep[1-4].out
check "destroy of dk8 removes its copy" "$(ls -A "$state/.images" | tr '\n' ' ')" test -z "$(ls -A "$state/.images")"
rm -rf "$imgdir" "$root/tiny7.ext4"

# ---- reflinks: dk5's state folder on XFS
xfs=$root/dk-xfs.img
truncate -s 320M "$xfs"
if mkfs.xfs -q -m reflink=1 "$xfs" && mkdir -p "$state/dk5" && mount -o loop "$xfs" "$state/dk5"; then
	u create dk5 --net none >/dev/null
	u start dk5 >/dev/null 2>&1
	dx dk5 'echo on-xfs >/root/f; sync' >/dev/null
	u stop dk5 >/dev/null 2>&1
	out=$(u snapshot dk5 x1 2>&1 || true)
	check "snapshot on XFS: a reflink, its blocks shared with the disk" \
		"$out / $(filefrag -v "$state/dk5/snapshots/x1.cow" 2>&1 | grep -c shared) shared extents" \
		bash -c 'grep -q "snapshot x1 taken (a reflink" <<<"$1" &&
			filefrag -v "$2" | grep -q shared' _ "$out" "$state/dk5/snapshots/x1.cow"
	u start dk5 >/dev/null 2>&1
	dx dk5 'echo changed >/root/f; sync' >/dev/null
	u stop dk5 >/dev/null 2>&1
	out=$(u revert dk5 2>&1 || true)
	u start dk5 >/dev/null 2>&1
	out2=$(dx dk5 'cat /root/f')
	check "revert on XFS: a reflink, the file back" "$out / $out2" \
		bash -c 'grep -q "reverted to snapshot x1 (a reflink)" <<<"$1" && [ "$2" = on-xfs ]' _ "$out" "$out2"
	u stop dk5 >/dev/null 2>&1
	umount "$state/dk5"
else
	not_ok "an XFS file system in a loop file for the reflink tests" "mkfs.xfs or mount failed"
fi
rm -f "$xfs"
u destroy dk5 >/dev/null 2>&1

# ---- the Debian image: a clone makes itself a new machine id and host keys
# ids NAME: its machine id and SSH host key (made at its first boot by a
# unit that may still run when the agent answers).
ids() {
	dx "$1" 'for i in $(seq 150); do [ -s /etc/ssh/ssh_host_ed25519_key.pub ] && break; sleep 0.2; done
		cat /etc/machine-id /etc/ssh/ssh_host_ed25519_key.pub'
}
u create dkd1 --net none --image debian >/dev/null
u start dkd1 >/dev/null 2>&1
id1=$(ids dkd1)
# As a disk made before identities: it knows none (and is cloned so).
dx dkd1 'rm /var/lib/uml-skas/instance-id; sync' >/dev/null
u stop dkd1 >/dev/null 2>&1
u clone dkd1 dkd2 >/dev/null 2>&1
u start dkd1 >/dev/null 2>&1
u start dkd2 >/dev/null 2>&1
id1b=$(ids dkd1)
id2=$(ids dkd2)
check "debian: the instance keeps its machine id and host key across boots" "$id1 / $id1b" \
	bash -c '[ -n "$1" ] && [ "$1" = "$2" ] && grep -qE "^[0-9a-f]{32}$" <<<"$1"' _ "$id1" "$id1b"
check "debian: the clone has a machine id and a host key of its own" "$id1 / $id2" \
	bash -c 'grep -qE "^[0-9a-f]{32}$" <<<"$2" && grep -q "^ssh-ed25519 " <<<"$2" &&
		[ "$(head -1 <<<"$1")" != "$(head -1 <<<"$2")" ] && [ "$(tail -1 <<<"$1")" != "$(tail -1 <<<"$2")" ]' \
	_ "$id1" "$id2"
check "debian: the clone says so on its console" "$(grep -c 'a clone' "$state/dkd2/console.log")" \
	grep -q "this disk was another instance's (a clone)" "$state/dkd2/console.log"
u destroy dkd1 dkd2 >/dev/null 2>&1

# At most 256 snapshots (the list and revert read that many).
for i in $(seq 2 256); do
	u snapshot dk1 "c$i" >/dev/null 2>&1 || break
done
rc=0
out=$(u snapshot dk1 one-more 2>&1) || rc=$?
check "the 257th snapshot: refused, says why" "rc=$rc $out $(ls "$state/dk1/snapshots" | wc -l)" \
	bash -c '[ "$1" = 1 ] && grep -q "has 256 snapshots, as many as it may have" <<<"$2" &&
		[ "$(ls "$3" | wc -l)" = 256 ]' _ "$rc" "$out" "$state/dk1/snapshots"
out=$(u revert dk1 2>&1 || true)
check "revert takes the newest of 256" "$out" grep -q "reverted to snapshot c256" <<<"$out"
u destroy dk1 >/dev/null 2>&1
check "disks: nothing left of the instances" "$(ls "$state" | tr '\n' ' ')" \
	bash -c '! ls "$1" | grep -q "^dk"' _ "$state"
