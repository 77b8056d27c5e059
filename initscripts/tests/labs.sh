# shellcheck shell=bash
# shellcheck disable=SC2154 # root, etc, ns: set by run, which sources this
# shellcheck disable=SC2016 # bash -c scripts take their values as $1, $2
# initscripts/tests/labs.sh: the lab part of check-initscripts (sourced by
# run, whose check, u, inns, root, etc and ns it uses).  Labs written
# here, owned by a user who is not root (uid 4242, no passwd entry), run
# as Kathará would run them: lab.conf, NODE/, NODE.startup, shared/.
# The default network is up (tiny1 and tiny2 on it).

labs=$root/labs
owner=4242
mkdir -p "$labs"
# lx DIR NODE CMD: one command in a node, its output (stdout and stderr).
# Its status is not the test's: the output is.
lx() { u lab exec "$1" "$2" -- "$3" 2>&1 || true; }

# ---- umlctl exec on any instance of the tiny image
out=$(u exec tiny1 -- 'hostname; echo "$0"' 2>&1 || true)
check "exec: a command in tiny1 by its agent" "$(tr '\n' '|' <<<"$out")" test "$(tr '\n' '|' <<<"$out")" = "tiny1|sh|"
rc=0
out=$(u exec tiny3 -- true 2>&1) || rc=$?
check "exec in an instance that is not running: exit 7" "rc=$rc $out" \
	bash -c '[ "$1" = 7 ] && grep -q "tiny3: not running" <<<"$2"' _ "$rc" "$out"
rc=0
out=$(u exec tiny1 2>&1) || rc=$?
check "exec without a command: usage error" "rc=$rc $out" test "$rc" = 2
check "completion: lab verbs, exec names" "$(comp lab '') / $(comp exec tiny)" \
	test "$(comp lab '') / $(comp exec tiny)" = "up down status exec console / tiny1 tiny2 tiny3"

# ---- a TAP name that a device of another owner has: not taken, not deleted
printf '[instance]\n' >"$etc/instances/tapx.conf"
inns ip tuntap add dev us-tapx-0 mode tap user 0
rc=0
out=$(u start tapx 2>&1) || rc=$?
check "start: a device with the instance's TAP name, not its own, is neither taken nor deleted" \
	"rc=$rc $(tr '\n' '|' <<<"$out")" \
	bash -c '[ "$1" != 0 ] && grep -q "a device us-tapx-0 exists and is not this instance.s TAP" <<<"$2" &&
		ip netns exec "$3" ip link show us-tapx-0 >/dev/null' _ "$rc" "$out" "$ns"
inns ip link del us-tapx-0
u destroy tapx >/dev/null 2>&1

# ---- malformed lab.conf: every bad line named with file and line, nothing made
bad=$labs/bad
mkdir -p "$bad"
cat >"$bad/lab.conf" <<'EOF'
pc1[0]=A
this is no lab line
PC2[0]=A
pc3[12]=A
pc4[0]="A/zz:zz"
averyveryverylongnodenamexxxxx[0]=A
pc5[color]=blue
EOF
chown -R "$owner:$owner" "$labs"
rc=0
out=$(u lab up "$bad" 2>&1) || rc=$?
verdict=bad
[ "$rc" = 6 ] && grep -q "bad/lab.conf:2: syntax error" <<<"$out" &&
	grep -q "bad/lab.conf:3: node name 'PC2'" <<<"$out" &&
	grep -q "bad/lab.conf:4: pc3\[12\]: interface numbers are 0 to 7" <<<"$out" &&
	grep -q "bad/lab.conf:5: pc4\[0\]: 'zz:zz' is not a MAC address" <<<"$out" &&
	grep -q "bad/lab.conf:6: node 'averyvery.*breaks the name rule" <<<"$out" &&
	grep -q "bad/lab.conf:7: warning: pc5\[color\]: not supported, ignored" <<<"$out" &&
	! compgen -G "$etc/instances/bad-*" >/dev/null && [ ! -e "$root/var/lib/uml-skas/.labs/bad" ] &&
	verdict=good
check "lab up: malformed lab.conf lines named with file and line, exit 6, nothing made" \
	"rc=$rc $(tr '\n' '|' <<<"$out")" test "$verdict" = good
printf 'pc1[0]=A\npc2[0]=a\n' >"$bad/lab.conf"
rc=0
out=$(u lab up "$bad" 2>&1) || rc=$?
check "lab up: collision domains A and a (one network name) refused" "rc=$rc $(tr '\n' '|' <<<"$out")" \
	bash -c '[ "$1" = 6 ] && grep -q "collision domains .A. and .a. are one network (bad-a)" <<<"$2"' _ "$rc" "$out"
# A node may not take another instance's MAC (NODE[N]="DOMAIN/MAC") or
# its TAP names (a node name chosen for its hash: tclab-n2119396 hashes
# as tclab-n1264280, found by a birthday search): start would refuse both
# files, the other user's too.  Nothing is written.
mac1=$(u status tiny1 | awk '$1 == "net0" { print toupper($2) }')
printf 'pc1[0]="A/%s"\n' "$mac1" >"$bad/lab.conf"
rc=0
out=$(u lab up "$bad" 2>&1) || rc=$?
# shellcheck disable=SC2016 # expanded by the inner bash
check "lab up: a node with tiny1's MAC ($mac1, in capitals) refused, nothing made" "rc=$rc $(tr '\n' '|' <<<"$out")" \
	bash -c '[ "$1" = 6 ] && [ -n "$5" ] && grep -qi "lab bad: node pc1: the MAC $5 of its eth0 is instance tiny1.s" <<<"$2" &&
		! compgen -G "$3/instances/bad-*" >/dev/null && [ ! -e "$4/var/lib/uml-skas/.labs/bad" ]' \
	_ "$rc" "$out" "$etc" "$root" "$mac1"
