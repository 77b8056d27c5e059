# shellcheck shell=bash
# Boot helpers of the uml/rootfs tests: start a UML instance in the
# background with its console on a pipe and a log, wait for console
# output, type on the console, talk to mconsole, wait for the end.
# Source it after scripts/common.sh.  Every instance runs under a hard
# `timeout`, so nothing can hang a test run.
#
# Variables the caller may set: kernel (the UML binary), mode
# (seccomp|ptrace|skas3|auto), rundir (where run directories go).

# shellcheck disable=SC2154 # build comes from scripts/common.sh
kernel=${kernel:-$build/uml/linux}
mode=${mode:-seccomp}
rundir=${rundir:-$build/images/run}
shm=${shm:-/dev/shm}
# Words put before `timeout` (e.g. nsenter into a network namespace).
b_prefix=()

# Per instance: b_log[ID] console log, b_pid[ID] the subshell waiting
# for b_tpid[ID], the timeout process,
# b_fd[ID] the console's write end, b_dir[ID] uml_dir, b_umid[ID].
declare -A b_tpid b_log b_pid b_fd b_dir b_umid b_tmp b_start

# usec: microseconds since the epoch.
usec() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }

# boot_start ID LIMIT MEM UBD-ARG... [-- KERNEL-ARG...]: boots the
# kernel with ubdN=ARG for each UBD-ARG (ubd0 first) and root=/dev/ubda;
# returns at once.  The console log is $rundir/ID.log.
boot_start() {
	local id=$1 limit=$2 mem=$3 n=0 fifo args=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("ubd$n=$1")
		n=$((n + 1))
		shift
	done
	[ $# -eq 0 ] || shift
	mkdir -p "$rundir/$id.d"
	b_dir[$id]=$rundir/$id.d
	b_umid[$id]=$id
	b_log[$id]=$rundir/$id.log
	b_tmp[$id]=$(mktemp -d "$shm/uml-rootfs-test.XXXXXX")
	fifo=${b_tmp[$id]}/console
	mkfifo "$fifo"
	# Read-write open does not block; UML's console reads the other end.
	exec {fd}<>"$fifo"
	b_fd[$id]=$fd
	local mode_arg=()
	[ "$mode" = auto ] || mode_arg=("skas=$mode")
	: >"${b_log[$id]}"
	b_start[$id]=$(usec)
	# timeout leads its own process group (UML and its helpers); its pid
	# goes to a file.  The subshell that waits for it keeps the shell's
	# "Aborted" job notices (a UML panic aborts) out of the test output.
	(
		TMPDIR=${b_tmp[$id]} "${b_prefix[@]}" timeout -k 5 "$limit" "$kernel" mem="$mem" "${args[@]}" \
			root=/dev/ubda con=null con0=fd:0,fd:1 umid="$id" uml_dir="${b_dir[$id]}" \
			"${mode_arg[@]}" "$@" <"$fifo" >"${b_log[$id]}" 2>&1 &
		echo $! >"${b_tmp[$id]}/pid"
		wait $!
	) 2>/dev/null &
	b_pid[$id]=$!
	while [ ! -s "${b_tmp[$id]}/pid" ]; do sleep 0.01; done
	b_tpid[$id]=$(cat "${b_tmp[$id]}/pid")
}

# running ID: true while the instance's process lives.
running() { kill -0 "${b_pid[$1]}" 2>/dev/null; }

# plain ID: the console log without carriage returns and terminal
# escape sequences (colours, bracketed paste).
plain() { tr -d '\r' <"${b_log[$1]}" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g'; }

# wait_console ID ERE SECONDS: waits until a console line matches ERE
# (see plain); false on timeout or if UML ended first.
wait_console() {
	local id=$1 re=$2 end=$((SECONDS + $3))
	while :; do
		plain "$id" | grep -qE -- "$re" && return 0
		# One more look after the end: the last lines may have come late.
		if ! running "$id" || [ $SECONDS -ge $end ]; then
			plain "$id" | grep -qE -- "$re"
			return
		fi
		sleep 0.1
	done
}

# console_line ID ERE: the last console line matching ERE.
console_line() { plain "$1" | grep -E -- "$2" | tail -n 1; }

# elapsed ID: seconds (with 2 decimals) since ID was started.
elapsed() {
	local d=$(($(usec) - ${b_start[$1]}))
	printf '%d.%02d' $((d / 1000000)) $((d % 1000000 / 10000))
}

# send ID TEXT: types TEXT and a newline on the console.
send() { printf '%s\n' "$2" >&"${b_fd[$1]}"; }

# ask ID TAG COMMAND [SECONDS]: runs COMMAND in the console shell and
# prints what it printed on a line "TAG=...=TAG" (the command must print
# exactly that).  The echo of the typed line never matches: it starts
# with the prompt.
ask() {
	local id=$1 tag=$2 out
	send "$id" "$3"
	wait_console "$id" "^$tag=.*=$tag\$" "${4:-20}" || return 1
	out=$(console_line "$id" "^$tag=.*=$tag\$")
	out=${out#"$tag="}
	echo "${out%"=$tag"}"
}

# mconsole ID COMMAND...: sends a command to the instance's mconsole.
# uml_mconsole can wait forever for the answer of a UML that powered off
# meanwhile (seen with cad; UML answers within milliseconds when it
# answers at all): 5 s at most.
mconsole() {
	local id=$1
	shift
	timeout -k 2 5 uml_mconsole "${b_dir[$id]}/${b_umid[$id]}/mconsole" "$@"
}

# wait_end ID SECONDS: waits for the instance to exit and sets b_rc to
# its exit status (124: killed by its timeout), or to "running" if it
# was still alive after SECONDS (it is killed then).  Not in a subshell:
# only the shell that started the instance can wait for it.
wait_end() {
	local id=$1 end=$((SECONDS + $2))
	# shellcheck disable=SC2034 # b_rc is for the caller
	b_rc=0
	while running "$id" && [ $SECONDS -lt "$end" ]; do sleep 0.1; done
	if running "$id"; then
		boot_kill "$id"
		# shellcheck disable=SC2034 # b_rc is for the caller
		b_rc=running
		return 0
	fi
	# shellcheck disable=SC2034 # b_rc is for the caller
	wait "${b_pid[$id]}" || b_rc=$?
	boot_cleanup "$id"
}

# boot_kill ID: ends the instance (its whole process group) at once.
boot_kill() {
	local id=$1
	if running "$id"; then
		# timeout passes TERM on to UML; timeout leads its own process
		# group (UML and its helpers): KILL the group if anything is left.
		kill -TERM "${b_tpid[$id]}" 2>/dev/null || true
		sleep 1
		kill -KILL -- "-${b_tpid[$id]}" 2>/dev/null || true
	fi
	wait "${b_pid[$id]}" 2>/dev/null || true
	boot_cleanup "$id"
}

# boot_cleanup ID: closes the console and removes the temporary files.
boot_cleanup() {
	local id=$1 fd=${b_fd[$1]:-}
	[ -z "$fd" ] || exec {fd}>&-
	b_fd[$id]=
	[ -z "${b_tmp[$id]:-}" ] || rm -rf "${b_tmp[$id]}"
	b_tmp[$id]=
}
