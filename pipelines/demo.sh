#!/bin/sh
# demo.sh - `make demo`: the whole pipeline, end to end, on bundled data.
#
#   fetch (WARC + local HTML pages + books/code) -> filter -> dedup (with
#   planted duplicates) -> redact (with planted PII) -> BPE train + encode
#   -> shards with a source mixture -> plan -> train -> sample -> eval
#
# Output goes to $DEMO_DIR (default build/demo); the report is report.md
# there.  DEMO_QUICK=1 trains for fewer steps (for CI-sized runs).
set -eu
cd "$(dirname "$0")/.."
B="${LLM_BUILD:-build}"
PATH="$PWD/$B/bin:$PWD/$B/tests/bin:$PATH"
D="${DEMO_DIR:-$B/demo}"
SHARED="${LLM_SHARED:-$(cd .. && pwd)/shared}"
DATA="$SHARED/data"
export LLM_SHARED="$SHARED"
STEPS=600
[ "${DEMO_QUICK:-0}" = 1 ] && STEPS=60
rm -rf "$D"
mkdir -p "$D/pages" "$D/stats"
say() { printf '\n== %s\n' "$*" >&2; }

say "1. fetch: a Common Crawl WARC sample, 60 real web pages, books and code"
llm-fetch --source web --stats "$D/stats/fetch-warc.json" \
	"$DATA/warc/dolma/sample-0000.warc.gz" "$DATA/warc/dolma/sample-0001.warc.gz" \
	-o "$D/web-warc.jsonl"
ls "$DATA/html/trafilatura/eval/"*.html | head -60 | xargs -I{} cp {} "$D/pages/"
llm-fetch --source web --stats "$D/stats/fetch-pages.json" "$D/pages" -o "$D/web-pages.jsonl"
# Books as ~3 KB passages, Python modules as code documents, and planted
# exact and near duplicates and a document full of PII.
python3 - "$D" "$DATA" <<'PY'
import glob, json, os, sys
d, data = sys.argv[1], sys.argv[2]
def put(f, id, text, source):
    f.write(json.dumps({"id": id, "text": text, "source": source}, ensure_ascii=False) + "\n")
books = []
for path in sorted(glob.glob(data + "/corpus/*.txt")):
    text = open(path, encoding="utf-8", errors="replace").read()
    paras = text.split("\n\n")
    chunk = []
    for p in paras:
        chunk.append(p)
        if sum(map(len, chunk)) > 3000:
            books.append((os.path.basename(path), "\n\n".join(chunk)))
            chunk = []
with open(d + "/books.jsonl", "w", encoding="utf-8") as f:
    for i, (name, text) in enumerate(books[::6]):
        put(f, "%s-%d" % (name, i), text, "books")
with open(d + "/code.jsonl", "w", encoding="utf-8") as f:
    for path in sorted(glob.glob(data + "/code/python-stdlib/**/*.py", recursive=True))[:150]:
        put(f, os.path.relpath(path, data), open(path, encoding="utf-8", errors="replace").read(), "code")
