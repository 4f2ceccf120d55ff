#!/bin/sh
# run.sh - run every unit test (cmocka) and command-line test (bats) and end
# with one summary line, "N passed, N failed", that CI reads.
#
# Unit tests print TAP (CMOCKA_MESSAGE_OUTPUT=TAP) so both kinds are counted
# the same way: "ok" and "not ok" lines.  A test program that crashes before
# reporting counts as one failure.
cd "$(dirname "$0")/.." || exit 1
# The build folder (make B=...) is passed down as LLM_BUILD.
B="${LLM_BUILD:-build}"
export LLM_BUILD="$B"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
fail_progs=0

for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	echo "# $t"
	if ! CMOCKA_MESSAGE_OUTPUT=TAP "$t" > "$log.one" 2>&1; then
		grep -q '^not ok' "$log.one" || fail_progs=$((fail_progs + 1))
	fi
	cat "$log.one" | tee -a "$log"
done
rm -f "$log.one"

if ls tests/cli/*.bats >/dev/null 2>&1; then
	bats --tap tests/cli/*.bats | tee -a "$log"
fi

passed=$(grep -c '^ok ' "$log")
skipped=$(grep -c '^ok .*# skip' "$log")
failed=$(( $(grep -c '^not ok' "$log") + fail_progs ))
passed=$((passed - skipped))
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
