#!/bin/sh
# tests/gpu/run.sh - the GPU proof of llmkit's CUDA build (issue 12), one
# script for one GPU: about 5 minutes on an H200 (3 s of checks, 93 s of
# nanoGPT, 60 s of PyTorch, the build), well under 10 on an H100.  From the
# repository root:
#
#   sh tests/gpu/run.sh            (LLM_BUILD=DIR to build elsewhere)
#
#   0. builds the CPU programs and the CUDA build (make all cuda);
#   1. checks every kernel, and the whole model for each architecture
#      option, against the CPU reference (build/cuda/gpu_check);
#   2. trains a small model 50 steps on tests/data/train/shk from one
#      checkpoint with llm-train on the CPU (build/bin/llm-train) and on
#      the GPU (build/cuda/bin/llm-train --device cuda) in fp32 and bf16,
#      and compares the loss curves (fp32 within 1e-4 relative, bf16 within
#      2e-2; fp16 with its loss scaler within 2e-2 too; bf16 with activation
#      recomputation equal to bf16 without, bit for bit, and to
#      gpu_train's bf16 run); a run moved GPU -> CPU and CPU -> GPU at step
#      25 (fp32, within 1e-4); the CPU samples from the GPU's checkpoint;
#  2b. with mpirun and 2 GPUs or more: data parallel on 2 ranks over NCCL
#      (fp32, within 1e-4 of the CPU); skipped on one GPU;
#   3. measures the card's bf16 matrix rate (gpu_matbench) and times GPT-2
#      124M at context 1024 in bf16: tokens/s and MFU;
#   4. runs nanoGPT's shakespeare-char setup (6 layers, 6 heads, width 384,
#      context 256, batch 64, dropout 0.2, lr 1e-3 to 1e-4, 5,000 steps,
#      sequences drawn at random offsets as nanoGPT does) on
#      tinyshakespeare's bytes, then the same model in PyTorch on the same
#      card when torch is importable (tests/gpu/nanogpt_torch.py);
#   prints a table last.  Every step runs under `timeout`.
#
# Knobs (environment): GPU_RUN_BUILD (1; 0 uses the programs already in
# $B, e.g. built on another machine), NANOGPT_STEPS (5000), NANOGPT_SECONDS (210),
# TORCH_SECONDS (180), GPT2_BATCH (16), GPT2_STEPS (25), LLM_SHARED (the
# shared data folder; default ../shared, shared or $B/data).
# Results: $B/gpu-run/ (logs, JSON of each part, table.txt).
cd "$(dirname "$0")/../.." || exit 1
B="${LLM_BUILD:-build}"
OUT="$B/gpu-run"
J=$(nproc 2>/dev/null || echo 4)
NANOGPT_STEPS="${NANOGPT_STEPS:-5000}"
NANOGPT_SECONDS="${NANOGPT_SECONDS:-210}"
TORCH_SECONDS="${TORCH_SECONDS:-180}"
GPT2_BATCH="${GPT2_BATCH:-16}"
GPT2_STEPS="${GPT2_STEPS:-25}"
rm -rf "$OUT"
mkdir -p "$OUT"
RES="$OUT/results.txt"
: > "$RES"
START=$(date +%s)

say() { echo "== $* ($(($(date +%s) - START)) s)" >&2; }
# result KEY VALUE: one line of the final table's input
result() { echo "$1	$2" >> "$RES"; }

# ---- 0. build ---------------------------------------------------------
say "build"
if [ "${GPU_RUN_BUILD:-1}" = 0 ]; then
	echo "(GPU_RUN_BUILD=0: using the programs in $B)" > "$OUT/build.log"
elif ! timeout 420 make B="$B" -j"$J" all cuda > "$OUT/build.log" 2>&1; then
	tail -30 "$OUT/build.log" >&2
	result build FAIL
	echo "run.sh: the build failed ($OUT/build.log)" >&2
	exit 1
fi
result build ok
CU="$B/cuda"
BIN="$B/bin"
if [ ! -x "$CU/gpu_check" ]; then
	echo "run.sh: no CUDA build (is nvcc on PATH?)" >&2
	exit 1
fi

# ---- 1. kernels -------------------------------------------------------
say "1. kernel checks"
timeout 300 "$CU/gpu_check" > "$OUT/gpu_check.txt" 2>&1
rc=$?
timeout 60 "$CU/nccl_check" > "$OUT/nccl_check.txt" 2>&1
nrc=$?
if [ $nrc -eq 0 ]; then result nccl "ok: every collective on a one-rank NCCL group"; else result nccl "FAIL (rc $nrc, $OUT/nccl_check.txt)"; fi
grep -E '^(FAIL|device)' "$OUT/gpu_check.txt" >&2
line=$(tail -1 "$OUT/gpu_check.txt")
echo "$line" >&2
if [ $rc -eq 0 ]; then result kernels "ok: ${line#gpu_check: }"; else result kernels "FAIL (rc $rc): ${line}"; fi

