#!/bin/sh
# run.sh - `make bench`: run every bench/NN-*.sh in order.
#
# Each entry prints a small table: what was measured, llmkit's throughput,
# the anchor's throughput on the same input in the same run, and the ratio.
# Inputs are made once under $LLM_BUILD/bench from ../shared/data.
cd "$(dirname "$0")/.." || exit 1
export LLM_BUILD="${LLM_BUILD:-build}"
export BENCH_DIR="$LLM_BUILD/bench"
export PATH="$PWD/$LLM_BUILD/bin:$PWD/$LLM_BUILD/tests/bin:$PATH"
mkdir -p "$BENCH_DIR"
status=0
for b in bench/[0-9]*.sh; do
	[ -f "$b" ] || continue
	sh "$b" || { echo "bench: $b failed" >&2; status=1; }
	echo
done
exit $status
