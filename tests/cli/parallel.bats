#!/usr/bin/env bats
# llm-train across ranks (mpirun): every layout reproduces the single
# process's loss curve; checkpoints resume under another layout; a dead
# rank ends the job; lib/comm's collectives against serial sums.
# Skipped, with a message, only where mpirun is missing.

load helpers

SHK="$FIX/train/shk"
# tiny: 2 layers, width 32, 4 heads, context 32, byte vocabulary
TINY="--layers 2 --heads 4 --width 32 --context 32 --batch 4 --seq 32 --lr 3e-3"

setup() {
	T="$(mktemp -d "${BATS_TMPDIR:-/tmp}/llmkit.XXXXXX")"
	command -v mpirun >/dev/null || skip "mpirun is missing (apt-get install openmpi-bin)"
	# root in CI; quiet and fast in a container; one BLAS thread per rank
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
	export OMPI_MCA_btl_vader_single_copy_mechanism=none OPENBLAS_NUM_THREADS=1
	export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
}

mpi() {
	local n=$1
	shift
	mpirun --oversubscribe --bind-to none --mca btl self,vader -np "$n" "$@"
}

# The single process's run, then the max relative difference of another
# run's loss curve (and val loss) from it; at least 20 steps compared.
reference() {
	rm -rf "$T/ref"
	llm-train --data "$SHK" --out "$T/ref" $TINY --steps 20 --eval-every 10 \
		--eval-batches 2 -j 1 "$@" 2>/dev/null
}

same_curve() {
	py 'import json, sys
def curve(p, k):
    return [json.loads(l)[k] for l in open(p) if ("\"%s\"" % k) in l]
for k in ("loss", "val_loss"):
    a, b = curve(sys.argv[1], k), curve(sys.argv[2], k)
    assert len(a) == len(b) and len(a) >= (20 if k == "loss" else 2), (k, len(a), len(b))
    worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
    assert worst <= 1e-5, (k, worst)' "$T/ref/log.jsonl" "$1/log.jsonl"
}

@test "lib/comm: every collective under 4 ranks equals the serial result" {
	run mpi 4 "$B/tests/test_comm"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'PASSED  \] 7 test' <<<"$output")" -eq 4 ]
}

@test "data parallel 2 and 4 reproduce the single-process curve, with dropout" {
	reference --dropout 0.1
	for n in 2 4; do
		run mpi $n llm-train --data "$SHK" --out "$T/dp$n" $TINY --steps 20 \
			--eval-every 10 --eval-batches 2 --dropout 0.1 -j 1
		[ "$status" -eq 0 ]
		same_curve "$T/dp$n"
	done
	# one writer: rank 0's log and checkpoint only
	[ "$(grep -c '"loss"' "$T/dp4/log.jsonl")" -eq 20 ]
	[ "$(ls "$T/dp4" | grep -c '^ckpt-')" -eq 1 ]
}

@test "each ZeRO stage with data parallel 2 reproduces the curve (untied, gelu)" {
	reference --untied
	for z in 1 2 3; do
		run mpi 2 llm-train --data "$SHK" --out "$T/z$z" $TINY --steps 20 \
			--eval-every 10 --eval-batches 2 --untied --zero $z -j 1
		[ "$status" -eq 0 ]
		same_curve "$T/z$z"
	done
}

@test "ZeRO 3 at dp 4 with gradient accumulation, rmsnorm, swiglu, rope" {
	local arch="--norm rmsnorm --activation swiglu --positions rope --no-bias --batch-tokens 256"
	reference $arch
	run mpi 4 llm-train --data "$SHK" --out "$T/z3" $TINY --steps 20 \
		--eval-every 10 --eval-batches 2 $arch --zero 3 -j 1
	[ "$status" -eq 0 ]
	same_curve "$T/z3"
}