# ---- 2. 50 steps: CPU vs GPU, through llm-train itself ----------------
say "2. loss curves: llm-train on the CPU and with --device cuda"
SHK=tests/data/train/shk
MODEL="--layers 4 --heads 4 --width 128 --context 64"
TRAIN="--batch 8 --seq 64 --steps 50 --lr 1e-3 --min-lr 1e-4 --warmup 5 --dropout 0.1 --seed 7 --eval-batches 4"
GT="$CU/bin/llm-train"
# gpu RUN ARGS...: llm-train on the GPU from init.ckpt into $OUT/RUN
gpu() {
	run=$1
	shift
	timeout 120 "$GT" --data "$SHK" --out "$OUT/$run" --init-from "$OUT/init.ckpt" $TRAIN \
		--device cuda "$@" > "$OUT/$run.txt" 2>&1
}
timeout 60 "$CU/gpu_train" --save-init "$OUT/init.ckpt" --vocab 257 $MODEL --seed 7 &&
timeout 240 "$BIN/llm-train" --data "$SHK" --out "$OUT/cpu" --init-from "$OUT/init.ckpt" $TRAIN \
	--checkpoint-every 25 --keep 0 -j "$J" > "$OUT/cpu.txt" 2>&1 &&
gpu fp32 --precision fp32 &&
gpu bf16 --precision bf16 &&
gpu fp16 --precision fp16 &&
gpu bf16-recompute --precision bf16 --recompute &&
timeout 120 "$CU/gpu_train" --data "$SHK" --out "$OUT/gpu_train-bf16" --init-from "$OUT/init.ckpt" \
	$TRAIN --precision bf16 > "$OUT/gpu_train-bf16.json"
if [ $? -ne 0 ]; then
	result curves "FAIL (a run failed; see $OUT/*.txt)"
else
	# across devices both ways, at step 25: the GPU's fp32 run resumed on
	# the CPU, the CPU's run resumed on the GPU in fp32
	gpu gpu-then-cpu --precision fp32 --stop-after 25 &&
	timeout 120 "$BIN/llm-train" --out "$OUT/gpu-then-cpu" --resume -j "$J" \
		> "$OUT/gpu-then-cpu.resume.txt" 2>&1
	r1=$?
	mkdir -p "$OUT/cpu-then-gpu" &&
	cp "$OUT/cpu/ckpt-00000025.ckpt" "$OUT/cpu/log.jsonl" "$OUT/cpu-then-gpu/" &&
	ln -s ckpt-00000025.ckpt "$OUT/cpu-then-gpu/latest.ckpt" &&
	timeout 120 "$GT" --out "$OUT/cpu-then-gpu" --resume --device cuda --precision fp32 \
		> "$OUT/cpu-then-gpu.txt" 2>&1
	r2=$?
	[ $r1 -eq 0 ] || result resume_gpu_cpu "FAIL (rc $r1, $OUT/gpu-then-cpu*.txt)"
	[ $r2 -eq 0 ] || result resume_cpu_gpu "FAIL (rc $r2, $OUT/cpu-then-gpu.txt)"
	python3 - "$OUT" "$r1" "$r2" >> "$RES" <<'PY'
import json, sys
out, r1, r2 = sys.argv[1], sys.argv[2], sys.argv[3]
def lines(run):
    return [json.loads(l) for l in open(f"{out}/{run}/log.jsonl")]
def losses(run):
    return {j["step"]: j["loss"] for j in lines(run) if "loss" in j}
cpu = losses("cpu")
steps = sorted(cpu)
def compare(key, run, lim, what):
    g = losses(run)
    if len(steps) != 50 or sorted(g) != steps:
        print(f"{key}\tFAIL: {len(g)} steps of {run} vs {len(steps)} CPU steps")
        return
    err = max(abs(g[s] - cpu[s]) / abs(cpu[s]) for s in steps)
    ok = "ok" if err < lim else "FAIL"
    # fp16: a step the loss scaler skipped (overflow at its first scales)
    # leaves the curve a step behind the CPU's, not wrong
    skipped = sum(1 for j in lines(run) if j.get("skipped"))
    note = ""
    if skipped:
        note = f", {skipped} steps skipped by the loss scaler"
        ok = "ok" if err < lim else "SEE"
    print(f"{key}\t{ok}: {what}: max relative loss difference {err:.2e} over 50 steps "
          f"(limit {lim:.0e}{note}); loss {cpu[steps[0]]:.4f} -> CPU {cpu[steps[-1]]:.4f}, "
          f"GPU {g[steps[-1]]:.4f}")
