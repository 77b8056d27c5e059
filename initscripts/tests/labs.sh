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
chmod 1777 "$bad"
rc=0
out=$(u lab up "$bad" 2>&1) || rc=$?
check "lab up: a folder everyone may write to (like /tmp) refused" "rc=$rc $out" \
	bash -c '[ "$1" = 6 ] && grep -q "everyone may write to the folder" <<<"$2"' _ "$rc" "$out"
rm -rf "$bad"

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
echo 'ip addr add 10.0.0.1/24 dev eth0; echo node >>/tmp/order' >"$two/pc1.startup"
echo 'ip addr add 10.0.0.2/24 dev eth0' >"$two/pc2.startup"
echo 'echo shared >>/tmp/order' >"$two/shared.startup"
echo "lab-file" >"$two/pc1/etc/labfile"
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
check "NODE/ copied over the root (root's), shared/ at /shared, shared.startup before pc1.startup" \
	"$(tr '\n' '|' <<<"$out")" \
	test "$(tr '\n' '|' <<<"$out")" = "lab-file|shared-file|0|shared node |"
out=$(lx "$two" pc3 'cat /secret 2>&1; readlink /secret; ls /hostdir 2>&1; cat /tmp/leak 2>&1')
check "links out of the lab are not followed (a link in NODE/ stays a link, a linked startup is left out)" \
	"$(tr '\n' '|' <<<"$out")" \
	bash -c '! grep -q "HOST-SECRET" <<<"$1" && grep -qx "$2/hostsecret" <<<"$1" &&
		grep -q "/tmp/leak.: No such file" <<<"$1"' _ "$out" "$root"
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
out=$(lx "$two" pc2 'ping -c 2 -W 3 10.77.0.1 >/dev/null && echo reached')
check "pc2 (bridged=true) reaches the host's bridge on the default network" "$out" test "$out" = reached
out=$(lx "$two" pc1 'ping -c 1 -W 2 10.77.0.1 >/dev/null 2>&1 && echo reached || echo unreachable')
check "pc1 (not bridged) does not" "$out" test "$out" = unreachable
json=$(u lab status "$two" -o json 2>&1)
check "lab status -o json: valid JSON with the nodes running and LAB_ metadata" "$json" \
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["lab"]=="twohosts", d; assert sorted((n["node"], n["state"]) for n in d["nodes"])==[("pc1","running"),("pc2","running"),("pc3","running")], d; assert d["meta"]["LAB_DESCRIPTION"]=="two hosts on one domain", d' "$json"
out=$(u list 2>&1)
check "lab nodes are ordinary instances (list)" "$(tr '\n' '|' <<<"$out")" \
	bash -c 'grep -q "^twohosts-pc1 " <<<"$1" && grep -q "^twohosts-pc3 " <<<"$1"' _ "$out"
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
chown -R "$owner:$owner" "$other"
check "lab up other (domain A too, same addresses)" "failed" u lab up "$other"
out=$(lx "$other" pc9 'ping -c 1 -W 2 10.0.0.1 >/dev/null && echo reached; ping -c 1 -W 2 10.0.0.2 >/dev/null 2>&1 || echo not-reached')
out2=$(lx "$two" pc2 'ping -c 1 -W 2 10.0.0.9 >/dev/null 2>&1 || echo not-reached')
check "two labs with domain A: each reaches its own nodes only" "$out / $out2" \
	test "$(tr '\n' ' ' <<<"$out") $out2" = "reached not-reached  not-reached"

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

# ---- down: after a node crashed, and for every lab; nothing left behind
pkill -9 -f "umid=routing-r2 " || true
sleep 1
rc=0
out=$(u lab down "$rt" 2>&1) || rc=$?
check "lab down after a node crashed (kill -9 of r2's UML)" "rc=$rc $(tr '\n' '|' <<<"$out")" test "$rc" = 0
check "lab down twohosts" "failed" u lab down "$two"
check "lab down other" "failed" u lab down "$other"
left=$(
	find "$etc/instances" "$etc/networks" "$root/var/lib/uml-skas" -maxdepth 1 \
		-regextype egrep -regex '.*/(twohosts|other|routing)-.*' || true
	ls -A "$root/var/lib/uml-skas/.labs" 2>/dev/null || true
	inns ip -br link | grep -E '^(uh-|ush-|usn-(twohosts|other|routing))' || true
	inns nft list tables | grep -E 'uml_skas_(twohosts|other|routing)' || true
	inns nft list ruleset | grep -E 'uml-skas:(twohosts|other|routing)' || true
	pgrep -af -- 'umid=(twohosts|other|routing)-' || true
)
check "nothing left of the labs: files, state, bridges, TAPs, tables, rules, processes" \
	"$(tr '\n' '|' <<<"$left")" test -z "$left"
out=$(u lab status 2>&1)
check "lab status without a lab up" "$out" test "$out" = "no lab is up"
rc=0
out=$(u lab exec "$two" pc1 -- true 2>&1) || rc=$?
check "lab exec on a lab that is down: a clear error" "rc=$rc $out" \
	bash -c '[ "$1" != 0 ] && grep -q "lab .*twohosts: not up" <<<"$2"' _ "$rc" "$out"