u create tclab-n1264280 --net none >/dev/null 2>&1 || true
printf 'n2119396[0]=A\n' >"$bad/lab.conf"
rc=0
out=$(u lab up --name tclab "$bad" 2>&1) || rc=$?
# shellcheck disable=SC2016 # expanded by the inner bash
check "lab up: a node whose TAP names are another instance's (tclab-n1264280's) refused, nothing made" \
	"rc=$rc $(tr '\n' '|' <<<"$out")" \
	bash -c '[ "$1" = 6 ] && grep -q "lab tclab: node n2119396: its TAP names uh-71f98b7531-N are those of instance tclab-n1264280" <<<"$2" &&
		[ ! -e "$3/instances/tclab-n2119396.conf" ] && [ -e "$3/instances/tclab-n1264280.conf" ]' \
	_ "$rc" "$out" "$etc"
u destroy tclab-n1264280 >/dev/null 2>&1 || true
# lab_up_refused LAB WHAT PATTERN [PATH...]: lab up of $bad as LAB exits
# 6 with a line matching PATTERN, and none of the PATHs is made.
lab_up_refused() {
	local lab=$1 what=$2 pattern=$3 rc=0 out
	shift 3
	out=$(u lab up --name "$lab" "$bad" 2>&1) || rc=$?
	# shellcheck disable=SC2016 # expanded by the inner bash
	check "lab up: $what refused, nothing made" "rc=$rc $(tr '\n' '|' <<<"$out")" \
		bash -c '[ "$1" = 6 ] && grep -q -- "$2" <<<"$3" || exit 1
			shift 3; for p; do [ ! -e "$p" ] || exit 1; done' _ "$rc" "$pattern" "$out" "$@"
}
# The same with a file that does not load (yet): its TAP names follow
# from its name.
printf '[instance]\nthis line is not ini\n' >"$etc/instances/tclab-n1264280.conf"
lab_up_refused tclab "a node whose TAP names are those of an instance file that does not load" \
	"lab tclab: node n2119396: its TAP names uh-71f98b7531-N are those of instance tclab-n1264280" \
	"$etc/instances/tclab-n2119396.conf"
rm -f "$etc/instances/tclab-n1264280.conf"
# A collision domain's network LAB-DOMAIN, when long, gets the bridge
# ush-HASH (44 bits): bclab-d3332333 and bclab-d5917025 both hash to
# ush-952e7105f3d (a birthday search).  check would refuse both networks.
mkdir -p "$etc/networks"
printf 'n1[0]=d3332333\n' >"$bad/lab.conf"
for kind in "a network" "a network file that does not load (yet)"; do
	if [ "$kind" = "a network" ]; then
		printf '[network]\naddress = none\n' >"$etc/networks/bclab-d5917025.conf"
	else
		printf '[network]\nthis line is not ini\n' >"$etc/networks/bclab-d5917025.conf"
	fi
	lab_up_refused bclab "a collision domain whose bridge is that of $kind" \
		"lab bclab: collision domain d3332333: its bridge ush-952e7105f3d is network bclab-d5917025.s" \
		"$etc/networks/bclab-d3332333.conf" "$etc/instances/bclab-n1.conf"
done
rm -f "$etc/networks/bclab-d5917025.conf"
printf 'n1[0]=d3332333\nn1[1]=d5917025\n' >"$bad/lab.conf"
lab_up_refused bclab "two collision domains of one lab on one bridge" \
	"collision domains d3332333 and d5917025 would share the bridge ush-952e7105f3d" \
	"$etc/networks/bclab-d3332333.conf" "$etc/instances/bclab-n1.conf"
# The lab is read as its owner: a file the owner may not read stops it.
printf 'pc1[0]=A\n' >"$bad/lab.conf"
mkdir -p "$bad/pc1/etc"
echo "ROOT-ONLY" >"$bad/pc1/etc/rootonly"
chmod 600 "$bad/pc1/etc/rootonly"
rc=0
out=$(u lab up "$bad" 2>&1) || rc=$?
check "lab up: the folder is read as its owner (a root-only file in it: refused, nothing made)" \
	"rc=$rc $(tr '\n' '|' <<<"$out")" \
	bash -c '[ "$1" != 0 ] && grep -q "pc1/etc/rootonly: Permission denied" <<<"$2" &&
		[ ! -e "$3/etc/uml-skas/instances/bad-pc1.conf" ]' _ "$rc" "$out" "$root"
# A folder whose path would put lines into the files lab up writes.
nl=$labs/$(printf 'x\n[instance]\nssh_key = /etc/shadow\n#')
mkdir -p "$nl"
cp "$bad/lab.conf" "$nl/lab.conf"
ln -s "$nl" "$labs/nllink"
chown -R "$owner:$owner" "$labs"
rc=0
out=$(u lab up --name nl "$labs/nllink" 2>&1) || rc=$?
check "lab up: a folder whose path has a newline refused, nothing written" "rc=$rc $(tr '\n' '|' <<<"$out")" \
	bash -c '[ "$1" = 6 ] && grep -q "control characters" <<<"$2" && [ ! -e "$3/instances/nl-pc1.conf" ]' \
	_ "$rc" "$out" "$etc"