for run, lim in (("fp32", 1e-4), ("bf16", 2e-2), ("fp16", 2e-2)):
    compare(f"curve_{run}", run, lim, f"llm-train --device cuda --precision {run}")
if r1 == "0":
    compare("resume_gpu_cpu", "gpu-then-cpu", 1e-4, "fp32 on the GPU to step 25, then the CPU")
if r2 == "0":
    compare("resume_cpu_gpu", "cpu-then-gpu", 1e-4, "the CPU to step 25, then fp32 on the GPU")
# recomputing activations must not change a bit; gpu_train (the engine's
# stand-alone loop) and llm-train must be the same run
a, b, c = losses("bf16"), losses("bf16-recompute"), losses("gpu_train-bf16")
same = a == b and len(a) == 50
print(f"recompute\t{'ok' if same else 'FAIL'}: bf16 with --recompute "
      f"{'gives the same 50 losses bit for bit' if same else 'differs from without'}")
same = a == c and len(a) == 50
print(f"gpu_train\t{'ok' if same else 'FAIL'}: llm-train --device cuda and gpu_train "
      f"{'give the same 50 bf16 losses bit for bit' if same else 'differ'}")
PY
	# the CPU reads the GPU's checkpoint
	if timeout 60 "$BIN/llm-train" sample --model "$OUT/bf16/latest.ckpt" -m tests/data/train/bytes.bpe \
		--prompt "ROMEO:" -n 40 --seed 1 > "$OUT/sample.txt" 2>&1; then
		result checkpoint "ok: llm-train (CPU) samples from the GPU's bf16 checkpoint"
	else
		result checkpoint "FAIL: the CPU could not read the GPU checkpoint ($OUT/sample.txt)"
	fi
fi

# ---- 2b. data parallel over NCCL: 2 ranks, one GPU each ----------------
say "2b. data parallel on 2 GPUs"
NGPU=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
if ! command -v mpirun > /dev/null 2>&1; then
	result dp2 "SKIPPED: no mpirun"
elif [ "$NGPU" -lt 2 ]; then
	# NCCL refuses two ranks of one group on one device ("Duplicate GPU")
	result dp2 "SKIPPED: $NGPU GPU (NCCL needs one per rank)"
elif [ ! -f "$OUT/init.ckpt" ] || [ ! -f "$OUT/cpu/log.jsonl" ]; then
	result dp2 "SKIPPED: no CPU reference run"
else
	OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
	timeout 180 mpirun --oversubscribe --bind-to none --mca btl self,vader -np 2 "$GT" --data "$SHK" \
		--out "$OUT/dp2" --init-from "$OUT/init.ckpt" $TRAIN --device cuda --precision fp32 \
		> "$OUT/dp2.txt" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		result dp2 "FAIL (rc $rc, $OUT/dp2.txt)"
	else
		python3 - "$OUT" >> "$RES" <<'PY'
import json, sys
out = sys.argv[1]
def losses(run):
    return {j["step"]: j["loss"] for j in map(json.loads, open(f"{out}/{run}/log.jsonl")) if "loss" in j}
cpu, g = losses("cpu"), losses("dp2")
steps = sorted(cpu)
if sorted(g) != steps:
    print(f"dp2\tFAIL: {len(g)} steps vs {len(steps)}")
else:
    err = max(abs(g[s] - cpu[s]) / abs(cpu[s]) for s in steps)
    print(f"dp2\t{'ok' if err < 1e-4 else 'FAIL'}: mpirun -np 2, fp32, gradients "
          f"all-reduced over NCCL: max relative loss difference {err:.2e} (limit 1e-04)")
PY
	fi
fi

# ---- 3. GPT-2 124M ----------------------------------------------------
say "3. matrix rate and GPT-2 124M"
timeout 120 "$CU/gpu_matbench" > "$OUT/matbench.json" 2> "$OUT/matbench.txt"
timeout 300 "$CU/gpu_train" --bench --vocab 50257 --batch "$GPT2_BATCH" --seq 1024 \
	--steps "$GPT2_STEPS" --precision bf16 > "$OUT/gpt2.json" 2> "$OUT/gpt2.txt"
python3 - "$OUT" >> "$RES" <<'PY'
import json, sys
out = sys.argv[1]
try:
    mb = json.load(open(f"{out}/matbench.json"))
    print(f"matmul_bf16\t{mb['tflops']:.0f} TFLOP/s measured ({mb['m']}x{mb['n']}x{mb['k']} cuBLASLt)")
except Exception as e:
    mb = None
    print(f"matmul_bf16\tFAIL ({e})")
