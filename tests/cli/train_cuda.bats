#!/usr/bin/env bats
# llm-train's --device and --precision: the CPU build refuses GPUs; the
# CUDA build (BUILD/cuda/bin/llm-train, made by `make cuda` where nvcc is
# installed) trains on the CPU where it sees no GPU, giving exactly the
# CPU build's run.  Its GPU path is checked by tests/gpu/run.sh on a GPU.

load helpers

SHK="$FIX/train/shk"
TINY="--layers 2 --heads 2 --width 32 --context 32 --batch 4 --seq 32"
CUDA_TRAIN="$B/cuda/bin/llm-train"

# The CUDA build, or skip; a machine with a GPU makes --device auto
# train there, which these CPU comparisons cannot check.
need_cuda_build() {
	[ -x "$CUDA_TRAIN" ] || skip "no CUDA build (make cuda needs nvcc)"
}

no_gpu_here() {
	if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
		skip "a GPU is visible: tests/gpu/run.sh checks this machine"
	fi
}

# log.jsonl without its timings (ms, tokens_per_s, gflops).
untimed() {
	py 'import json, sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    for k in ("ms", "tokens_per_s", "gflops"):
        j.pop(k, None)
    print(json.dumps(j, sort_keys=True))' "$1"
}

@test "the CPU build refuses --device cuda (naming make cuda) and bf16/fp16" {
	run llm-train --data "$SHK" --out "$T/r" $TINY --steps 2 --device cuda
	[ "$status" -eq 2 ]
	[[ "$output" == *"built without CUDA"*"make cuda"* ]]
	for p in bf16 fp16; do
		run llm-train --data "$SHK" --out "$T/r" $TINY --steps 2 --precision "$p"
		[ "$status" -eq 2 ]
		[[ "$output" == *"--precision $p: the CPU trains in fp32 only"* ]]
	done
	run llm-train --data "$SHK" --out "$T/r" $TINY --steps 2 --device gpu
	[ "$status" -eq 2 ]
	[[ "$output" == *"'gpu' is not auto, cpu or cuda"* ]]
	run llm-train --data "$SHK" --out "$T/r" $TINY --steps 2 --precision fp8
	[ "$status" -eq 2 ]
	[[ "$output" == *"'fp8' is not bf16, fp16 or fp32"* ]]
	# nothing was started
	[ ! -e "$T/r" ]
}

@test "the CPU build trains with --device auto, --device cpu and --precision fp32 alike" {
	llm-train --data "$SHK" --out "$T/a" $TINY --steps 4 2>/dev/null
	run llm-train --data "$SHK" --out "$T/b" $TINY --steps 4 --device auto
	[ "$status" -eq 0 ]
	run llm-train --data "$SHK" --out "$T/c" $TINY --steps 4 --device cpu --precision fp32
	[ "$status" -eq 0 ]
	cmp "$T/a/latest.ckpt" "$T/b/latest.ckpt"
	cmp "$T/a/latest.ckpt" "$T/c/latest.ckpt"
}

@test "the CUDA build without a GPU trains on the CPU: the CPU build's log and checkpoints" {
	need_cuda_build
	no_gpu_here
	args=(--data "$SHK" $TINY --steps 12 --dropout 0.1 --eval-every 4 --eval-batches 2
	      --checkpoint-every 6 --keep 0 -j 2)
	llm-train "${args[@]}" --out "$T/cpu" 2>/dev/null
	run "$CUDA_TRAIN" "${args[@]}" --out "$T/auto" --progress
	[ "$status" -eq 0 ]
	[[ "$output" == *"threads, BLAS"* ]]	# the CPU's banner, not CUDA's
	for f in ckpt-00000006.ckpt ckpt-00000012.ckpt; do
		cmp "$T/cpu/$f" "$T/auto/$f"
	done
	diff <(untimed "$T/cpu/log.jsonl") <(untimed "$T/auto/log.jsonl")
	[ "$(untimed "$T/auto/log.jsonl" | grep -c val_loss)" -eq 3 ]
}

@test "a run moves between the builds: CPU build, then CUDA build (CPU), equals one run" {
	need_cuda_build
	no_gpu_here
	llm-train --data "$SHK" --out "$T/one" $TINY --steps 8 --dropout 0.1 2>/dev/null
	llm-train --data "$SHK" --out "$T/two" $TINY --steps 8 --dropout 0.1 --stop-after 4 2>/dev/null
	run "$CUDA_TRAIN" --out "$T/two" --resume --device cpu
	[ "$status" -eq 0 ]
	cmp "$T/one/ckpt-00000008.ckpt" "$T/two/ckpt-00000008.ckpt"
	diff <(untimed "$T/one/log.jsonl") <(untimed "$T/two/log.jsonl")
}

@test "the CUDA build: --device cuda without a GPU fails cleanly (exit 1, no CUDA device)" {
	need_cuda_build
	no_gpu_here
	run "$CUDA_TRAIN" --data "$SHK" --out "$T/r" $TINY --steps 2 --device cuda
	[ "$status" -eq 1 ]
	[[ "$output" == *"--device cuda: no CUDA device"* ]]
	[ ! -e "$T/r" ]
	# bf16 is a GPU precision: auto falls back to the CPU, which refuses it
	run "$CUDA_TRAIN" --data "$SHK" --out "$T/r" $TINY --steps 2 --precision bf16
	[ "$status" -eq 2 ]
	[[ "$output" == *"the CPU trains in fp32 only"* ]]
}

@test "the CUDA build refuses ZeRO, tensor and pipeline parallelism on GPUs (usage, exit 2)" {
	need_cuda_build
	for opt in "--tp 2" "--pp 2" "--zero 1"; do
		run "$CUDA_TRAIN" --data "$SHK" --out "$T/r" $TINY --steps 2 --device cuda $opt
		[ "$status" -eq 2 ]
		[[ "$output" == *"--tp, --pp and --zero do not run on GPUs yet"* ]]
	done
	# on the CPU they are the CPU's business (ZeRO 1 on one rank trains)
	run "$CUDA_TRAIN" --data "$SHK" --out "$T/r" $TINY --steps 2 --device cpu --zero 1
	[ "$status" -eq 0 ]
	[ -f "$T/r/ckpt-00000002.ckpt" ]
}

@test "both builds' --help list --device and --precision" {
	run llm-train --help
	[[ "$output" == *"--device auto|cpu|cuda"*"--precision bf16|fp16|fp32"* ]]
	[ -x "$CUDA_TRAIN" ] || return 0
	diff <(llm-train --help) <("$CUDA_TRAIN" --help)
}
