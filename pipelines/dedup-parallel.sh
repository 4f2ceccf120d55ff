#!/bin/sh
# dedup-parallel.sh - llm-dedup's map/reduce steps over many partitions with
# GNU parallel (xargs -P when parallel is not installed).
#
# usage: pipelines/dedup-parallel.sh WORKDIR PART0 PART1 ... > /dev/null
#
# Each PART is a document file (JSON Lines, plain, .gz or .zst), in corpus
# order: together they are deduplicated exactly as one
# `llm-dedup PART0 PART1 ...` would be.  The survivors of PART<i> go to
# WORKDIR/out/<i>.jsonl.  Environment:
#   DEDUP_OPTS  matching options for `llm-dedup sig` (e.g. "-t 0.8 --keep longest")
#   BUCKETS     buckets, the parallelism of the reduce step (default 16)
#   JOBS        jobs at once (default: the number of CPUs)
#   SSH_HOSTS   with GNU parallel: "host1,host2" to spread jobs over machines
#               that see WORKDIR and the parts at the same paths
set -eu

[ $# -ge 2 ] || { echo "usage: $0 WORKDIR PART..." >&2; exit 2; }
work=$1
shift
BUCKETS=${BUCKETS:-16}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
DEDUP_OPTS=${DEDUP_OPTS:-}
mkdir -p "$work/sig" "$work/bkt" "$work/rm" "$work/out"

# Number the parts 0..n-1 in the order given: part numbers are the rank.
i=0
: > "$work/parts.tsv"
for p in "$@"; do
	printf '%s\t%s\n' "$i" "$p" >> "$work/parts.tsv"
	i=$((i + 1))
done

# run CMD: CMD once per line of stdin, "{1}" and "{2}" the line's fields.
run() {
	if command -v parallel > /dev/null 2>&1; then
		parallel --halt now,fail=1 -j "$JOBS" --colsep '\t' \
			${SSH_HOSTS:+-S "$SSH_HOSTS" --workdir .} "$1"
	else
		# shellcheck disable=SC2016
		tr '\t' '\n' | xargs -d '\n' -n 2 -P "$JOBS" sh -c \
			"$(printf '%s' "$1" | sed 's/{1}/$0/g; s/{2}/$1/g')"
	fi
}

# 1. map: signatures, then buckets, per part.
run "llm-dedup sig $DEDUP_OPTS --part {1} -o $work/sig/{1}.sig {2} &&
     llm-dedup bucket --buckets $BUCKETS -o $work/bkt $work/sig/{1}.sig" < "$work/parts.tsv"
# 2. reduce: one removal list per bucket.
seq 0 $((BUCKETS - 1)) | awk '{ printf "%05d\t%s\n", $1, $1 }' |
	run "llm-dedup cluster -o $work/rm/{1}.rm $work/bkt/bucket-{1}.part-*.bkt"
# 3. map: filter each part with every removal list.
rms=$(for f in "$work"/rm/*.rm; do printf ' -r %s' "$f"; done)
run "llm-dedup apply --part {1} $rms -o $work/out/{1}.jsonl {2}" < "$work/parts.tsv"
echo "dedup-parallel: survivors in $work/out/" >&2