rm -rf "$nl" "$labs/nllink"
printf 'pc1[0]=A\npc1[mem]=64g\n' >"$bad/lab.conf"
rc=0
out=$(u lab up "$bad" 2>&1) || rc=$?
check "lab up: more memory than a node may have refused" "rc=$rc $out" \
	bash -c '[ "$1" = 6 ] && grep -q "pc1\[mem\]: 64g is more than a lab node may have" <<<"$2"' _ "$rc" "$out"
# Each node within its 64 MiB, all five together over the lab's 256 MiB.
printf 'pc%d[0]=A\n' 1 2 3 4 5 >"$bad/lab.conf"
for i in 1 2 3 4 5; do
	mkdir -p "$bad/pc$i/srv"
	truncate -s 60M "$bad/pc$i/srv/big"
done
chown -R "$owner:$owner" "$bad"
rc=0
out=$(u lab up "$bad" 2>&1) || rc=$?
check "lab up: files over 256 MiB for all nodes together refused, nothing made" \
	"rc=$rc $(tr '\n' '|' <<<"$out")" \
	bash -c '[ "$1" != 0 ] && grep -q "pc5/srv/big: the lab.s files, all nodes together, are larger than 256 MiB" <<<"$2" &&
		! compgen -G "$3/instances/bad-*" >/dev/null && ! compgen -G "$4/.labs/bad*" >/dev/null' \
	_ "$rc" "$out" "$etc" "$root/var/lib/uml-skas"
rm -rf "$bad"/pc[1-5]
printf 'pc1[0]=A\n' >"$bad/lab.conf"
chmod 1777 "$bad"
rc=0
out=$(u lab up "$bad" 2>&1) || rc=$?
check "lab up: a folder everyone may write to (like /tmp) refused" "rc=$rc $out" \
	bash -c '[ "$1" = 6 ] && grep -q "everyone may write to the folder" <<<"$2"' _ "$rc" "$out"
rm -rf "$bad"

# ---- shared/ where STATE/.shared cannot be a file system of its own
# (umlctl runs under ip netns exec, in a mount namespace of its own, and
# nothing is mounted there yet): copied into each node, and said so
cp1=$labs/copied
mkdir -p "$cp1/shared"
printf 'pc1[0]=A\n' >"$cp1/lab.conf"
echo "copied-note" >"$cp1/shared/n"
chown -R "$owner:$owner" "$cp1"
rc=0
out=$(u lab up "$cp1" 2>&1) || rc=$?
out2=$(lx "$cp1" pc1 'cat /shared/n; grep -c " /shared hostfs " /proc/mounts')
check "lab up without a file system for STATE/.shared: shared/ copied into each node, and said so" \
	"rc=$rc $(tr '\n' '|' <<<"$out") / $(tr '\n' '|' <<<"$out2")" \
	bash -c '[ "$1" = 0 ] && grep -q "shared/ is copied into each node, not shared live (umlctl runs in a mount namespace of its own" <<<"$2" &&
		[ "$(tr "\n" " " <<<"$3")" = "copied-note 0 " ]' _ "$rc" "$out" "$out2"
u lab down "$cp1" >/dev/null 2>&1 || true
rm -rf "$cp1"
# From here on, as an administrator would (or umlctl itself, in the host's
# mount namespace): a small tmpfs, so that filling it is quick.
shared_fs=$root/var/lib/uml-skas/.shared
mkdir -p "$shared_fs"
mount -t tmpfs -o size=24m,mode=0711,nosuid,nodev,noexec uml-skas-test-shared "$shared_fs"

# ---- two hosts on one domain (pc3: links that point out of the lab);
# pc2 also bridged to the default network
two=$labs/twohosts
mkdir -p "$two/pc1/etc" "$two/shared"
cat >"$two/lab.conf" <<'EOF'
# two hosts on one collision domain
LAB_DESCRIPTION="two hosts on one domain"
LAB_AUTHOR="uml-skas tests"
pc1[0]="A"
pc2[0]=A
pc2[bridged]=true
pc2[mem]=96m
pc3[0]=A
pc3[foo]=bar
EOF
# pc3: an image named by its file (a copy of the tiny image's, so that
# it cannot be the default's), and two vCPUs (the host has two CPUs).
mkdir -p "$labs/img"
cp --sparse=always "$images/tiny.ext4" "$labs/img/node.ext4"
chmod 644 "$labs/img/node.ext4"
printf 'pc3[image]=%s\npc3[cpus]=2\n' "$labs/img/node.ext4" >>"$two/lab.conf"
echo 'ip addr add 10.0.0.1/24 dev eth0; echo node >>/tmp/order' >"$two/pc1.startup"
echo 'ip addr add 10.0.0.2/24 dev eth0' >"$two/pc2.startup"
echo 'echo shared >>/tmp/order' >"$two/shared.startup"
echo "lab-file" >"$two/pc1/etc/labfile"
# Modes as root's tools may read them: no write for others, no set-id.
mkdir -p "$two/pc1/wdir" "$two/pc1/many"
chmod 1777 "$two/pc1/wdir"
printf '#!/bin/sh\n' >"$two/pc1/suid"
chmod 4777 "$two/pc1/suid"
# Many small files: the metadata disk has inodes for them all.
(cd "$two/pc1/many" && seq 3000 | xargs touch)
echo "shared-file" >"$two/shared/note"
# What no node may get: a root-only host file, reached through links.
echo "HOST-SECRET-$$" >"$root/hostsecret"
chmod 600 "$root/hostsecret"
printf 'cat %s >/tmp/leak\n' "$root/hostsecret" >"$root/hostsecret.sh"
mkdir -p "$two/pc3"
ln -s "$root/hostsecret" "$two/pc3/secret"
ln -s "$root" "$two/pc3/hostdir"
ln -s "$root/hostsecret.sh" "$two/pc3.startup"
chown -R "$owner:$owner" "$labs"
rc=0
out=$(u lab up "$two" 2>&1) || rc=$?
check "lab up twohosts (3 nodes, one domain, pc2 bridged)" "rc=$rc $(tr '\n' '|' <<<"$out")" \
	bash -c '[ "$1" = 0 ] && grep -q "lab.conf:9: warning: pc3\[foo\]: not supported, ignored" <<<"$2" &&
		grep -q "pc3.startup: warning: a link: not followed, left out" <<<"$2"' _ "$rc" "$out"