@test "checkpoints are layout-independent: ZeRO 3 x2 -> dp 4 ZeRO 1 -> one process" {
	reference --dropout 0.1
	run mpi 2 llm-train --data "$SHK" --out "$T/r" $TINY --steps 20 --eval-every 10 \
		--eval-batches 2 --dropout 0.1 --zero 3 --stop-after 8 -j 1
	[ "$status" -eq 0 ]
	[[ "$output" == *"stopped at step 8"* ]]
	run mpi 4 llm-train --out "$T/r" --resume --zero 1 --stop-after 6 -j 1
	[ "$status" -eq 0 ]
	run llm-train --out "$T/r" --resume -j 1
	[ "$status" -eq 0 ]
	same_curve "$T/r"
	# the file a sharded run writes is the single-process format
	run llm-train sample --model "$T/r/latest.ckpt" -m bytes -n 8 --prompt "a"
	[ "$status" -eq 0 ]
}

@test "tensor parallel 2 and 4 reproduce the curve (dropout, post-norm, swiglu, alibi, untied)" {
	reference --dropout 0.1
	for n in 2 4; do
		run mpi $n llm-train --data "$SHK" --out "$T/tp$n" $TINY --steps 20 \
			--eval-every 10 --eval-batches 2 --dropout 0.1 --tp $n -j 1
		[ "$status" -eq 0 ]
		same_curve "$T/tp$n"
	done
	local arch="--post-norm --activation swiglu --positions alibi --untied --dropout 0.1"
	reference $arch
	run mpi 2 llm-train --data "$SHK" --out "$T/tpa" $TINY --steps 20 \
		--eval-every 10 --eval-batches 2 $arch --tp 2 -j 1
	[ "$status" -eq 0 ]
	same_curve "$T/tpa"
}

@test "dp 2 x tp 2 reproduces the curve under ZeRO 0 and 3 (rmsnorm, rope, geglu)" {
	local arch="--norm rmsnorm --positions rope --no-bias --activation geglu"
	reference $arch
	for z in 0 3; do
		run mpi 4 llm-train --data "$SHK" --out "$T/dt$z" $TINY --steps 20 \
			--eval-every 10 --eval-batches 2 $arch --tp 2 --zero $z -j 1
		[ "$status" -eq 0 ]
		same_curve "$T/dt$z"
	done
}

@test "a tensor-parallel checkpoint resumes under data parallel and alone" {
	reference
	run mpi 4 llm-train --data "$SHK" --out "$T/r" $TINY --steps 20 --eval-every 10 \
		--eval-batches 2 --tp 4 --stop-after 7 -j 1
	[ "$status" -eq 0 ]
	run mpi 4 llm-train --out "$T/r" --resume --dp 2 --tp 2 --zero 2 --stop-after 7 -j 1
	[ "$status" -eq 0 ]
	run llm-train --out "$T/r" --resume -j 1
	[ "$status" -eq 0 ]
	same_curve "$T/r"
	# and the file is the one a single process writes at that step
	llm-train --data "$SHK" --out "$T/one" $TINY --steps 20 --stop-after 14 \
		--eval-every 10 --eval-batches 2 -j 1 2>/dev/null
	run mpi 2 llm-train --out "$T/one" --resume --tp 2 -j 1
	[ "$status" -eq 0 ]
	same_curve "$T/one"
}

@test "pipeline parallel 2 and 4 (1F1B) reproduce the curve; dp 2 x pp 2; tp 2 x pp 2" {
	local four="--layers 4 --dropout 0.1"
	reference $four
	run mpi 2 llm-train --data "$SHK" --out "$T/pp2" $TINY $four --steps 20 \
		--eval-every 10 --eval-batches 2 --pp 2 -j 1
	[ "$status" -eq 0 ]
	same_curve "$T/pp2"
	run mpi 4 llm-train --data "$SHK" --out "$T/pp4" $TINY $four --steps 20 \
		--eval-every 10 --eval-batches 2 --pp 4 --micro-batches 4 -j 1
	[ "$status" -eq 0 ]
	same_curve "$T/pp4"
	run mpi 4 llm-train --data "$SHK" --out "$T/dpp" $TINY $four --steps 20 \
		--eval-every 10 --eval-batches 2 --dp 2 --pp 2 --zero 1 -j 1
	[ "$status" -eq 0 ]
	same_curve "$T/dpp"
	run mpi 4 llm-train --data "$SHK" --out "$T/tpp" $TINY $four --steps 20 \
		--eval-every 10 --eval-batches 2 --tp 2 --pp 2 -j 1
	[ "$status" -eq 0 ]
	same_curve "$T/tpp"
}