try:
    g = json.load(open(f"{out}/gpt2.json"))
    tps = g["tokens_per_s"]
    line = f"{tps:,.0f} tokens/s"
    if mb:
        mfu = tps * g["flops_per_token"] / (mb["tflops"] * 1e12)
        line += f", MFU {100 * mfu:.1f}% of the measured bf16 rate"
    line += f" (H100 nominal 989 TFLOP/s: {100 * tps * g['flops_per_token'] / 989e12:.1f}%)"
    print(f"gpt2_124m\t{line}")
except Exception as e:
    print(f"gpt2_124m\tFAIL ({e})")
PY

# ---- 4. nanoGPT shakespeare-char --------------------------------------
say "4. nanoGPT shakespeare-char"
SHARED="${LLM_SHARED:-}"
for d in ../shared shared "$B/data"; do
	[ -n "$SHARED" ] && break
	[ -f "$d/data/corpus/tinyshakespeare.txt" ] && SHARED="$d"
done
TEXT="$SHARED/data/corpus/tinyshakespeare.txt"
if [ ! -f "$TEXT" ]; then
	result nanogpt "SKIPPED: no tinyshakespeare.txt (set LLM_SHARED)"
else
	C="$OUT/char"
	mkdir -p "$C"
	n=$(wc -c < "$TEXT")
	ntrain=$((n * 9 / 10))
	head -c "$ntrain" "$TEXT" > "$C/train.txt"
	tail -c +"$((ntrain + 1))" "$TEXT" > "$C/val.txt"
	"$BIN/llm-bpe" encode -m tests/data/train/bytes.bpe --text "$C/train.txt" > "$C/train.tok" &&
	"$BIN/llm-bpe" encode -m tests/data/train/bytes.bpe --text "$C/val.txt" > "$C/val.tok" &&
	"$BIN/llm-shard" -o "$C/shards" "$C/train.tok" > /dev/null &&
	"$BIN/llm-shard" -o "$C/shards" --append --val-fraction 1 "$C/val.tok" > /dev/null
	timeout $((NANOGPT_SECONDS + 120)) "$CU/gpu_train" --data "$C/shards" --out "$OUT/nanogpt" \
		--layers 6 --heads 6 --width 384 --context 256 --seq 256 --batch 64 \
		--dropout 0.2 --no-bias --lr 1e-3 --min-lr 1e-4 --warmup 100 --decay-steps 5000 \
		--steps "$NANOGPT_STEPS" --beta2 0.99 --weight-decay 0.1 --decay-embeddings \
		--clip 1 --eval-every 250 --eval-batches 7 --precision bf16 --random-windows \
		--max-seconds "$NANOGPT_SECONDS" > "$OUT/nanogpt.json" 2> "$OUT/nanogpt.txt"
	if python3 -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
		say "4b. the same model in PyTorch"
		timeout $((TORCH_SECONDS + 150)) python3 tests/gpu/nanogpt_torch.py "$TEXT" \
			--steps "$NANOGPT_STEPS" --max-seconds "$TORCH_SECONDS" --eval-every 250 \
			> "$OUT/torch.json" 2> "$OUT/torch.txt"
	fi
	python3 - "$OUT" >> "$RES" <<'PY'
import json, sys
out = sys.argv[1]
try:
    g = json.load(open(f"{out}/nanogpt.json"))
    ms = g["train_s"] / g["steps"] * 1e3
    vals = [json.loads(l) for l in open(f"{out}/nanogpt/log.jsonl") if "val_loss" in l]
    best = min(vals, key=lambda v: v["val_loss"])
    print(f"nanogpt\tllmkit: {g['steps']} steps, best val loss {best['val_loss']:.4f} "
          f"(step {best['step']}), last {g['val_loss']:.4f}, {g['train_s']:.0f} s training "
          f"({ms:.1f} ms/step; nanoGPT README: best val loss 1.4697, ~3 min on an A100)")
except Exception as e:
    g = None
    print(f"nanogpt\tFAIL ({e})")
try:
    t = json.load(open(f"{out}/torch.json"))
    line = (f"PyTorch {t['torch']}{' compiled' if t['compile'] else ''}: {t['steps']} steps, "
            f"best val loss {t['best_val_loss']:.4f}, last {t['val_loss']:.4f}, "
            f"{t['ms_per_step']:.1f} ms/step")
    if g:
        line += f"; llmkit / PyTorch time per step = {g['train_s'] / g['steps'] * 1e3 / t['ms_per_step']:.2f}"
    print(f"nanogpt_torch\t{line}")
except Exception as e:
    print(f"nanogpt_torch\tnot run ({e})")
PY
fi

# ---- the table ----------------------------------------------------------
say "done"
{
	echo
	echo "llmkit GPU run on $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1), $(($(date +%s) - START)) s"
	awk -F'\t' '{ printf "  %-14s %s\n", $1, $2 }' "$RES"
} | tee "$OUT/table.txt"
! grep -q 'FAIL' "$RES"
