#!/bin/sh
# demo.sh - `make demo`: the whole pipeline, end to end, on bundled data.
#
#   1. crawl real pages from a local web server (robots.txt, a URL list),
#      read a Common Crawl WARC sample and local files (books, children's
#      stories, code) with llm-fetch
#   2. filter, deduplicate (planted duplicates must go), redact (planted
#      personal data must go)
#   3. train a BPE tokenizer, encode, pack shards with a stated mixture
#   4. llm-train plan: this model, GPT-2 124M, LLaMA-2 7B
#   5. train on the CPU (pipelines/train.mk), plot the loss, sample
#   6. evaluate (pipelines/eval.mk): val perplexity, HellaSwag and ARC,
#      BLEU/ROUGE of generations against held-out stories
#   7. report.md and report.html (pipelines/demo_report.py)
#
# Output goes to $DEMO_DIR (default $LLM_BUILD/demo).  DEMO_QUICK=1 trains
# for fewer steps and asks fewer questions (the CI form, under a minute).
# The data is $LLM_SHARED/data (default ../shared/data).  The web server
# listens on 127.0.0.1 only and is stopped on exit, whatever happens.
set -eu
cd "$(dirname "$0")/.."
B="${LLM_BUILD:-build}"
case $B in
/*) PATH="$B/bin:$PATH" ;;
*) PATH="$PWD/$B/bin:$PATH" ;;
esac
export PATH
D="${DEMO_DIR:-$B/demo}"
SHARED="${LLM_SHARED:-$(cd .. && pwd)/shared}"
DATA="$SHARED/data"
export LLM_SHARED="$SHARED"
STEPS=1200 QUESTIONS=100
[ "${DEMO_QUICK:-0}" = 1 ] && STEPS=60 QUESTIONS=40
MODEL="--layers 4 --heads 4 --width 128 --context 128"
MIX="web=0.3,books=0.25,stories=0.35,code=0.1"
rm -rf "$D"
mkdir -p "$D/site/pages" "$D/site/private" "$D/stats"
D=$(cd "$D" && pwd)
say() { printf '\n== %s\n' "$*" >&2; }

server=
# A TERM that lands between the server's fork and its exec is lost (the
# child still has this shell's handlers), so a KILL follows it: wait must
# never hang.
stop_server() {
	if [ -n "$server" ]; then
		kill "$server" 2>/dev/null || true
		sleep 0.2
		kill -9 "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
		server=
	fi
}
trap 'stop_server' EXIT
trap 'exit 130' INT TERM HUP

say "1. fetch: crawl 60 real pages from a local web server, a WARC sample, books, stories, code"
# The site: 60 real pages of many languages, a folder robots.txt closes to
# crawlers, and the URL list a crawler is given (which names that folder).
ls "$DATA/html/trafilatura/eval/"*.html | head -60 | xargs -I{} cp {} "$D/site/pages/"
cp "$DATA/html/trafilatura/cache/blog.python.org.html" "$D/site/private/draft.html"
printf 'User-agent: *\nDisallow: /private/\n' > "$D/site/robots.txt"
: > "$D/server.out"
python3 -u -m http.server --bind 127.0.0.1 --directory "$D/site" 0 \
	> "$D/server.out" 2> "$D/server.log" &
server=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$D/server.out")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { echo "demo: the web server did not start" >&2; exit 1; }
# File names with spaces and non-ASCII letters, percent-encoded as URLs.
(cd "$D/site" && ls pages/*.html private/*.html) | python3 -c 'import sys, urllib.parse
for line in sys.stdin:
    print("http://127.0.0.1:%s/%s" % (sys.argv[1], urllib.parse.quote(line.rstrip("\n"))))' "$port" > "$D/urls.txt"
llm-fetch --delay 0 --source web --stats "$D/stats/fetch-crawl.json" \
	-i "$D/urls.txt" -o "$D/web-crawl.jsonl"
stop_server
llm-fetch --source web --stats "$D/stats/fetch-warc.json" \
	"$DATA/warc/dolma/sample-0000.warc.gz" "$DATA/warc/dolma/sample-0001.warc.gz" \
	-o "$D/web-warc.jsonl"
# Local text: books as ~3 KB passages and children's stories, one .txt
# file each, and Python modules as a JSONL file of code documents; plus a
# web page full of personal data that llm-redact must remove.
python3 - "$D" "$DATA" <<'PY'
import glob, json, os, sys
d, data = sys.argv[1], sys.argv[2]
def put(f, id, text, source):
    f.write(json.dumps({"id": id, "text": text, "source": source}, ensure_ascii=False) + "\n")
def txt(folder, name, text):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name + ".txt"), "w", encoding="utf-8") as f:
        f.write(text)
books = []
for path in sorted(glob.glob(data + "/corpus/janeaustenr/*.txt")) + [data + "/corpus/tinyshakespeare.txt"]:
    chunk = []
    for p in open(path, encoding="utf-8", errors="replace").read().split("\n\n"):
        chunk.append(p)
        if sum(map(len, chunk)) > 3000:
            books.append((os.path.basename(path)[:-4], "\n\n".join(chunk)))
            chunk = []
for i, (name, text) in enumerate(books[::5]):
    txt(d + "/local/books", "%s-%04d" % (name, i), text)
stories = open(data + "/corpus/tinystories/tinystories_train_2MiB_sample.txt", encoding="utf-8").read()
# The last story of the 2 MiB sample is cut mid-sentence: left out.
for i, text in enumerate(stories.split("<|endoftext|>")[:-1]):
    if text.strip():
        txt(d + "/local/stories", "tinystories-%05d" % i, text.strip() + "\n")
with open(d + "/local/code.jsonl", "w", encoding="utf-8") as f:
    for path in sorted(glob.glob(data + "/code/python-stdlib/**/*.py", recursive=True))[:150]:
        put(f, os.path.relpath(path, data), open(path, encoding="utf-8", errors="replace").read(), "code")
