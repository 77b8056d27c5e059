# shellcheck shell=bash
# tap.sh: the one harness of the suites' host side: the numbered
# "ok N what" / "not ok N what: why" lines, their totals, and the
# "SUITE PASSED FAILED" lines of build/check/summary that make check's
# last line adds up (scripts/check-summary); suites that gather the
# results of a guest or VM (check-uml, check-uml-vm, check-host-support)
# add their counts with tap_summary.  Source it after scripts/common.sh;
# set tap_logs to a directory for t's command logs.

passed=0
failed=0
n=0

ok() {
	n=$((n + 1))
	passed=$((passed + 1))
	echo "ok $n $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n $1: $2"
}

# t WHAT CMD...: one check; the command's output goes to a log in
# $tap_logs whose tail is shown on failure.
t() {
	local what=$1 log
	shift
	log=${tap_logs:?set tap_logs before t}/log.$((n + 1))
	if "$@" >"$log" 2>&1; then
		ok "$what"
	else
		not_ok "$what" "$(tail -5 "$log" | tr '\n' ' ')"
	fi
}

# tap_summary SUITE PASSED FAILED: one line of the summary
# (CHECK_SUMMARY, default build/check/summary).
tap_summary() {
	local summary=${CHECK_SUMMARY:-$build/check/summary}
	mkdir -p "$(dirname "$summary")"
	echo "$1 $2 $3" >>"$summary"
}

# tap_totals SUITE: adds "SUITE PASSED FAILED" to the summary and prints
# the closing "N passed, N failed".
tap_totals() {
	tap_summary "$1" "$passed" "$failed"
	echo "$passed passed, $failed failed"
}