out=$(lx "$two" pc1 'hostname; ls /sys/class/net | tr "\n" " "')
check "a node is called as the lab calls it, its interface is eth0" "$(tr '\n' '|' <<<"$out")" \
	bash -c 'grep -qx pc1 <<<"$1" && grep -q "eth0" <<<"$1" && ! grep -q vec0 <<<"$1"' _ "$out"
out=$(lx "$two" pc1 'ping -c 2 -W 3 10.0.0.2 >/dev/null && echo reached')
check "pc1 reaches pc2 on domain A" "$out" test "$out" = reached
out=$(lx "$two" pc1 'cat /etc/labfile /shared/note; stat -c %u /etc/labfile; cat /tmp/order | tr "\n" " "')
out2=$(lx "$two" pc1 'stat -c %a /wdir /suid; ls /many | wc -l')
check "NODE/ modes without others' write or set-id bits (1777 -> 755, 4777 -> 755); 3000 small files there" \
	"$(tr '\n' '|' <<<"$out2")" test "$(tr '\n' ' ' <<<"$out2")" = "755 755 3000 "
check "NODE/ copied over the root (root's), shared/ at /shared, shared.startup before pc1.startup" \
	"$(tr '\n' '|' <<<"$out")" \
	test "$(tr '\n' '|' <<<"$out")" = "lab-file|shared-file|0|shared node |"
out=$(lx "$two" pc3 'cat /secret 2>&1; readlink /secret; ls /hostdir 2>&1; cat /tmp/leak 2>&1')
check "links out of the lab are not followed (a link in NODE/ stays a link, a linked startup is left out)" \
	"$(tr '\n' '|' <<<"$out")" \
	bash -c '! grep -q "HOST-SECRET" <<<"$1" && grep -qx "$2/hostsecret" <<<"$1" &&
		grep -q "/tmp/leak.: No such file" <<<"$1"' _ "$out" "$root"

# ---- /shared is live: one host folder for the lab's nodes, theirs only
# A file is its writer's: others read it, and write it once it is made
# group-writable (as shared/'s own files are).
out=$(lx "$two" pc1 'umask 022; echo from-pc1 >/shared/new && grep -c " /shared hostfs " /proc/mounts')
out2=$(lx "$two" pc2 'cat /shared/new; { echo no >>/shared/new; } 2>/dev/null || echo denied; echo pc2 >>/shared/note && echo appended')
lx "$two" pc1 'chmod g+w /shared/new' >/dev/null
# Written with an old time (cp -p, tar x would do it): still written
# back at lab down, which goes by the change time no one can set.
lx "$two" pc1 'echo old >/shared/oldfile && touch -d 2001-01-01 /shared/oldfile' >/dev/null
out2="$out2 $(lx "$two" pc2 'echo from-pc2 >>/shared/new && echo appended')"
gid=$(stat -c %g "$shared_fs/twohosts" 2>/dev/null || echo none)
check "/shared is live: pc1 writes, pc2 reads (writes once pc1 allows it), root sees it in STATE/.shared/LAB (3770, the lab's group)" \
	"$out / $(tr '\n' ' ' <<<"$out2") / $(cat "$shared_fs/twohosts/new" 2>&1) / $(stat -c '%a %u:%g' "$shared_fs/twohosts" 2>&1)" \
	bash -c '[ "$1" = 1 ] && [ "$(tr "\n" " " <<<"$2")" = "from-pc1 denied appended appended " ] &&
		[ "$(tr "\n" " " <"$3/twohosts/new")" = "from-pc1 from-pc2 " ] &&
		[ "$(stat -c "%a %u" "$3/twohosts")" = "3770 0" ] && [ "$4" -ge 65536 ]' \
	_ "$out" "$out2" "$shared_fs" "$gid"
out=$(u lab status "$two" 2>&1)
check "lab status names the live /shared" "$(tr '\n' '|' <<<"$out")" \
	grep -q "^shared: $shared_fs/twohosts (live, group $gid)" <<<"$out"