pii = ("Dear customer,\n\nThank you for writing to us about your order. Your account manager is "
       "Jane Roe, and she will be glad to help you with anything you need. You can write to "
       "jane.roe@example.com or call her on +1 415 555 0132 during office hours. The card "
       "4111 1111 1111 1111 was charged on Monday, and the refund will be paid to the account "
       "IBAN GB82 WEST 1234 5698 7654 32 within five working days. Our office server is at "
       "203.0.113.45, and the access key AKIAIOSFODNN7EXAMPLE must not be shared with anyone.\n\n"
       "We are sorry for the trouble this has caused you, and we hope to see you again soon.")
with open(d + "/planted-pii.jsonl", "w", encoding="utf-8") as f:
    put(f, "planted-pii", pii, "web")
PY
for s in books stories code; do
	src="$D/local/$s"
	[ "$s" = code ] && src="$D/local/code.jsonl"
	llm-fetch --source "$s" --stats "$D/stats/fetch-$s.json" "$src" -o "$D/$s.jsonl"
done
cat "$D/web-crawl.jsonl" "$D/web-warc.jsonl" "$D/planted-pii.jsonl" > "$D/raw-web.jsonl"

say "2. clean: filter the web text, plant duplicates, dedup and redact everything"
llm-filter -j 2 --stats "$D/stats/filter.json" "$D/raw-web.jsonl" -o "$D/filtered-web.jsonl"
# Planted duplicates of documents that passed the filter: exact copies and
# copies with one word changed, of web pages, book passages and stories.
python3 - "$D" <<'PY'
import json, os, sys
d = sys.argv[1]
def docs(name):
    return [json.loads(l) for l in open("%s/%s.jsonl" % (d, name), encoding="utf-8")]
def name(doc):
    # A page's URL, a local file's name, else the id.
    path = doc.get("metadata", {}).get("fetch", {}).get("path")
    return doc.get("url") or (os.path.basename(path) if path else doc["id"])
