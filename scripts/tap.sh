# shellcheck shell=bash
# tap.sh: the numbered "ok N what" / "not ok N what: why" lines of the
# suites that run checks from the host, and their totals.  Source it after
# scripts/common.sh; set tap_logs to a directory for t's command logs.

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
	log=$tap_logs/log.$((n + 1))
	if "$@" >"$log" 2>&1; then
		ok "$what"
	else
		not_ok "$what" "$(tail -5 "$log" | tr '\n' ' ')"
	fi
}

# tap_totals SUITE: adds "SUITE PASSED FAILED" to build/check/summary and
# prints the closing "N passed, N failed".
tap_totals() {
	echo "$1 $passed $failed" >>"$build/check/summary"
	echo "$passed passed, $failed failed"
}
