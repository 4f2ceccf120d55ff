#!/usr/bin/env bats
# llm-eval: metric parity with sacreBLEU and rouge-score (committed
# fixtures, tests/ref/eval_*.jsonl), bad input, review and judges.

load helpers

EV="$ROOT/tests/data/eval"

parity() {
	run python3 "$ROOT/tests/ref/eval_check.py" "$B/bin/llm-eval" \
		"$ROOT/tests/ref/eval_$1.jsonl" "$EV"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *" cases agree to 4 decimal places"* ]]
}

@test "bleu equals sacreBLEU on its tests and on real text" {
	parity bleu
}

@test "chrf equals sacreBLEU's chrF and chrF++ on its tests and on real text" {
	parity chrf
}

@test "rouge equals rouge-score, bootstrap intervals included" {
	parity rouge
}

@test "bleu output: one JSON object, or one a line with --sentence" {
	run llm-eval bleu --hyp "$EV/real300.hyp" --ref "$EV/real300.ref" -o "$T/out.json"
	[ "$status" -eq 0 ]
	[[ "$output" == *"300 segments"* ]]
	py '
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("score", "counts", "totals", "precisions", "bp", "sys_len", "ref_len", "signature"):
    assert k in d, k
assert d["signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
assert 0 < d["score"] < 100 and len(d["counts"]) == 4
' "$T/out.json"
	llm-eval bleu --sentence --hyp "$EV/real300.hyp" --ref "$EV/real300.ref" > "$T/s.jsonl"
	[ "$(wc -l < "$T/s.jsonl")" -eq 300 ]
	grep -q 'eff:yes' "$T/s.jsonl"
}

@test "compressed inputs are read by content" {
	gzip -c "$EV/real300.hyp" > "$T/h.gz"
	zstd -q -c "$EV/real300.ref" > "$T/r.zst"
	a=$(llm-eval chrf --hyp "$EV/real300.hyp" --ref "$EV/real300.ref" 2>/dev/null)
	b=$(llm-eval chrf --hyp "$T/h.gz" --ref "$T/r.zst" 2>/dev/null)
	[ "$a" = "$b" ]
}

@test "bad input: unaligned files, invalid UTF-8, empty input name file and line" {
	head -5 "$EV/real300.ref" > "$T/short.ref"
	run llm-eval bleu --hyp "$EV/real300.hyp" --ref "$T/short.ref"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/short.ref has 5 lines but $EV/real300.hyp has 300"* ]]
	printf 'good line\nbad \xff line\n' > "$T/bad.hyp"
	printf 'a\nb\n' > "$T/two.ref"
	run llm-eval chrf --hyp "$T/bad.hyp" --ref "$T/two.ref"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad.hyp:2: byte 5: invalid UTF-8"* ]]
	: > "$T/empty"
	run llm-eval bleu --hyp "$T/empty" --ref "$T/empty"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no segments"* ]]
	printf '{"hyp": "a", "ref": "b"}\n{"hyp": 3, "ref": "b"}\n' > "$T/bad.jsonl"
	run llm-eval rouge --jsonl "$T/bad.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad.jsonl:2: \"hyp\" is missing or not a string"* ]]
	printf '{"hyp": "a", "ref": [1]}\n' > "$T/bad2.jsonl"
	run llm-eval rouge --jsonl "$T/bad2.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad2.jsonl:1: \"ref\" holds a value that is not a string"* ]]
	run llm-eval bleu --hyp "$T/missing" --ref "$T/two.ref"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/missing: No such file or directory"* ]]
}

@test "usage errors exit 2" {
	run llm-eval bleu --ref x
	[ "$status" -eq 2 ]
	[[ "$output" == *"--hyp FILE is required"* ]]
	run llm-eval bleu --hyp x --ref y --tokenize zh
	[ "$status" -eq 2 ]
	run llm-eval bleu --hyp x --ref y --max-ngram 0
	[ "$status" -eq 2 ]
	run llm-eval rouge --jsonl x --types rouge1,rougeX
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown ROUGE type 'rougeX'"* ]]
	run llm-eval chrf --hyp x --ref y --char-order 0
	[ "$status" -eq 2 ]
	run llm-eval frobnicate
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown command 'frobnicate'"* ]]
	run llm-eval
	[ "$status" -eq 2 ]
	for c in bleu chrf rouge review; do
		run llm-eval $c --help
		[ "$status" -eq 0 ]
		[[ "$output" == "usage: llm-eval $c"* ]]
	done
}

@test "a failed run keeps the previous -o file" {
	echo previous > "$T/out.json"
	run llm-eval bleu --hyp "$EV/real300.hyp" --ref "$T/nope" -o "$T/out.json"
	[ "$status" -eq 1 ]
	[ "$(cat "$T/out.json")" = previous ]
}