web = [x for x in docs("filtered-web") if x["id"] != "planted-pii"]
with open(d + "/planted.jsonl", "w", encoding="utf-8") as f:
    for kind, src in (("web", web[:3]), ("books", docs("books")[1:3]), ("stories", docs("stories")[5:8])):
        for i, doc in enumerate(src):
            words = doc["text"].split(" ")
            words[len(words) // 2] = "CHANGED"
            for how, text in (("exact", doc["text"]), ("near", " ".join(words))):
                f.write(json.dumps({"id": "planted-%s-%s-%d" % (how, kind, i), "text": text,
                                    "source": doc["source"], "metadata": {"copy_of": doc["id"],
                                    "copy_of_name": name(doc)}},
                                   ensure_ascii=False) + "\n")
PY
cat "$D/filtered-web.jsonl" "$D/books.jsonl" "$D/stories.jsonl" "$D/code.jsonl" \
	"$D/planted.jsonl" > "$D/filtered.jsonl"
llm-dedup -j 2 --stats "$D/stats/dedup.json" "$D/filtered.jsonl" -o "$D/dedup.jsonl"
llm-redact -j 2 --stats "$D/stats/redact.json" "$D/dedup.jsonl" -o "$D/clean.jsonl"
grep -q '"planted-pii"' "$D/clean.jsonl" || { echo "demo: planted-pii was dropped" >&2; exit 1; }
if grep -q 'jane.roe@example.com\|4111 1111 1111 1111\|AKIAIOSFODNN7EXAMPLE' "$D/clean.jsonl"; then
	echo "demo: planted PII survived redaction" >&2
	exit 1
fi
if grep -q '"planted-exact-\|"planted-near-' "$D/clean.jsonl"; then
	echo "demo: a planted duplicate survived dedup" >&2
	exit 1
fi

say "3. tokenize and shard: $MIX; 20 stories held out"
echo "$MIX" > "$D/mix.txt"
# The last 20 stories are held out of the tokenizer and the shards: the
# model's generations are scored against them.
python3 - "$D" <<'PY'
import json, sys
d = sys.argv[1]
lines = open(d + "/clean.jsonl", encoding="utf-8").readlines()
stories = [i for i, l in enumerate(lines) if json.loads(l).get("source") == "stories"]
held = set(stories[-20:])
out = {}
for i, l in enumerate(lines):
    src = "heldout" if i in held else json.loads(l).get("source", "web")
    out.setdefault(src, []).append(l)
for src, ls in out.items():
    open("%s/%s.jsonl" % (d, "heldout" if src == "heldout" else "clean-" + src), "w",
         encoding="utf-8").writelines(ls)
PY
llm-bpe train -j 2 --vocab-size 2048 --special '<|endoftext|>' -o "$D/tok.bpe" \
	"$D/clean-web.jsonl" "$D/clean-books.jsonl" "$D/clean-stories.jsonl" "$D/clean-code.jsonl"
for s in web books stories code; do
	llm-bpe encode -j 2 -m "$D/tok.bpe" --stats "$D/stats/encode-$s.json" \
		"$D/clean-$s.jsonl" -o "$D/$s.tok"
done
llm-shard -o "$D/shards" --source web="$D/web.tok" --source books="$D/books.tok" \
	--source stories="$D/stories.tok" --source code="$D/code.tok" --mix "$MIX" \
	--val-fraction 0.05 --shard-tokens 1000000 --seed 1 --stats "$D/stats/shard.json"
llm-shard stat "$D/shards" > "$D/shard-stat.txt"
llm-shard verify "$D/shards"

say "4. plan: this model, GPT-2 124M, LLaMA-2 7B"
T="-f pipelines/train.mk LLM_BUILD=$B DATA=$D/shards RUN=$D/run TOKENIZER=$D/tok.bpe"
# shellcheck disable=SC2086
make --no-print-directory -s $T MODEL="$MODEL" STEPS="$STEPS" BATCH=16 SEQ=128 GPUS=1 plan
cp "$D/run/plan.txt" "$D/plan-demo.txt"
printf '\nGPT-2 124M on 10B tokens:\n'
llm-train plan --layers 12 --heads 12 --width 768 --context 1024 --vocab 50257 --tokens 10e9 \
	> "$D/plan-gpt2.txt"
cat "$D/plan-gpt2.txt"
printf '\nLLaMA-2 7B on 2T tokens:\n'
# LLaMA-2 7B's shape (Touvron et al. 2023): 6.74B parameters.
llm-train plan --layers 32 --heads 32 --width 4096 --context 4096 --vocab 32000 --ffn 11008 \
	--activation swiglu --norm rmsnorm --positions rope --no-bias --untied \
	--tokens 2e12 --gpu A100 --gpus 1024 > "$D/plan-llama2-7b.txt"
cat "$D/plan-llama2-7b.txt"

say "5. train $STEPS steps on the CPU (pipelines/train.mk)"
# shellcheck disable=SC2086
make --no-print-directory $T MODEL="$MODEL" STEPS="$STEPS" BATCH=16 SEQ=128 LR=2e-3 \
	MIN_LR=2e-4 WARMUP=50 EVAL_EVERY=100 CKPT_EVERY="$STEPS" \
	PROMPT="Once upon a time" N=80 all
cp "$D/run/loss.png" "$D/loss.png"
cp "$D/run/sample.txt" "$D/sample.txt"
llm-train sample --model "$D/run/latest.ckpt" -m "$D/tok.bpe" --prompt "It is a truth" \
	-n 60 --temperature 0.8 --top-k 40 --seed 1 -o "$D/sample-books.txt"

say "6. evaluate (pipelines/eval.mk)"
make --no-print-directory -f pipelines/eval.mk LLM_BUILD="$B" CKPT="$D/run/latest.ckpt" \
	TOKENIZER="$D/tok.bpe" DATA="$D/shards" HELDOUT="$D/heldout.jsonl" OUT="$D/eval" \
	TASKS="hellaswag arc_easy" LIMIT="$QUESTIONS" EVAL_DATA="$DATA/eval"

say "7. report"
python3 pipelines/demo_report.py "$D"
echo "demo: report written to $D/report.md and $D/report.html"