# The node's root tries its way out of the folder: mount options with
# "..", a link to / it makes itself, then a file far larger than the
# file system under STATE/.shared.
out=$(lx "$two" pc1 'ln -s / /shared/esc; mkdir -p /m
for o in .. ../.. /.. ./.. esc esc/ esc/etc; do
	if mount -t hostfs none /m -o "$o" 2>/dev/null; then echo "mounted $o"; ls -a /m; umount /m; fi
done
rm -f /shared/esc; echo tried')
check "a lab node cannot mount anything of the host but its lab's /shared (.., links)" \
	"$(tr '\n' '|' <<<"$out")" \
	bash -c 'grep -qx tried <<<"$1" && ! grep -Eq "mounted|hostsecret|twohosts|\.labs|passwd" <<<"$1"' _ "$out"
out=$(lx "$two" pc1 'dd if=/dev/zero of=/shared/big bs=1M count=40 2>&1 | grep -o "No space left on device" | head -n 1; rm -f /shared/big')
check "what nodes write to /shared is bounded by STATE/.shared's file system, not the host's /var" \
	"$out" test "$out" = "No space left on device"
out=$(u exec tiny1 -- 'mkdir -p /m; mount -t hostfs none /m 2>&1 || echo refused' 2>&1 || true)
check "an instance that is no lab node may mount no hostfs at all" "$(tr '\n' '|' <<<"$out")" \
	bash -c 'grep -q "^refused$" <<<"$1"' _ "$out"
rc=0
so=$(u lab exec "$two" pc1 -- 'printf "out\n"; printf "a\001b\377" ; echo err >&2; exit 7' 2>"$root/exec.err") || rc=$?
check "lab exec: stdout and stderr apart, bytes unchanged, the command's exit status" \
	"rc=$rc out=$(printf %s "$so" | od -An -c | tr -s ' ') err=$(cat "$root/exec.err")" \
	bash -c '[ "$1" = 7 ] && [ "$2" = "$(printf "out\na\001b\377")" ] && [ "$(cat "$3")" = err ]' \
	_ "$rc" "$so" "$root/exec.err"
rc=0
out=$(u lab exec --timeout 2 "$two" pc1 -- 'sleep 30' 2>&1) || rc=$?
check "lab exec --timeout: exit 124 and a message" "rc=$rc $out" \
	bash -c '[ "$1" = 124 ] && grep -q "no end of the command after 2 s" <<<"$2"' _ "$rc" "$out"
out=$(lx "$two" pc1 'echo next')
check "the agent answers the next command after a timed-out one" "$out" test "$out" = next
out=$(lx "$two" pc1 'tty; cut -d" " -f7 /proc/self/stat')
check "exec: the command has no controlling terminal (nothing left behind reaches the line)" \
	"$(tr '\n' '|' <<<"$out")" test "$(tr '\n' '|' <<<"$out")" = "not a tty|0|"
# A client that leaves in the middle of an EXEC line: the next client's
# line must not complete it into a command.
python3 - "$root/run/uml-skas/instances/twohosts-pc1/agent.sock" <<'EOF'
import base64, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"HELLO 0badc0de\n")
buf = b""
end = time.time() + 20
while b"READY 0badc0de" not in buf and time.time() < end:
    buf += s.recv(4096)
cmd = base64.b64encode(b"touch /tmp/cut-line-ran").decode()
s.sendall(("RUN 0badc0de %d %s" % (len(cmd), cmd[:8])).encode())
s.close()
EOF
out=$(lx "$two" pc1 'test -e /tmp/cut-line-ran && echo ran || echo not-run')
check "exec: a line cut short by a client that left is never run" "$out" test "$out" = not-run
out=$(lx "$two" pc2 'ping -c 2 -W 3 10.77.0.1 >/dev/null && echo reached')
check "pc2 (bridged=true) reaches the host's bridge on the default network" "$out" test "$out" = reached
out=$(lx "$two" pc1 'ping -c 1 -W 2 10.77.0.1 >/dev/null 2>&1 && echo reached || echo unreachable')
check "pc1 (not bridged) does not" "$out" test "$out" = unreachable
# lab console: the node's console (not a terminal here: what is piped
# in is typed, what comes back is printed until a second of quiet).
out=$( (sleep 1; printf 'echo LABCON-$((6*7))\n'; sleep 2) | u lab console "$two" pc1 2>&1 || true)
check "lab console DIR NODE: the node's console (a typed line's output comes back)" \
	"$(tr '\n' '|' <<<"$out" | tail -c 600)" grep -q "LABCON-42" <<<"$out"
rc=0
out=$(u lab console "$two" nosuch </dev/null 2>&1) || rc=$?
check "lab console of a node the lab does not have: exit 2, said" "rc=$rc $out" \
	bash -c '[ "$1" = 2 ] && grep -q "lab twohosts: no node nosuch" <<<"$2"' _ "$rc" "$out"
json=$(u lab status "$two" -o json 2>&1)
check "lab status -o json: valid JSON with the nodes running and LAB_ metadata" "$json" \
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["lab"]=="twohosts", d; assert sorted((n["node"], n["state"]) for n in d["nodes"])==[("pc1","running"),("pc2","running"),("pc3","running")], d; assert d["meta"]["LAB_DESCRIPTION"]=="two hosts on one domain", d' "$json"
out=$(u list 2>&1)
check "lab nodes are ordinary instances (list)" "$(tr '\n' '|' <<<"$out")" \
	bash -c 'grep -q "^twohosts-pc1 " <<<"$1" && grep -q "^twohosts-pc3 " <<<"$1"' _ "$out"
# NODE[mem], NODE[cpus], NODE[image]: what the nodes got.
out=$(lx "$two" pc1 'sed -n "s/^MemTotal: *\([0-9]*\) kB/\1/p" /proc/meminfo')
out2=$(lx "$two" pc2 'sed -n "s/^MemTotal: *\([0-9]*\) kB/\1/p" /proc/meminfo')
check "pc2[mem]=96m: pc2 has at most 96 MiB, less than pc1 (the default 128M)" "pc1 $out kB, pc2 $out2 kB" \
	bash -c '[ "$2" -le 98304 ] && [ "$2" -gt 65536 ] && [ "$1" -gt "$2" ]' _ "$out" "$out2"