web = [json.loads(l) for l in open(d + "/web-pages.jsonl", encoding="utf-8")]
with open(d + "/planted.jsonl", "w", encoding="utf-8") as f:
    for i, doc in enumerate(web[:5]):
        put(f, "planted-exact-%d" % i, doc["text"], "web")
        words = doc["text"].split(" ")
        words[len(words) // 2] = "CHANGED"
        put(f, "planted-near-%d" % i, " ".join(words), "web")
    pii = ("Dear customer,\n\nThank you for writing to us about your order. Your account manager is "
           "Jane Roe, and she will be glad to help you with anything you need. You can write to "
           "jane.roe@example.com or call her on +1 415 555 0132 during office hours. The card "
           "4111 1111 1111 1111 was charged on Monday, and the refund will be paid to the account "
           "IBAN GB82 WEST 1234 5698 7654 32 within five working days. Our office server is at "
           "203.0.113.45, and the access key AKIAIOSFODNN7EXAMPLE must not be shared with anyone.\n\n"
           "We are sorry for the trouble this has caused you, and we hope to see you again soon.")
    put(f, "planted-pii", pii, "web")
PY
cat "$D/web-warc.jsonl" "$D/web-pages.jsonl" "$D/planted.jsonl" > "$D/raw-web.jsonl"

say "2. clean: filter the web text, dedup and redact everything"
llm-filter -j 2 --stats "$D/stats/filter.json" "$D/raw-web.jsonl" -o "$D/filtered-web.jsonl"
cat "$D/filtered-web.jsonl" "$D/books.jsonl" "$D/code.jsonl" > "$D/filtered.jsonl"
llm-dedup -j 2 --stats "$D/stats/dedup.json" "$D/filtered.jsonl" -o "$D/dedup.jsonl"
llm-redact -j 2 --stats "$D/stats/redact.json" "$D/dedup.jsonl" -o "$D/clean.jsonl"
for id in planted-pii; do grep -q "\"$id\"" "$D/clean.jsonl" || { echo "demo: $id was dropped" >&2; exit 1; }; done
if grep -q 'jane.roe@example.com\|4111 1111 1111 1111\|AKIAIOSFODNN7EXAMPLE' "$D/clean.jsonl"; then
	echo "demo: planted PII survived redaction" >&2
	exit 1
fi
if grep -q '"planted-exact-\|"planted-near-' "$D/clean.jsonl"; then
	echo "demo: a planted duplicate survived dedup" >&2
	exit 1
fi

say "3. tokenize and shard: web 0.5, books 0.4, code 0.1"
llm-bpe train --vocab-size 2048 --special '<|endoftext|>' -o "$D/tok.bpe" "$D/clean.jsonl"
for s in web books code; do
	python3 -c 'import json,sys
for l in open(sys.argv[1], encoding="utf-8"):
    if json.loads(l).get("source") == sys.argv[2]: sys.stdout.write(l)' "$D/clean.jsonl" "$s" > "$D/clean-$s.jsonl"
	llm-bpe encode -m "$D/tok.bpe" "$D/clean-$s.jsonl" -o "$D/$s.tok"
done
llm-shard -o "$D/shards" --source web="$D/web.tok" --source books="$D/books.tok" \
	--source code="$D/code.tok" --mix web=0.5,books=0.4,code=0.1 \
	--val-fraction 0.05 --shard-tokens 1000000 --seed 1 --stats "$D/stats/shard.json"
llm-shard stat "$D/shards" > "$D/shard-stat.txt"
llm-shard verify "$D/shards"

say "4. plan: this model, GPT-2 124M, LLaMA-2 7B"
MODEL="--layers 4 --heads 4 --width 128 --context 128"
# shellcheck disable=SC2086
llm-train plan $MODEL --vocab 2048 --tokens 10e6 --gpus 1 > "$D/plan-demo.txt"
llm-train plan --layers 12 --heads 12 --width 768 --context 1024 --vocab 50257 --tokens 10e9 > "$D/plan-gpt2.txt"
llm-train plan --params 7e9 --tokens 2e12 --gpu A100 --gpus 1024 > "$D/plan-llama2-7b.txt"

say "5. train $STEPS steps on the CPU"
# shellcheck disable=SC2086
llm-train --data "$D/shards" --out "$D/run" $MODEL --batch 16 --seq 128 \
	--steps "$STEPS" --lr 1e-3 --min-lr 1e-4 --warmup 50 --eval-every 100 \
	--checkpoint-every "$STEPS" --seed 1
llm-train plot "$D/run" -o "$D/loss.png"
llm-train sample --model "$D/run/latest.ckpt" -m "$D/tok.bpe" --prompt "It is a truth" \
	-n 60 --temperature 0.8 --top-k 40 --seed 1 -o "$D/sample.txt"

say "6. evaluate"
E="--model $D/run/latest.ckpt -m $D/tok.bpe"
# shellcheck disable=SC2086
llm-eval ppl $E --data "$D/shards" --json "$D/eval-ppl.json"
# shellcheck disable=SC2086
llm-eval mc $E --task hellaswag --limit 100 --data-dir "$DATA/eval" --json "$D/eval-hellaswag.json"
# shellcheck disable=SC2086
llm-eval mc $E --task arc_easy --limit 100 --data-dir "$DATA/eval" --json "$D/eval-arc.json"
# Generations against held-out text: the opening of held-out documents as
# prompts, their true continuation as the reference.
python3 - "$D" <<'PY'
import json, sys
d = sys.argv[1]
docs = [json.loads(l) for l in open(d + "/clean-books.jsonl", encoding="utf-8")][-20:]
with open(d + "/prompts.jsonl", "w") as p, open(d + "/refs.txt", "w") as r:
    for i, doc in enumerate(docs):
        words = doc["text"].split()
        p.write(json.dumps({"id": str(i), "prompt": " ".join(words[:20])}) + "\n")
        r.write(" ".join(words[20:45]) + "\n")
PY
# shellcheck disable=SC2086
llm-eval generate $E --prompts "$D/prompts.jsonl" --max-tokens 40 -o "$D/generations.jsonl"
python3 -c 'import json,sys
for l in open(sys.argv[1]): print(" ".join(json.loads(l)["completion"].split()))' \
	"$D/generations.jsonl" > "$D/hyps.txt"
llm-eval bleu --hyp "$D/hyps.txt" --ref "$D/refs.txt" > "$D/eval-bleu.json"
llm-eval rouge --hyp "$D/hyps.txt" --ref "$D/refs.txt" > "$D/eval-rouge.json"

say "7. report"
python3 pipelines/demo_report.py "$D"
echo "demo: report written to $D/report.md and $D/report.html"
