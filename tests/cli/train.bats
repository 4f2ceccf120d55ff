#!/usr/bin/env bats
# llm-train: training, resume, checkpoints, refusals, plan, sample, plot.
# Tiny models on tests/data/train/shk (byte-level shards of tinyshakespeare,
# made with llm-bpe and llm-shard; see tests/data/train/README).

load helpers

SHK="$FIX/train/shk"
TINY="--layers 2 --heads 2 --width 32 --context 32 --batch 4 --seq 32"

# Field f of every log line that has it, one per line.
field() {
	py 'import json,sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    if sys.argv[2] in j: print(repr(j[sys.argv[2]]))' "$1" "$2"
}

@test "a tiny model trains: loss falls, log, val loss, checkpoints" {
	run llm-train --data "$SHK" --out "$T/run" $TINY --steps 30 --lr 3e-3 \
		--eval-every 10 --eval-batches 4 --checkpoint-every 10 --keep 2 -j 2
	[ "$status" -eq 0 ]
	[[ "$output" == *"30 steps, 3840 tokens"*"val loss"* ]]
	py 'import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
steps = [l for l in lines if "loss" in l]
vals = [l for l in lines if "val_loss" in l]
assert [l["step"] for l in steps] == list(range(1, 31))
for k in ("loss", "lr", "grad_norm", "tokens", "batch_tokens", "ms", "tokens_per_s", "gflops"):
    assert k in steps[0], k
assert steps[-1]["tokens"] == 30 * 4 * 32
assert [v["step"] for v in vals] == [10, 20, 30]
assert steps[-1]["loss"] < 0.75 * steps[0]["loss"], (steps[0], steps[-1])
assert vals[-1]["val_loss"] < vals[0]["val_loss"]' "$T/run/log.jsonl"
	# the two newest checkpoints are kept, latest.ckpt points at the last
	[ "$(ls "$T/run" | grep -c '^ckpt-')" -eq 2 ]
	[ "$(readlink "$T/run/latest.ckpt")" = "ckpt-00000030.ckpt" ]
	[ -f "$T/run/ckpt-00000020.ckpt" ]
}

@test "N steps, resume, N steps equals 2N steps bit for bit, on any thread count" {
	llm-train --data "$SHK" --out "$T/a" $TINY --steps 16 --dropout 0.1 -j 2 2>/dev/null
	run llm-train --data "$SHK" --out "$T/b" $TINY --steps 16 --dropout 0.1 --stop-after 8 -j 2
	[ "$status" -eq 0 ]
	[[ "$output" == *"stopped at step 8"* ]]
	[ "$(readlink "$T/b/latest.ckpt")" = "ckpt-00000008.ckpt" ]
	run llm-train --out "$T/b" --resume -j 1
	[ "$status" -eq 0 ]
	cmp "$T/a/ckpt-00000016.ckpt" "$T/b/ckpt-00000016.ckpt"
	diff <(field "$T/a/log.jsonl" loss) <(field "$T/b/log.jsonl" loss)
	diff <(field "$T/a/log.jsonl" val_loss) <(field "$T/b/log.jsonl" val_loss)
	[ "$(field "$T/b/log.jsonl" loss | wc -l)" -eq 16 ]
}

@test "resume continues after a crash: the log is cut back to the checkpoint" {
	llm-train --data "$SHK" --out "$T/a" $TINY --steps 12 --checkpoint-every 4 --keep 0 2>/dev/null
	llm-train --data "$SHK" --out "$T/b" $TINY --steps 12 --checkpoint-every 4 --keep 0 2>/dev/null
	# as if the run had died after step 12 with its last checkpoint at 4
	ln -sfn ckpt-00000004.ckpt "$T/b/latest.ckpt"
	rm "$T/b/ckpt-00000012.ckpt"
	run llm-train --out "$T/b" --resume
	[ "$status" -eq 0 ]
	[ "$(field "$T/b/log.jsonl" loss | wc -l)" -eq 12 ]
	cmp "$T/a/ckpt-00000012.ckpt" "$T/b/ckpt-00000012.ckpt"
}