out=$(lx "$two" pc3 'grep -c ^processor /proc/cpuinfo')
st=$(u status twohosts-pc3 2>&1 || true)
check "pc3[cpus]=2: two vCPUs in the guest, and in umlctl status" "$out / $(tr '\n' '|' <<<"$st")" \
	bash -c '[ "$1" = 2 ] && grep -Eq "^ +vcpus +2$" <<<"$2"' _ "$out" "$st"
check "pc3[image]=FILE: the node boots that image file (umlctl status)" "$(tr '\n' '|' <<<"$st")" \
	bash -c 'grep -Eq "^ +image +$1$" <<<"$2" && grep -q "^twohosts-pc3: running" <<<"$2"' \
	_ "$labs/img/node.ext4" "$st"
rc=0
out=$(u lab up "$two" 2>&1) || rc=$?
check "lab up again: a no-op" "rc=$rc $out" \
	bash -c '[ "$1" = 0 ] && grep -q "lab twohosts: up already" <<<"$2"' _ "$rc" "$out"

# ---- the same domain names in a second lab: isolated from the first
other=$labs/other
mkdir -p "$other"
printf 'pc1[0]=A\npc9[0]=A\n' >"$other/lab.conf"
echo 'ip addr add 10.0.0.1/24 dev eth0' >"$other/pc1.startup"
echo 'ip addr add 10.0.0.9/24 dev eth0' >"$other/pc9.startup"
victim=$root/victim
mkdir -p "$other/shared" "$victim"
echo seed >"$other/shared/keep.txt"
chown -R "$owner:$owner" "$other" "$victim"
check "lab up other (domain A too, same addresses)" "failed" u lab up "$other"
json=$(u lab status -o json 2>&1)
check "lab status -o json without a folder: one JSON array of both labs" "$json" \
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert isinstance(d, list), d; assert sorted(l["lab"] for l in d)==["other","twohosts"], d' "$json"
out=$(lx "$other" pc9 'ping -c 1 -W 2 10.0.0.1 >/dev/null && echo reached; ping -c 1 -W 2 10.0.0.2 >/dev/null 2>&1 || echo not-reached')
out2=$(lx "$two" pc2 'ping -c 1 -W 2 10.0.0.9 >/dev/null 2>&1 || echo not-reached')
check "two labs with domain A: each reaches its own nodes only" "$out / $out2" \
	test "$(tr '\n' ' ' <<<"$out") $out2" = "reached not-reached  not-reached"
