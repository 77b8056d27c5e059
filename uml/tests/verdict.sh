# shellcheck shell=bash
# verdict.sh: judging one run of the guest suite from its console output.
# Sourced by run-guest-suite (native runs) and run-guest-suite-vm (runs
# inside the QEMU runner), so that both count and fail in the same way.
#
#   guest_verdict MODE BODY STATUS LIMIT UBDB PRISTINE
#
#   MODE      the mode that was asked for: skas4, skas3, seccomp or ptrace
#   BODY      file with the UML console output of the run, one line each,
#             without carriage returns or host time stamps; a kernel
#             message that landed inside a line is moved, in place, to a
#             line of its own first
#   STATUS    UML's exit status (124/137: killed by the time limit)
#   LIMIT     that time limit in seconds (for the message)
#   UBDB      "ok" if the guest's marker file reached ubdb on the host,
#             else what was found instead
#   PRISTINE  "ok" if the base image is unchanged after the run, else why
#
# In skas4 mode the environment's CARRIERS (default 4) is how many carriers
# the boot log must say CPU 0 runs (skas4_carriers=).
#
# Prints the guest's "ok N name" lines as they were and host checks numbered
# after them, then "N passed, N failed".  Sets verdict_status: 0 when all
# passed and the kernel log is clean, 1 on failures, 124 on timeout.

