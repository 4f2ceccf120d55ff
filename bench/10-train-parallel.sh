#!/bin/sh
# 10-train-parallel.sh - llm-train over 2 MPI ranks (issue 11) against the
# same run in one process on the same cores: tokens per second of data,
# tensor and pipeline parallelism and ZeRO 3, each as a ratio to the
# single process (-j 2).  The issue names no external anchor: the single
# process, measured in the same run, is it.  A 4-layer, width-256 model on
# byte-level tinyshakespeare (tests/data/train/shk), batch 8 x 64; median
# tokens/s of steps 3-12 (log.jsonl), the best of 3 runs (the machine is
# shared).  On one machine with 2 cores the ranks only share those cores:
# the ratio shows the layouts' overhead, not a speed-up, which needs more
# machines (pipelines/train-mpi.sh, pipelines/slurm/train.sbatch).
. bench/lib.sh
command -v mpirun >/dev/null || { echo "llm-train parallel: mpirun is missing; skipped"; exit 0; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OPENBLAS_NUM_THREADS=1
model="--data tests/data/train/shk --layers 4 --heads 4 --width 256 --context 64 --seq 64 --batch 8 --steps 12 --eval-batches 1"
run="$BENCH_DIR/par"
# tok_s RANKS OPTIONS...: best over 3 runs of the median tokens/s
tok_s() {
	n=$1
	shift
	for i in 1 2 3; do
		rm -rf "$run"
		if [ "$n" = 1 ]; then
			llm-train $model --out "$run" "$@" >/dev/null 2>&1
		else
			mpirun --oversubscribe --bind-to none --mca btl self,vader -np "$n" \
				llm-train $model --out "$run" "$@" >/dev/null 2>&1
		fi || { echo "bench: llm-train $* failed" >&2; return 1; }
		python3 -c '
import json, statistics, sys
v = [json.loads(l)["tokens_per_s"] for l in open(sys.argv[1]) if "tokens_per_s" in l]
print(statistics.median(v[2:]))' "$run/log.jsonl"
	done | sort -g | tail -1
}
echo "llm-train on 2 MPI ranks vs one process, 2 cores, batch 8 x 64 (anchor: one process, this run)"
base=$(tok_s 1 -j 2) || exit 1
printf '  %-34s %9.0f tok/s\n' "one process, 2 threads (anchor)" "$base"
for layout in "--dp 2" "--dp 2 --zero 3" "--tp 2" "--pp 2 --micro-batches 4"; do
	t=$(tok_s 2 $layout -j 1) || exit 1
	printf '  %-34s %9.0f tok/s  %.2fx the anchor\n' "2 ranks: $layout" "$t" \
		"$(echo "$t / $base" | bc -l)"
done