# other-pc9 destroyed by hand and made again as an instance of its own:
# lab down must leave it alone.
u destroy other-pc9 >/dev/null 2>&1
u create other-pc9 --net none >/dev/null 2>&1
# While the lab runs, the owner edits a file of shared/ and puts there a
# link to a folder of the owner's outside the lab; pc1 makes a folder of
# the link's name, a file beside it and a sparse file of 10 GiB.  lab down
# copies back the file, never through the link, not the sparse file, and
# leaves the owner's edit alone; what it could not copy stays, root's.
echo owner-edit >"$other/shared/keep.txt"
ln -s "$victim" "$other/shared/made"
chown -h "$owner:$owner" "$other/shared/made"
out=$(lx "$other" pc1 'mkdir /shared/made && echo planted >/shared/made/planted &&
	echo kept >/shared/result && truncate -s 10G /shared/sparse && echo done')
out=$out$'\n'$(u lab down "$other" 2>&1 || true)
check "lab down writes back what nodes wrote, as the owner, never through the owner's link, no sparse file, no owner's edit undone; the rest kept for root" \
	"$(tr '\n' '|' <<<"$out") / $(ls -A "$victim") / $(stat -c '%a %U' "$shared_fs/other" 2>&1) / $(cd "$other/shared" && head -v -- * 2>&1 | tr '\n' ' ')" \
	bash -c 'grep -q "^done" <<<"$1" &&
		grep -q "other/shared/made: not copied back: in the way: not a folder in shared/" <<<"$1" &&
		grep -q "other/shared/sparse: not copied back: sparse" <<<"$1" &&
		grep -q "is kept in $3/other (root.s only)" <<<"$1" &&
		[ "$(cat "$2/shared/result")" = kept ] && [ "$(stat -c %u "$2/shared/result")" = 4242 ] &&
		[ "$(cat "$2/shared/keep.txt")" = owner-edit ] && [ ! -e "$2/shared/sparse" ] &&
		[ -z "$(ls -A "$4")" ] && [ -L "$2/shared/made" ] &&
		[ "$(stat -c "%a %u" "$3/other")" = "700 0" ] && [ -e "$3/other/made/planted" ]' \
	_ "$out" "$other" "$shared_fs" "$victim"
check "lab down leaves an instance that reuses a node's name alone" "$(tr '\n' '|' <<<"$out")" \
	bash -c 'grep -q "other-pc9 is not this lab.s any more: left alone" <<<"$1" &&
		[ -e "$2/instances/other-pc9.conf" ] && [ ! -e "$2/instances/other-pc1.conf" ]' _ "$out" "$etc"
u destroy other-pc9 >/dev/null 2>&1
rc=0
out2=$(u lab up "$other" 2>&1) || rc=$?
check "lab up refuses while the last lab down's leftover /shared is there" "rc=$rc $out2" \
	bash -c '[ "$1" != 0 ] && grep -q "is left from an earlier lab down" <<<"$2"' _ "$rc" "$out2"
rm -rf "$shared_fs/other"

# ---- static routing through two routers; r1 has a third interface on a
# LAN of three nodes, one of which has no route back
rt=$labs/routing
mkdir -p "$rt"
cat >"$rt/lab.conf" <<'EOF'
pc1[0]=A
r1[0]=A
r1[1]=B
r1[2]=LAN
r2[0]=B
r2[1]=C
pc2[0]=C
lan1[0]=LAN
lan2[0]=LAN
lan3[0]=LAN
EOF
echo 'ip addr add 10.1.0.2/24 dev eth0; ip route add default via 10.1.0.1' >"$rt/pc1.startup"
cat >"$rt/r1.startup" <<'EOF'
ip addr add 10.1.0.1/24 dev eth0
ip addr add 10.2.0.1/24 dev eth1
ip addr add 10.4.0.1/24 dev eth2
ip route add 10.3.0.0/24 via 10.2.0.2
EOF
cat >"$rt/r2.startup" <<'EOF'
ip addr add 10.2.0.2/24 dev eth0
ip addr add 10.3.0.1/24 dev eth1
ip route add 10.1.0.0/24 via 10.2.0.1
ip route add 10.4.0.0/24 via 10.2.0.1
EOF
echo 'ip addr add 10.3.0.2/24 dev eth0; ip route add default via 10.3.0.1' >"$rt/pc2.startup"
echo 'ip addr add 10.4.0.11/24 dev eth0; ip route add default via 10.4.0.1' >"$rt/lan1.startup"
echo 'ip addr add 10.4.0.12/24 dev eth0; ip route add default via 10.4.0.1' >"$rt/lan2.startup"
echo 'ip addr add 10.4.0.13/24 dev eth0' >"$rt/lan3.startup"
chown -R "$owner:$owner" "$rt"
t0=$SECONDS
check "lab up routing (7 nodes, 4 domains)" "failed" u lab up "$rt"
echo "# lab up of 7 tiny nodes: $((SECONDS - t0)) s"
out=$(lx "$rt" pc1 'ping -c 2 -W 3 10.3.0.2 >/dev/null && echo reached; traceroute -n -w 2 -q 1 10.3.0.2 2>/dev/null | awk "NR>1{print \$2}" | tr "\n" " "')
check "pc1 reaches pc2 through r1 and r2 (traceroute: 10.1.0.1, 10.2.0.2, 10.3.0.2)" \
	"$(tr '\n' '|' <<<"$out")" test "$(tr '\n' '|' <<<"$out")" = "reached|10.1.0.1 10.2.0.2 10.3.0.2 |"
out=$(lx "$rt" pc2 'for a in 10.4.0.11 10.4.0.12 10.4.0.13; do ping -c 1 -W 2 $a >/dev/null 2>&1 && echo "$a yes" || echo "$a no"; done | tr "\n" " "')
check "pc2 reaches lan1 and lan2 on r1's third interface, not lan3 (no route back)" "$out" \
	test "$out" = "10.4.0.11 yes 10.4.0.12 yes 10.4.0.13 no "
out=$(lx "$rt" lan3 'ping -c 1 -W 2 10.4.0.11 >/dev/null && echo reached')
check "lan3 reaches lan1 on the LAN" "$out" test "$out" = reached

# ---- OSPF with FRR (kathara/frr: the lab image) converges: r1 learns
# r3's far network and reaches it, through r2
ospf=$labs/ospf
for r in r1 r2 r3; do
	mkdir -p "$ospf/$r/etc/frr"
	cat >"$ospf/$r/etc/frr/frr.conf" <<'EOF'
interface eth0
 ip ospf network point-to-point
 ip ospf hello-interval 1
 ip ospf dead-interval 4
interface eth1
 ip ospf network point-to-point
 ip ospf hello-interval 1
 ip ospf dead-interval 4
router ospf
 network 10.0.0.0/8 area 0
EOF
done
cat >"$ospf/lab.conf" <<'EOF'
LAB_DESCRIPTION="three FRR routers, OSPF area 0"
r1[0]=A
r1[1]=B
r2[0]=B
r2[1]=C
r3[0]=C
r3[1]=D
r1[image]="kathara/frr"
r2[image]="kathara/frr"
r3[image]="kathara/frr"
r1[mem]=256m
r2[mem]=256m
r3[mem]=256m
EOF
printf 'ip addr add 10.0.1.1/24 dev eth0\nip addr add 10.0.2.1/24 dev eth1\n' >"$ospf/r1.startup"
printf 'ip addr add 10.0.2.2/24 dev eth0\nip addr add 10.0.3.2/24 dev eth1\n' >"$ospf/r2.startup"
printf 'ip addr add 10.0.3.3/24 dev eth0\nip addr add 10.0.4.3/24 dev eth1\n' >"$ospf/r3.startup"
for r in r1 r2 r3; do
	printf 'sed -i "s/^ospfd=no/ospfd=yes/" /etc/frr/daemons\nsystemctl start frr\n' \
		>>"$ospf/$r.startup"
done
chown -R "$owner:$owner" "$ospf"
t0=$SECONDS
check "lab up ospf (3 routers of kathara/frr: the lab image)" "failed" u lab up "$ospf"
echo "# lab up of 3 FRR routers (Debian lab image): $((SECONDS - t0)) s"
out=$(lx "$ospf" r1 'for i in $(seq 60); do ip route | grep -q "^10.0.4.0/24 .*proto ospf" && break; sleep 1; done; ip route | grep "^10.0.4.0/24"; ping -c 1 -W 3 10.0.4.3 >/dev/null && echo reached')
check "OSPF converges: r1 has r3's far network from ospf and reaches it" "$(tr '\n' '|' <<<"$out")" \
	bash -c 'grep -q "^10.0.4.0/24 nhid [0-9]* via 10.0.2.2 dev eth1 proto ospf\|^10.0.4.0/24 via 10.0.2.2 dev eth1 proto ospf" <<<"$1" && grep -qx reached <<<"$1"' _ "$out"
out=$(lx "$ospf" r1 'vtysh -c "show ip ospf neighbor"')
check "vtysh on r1: r2 is a Full neighbour" "$(tr '\n' '|' <<<"$out")" grep -q 'Full' <<<"$out"
# and the reachability is OSPF's: with FRR stopped on r2, r1 loses the
# route when its neighbour is dead (4 s) and 10.0.4.3 is out of reach.
lx "$ospf" r2 'systemctl stop frr' >/dev/null 2>&1 || true
out=$(lx "$ospf" r1 'for i in $(seq 30); do ip route | grep -q "^10.0.4.0/24" || break; sleep 1; done; ip route | grep "^10.0.4.0/24"; ping -c 1 -W 3 10.0.4.3 >/dev/null 2>&1 && echo reached || echo unreached')
check "FRR stopped on r2: r1 loses r3's far network and no longer reaches it" "$(tr '\n' '|' <<<"$out")" \
	bash -c '! grep -q "^10.0.4.0/24" <<<"$1" && grep -qx unreached <<<"$1"' _ "$out"
check "lab down ospf" "failed" u lab down "$ospf"

# ---- a lab node is an instance: umlctl status and stop work on it
rc=0
out=$(u stop twohosts-pc3 2>&1) || rc=$?
st=$(u status twohosts-pc3 2>&1 || true)
ls_=$(u lab status "$two" 2>&1 || true)
check "umlctl stop of a lab node: stopped in its status and in lab status" \
	"rc=$rc $out / $(tr '\n' '|' <<<"$st") / $(tr '\n' '|' <<<"$ls_")" \
	bash -c '[ "$1" = 0 ] && grep -q "^twohosts-pc3: stopped" <<<"$2" &&
		grep -Eq "^pc3 +twohosts-pc3 +stopped$" <<<"$3" && grep -Eq "^pc1 +twohosts-pc1 +running$" <<<"$3"' \
	_ "$rc" "$st" "$ls_"

# ---- down: after a node crashed, and for every lab; nothing left behind
pkill -9 -f "umid=routing-r2 " || true
sleep 1
rc=0
out=$(u lab down "$rt" 2>&1) || rc=$?
check "lab down after a node crashed (kill -9 of r2's UML)" "rc=$rc $(tr '\n' '|' <<<"$out")" test "$rc" = 0
# Two lab down of one lab at once: the second waits for the first (the
# lab's lock), then finds it down; both succeed.
(rc=0; u lab down "$two" >"$root/down1.out" 2>&1 || rc=$?; echo "rc=$rc" >>"$root/down1.out") &
(rc=0; u lab down "$two" >"$root/down2.out" 2>&1 || rc=$?; echo "rc=$rc" >>"$root/down2.out") &
wait
out=$(cat "$root/down1.out" "$root/down2.out")
rm -f "$root/down1.out" "$root/down2.out"
check "lab down twohosts twice at once: both succeed, one finds it down already" \
	"$(tr '\n' '|' <<<"$out")" \
	bash -c '[ "$(grep -c "^rc=0$" <<<"$1")" = 2 ] && [ "$(grep -c "lab twohosts: down$" <<<"$1")" = 1 ] &&
		[ "$(grep -cE "lab twohosts: down already|lab .*twohosts: not up" <<<"$1")" = 1 ]' _ "$out"
left=$(
	find "$etc/instances" "$etc/networks" "$root/var/lib/uml-skas" -maxdepth 1 \
		-regextype egrep -regex '.*/(twohosts|other|routing|ospf)-.*' || true
	find "$root/var/lib/uml-skas/.labs" "$shared_fs" -mindepth 1 -maxdepth 1 2>/dev/null || true
	inns ip -br link | grep -E '^(uh-|ush-|usn-(twohosts|other|routing|ospf))' || true
	inns nft list tables | grep -E 'uml_skas_(twohosts|other|routing|ospf)' || true
	inns nft list ruleset | grep -E 'uml-skas:(twohosts|other|routing|ospf)' || true
	pgrep -af -- 'umid=(twohosts|other|routing|ospf)-' || true
)
check "lab down copied /shared back into the folder's shared/, as its owner" \
	"$(find "$two/shared" -printf '%U %p|' 2>&1)" \
	bash -c '[ "$(tr "\n" " " <"$1/shared/new")" = "from-pc1 from-pc2 " ] &&
		[ "$(cat "$1/shared/oldfile")" = old ] &&
		[ "$(stat -c %u "$1/shared/new")" = 4242 ] &&
		[ "$(tr "\n" " " <"$1/shared/note")" = "shared-file pc2 " ]' _ "$two"
check "nothing left of the labs: files, state, bridges, TAPs, tables, rules, processes" \
	"$(tr '\n' '|' <<<"$left")" test -z "$left"
out=$(u lab status 2>&1)
check "lab status without a lab up" "$out" test "$out" = "no lab is up"
rc=0
out=$(u lab down "$two" 2>&1) || rc=$?
check "lab down of a lab that is not up: nothing to do, exit 0" "rc=$rc $out" \
	bash -c '[ "$1" = 0 ] && grep -q "twohosts: not up" <<<"$2"' _ "$rc" "$out"
rc=0
out=$(u lab exec "$two" pc1 -- true 2>&1) || rc=$?
check "lab exec on a lab that is down: a clear error" "rc=$rc $out" \
	bash -c '[ "$1" != 0 ] && grep -q "lab .*twohosts: not up" <<<"$2"' _ "$rc" "$out"
umount "$shared_fs"