guest_verdict() {
	local mode=$1 body=$2 status=$3 limit=$4 ubdb=$5 pristine=$6
	local problems fatal summary n pool
	v_passed=0
	v_failed=0
	verdict_status=0

	# The tty writes a line's text and its newline separately, and a
	# kernel message can come between them ("ok 31 name[    1.400000]
	# 02-mm[65]: segfault at ...", seen once): split it off, so that both
	# the result and the message parse, and the problem scan sees it.
	sed -i -E 's/([^[:space:]])(\[ *[0-9]+\.[0-9]+\] )/\1\n\2/g' "$body"

	problems=$(grep -E '^\[ *[0-9]+\.[0-9]+\].*(Kernel panic|Oops|BUG:|WARNING:|general protection|Call Trace|kernel BUG)' "$body" || true)
	fatal=$(grep -E -i 'not functional|^fatal|Failed to open|Invalid seccomp|Invalid skas|cannot do it|Unable to mount root|Kernel panic|mode not available' "$body" | head -5 || true)
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$body" | tail -1 || true)
	if [ -n "$summary" ]; then
		v_passed=${summary%% passed*}
		v_failed=${summary#*passed, }
		v_failed=${v_failed%% failed}
	fi
	grep -E '^(ok|not ok) [0-9]+ ' "$body" || true
	n=$(grep -cE '^(ok|not ok) [0-9]+ ' "$body" || true)

	# host checks, numbered after the guest's
	_host_check() {
		n=$((n + 1))
		if [ "$1" = ok ]; then
			v_passed=$((v_passed + 1))
			echo "ok $n host/$2"
		else
			v_failed=$((v_failed + 1))
			echo "not ok $n host/$2: $3"
		fi
	}

	if [ "$status" = 124 ] || [ "$status" = 137 ]; then
		echo "TIMEOUT after ${limit}s; last lines:" >&2
		tail -n 15 "$body" >&2
		_host_check fail suite-finished "killed after the ${limit} s limit"
		verdict_status=124
	elif [ -z "$summary" ]; then
		echo "the guest suite did not finish (UML exit status $status); last lines:" >&2
		[ -z "$fatal" ] || printf '  %s\n' "$fatal" >&2
		tail -n 15 "$body" >&2
		_host_check fail suite-finished "UML exited with status $status before the guest summary"
		verdict_status=1
	fi

	# Which mode really ran: the kernel prints it at boot and the guest's
	# /proc/cpuinfo shows it (00-cpuinfo prints that line).
	if [ "$verdict_status" = 0 ]; then
		if grep -qE "^Process mode: $mode( \(.*\))?\$" "$body" &&
			grep -qE "/proc/cpuinfo: mode[[:space:]]+: $mode\$" "$body"; then
			_host_check ok "mode-is-$mode"
		else
			_host_check fail "mode-is-$mode" "no 'Process mode: $mode' or cpuinfo 'mode : $mode' in the log"
		fi
		# skas4's pool of carriers (patch 0018): as many as the
		# harness asked for (CARRIERS), else the default 4.
		if [ "$mode" = skas4 ]; then
			pool=${CARRIERS:-4}
			if grep -qE "skas4: CPU 0 runs $pool carriers" "$body"; then
				_host_check ok "skas4-pool-of-$pool-carriers"
			else
				_host_check fail "skas4-pool-of-$pool-carriers" "no 'skas4: CPU 0 runs $pool carriers' in the log"
			fi
		fi
		if [ "$ubdb" = ok ]; then
			_host_check ok ubdb-data-on-host
		else
			_host_check fail ubdb-data-on-host "$ubdb"
		fi
		if [ "$pristine" = ok ]; then
			_host_check ok root-image-pristine
		else
			_host_check fail root-image-pristine "$pristine"
		fi
		addrspace_checks "$mode" "$body"
		if [ "$status" = 0 ]; then
			_host_check ok uml-exit-status
		else
			_host_check fail uml-exit-status "UML exited with status $status after poweroff"
		fi
	fi
	if [ -n "$problems" ]; then
		echo "kernel problems in the log:" >&2
		printf '%s\n' "$problems" | head -20 >&2
		[ "$verdict_status" != 0 ] || verdict_status=1
	fi
	if [ "$verdict_status" = 0 ] && [ "$v_failed" -gt 0 ]; then
		verdict_status=1
	fi
}

# addrspace_checks MODE BODY: the host's view of the address space of the
# guest's probe program (guest/14-addrspace.c; the harness adds the host
# view with host-maps).  Host mappings outside the guest's own mappings are
# "foreign": in skas3 and skas4 there must be none; in seccomp and ptrace mode the
# stub pages must be among them, which shows that the probe sees them.  In
# no mode may the UML kernel's executable be mapped.
addrspace_checks() {
	local mode=$1 body=$2 line range s e gs ge ok foreign=() kernel=()
	local -a gstart=() gend=()

	if ! grep -q 'UML-ADDRSPACE: probe ' "$body"; then
		_host_check fail addrspace-host-view "the guest's probe did not run"
		return
	fi
	if ! grep -q '^UML-HOSTMAPS: pid ' "$body"; then
		_host_check fail addrspace-host-view "no host process had the probe's marker mapped"
		return
	fi
	_host_check ok addrspace-host-view

	# The guest's mappings (in address order, as /proc/PID/maps lists them),
	# adjacent ones merged (the host may merge them).
	while read -r range; do
		s=$((16#${range%-*}))
		e=$((16#${range#*-}))
		if [ ${#gend[@]} -gt 0 ] && [ "${gend[-1]}" = "$s" ]; then
			gend[-1]=$e
		else
			gstart+=("$s")
			gend+=("$e")
		fi
	done < <(sed -n -E 's/^# [0-9a-z-]+: guest-vma ([0-9a-f]+-[0-9a-f]+) .*/\1/p' "$body")

	while read -r line; do
		range=${line%% *}
		s=$((16#${range%-*}))
		e=$((16#${range#*-}))
		case $line in
		*/"${KERNEL_NAME:-linux}" | */"${KERNEL_NAME:-linux}"" (deleted)") kernel+=("$line") ;;
		esac
		ok=0
		for i in "${!gstart[@]}"; do
			gs=${gstart[i]}
			ge=${gend[i]}
			if [ "$s" -ge "$gs" ] && [ "$e" -le "$ge" ]; then
				ok=1
				break
			fi
		done
		[ "$ok" = 1 ] || foreign+=("$line")
	done < <(sed -n -E 's/^UML-HOSTMAPS: ([0-9a-f]+-[0-9a-f]+ .*)/\1/p' "$body")

	if [ ${#kernel[@]} -eq 0 ]; then
		_host_check ok addrspace-no-kernel-image
	else
		_host_check fail addrspace-no-kernel-image "the kernel executable is mapped: ${kernel[*]}"
	fi
	if [ ${#foreign[@]} -gt 0 ]; then
		printf '# host mapping outside the guest'"'"'s: %s\n' "${foreign[@]}"
	fi
	case $mode in
	skas3 | skas4)
		if [ ${#foreign[@]} -eq 0 ]; then
			_host_check ok addrspace-foreign-as-mode-expects
		else
			_host_check fail addrspace-foreign-as-mode-expects "$mode: ${#foreign[@]} host mappings outside the guest's own"
		fi
		;;
	*)
		if [ ${#foreign[@]} -gt 0 ]; then
			_host_check ok addrspace-foreign-as-mode-expects
		else
			_host_check fail addrspace-foreign-as-mode-expects "$mode: the stub pages were not found in the host view (is the probe blind?)"
		fi
		;;
	esac
}

# result_names FILE: the names of the checks that passed in a run's output
# (without their numbers and skip reasons), sorted, one per line.  A name
# ends at a '[' too: a kernel message ("[  32.15] ... segfault at ...")
# can land on the console before the line's newline.
result_names() {
	sed -n -E 's/^ok [0-9]+ ([^ [:space:][]+).*/\1/p' "$1" | LC_ALL=C sort
}