@test "SIGTERM writes a checkpoint and exits 1; --resume goes on" {
	llm-train --data "$SHK" --out "$T/r" $TINY --steps 1000000 -j 1 2>"$T/err" &
	pid=$!
	for i in $(seq 100); do
		[ -s "$T/r/log.jsonl" ] && [ "$(wc -l < "$T/r/log.jsonl")" -ge 3 ] && break
		sleep 0.1
	done
	kill -TERM "$pid"
	wait "$pid" && st=0 || st=$?
	[ "$st" -eq 1 ]
	grep -q "stopped at step" "$T/err"
	n=$(field "$T/r/log.jsonl" loss | wc -l)
	[ "$(readlink "$T/r/latest.ckpt")" = "$(printf 'ckpt-%08d.ckpt' "$n")" ]
	run llm-train --out "$T/r" --resume --steps $((n + 2))
	[ "$status" -eq 0 ]
	[ "$(field "$T/r/log.jsonl" loss | wc -l)" -eq $((n + 2)) ]
}

@test "truncated, other-version, corrupt and other-shape checkpoints are refused" {
	llm-train --data "$SHK" --out "$T/r" $TINY --steps 2 2>/dev/null
	ck="$T/r/ckpt-00000002.ckpt"
	head -c 5000 "$ck" > "$T/cut.ckpt"
	run llm-train --data "$SHK" --out "$T/o1" --init-from "$T/cut.ckpt"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/cut.ckpt: truncated"* ]]
	py 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
v = bytearray(b); v[8] = 2; open(sys.argv[2], "wb").write(v)
c = bytearray(b); c[len(c) // 2] ^= 0x40; open(sys.argv[3], "wb").write(c)
open(sys.argv[4], "wb").write(b"PK\x03\x04" + bytes(b[4:]))' "$ck" "$T/v2.ckpt" "$T/bad.ckpt" "$T/zip.ckpt"
	run llm-train --data "$SHK" --out "$T/o2" --init-from "$T/v2.ckpt"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/v2.ckpt: checkpoint format version 2; this llm-train reads version 1"* ]]
	run llm-train --data "$SHK" --out "$T/o3" --init-from "$T/bad.ckpt"
	[ "$status" -eq 1 ]
	[[ "$output" == *"checksum mismatch"* ]]
	run llm-train --data "$SHK" --out "$T/o4" --init-from "$T/zip.ckpt"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not an llmkit checkpoint"* ]]
	run llm-train --data "$SHK" --out "$T/o5" --init-from "$ck" --width 64
	[ "$status" -eq 2 ]
	[[ "$output" == *"another shape"*"width 32 vs 64"* ]]
	run llm-train --out "$T/r" --resume --layers 3
	[ "$status" -eq 2 ]
	[[ "$output" == *"layers 2 vs 3"* ]]
	# nothing half-made was left behind
	[ ! -e "$T/o1/latest.ckpt" ] && [ ! -e "$T/o5" ]
}

@test "a shard folder whose vocabulary does not match the model is refused" {
	run llm-train --data "$SHK" --out "$T/r" $TINY --vocab 300 --steps 1
	[ "$status" -eq 1 ]
	[[ "$output" == *"$SHK: the shards' vocabulary is 257, the model's 300"* ]]
	llm-train --data "$SHK" --out "$T/ok" $TINY --steps 1 2>/dev/null
	cp -r "$SHK" "$T/v300"
	py 'import json, sys
m = json.load(open(sys.argv[1])); m["vocab_size"] = 300
json.dump(m, open(sys.argv[1], "w"))' "$T/v300/manifest.json"
	run llm-train --data "$T/v300" --out "$T/ft" --init-from "$T/ok/latest.ckpt"
	[ "$status" -eq 1 ]
	[[ "$output" == *"vocabulary is 300, the model's 257"* ]]
}

@test "every architecture option trains a tiny model whose loss falls" {
	for opts in "" "--norm rmsnorm --activation swiglu --positions rope --no-bias --untied" \
		"--post-norm --activation relu --positions sinusoidal" \
		"--activation geglu --positions alibi --heads 4" \
		"--dropout 0.1" "--post-norm --norm rmsnorm --untied"; do
		rm -rf "$T/r"
		run llm-train --data "$SHK" --out "$T/r" $TINY $opts --steps 25 --lr 3e-3 --warmup 2
		[ "$status" -eq 0 ] || { echo "$opts: $output"; return 1; }
		py 'import json, sys
l = [json.loads(x)["loss"] for x in open(sys.argv[1]) if "\"loss\"" in x]
assert l[-1] < 0.8 * l[0], (sys.argv[2], l[0], l[-1])' "$T/r/log.jsonl" "$opts"
	done
}

@test "batch size in tokens by accumulation, ramped up; schedules" {
	run llm-train --data "$SHK" --out "$T/r" $TINY --steps 12 --batch-tokens 2048 \
		--ramp-tokens 1500 --warmup 3 --lr 1e-3 --min-lr 1e-4 --schedule cosine
	[ "$status" -eq 0 ]
	py 'import json, math, sys
s = [json.loads(x) for x in open(sys.argv[1]) if "\"loss\"" in x]
bt = [x["batch_tokens"] for x in s]
assert bt[0] == 128 and bt[-1] == 2048 and bt == sorted(bt), bt
assert s[-1]["tokens"] == sum(bt)
lr = [x["lr"] for x in s]
want = [1e-3 * (i + 1) / 3 for i in range(3)]
want += [1e-4 + 0.5 * (1 + math.cos(math.pi * (i - 3) / 9)) * 9e-4 for i in range(3, 12)]
assert all(abs(a - b) < 1e-9 for a, b in zip(lr, want)), (lr, want)' "$T/r/log.jsonl"
	run llm-train --data "$SHK" --out "$T/r2" $TINY --steps 4 --batch-tokens 100
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a multiple of --batch x --seq = 128"* ]]
	llm-train --data "$SHK" --out "$T/l" $TINY --steps 4 --schedule linear --lr 1e-3 --min-lr 0 2>/dev/null
	[ "$(field "$T/l/log.jsonl" lr | tr '\n' ' ')" = "0.001 0.00075 0.0005 0.00025 " ]
}

@test "--init-from fine-tunes: trained weights, fresh optimizer, steps from 1" {
	llm-train --data "$SHK" --out "$T/base" $TINY --steps 40 --lr 3e-3 2>/dev/null
	run llm-train --data "$SHK" --out "$T/ft" --init-from "$T/base/latest.ckpt" --steps 3 --lr 1e-4
	[ "$status" -eq 0 ]
	llm-train --data "$SHK" --out "$T/fresh" $TINY --steps 3 2>/dev/null
	py 'import json, sys
ft = [json.loads(x) for x in open(sys.argv[1]) if "\"loss\"" in x]
fr = [json.loads(x) for x in open(sys.argv[2]) if "\"loss\"" in x]
base = [json.loads(x) for x in open(sys.argv[3]) if "\"loss\"" in x]
assert [x["step"] for x in ft] == [1, 2, 3]
assert ft[0]["loss"] < fr[0]["loss"] - 1.0, (ft[0], fr[0])
assert abs(ft[0]["loss"] - base[-1]["loss"]) < 0.5' "$T/ft/log.jsonl" "$T/fresh/log.jsonl" "$T/base/log.jsonl"
}

@test "usage errors exit 2; an --out that holds a run is not clobbered" {
	run llm-train --data "$SHK"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--out DIR is required"* ]]
	run llm-train --data "$SHK" --out "$T/r" --norm batchnorm
	[ "$status" -eq 2 ]
	run llm-train --data "$SHK" --out "$T/r" --lr -1
	[ "$status" -eq 2 ]
	run llm-train --data "$SHK" --out "$T/r" $TINY --seq 64
	[ "$status" -eq 1 ]
	[[ "$output" == *"--seq 64 is longer than the context 32"* ]]
	run llm-train frobnicate
	[ "$status" -eq 2 ]
	llm-train --data "$SHK" --out "$T/r" $TINY --steps 1 2>/dev/null
	run llm-train --data "$SHK" --out "$T/r" $TINY --steps 1
	[ "$status" -eq 1 ]
	[[ "$output" == *"already holds a run"* ]]
	run llm-train --data "$T/nope" --out "$T/x" $TINY
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/nope/manifest.json"* ]]
}

@test "plan: LLaMA-2 7B and 70B A100-hours within 15% of Meta's figures" {
	llama="--norm rmsnorm --activation swiglu --positions rope --no-bias --untied --vocab 32000 --context 4096"
	llm-train plan $llama --layers 32 --heads 32 --width 4096 --ffn 11008 \
		--tokens 2e12 --gpu A100 --mfu 0.45 --gpus 2048 --json > "$T/7b.json"
	llm-train plan $llama --layers 80 --heads 64 --kv-heads 8 --width 8192 --ffn 28672 \
		--tokens 2e12 --gpu A100 --mfu 0.45 --gpus 2048 --json > "$T/70b.json"
	llm-train plan --params 7e9 --tokens 2e12 --mfu 0.4 --json > "$T/p7.json"
	py 'import json, sys
a, b, c = (json.load(open(f)) for f in sys.argv[1:4])
assert abs(a["parameters"] - 6.738e9) / 6.738e9 < 0.002, a["parameters"]
assert abs(b["parameters"] - 68.98e9) / 68.98e9 < 0.002, b["parameters"]
for got, want in ((a, 184320), (b, 1720320), (c, 184320)):
    assert abs(got["gpu_hours"] - want) / want < 0.15, (got["gpu_hours"], want)
assert abs(a["chinchilla_tokens"] / (20 * a["parameters"]) - 1) < 1e-9
assert abs(c["flops"] - 6 * 7e9 * 2e12) < 1e9
mem = {m["name"]: m for m in a["memory_per_gpu_bytes"]}
assert mem["ZeRO-3"]["total"] < mem["ZeRO-1"]["total"] < mem["data parallel"]["total"]
assert abs(mem["data parallel"]["optimizer"] / (12 * a["parameters"]) - 1) < 1e-9' "$T/7b.json" "$T/70b.json" "$T/p7.json"
	run llm-train plan --tokens 1e10 --gpu H100 --gpus 16 --batch 4 --seq 64
	[ "$status" -eq 0 ]
	[[ "$output" == *"124.44M"*"H100"*"ZeRO-2"*"tensor parallel x8"*"pipeline parallel x4"*"llm-train, this CPU"* ]]
	run llm-train plan --tokens 1e10 --gpu V100
	[ "$status" -eq 2 ]
	run llm-train plan --layers 4
	[ "$status" -eq 2 ]
}

@test "sample: seeded, greedy, top-k; needs a tokenizer for large vocabularies" {
	llm-train --data "$SHK" --out "$T/r" $TINY --steps 30 --lr 3e-3 2>/dev/null
	ck="$T/r/latest.ckpt"
	llm-train sample --model "$ck" -m "$FIX/train/bytes.bpe" --prompt "ROMEO:" -n 40 --seed 3 > "$T/s1"
	llm-train sample --model "$ck" -m "$FIX/train/bytes.bpe" --prompt "ROMEO:" -n 40 --seed 3 > "$T/s2"
	llm-train sample --model "$ck" -m "$FIX/train/bytes.bpe" --prompt "ROMEO:" -n 40 --seed 4 > "$T/s3"
	cmp "$T/s1" "$T/s2"
	! cmp -s "$T/s1" "$T/s3"
	[[ "$(head -c 6 "$T/s1")" == "ROMEO:" ]]
	[ "$(wc -c < "$T/s1")" -ge 20 ]
	llm-train sample --model "$ck" -m "$FIX/train/bytes.bpe" --prompt "A" -n 30 --temperature 0 > "$T/g1"
	llm-train sample --model "$ck" -m "$FIX/train/bytes.bpe" --prompt "A" -n 30 --top-k 1 --seed 9 > "$T/g2"
	cmp "$T/g1" "$T/g2"
	run llm-train sample --model "$ck" --prompt "x"
	[ "$status" -eq 2 ]
	[[ "$output" == *"needs -m TOKENIZER"* ]]
}

@test "plot draws train and val loss into a PNG" {
	llm-train --data "$SHK" --out "$T/r" $TINY --steps 10 --eval-every 5 --eval-batches 2 2>/dev/null
	run llm-train plot "$T/r" -o "$T/loss.png"
	[ "$status" -eq 0 ]
	[[ "$output" == *"10 steps, 2 validations"* ]]
	[ "$(head -c 8 "$T/loss.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]
	run llm-train plot "$T/nothing"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/nothing/log.jsonl"* ]]
}

@test "export writes a Hugging Face GPT-2 directory; other layouts are refused" {
	llm-train --data "$SHK" --out "$T/r" $TINY --steps 3 2>/dev/null
	run llm-train export --model "$T/r/latest.ckpt" -m "$FIX/train/bytes.bpe" -o "$T/hf"
	[ "$status" -eq 0 ]
	py 'import json, struct, sys
ck, d = sys.argv[1], sys.argv[2]
cfg = json.load(open(d + "/config.json"))
assert cfg["model_type"] == "gpt2" and cfg["n_layer"] == 2 and cfg["n_embd"] == 32
assert cfg["vocab_size"] == 257 and cfg["eos_token_id"] == 0
b = open(d + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); data = b[8 + n:]
def st(name):
    t = h[name]; s, e = t["data_offsets"]
    return t["shape"], struct.unpack("<%df" % ((e - s) // 4), data[s:e])
c = open(ck, "rb").read()
hl = struct.unpack("<Q", c[16:24])[0]
hd = json.loads(c[24:24 + hl]); p0 = hd["sections"]["params"]["offset"]
tens = {t["name"]: t for t in hd["tensors"]}
def ckpt(name):
    t = tens[name]; k = 1
    for s in t["shape"]: k *= s
    o = p0 + 4 * t["offset"]
    return t["shape"], struct.unpack("<%df" % k, c[o:o + 4 * k])
(r, k), w = ckpt("h.1.attn.c_attn.weight")      # (3C, C), out x in
shape, x = st("transformer.h.1.attn.c_attn.weight")
assert shape == [k, r]                           # Conv1D: in x out
assert all(x[j * r + i] == w[i * k + j] for i in range(r) for j in range(k))
shape, x = st("transformer.wte.weight")
assert shape == [257, 32]                        # no padding rows
assert x == ckpt("wte")[1][:257 * 32]
assert "lm_head.weight" not in h and len(h) == 1 + 2 + 12 * 2 + 2' "$T/r/latest.ckpt" "$T/hf"
	[ -s "$T/hf/tokenizer.json" ]
	llm-train --data "$SHK" --out "$T/l" $TINY --steps 1 --norm rmsnorm 2>/dev/null
	run llm-train export --model "$T/l/latest.ckpt" -o "$T/hf2"
	[ "$status" -eq 1 ]
	[[ "$output" == *"--norm rmsnorm is not a GPT-2"* ]]
}
