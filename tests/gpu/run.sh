#!/bin/sh
# tests/gpu/run.sh - the GPU proof of llmkit's CUDA build (issue 12), one
# script for one GPU: about 4 minutes on an H200 (3 s of checks, 93 s of
# nanoGPT, 60 s of PyTorch, the build), well under 10 on an H100.  From the
# repository root:
#
#   sh tests/gpu/run.sh            (LLM_BUILD=DIR to build elsewhere)
#
#   0. builds the CPU programs and the CUDA build (make all cuda);
#   1. checks every kernel, and the whole model for each architecture
#      option, against the CPU reference (build/cuda/gpu_check);
#   2. trains a small model 50 steps on tests/data/train/shk from one
#      checkpoint on the CPU (llm-train) and on the GPU in fp32 and bf16,
#      and compares the loss curves (fp32 within 1e-4 relative, bf16 within
#      2e-2; fp16 with its loss scaler within 2e-2 too; bf16 with activation
#      recomputation equal to bf16 without, bit for bit); then the CPU
#      reads the GPU's final checkpoint (llm-train sample);
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

# ---- 2. 50 steps: CPU vs GPU fp32 and bf16 ----------------------------
say "2. loss curves CPU / GPU fp32 / GPU bf16"
SHK=tests/data/train/shk
MODEL="--layers 4 --heads 4 --width 128 --context 64"
TRAIN="--batch 8 --seq 64 --steps 50 --lr 1e-3 --min-lr 1e-4 --warmup 5 --dropout 0.1 --seed 7 --eval-batches 4"
timeout 60 "$CU/gpu_train" --save-init "$OUT/init.ckpt" --vocab 257 $MODEL --seed 7 &&
timeout 240 "$BIN/llm-train" --data "$SHK" --out "$OUT/cpu" --init-from "$OUT/init.ckpt" $TRAIN -j "$J" > "$OUT/cpu.txt" 2>&1 &&
timeout 120 "$CU/gpu_train" --data "$SHK" --out "$OUT/fp32" --init-from "$OUT/init.ckpt" $TRAIN --precision fp32 > "$OUT/fp32.json" &&
timeout 120 "$CU/gpu_train" --data "$SHK" --out "$OUT/bf16" --init-from "$OUT/init.ckpt" $TRAIN --precision bf16 > "$OUT/bf16.json" &&
timeout 120 "$CU/gpu_train" --data "$SHK" --out "$OUT/fp16" --init-from "$OUT/init.ckpt" $TRAIN --precision fp16 --loss-scale 1024 > "$OUT/fp16.json" &&
timeout 120 "$CU/gpu_train" --data "$SHK" --out "$OUT/bf16-recompute" --init-from "$OUT/init.ckpt" $TRAIN --precision bf16 --recompute > "$OUT/bf16-recompute.json"
if [ $? -ne 0 ]; then
	result curves "FAIL (a run failed; see $OUT)"
else
	python3 - "$OUT" >> "$RES" <<'PY'
import json, sys
out = sys.argv[1]
def losses(run):
    d = {}
    for line in open(f"{out}/{run}/log.jsonl"):
        j = json.loads(line)
        if "loss" in j:
            d[j["step"]] = j["loss"]
    return d
cpu = losses("cpu")
for run, lim in (("fp32", 1e-4), ("bf16", 2e-2), ("fp16", 2e-2)):
    g = losses(run)
    steps = sorted(cpu)
    if len(steps) != 50 or sorted(g) != steps:
        print(f"curve_{run}\tFAIL: {len(g)} GPU steps vs {len(steps)} CPU steps")
        continue
    err = max(abs(g[s] - cpu[s]) / abs(cpu[s]) for s in steps)
    ok = "ok" if err < lim else "FAIL"
    print(f"curve_{run}\t{ok}: max relative loss difference {err:.2e} over 50 steps "
          f"(limit {lim:.0e}); loss {cpu[steps[0]]:.4f} -> CPU {cpu[steps[-1]]:.4f}, "
          f"GPU {g[steps[-1]]:.4f}")
# recomputing activations must not change a bit
a, b = losses("bf16"), losses("bf16-recompute")
same = a == b and len(a) == 50
print(f"recompute\t{'ok' if same else 'FAIL'}: bf16 with --recompute "
      f"{'gives the same 50 losses bit for bit' if same else 'differs from without'}")
PY
	# the CPU reads the GPU's checkpoint
	if timeout 60 "$BIN/llm-train" sample --model "$OUT/fp32/final.ckpt" -m tests/data/train/bytes.bpe \
		--prompt "ROMEO:" -n 40 --seed 1 > "$OUT/sample.txt" 2>&1; then
		result checkpoint "ok: llm-train (CPU) samples from the GPU's final.ckpt"
	else
		result checkpoint "FAIL: the CPU could not read the GPU checkpoint ($OUT/sample.txt)"
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