gens() {
	cat > "$T/gen.jsonl" <<'J'
{"id": "1", "prompt": "Say hi", "completion": "Hi, there!", "group": "small"}
{"id": 2, "prompt": "Two\nlines", "completion": "a \"quoted\", text", "group": "large"}
{"id": "3", "prompt": "x", "completion": "bad", "model": "small"}
J
}

@test "review: export a sheet and a page, rate, import the means" {
	gens
	run llm-eval review export --in "$T/gen.jsonl" -o "$T/sheet.csv" --html "$T/page.html"
	[ "$status" -eq 0 ]
	grep -q 'data-id="3"' "$T/page.html"
	grep -q '&quot;quoted&quot;' "$T/page.html"
	py '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["id", "group", "prompt", "completion", "rating", "notes"], rows[0]
assert rows[2][2] == "Two\nlines" and rows[2][3] == "a \"quoted\", text", rows[2]
assert [r[1] for r in rows[1:]] == ["small", "large", "small"]
for r, v in zip(rows[1:], ["4", "5", "2"]):
    r[4] = v
rows.append(["4", "small", "p", "c", "", "not rated"])
csv.writer(open(sys.argv[2], "w", newline="")).writerows(rows)
' "$T/sheet.csv" "$T/rated.csv"
	run llm-eval review import --json "$T/sum.json" "$T/rated.csv"
	[ "$status" -eq 0 ]
	[[ "$output" == *"small"*"2"*"3.000"* ]]
	py '
import json, sys
g = json.load(open(sys.argv[1]))["groups"]
assert g["small"]["rated"] == 2 and g["small"]["unrated"] == 1
assert abs(g["small"]["mean"] - 3.0) < 1e-12 and abs(g["small"]["stderr"] - 1.0) < 1e-12
lo, hi = g["small"]["ci95"]
assert abs(lo - (3 - 12.706205)) < 1e-5 and abs(hi - (3 + 12.706205)) < 1e-5
assert g["large"]["rated"] == 1 and "ci95" not in g["large"]
' "$T/sum.json"
	printf 'id,group,prompt,completion,rating,notes\n1,a,p,c,five,\n' > "$T/bad.csv"
	run llm-eval review import "$T/bad.csv"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad.csv:2: rating 'five' is not a number"* ]]
}

@test "review --judge: scores from a command; failures are reported, never scored" {
	gens
	cat > "$T/judge.sh" <<'S'
#!/bin/sh
python3 -c 'import json, sys; d = json.load(sys.stdin); print(len(d["completion"]))'
S
	chmod +x "$T/judge.sh"
	run llm-eval review export --in "$T/gen.jsonl" -o "$T/j.csv" --judge "$T/judge.sh"
	[ "$status" -eq 0 ]
	py '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0][6:] == ["judge_score", "judge_error"]
assert [float(r[6]) for r in rows[1:]] == [10.0, 16.0, 3.0], rows
' "$T/j.csv"
	run llm-eval review export --in "$T/gen.jsonl" -o "$T/g.csv" --judge 'echo not-a-number'
	[ "$status" -eq 1 ]
	[[ "$output" == *"item 1 (id \"1\"): judge printed 'not-a-number', not a score"* ]]
	[ ! -e "$T/g.csv" ]
	run llm-eval review export --in "$T/gen.jsonl" -o "$T/g.csv" --on-error=skip \
		--judge 'read x; case "$x" in *bad*) exit 3;; esac; echo "{\"score\": 0.5}"'
	[ "$status" -eq 0 ]
	[[ "$output" == *"item 3 (id \"3\"): judge exited with status 3"* ]]
	py '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert [r[6] for r in rows[1:]] == ["0.5", "0.5", ""], rows
assert rows[3][7] == "judge exited with status 3", rows[3]
' "$T/g.csv"
	run llm-eval review import "$T/g.csv"
	[ "$status" -eq 0 ]
	[[ "$output" == *"judge, 1 failed"* ]]
	run llm-eval review export --in "$T/gen.jsonl" --judge 'sleep 10' --judge-timeout 0.2
	[ "$status" -eq 1 ]
	[[ "$output" == *"judge timed out after 0.2 s"* ]]
}

