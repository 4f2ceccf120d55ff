# lib.sh - helpers for bench entries (sourced).

# corpus MB: path of a cached benchmark corpus of about MB megabytes.
corpus() {
	f="$BENCH_DIR/corpus-$1MB.jsonl"
	[ -s "$f" ] || python3 bench/corpus.py "$f" "$1" || exit 1
	echo "$f"
}

# seconds CMD...: best wall time of 3 runs of CMD (stdout discarded).
seconds() {
	best=""
	for i in 1 2 3; do
		t0=$(date +%s.%N)
		"$@" > /dev/null 2>&1 || { echo "bench: failed: $*" >&2; return 1; }
		t1=$(date +%s.%N)
		t=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then
			best=$t
		fi
	done
	echo "$best"
}

# row NAME BYTES SECONDS: one table row with MB/s.
row() {
	printf '  %-34s %9.1f MB/s  (%.3f s)\n' "$1" "$(echo "$2 / $3 / 1000000" | bc -l)" "$3"
}