@test "dp 2 x tp 2 x pp 2 with ZeRO 2 reproduces the curve; its checkpoint resumes anywhere" {
	local four="--layers 4 --untied --post-norm --batch-tokens 256"
	reference $four
	run mpi 8 llm-train --data "$SHK" --out "$T/x" $TINY $four --steps 20 \
		--eval-every 10 --eval-batches 2 --dp 2 --tp 2 --pp 2 --zero 2 -j 1
	[ "$status" -eq 0 ]
	same_curve "$T/x"
	run mpi 4 llm-train --data "$SHK" --out "$T/r" $TINY $four --steps 20 \
		--eval-every 10 --eval-batches 2 --pp 4 --stop-after 6 -j 1
	[ "$status" -eq 0 ]
	run mpi 8 llm-train --out "$T/r" --resume --dp 2 --tp 2 --pp 2 --zero 3 \
		--stop-after 6 -j 1
	[ "$status" -eq 0 ]
	run llm-train --out "$T/r" --resume -j 1
	[ "$status" -eq 0 ]
	same_curve "$T/r"
}

@test "layout errors: batch not divisible, degrees that do not fit, heads not divisible" {
	run mpi 2 llm-train --data "$SHK" --out "$T/x" $TINY --batch 3 --steps 2 -j 1
	[ "$status" -ne 0 ]
	[[ "$output" == *"--batch 3 is not a multiple of the 2 data-parallel ranks"* ]]
	[ ! -e "$T/x/latest.ckpt" ]
	run mpi 2 llm-train --data "$SHK" --out "$T/y" $TINY --dp 4 --steps 2 -j 1
	[ "$status" -eq 2 ]
	[[ "$output" == *"dp 4 x tp 1 x pp 1 = 4, but 2 ranks run"* ]]
	run llm-train --data "$SHK" --out "$T/w" $TINY --zero 4 --steps 2
	[ "$status" -eq 2 ]
	run mpi 2 llm-train --data "$SHK" --out "$T/h" $TINY --heads 1 --tp 2 --steps 2 -j 1
	[ "$status" -ne 0 ]
	[[ "$output" == *"heads (1)"*"divisible by 2"* ]]
	run mpi 2 llm-train --data "$SHK" --out "$T/p" $TINY --pp 2 --micro-batches 3 --steps 2 -j 1
	[ "$status" -ne 0 ]
	[[ "$output" == *"do not split into 3 pipeline micro-batches"* ]]
	run mpi 4 llm-train --data "$SHK" --out "$T/q" $TINY --layers 2 --pp 4 --steps 2 -j 1
	[ "$status" -ne 0 ]
	[[ "$output" == *"2 layers do not fill 4 pipeline stages"* ]]
}

@test "a rank killed mid-run ends the job with an error; the last checkpoint loads" {
	# timeout: a hang fails the test (124) instead of blocking it
	( set +e; timeout 60 mpirun --oversubscribe --bind-to none --mca btl self,vader -np 2 \
		llm-train --data "$SHK" --out "$T/k" $TINY --steps 1000000 \
		--checkpoint-every 20 --zero 2 -j 1 >"$T/k.out" 2>&1; echo $? >"$T/k.rc" ) &
	local job=$!
	for i in $(seq 100); do [ -L "$T/k/latest.ckpt" ] && break; sleep 0.1; done
	[ -L "$T/k/latest.ckpt" ]
	# rank 1, found by its launcher-given environment
	local victim=
	for p in $(pgrep -f "llm-train --data $SHK --out $T/k "); do
		tr '\0' '\n' </proc/$p/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 && victim=$p
	done
	[ -n "$victim" ]
	local start=$SECONDS
	kill -9 "$victim"
	wait $job || true
	[ $((SECONDS - start)) -lt 30 ]
	local rc=$(cat "$T/k.rc")
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]
	grep -q "exited on signal 9" "$T/k.out"
	# the checkpoint written atomically before the death is whole
	run llm-train sample --model "$T/k/latest.ckpt" -m bytes -n 8 --prompt "a"
	[ "$status" -eq 0 ]
}