@test "prompts: the real HellaSwag, ARC and MMLU files, harness formats" {
	export LLM_EVAL_DATA="$DATA/eval"
	llm-eval prompts --task hellaswag > "$T/hs.jsonl"
	llm-eval prompts --task arc_easy --letter --limit 5 > "$T/arc.jsonl"
	llm-eval prompts --task mmlu --shots 5 > "$T/mmlu.jsonl"
	py '
import json, sys
hs = [json.loads(l) for l in open(sys.argv[1])]
assert len(hs) == 10042, len(hs)
h = hs[0]
assert h["context"] == "Roof shingle removal: A man is sitting on a roof. he", h
assert h["continuations"][3] == " starts pulling up roofing on a roof." and h["gold"] == 3
assert all("[title]" not in c and "[step]" not in c for x in hs for c in x["continuations"])  # preprocessed
a = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == 5 and a[0]["continuations"] == [" A", " B", " C", " D"]
assert a[0]["context"].startswith("Question: Which statement best explains")
assert a[0]["context"].endswith("\nD. The producers in all ecosystems are plants.\nAnswer:")
m = [json.loads(l) for l in open(sys.argv[3])]
assert len(m) == 14042, len(m)
x = m[0]
assert x["subject"] == "abstract_algebra"
assert x["context"].startswith("The following are questions (with answers) about abstract algebra.\n\nQuestion: Find all c in Z_3")
assert x["context"].count("\nAnswer: ") == 5 and x["context"].endswith("\nAnswer:")
' "$T/hs.jsonl" "$T/arc.jsonl" "$T/mmlu.jsonl"
}

@test "prompts: generic JSONL, seeded shots, malformed files name the line" {
	cat > "$T/task.jsonl" <<'J'
{"context": "1 + 1 =", "choices": ["2", "3"], "gold": 0}
{"context": "2 + 2 =", "choices": ["4", "5"], "gold": 0}
{"context": "3 + 3 =", "choices": ["7", "6"], "gold": 1}
J
	llm-eval prompts --task "$T/task.jsonl" --shots 1 --seed 5 > "$T/a"
	llm-eval prompts --task "$T/task.jsonl" --shots 1 --seed 5 > "$T/b"
	cmp "$T/a" "$T/b"
	[ "$(wc -l < "$T/a")" -eq 3 ]
	grep -q '"context":"[0-9] + [0-9] = [0-9]\\n\\n3 + 3 ="' "$T/a"
	printf '{"context": "x", "choices": ["a", "b"], "gold": 0}\n{"context": "y", "choices": ["a", "b"], "gold": 5}\n' > "$T/bad.jsonl"
	run llm-eval prompts --task "$T/bad.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad.jsonl:2: gold answer missing or not an index into the choices"* ]]
	printf 'ctx\n1\na\nb\nc\nd\nctx\nX\na\nb\nc\nd\n' > "$T/hs.txt"
	run llm-eval prompts --task "$T/hs.txt"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/hs.txt:8: gold label 'X' is not 0, 1, 2 or 3"* ]]
	run llm-eval prompts --task "$T/task.jsonl" --shots 3
	[ "$status" -eq 1 ]
	[[ "$output" == *"3 shots wanted, the task has only 3 items"* ]]
	run llm-eval prompts --task nosuchtask
	[ "$status" -eq 1 ]
}

# A tiny byte-level model trained for a second on twelve made-up facts,
# "the capital of X is Y.", and the multiple-choice task asking them; made
# once per file in $D and shared by the tests below.
train_facts() {
	D="$BATS_FILE_TMPDIR/facts"
	BPE="$FIX/train/bytes.bpe"
	CKPT="$D/run/latest.ckpt"
	[ -f "$CKPT" ] && return 0
	mkdir -p "$D"
	py '
import json, random, sys
rnd = random.Random(3)
word = lambda n: "".join(rnd.choice("bcdfghklmnprstvz") + rnd.choice("aeiou") for _ in range(n))
facts = [(word(2), word(2)) for _ in range(12)]
lines = []
for _ in range(60):
    rnd.shuffle(facts)
    lines += ["the capital of %s is %s." % f for f in facts]
open(sys.argv[1] + "/train.txt", "w").write("\n".join(lines) + "\n")
open(sys.argv[1] + "/val.txt", "w").write("\n".join(lines[:48]) + "\n")
caps = [c for _, c in facts]
with open(sys.argv[1] + "/task.jsonl", "w") as f:
    for x, c in facts:
        ch = rnd.sample([o for o in caps if o != c], 3) + [c]
        rnd.shuffle(ch)
        f.write(json.dumps({"context": "the capital of %s is" % x,
                            "choices": [y + "." for y in ch], "gold": ch.index(c)}) + "\n")
with open(sys.argv[1] + "/docs.jsonl", "w") as f:
    for i, l in enumerate(lines[:20]):
        f.write(json.dumps({"id": str(i), "text": l + "\n"}) + "\n")
with open(sys.argv[1] + "/prompts.jsonl", "w") as f:
    for x, c in facts[:4]:
        f.write(json.dumps({"id": x, "prompt": "the capital of %s is" % x, "want": " " + c}) + "\n")
' "$D"
	llm-bpe encode -m "$BPE" --text "$D/train.txt" > "$D/train.tok" 2>/dev/null
	llm-bpe encode -m "$BPE" --text "$D/val.txt" > "$D/val.tok" 2>/dev/null
	llm-shard -o "$D/shards" "$D/train.tok" 2>/dev/null
	llm-shard -o "$D/shards" --append --val-fraction 1 "$D/val.tok" 2>/dev/null
	llm-train --data "$D/shards" --out "$D/run" --layers 2 --heads 2 --width 48 \
		--context 32 --batch 8 --seq 32 --steps 300 --lr 3e-3 -j 2 2>/dev/null
}

@test "mc: a tiny trained model answers far above chance; --json, -o" {
	train_facts
	run llm-eval mc --model "$CKPT" -m "$BPE" --task "$D/task.jsonl" --json "$T/mc.json" -o "$T/items.jsonl"
	[ "$status" -eq 0 ]
	[[ "$output" == *"acc "*"acc_norm"*"12 questions"* ]]
	py '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["examples"] == 12 and r["acc"] >= 0.75, r   # chance is 0.25
assert 0 < r["acc_stderr"] < 0.2 and r["examples_per_second"] > 0
items = [json.loads(l) for l in open(sys.argv[2])]
assert len(items) == 12 and all(len(i["loglikelihoods"]) == 4 for i in items)
assert sum(i["acc"] for i in items) == round(12 * r["acc"])
' "$T/mc.json" "$T/items.jsonl"
	run llm-eval mc --model "$CKPT" -m "$BPE" --task "$D/task.jsonl" --letter --shots 2 --limit 5
	[ "$status" -eq 0 ]
	[[ "$output" == *"5 questions ("*"letters, 2-shot)"* ]]
}

@test "ppl and generate with a trained checkpoint; seeded sampling repeats" {
	train_facts
	run llm-eval ppl --model "$CKPT" -m "$BPE" --data "$D/docs.jsonl" --json "$T/ppl.json"
	[ "$status" -eq 0 ]
	run llm-eval ppl --model "$CKPT" -m "$BPE" --data "$D/shards"
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 documents"* ]]
	py '
import json, math, sys
r = json.load(open(sys.argv[1]))
assert r["documents"] == 20 and 1 < r["perplexity"] < 4, r   # uniform would be 257
assert abs(r["bits_per_byte"] - math.log2(r["byte_perplexity"])) < 1e-9
assert r["bytes"] == r["tokens"]    # one token per byte
assert abs(r["perplexity"] - math.exp(r["loss"])) < 1e-9
' "$T/ppl.json"
	llm-eval generate --model "$CKPT" -m "$BPE" --prompts "$D/prompts.jsonl" --stop . > "$T/g.jsonl"
	py '
import json, sys
g = [json.loads(l) for l in open(sys.argv[1])]
assert len(g) == 4 and all(x["stop_reason"] == "stop" for x in g), g
assert sum(x["completion"] == x["want"] for x in g) >= 2, g   # greedy recalls facts
' "$T/g.jsonl"
	llm-eval generate --model "$CKPT" -m "$BPE" --prompts "$D/prompts.jsonl" --temperature 1 --seed 9 > "$T/s1"
	llm-eval generate --model "$CKPT" -m "$BPE" --prompts "$D/prompts.jsonl" --temperature 1 --seed 9 > "$T/s2"
	cmp "$T/s1" "$T/s2"
	llm-eval generate --model "$CKPT" -m "$BPE" --prompts "$D/prompts.jsonl" --temperature 1 --seed 10 > "$T/s3"
	! cmp -s "$T/s1" "$T/s3"
	run llm-eval generate --model "$CKPT" -m "$BPE" --prompts "$D/prompts.jsonl" --max-tokens 3 \
		--judge 'python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"completion\"]))"'
	[ "$status" -eq 0 ]
	[[ "$output" == *'"tokens":3,"stop_reason":"length","judge":3'* ]]
}

@test "model commands: missing, corrupt and mismatched inputs" {
	run llm-eval mc --task x
	[ "$status" -eq 1 ]
	printf '{"context": "a", "choices": ["b", "c"], "gold": 0}\n' > "$T/t.jsonl"
	run llm-eval mc --task "$T/t.jsonl" -m bytes
	[ "$status" -eq 2 ]
	[[ "$output" == *"--model CKPT is required"* ]]
	echo "not a checkpoint" > "$T/bad.ckpt"
	run llm-eval ppl --model "$T/bad.ckpt" -m bytes --data "$T/t.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad.ckpt"* ]]
	train_facts
	printf '{"id": "1", "text": "ok"}\n{"id": "2"}\n' > "$T/d.jsonl"
	run llm-eval ppl --model "$CKPT" -m "$BPE" --data "$T/d.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/d.jsonl:2: missing \"text\""* ]]
	printf '{"prompt": "a"}\n{"text": "b"}\n' > "$T/p.jsonl"
	run llm-eval generate --model "$CKPT" -m "$BPE" --prompts "$T/p.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/p.jsonl:2: missing string \"prompt\""* ]]
}
