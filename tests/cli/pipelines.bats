#!/usr/bin/env bats
# pipelines/*.mk on small real data: corpus.mk (WARC folder and URL list to
# shards, in parallel), train.mk, eval.mk, and refresh.mk run twice, with
# new pages, and SIGKILLed at several points then run again, compared with
# an uninterrupted run.  Pages come from the test server on 127.0.0.1
# (tests/fetch_server.py); nothing else is contacted.

load helpers

# Run the pipelines as a user's shell would, not as a sub-make of `make test`.
unset MAKEFLAGS MFLAGS MAKELEVEL

setup_file() {
	start_server 60
	# Real English pages: the first 8 for a first crawl, 4 more later.
	port=$(cat "$SRV_DIR/port")
	awk -F'\t' '$4 == "en" { print $1 }' "$DATA/html/trafilatura/cache_index.tsv" |
		head -12 | sed "s|^|http://127.0.0.1:$port/page/|" > "$SRV_DIR/urls-12"
	head -8 "$SRV_DIR/urls-12" > "$SRV_DIR/urls-8"
}

teardown_file() {
	stop_server
}

GPT2="$DATA/bpe/encoder.json $DATA/bpe/vocab.bpe"

# refresh STATE URLS [make options]: one refresh, in its own process group.
refresh() {
	local state=$1 urls=$2
	shift 2
	setsid -w make --no-print-directory -f "$ROOT/pipelines/refresh.mk" \
		LLM_BUILD=/nonexistent STATE="$state" URLS="$urls" \
		BPE_MODEL="$GPT2" VAL_FRACTION=0.2 FETCH_OPTS="${FETCH_OPTS:---delay 0}" "$@"
}

digest() {
	python3 "$ROOT/tests/corpus_digest.py" "$1"
}

# The corpus, run and results the corpus/train/eval tests pass on.
CM="$BATS_FILE_TMPDIR/cm"

@test "corpus.mk: a WARC folder and a URL list to shards, 4 partitions with make -j 2" {
	mkdir -p "$CM"
	# A copy of the first page under another URL, in the other URL partition.
	{ sed -n 1p "$SRV_DIR/urls-12"; sed -n '1s/$/?copy/p' "$SRV_DIR/urls-12"
	  sed -n '2,$p' "$SRV_DIR/urls-12"; } > "$CM/urls.txt"
	set -- -f "$ROOT/pipelines/corpus.mk" LLM_BUILD=/nonexistent OUT="$CM/out" \
		WARC_DIR="$DATA/warc/dolma" URLS="$CM/urls.txt" URL_PARTS=2 VOCAB=1024 \
		BUCKETS=4 VAL_FRACTION=0.1 FETCH_OPTS="--delay 0"
	run make -j 2 "$@"
	[ "$status" -eq 0 ] || { echo "$output" | tail -20; return 1; }
	o="$CM/out"
	# Partitions 1-2 are the two WARC files, 3-4 the URL halves.
	[ "$(ls "$o"/fetch/*.jsonl | wc -l)" -eq 4 ]
	[ "$(grep -c '' "$o/fetch/3.jsonl")" -eq 7 ]
	[ "$(grep -c '' "$o/fetch/4.jsonl")" -eq 6 ]
	llm-shard verify "$o/shards"
	# Global dedup: the map/reduce steps keep exactly what one llm-dedup
	# over the partitions in order keeps, and the copy in partition 4 went.
	cat "$o"/filter/[1-4].jsonl | llm-dedup | py 'import json, sys
print("\n".join(json.loads(l)["id"] for l in sys.stdin))' > "$T/one"
	cat "$o"/dedup/[1-4].jsonl | py 'import json, sys
print("\n".join(json.loads(l)["id"] for l in sys.stdin))' > "$T/mr"
	diff "$T/one" "$T/mr"
	grep -q '?copy"' "$o/filter/4.jsonl"
	run grep -c '?copy"' "$o/dedup/4.jsonl"
	[ "$output" = 0 ]
	# The shards hold every clean document; nothing is left to do.
	n=$(cat "$o"/clean/*.jsonl | grep -c '')
	run llm-shard stat "$o/shards"
	[[ "$output" == *"all "*" $n"* ]] || { echo "$output"; return 1; }
	make -q "$@"
	run make "$@" counts
	[[ "${lines[0]}" == "fetch "* ]]
	[[ "$output" == *"dedup "*" out"* ]]
	[[ "$output" == *"gopher-quality "[0-9]* ]]
}

@test "slurm/curate-array.sbatch: the array steps, run task by task, give corpus.mk's shards" {
	export CORPUS="LLM_BUILD=/nonexistent OUT=$T/arr WARC_DIR=$DATA/warc/dolma URLS=$CM/urls.txt URL_PARTS=2 BUCKETS=4 VAL_FRACTION=0.1 TOKENIZER=$CM/out/tok.bpe"
	export FETCH_OPTS="--delay 0"
	s="$ROOT/pipelines/slurm/curate-array.sbatch"
	cd "$ROOT"
	n=$(make -s -f pipelines/corpus.mk $CORPUS parts)
	[ "$n" -eq 4 ]
	for i in $(seq 1 "$n"); do STEP=map SLURM_ARRAY_TASK_ID=$i bash "$s"; done
	for k in 0 1 2 3; do STEP=cluster SLURM_ARRAY_TASK_ID=$k bash "$s"; done
	for i in $(seq 1 "$n"); do STEP=encode SLURM_ARRAY_TASK_ID=$i bash "$s"; done
	run env STEP=shards bash "$s"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	[[ "$output" == *"redact "* ]]
	# The same documents, token for token, in the same splits as the
	# one-machine run (crawled pages come in the order their fetches end,
	# so the order within a shard may differ).
	diff <(python3 "$ROOT/tests/corpus_digest.py" "$CM/out") \
		<(python3 "$ROOT/tests/corpus_digest.py" "$T/arr")
	# The WARC partitions are read in order: their documents are the same
	# bytes.
	cmp "$CM/out/tokens/1.tok" "$T/arr/tokens/1.tok"
	cmp "$CM/out/tokens/2.tok" "$T/arr/tokens/2.tok"
	run env STEP=encode SLURM_ARRAY_TASK_ID=1 CORPUS="OUT=$T/x WARC_DIR=$DATA/warc/dolma" bash "$s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"set TOKENIZER"* ]]
}

@test "slurm/dedup-array.sbatch: map, cluster and apply tasks keep what one llm-dedup keeps" {
	ls "$CM"/out/filter/[1-4].jsonl > "$T/parts.txt"
	s="$ROOT/pipelines/slurm/dedup-array.sbatch"
	for i in 0 1 2 3; do STEP=map WORK="$T" BUCKETS=3 SLURM_ARRAY_TASK_ID=$i bash "$s"; done
	for k in 0 1 2; do STEP=cluster WORK="$T" BUCKETS=3 SLURM_ARRAY_TASK_ID=$k bash "$s"; done
	for i in 0 1 2 3; do STEP=apply WORK="$T" BUCKETS=3 SLURM_ARRAY_TASK_ID=$i bash "$s"; done
	cat "$CM"/out/filter/[1-4].jsonl | llm-dedup > "$T/one.jsonl"
	# Survivors are zstd-compressed, part by part, in corpus order.
	for i in 0 1 2 3; do zstd -dc "$T/out/$i.jsonl.zst"; done > "$T/mr.jsonl"
	cmp "$T/one.jsonl" "$T/mr.jsonl"
	[ "$(grep -c '' "$T/mr.jsonl")" -lt "$(cat "$CM"/out/filter/*.jsonl | grep -c '')" ]
	run env STEP=nope WORK="$T" SLURM_ARRAY_TASK_ID=0 bash "$s"
	[ "$status" -eq 2 ]
}

@test "train.mk: plan, train (stopped half way and resumed), plot, sample" {
	set -- -f "$ROOT/pipelines/train.mk" LLM_BUILD=/nonexistent DATA="$CM/out/shards" \
		TOKENIZER="$CM/out/tok.bpe" MODEL="--layers 2 --heads 2 --width 64 --context 64" \
		BATCH=4 SEQ=64 STEPS=30 EVAL_EVERY=10 CKPT_EVERY=10 N=20
	make "$@" RUN="$T/whole" train
	run make "$@" RUN="$CM/run" STOP_AFTER=10 train
	[ "$status" -eq 0 ]
	[[ "$output" == *"make again to go on"* ]]
	[ ! -e "$CM/run/done" ]
	run make "$@" RUN="$CM/run" plan all
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	# Resumed, the run continues the uninterrupted loss curve exactly.
	diff <(grep -o '"step":[0-9]*,"loss":[0-9.e-]*' "$T/whole/log.jsonl") \
		<(grep -o '"step":[0-9]*,"loss":[0-9.e-]*' "$CM/run/log.jsonl")
	grep -q '"step":30,"loss"' "$CM/run/log.jsonl"
	grep -q '^parameters' "$CM/run/plan.txt"
	[ "$(head -c 4 "$CM/run/loss.png" | od -An -c | tr -d ' ')" = '211PNG' ]
	[[ "$(cat "$CM/run/sample.txt")" == The* ]]
	make -q "$@" RUN="$CM/run"
}

@test "eval.mk: perplexity, multiple choice, BLEU/ROUGE against held-out text, one table" {
	# Held-out text: the fetched pages the filter dropped were never trained on.
	cat "$CM"/out/fetch/3.jsonl > "$T/heldout.jsonl"
	run make -f "$ROOT/pipelines/eval.mk" LLM_BUILD=/nonexistent CKPT="$CM/run/latest.ckpt" \
		TOKENIZER="$CM/out/tok.bpe" DATA="$CM/out/shards" HELDOUT="$T/heldout.jsonl" EVAL_DATA="$DATA/eval" \
		OUT="$T/eval" LIMIT=8 GEN_DOCS=4 MAX_TOKENS=10
	[ "$status" -eq 0 ] || { echo "$output" | tail; return 1; }
	t="$T/eval/eval.md"
	grep -q '^| validation perplexity | [0-9.]* | [0-9]* documents' "$t"
	grep -q '^| hellaswag acc / acc_norm | 0\.[0-9]* +- .* | 8 questions, chance 0.250 |' "$t"
	grep -q '^| arc_easy acc / acc_norm | .* | 8 questions, chance 0\.[0-9]* |' "$t"
	grep -q '^| BLEU of generations vs held-out text | [0-9.]* |' "$t"
	grep -q '^| rouge1 F1 of generations | [0-9.]* |' "$t"
	[ "$(grep -c '' "$T/eval/hyps.txt")" -eq 4 ]
	[ "$(grep -c '' "$T/eval/refs.txt")" -eq 4 ]
	# The references are the words that follow each prompt in the documents.
	py 'import json, sys
p = [json.loads(l)["prompt"] for l in open(sys.argv[1])]
r = [l.strip() for l in open(sys.argv[2])]
docs = [" ".join(json.loads(l)["text"].split()) for l in open(sys.argv[3])]
for a, b in zip(p, r):
    assert any((a + " " + b) in d for d in docs), a' "$T/eval/prompts.jsonl" "$T/eval/refs.txt" "$T/heldout.jsonl"
	run make -f "$ROOT/pipelines/eval.mk" TOKENIZER=x
	[ "$status" -ne 0 ]
	[[ "$output" == *"set CKPT"* ]]
}

@test "refresh.mk: a second run adds nothing, new pages add only themselves" {
	run refresh "$T/c" "$SRV_DIR/urls-8"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	[ "$(ls "$T/c/batches" | wc -l)" -eq 1 ]
	n1=$(grep -c '' "$T"/c/batches/*/clean.jsonl)
	[ "$n1" -ge 4 ]
	cp "$T/c/shards/manifest.json" "$T/m1"
	cp "$T/c/dedup.idx" "$T/i1"
	digest "$T/c" > "$T/d1"

	run refresh "$T/c" "$SRV_DIR/urls-8"
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing new"* ]]
	[ "$(ls "$T/c/batches" | wc -l)" -eq 1 ]
	[ ! -e "$T/c/work" ]
	cmp "$T/m1" "$T/c/shards/manifest.json"
	cmp "$T/i1" "$T/c/dedup.idx"
	digest "$T/c" | diff "$T/d1" -

	# Four more pages: a second batch with only those that pass the filter.
	run refresh "$T/c" "$SRV_DIR/urls-12"
	[ "$status" -eq 0 ]
	[ "$(ls "$T/c/batches" | wc -l)" -eq 2 ]
	b2=$(ls -d "$T"/c/batches/000002-*)
	py 'import json, sys
fetched = [json.loads(l) for l in open(sys.argv[1] + "/fetched.jsonl")]
assert len(fetched) == 4, len(fetched)
new = set(l.strip() for l in open(sys.argv[2]).readlines()[8:])
assert all(d["url"] in new for d in fetched), [d["url"] for d in fetched]' "$b2" "$SRV_DIR/urls-12"
	run digest "$T/c"
	[[ "$output" == *"duplicate-ids 0"* ]]
	[[ "$output" == *"duplicate-docs 0"* ]]
	llm-shard verify "$T/c/shards"
	# The shards hold every committed document, and no other.
	n=$(cat "$T"/c/batches/*/clean.jsonl | grep -c '')
	[[ "$output" == *"docs $n "* ]]
}

@test "refresh.mk: SIGKILLed at any stage and run again, it loses and duplicates nothing" {
	refresh "$T/ref" "$SRV_DIR/urls-8" > /dev/null 2>&1
	refresh "$T/ref" "$SRV_DIR/urls-12" > /dev/null 2>&1
	digest "$T/ref" > "$T/ref.digest"
	grep -q 'duplicate-docs 0' "$T/ref.digest"

	mkdir "$T/wrap"
	for p in llm-fetch llm-filter llm-dedup llm-redact llm-bpe llm-shard; do
		ln -s "$ROOT/tests/killwrap.sh" "$T/wrap/$p"
	done
	export REAL_BIN="$B/bin"
	n=0
	# Kill points in the second batch: mid-crawl, a stage done but not yet
	# recorded, a stage not started, mid-append and after the append.
	for at in llm-fetch:during llm-filter:after llm-dedup:after llm-redact:before \
		llm-bpe:during llm-shard:during llm-shard:after; do
		n=$((n + 1))
		s="$T/k$n"
		refresh "$s" "$SRV_DIR/urls-8" > /dev/null 2>&1
		# Mid-crawl is 0.3 s into a crawl slowed to 0.1 s a page; elsewhere
		# "during" is 20 ms after the program starts.
		fo="--delay 0" kd=0.02
		[ "$at" = llm-fetch:during ] && fo="--delay 0.1" kd=0.3
		rc=0
		(export PATH="$T/wrap:$PATH" KILL_AT="$at" KILL_DELAY=$kd FETCH_OPTS="$fo"
		 refresh "$s" "$SRV_DIR/urls-12") > "$T/killed.log" 2>&1 || rc=$?
		[ "$rc" -eq 137 ] || { echo "$at: not killed ($rc)"; cat "$T/killed.log"; return 1; }
		[ -d "$s/work" ] || { echo "$at: no batch in progress"; return 1; }
		case $at in
		llm-fetch:during)
			[ ! -e "$s/work/fetched.jsonl" ] || { echo "fetch was not cut"; return 1; } ;;
		llm-shard:after)
			# Appended, but not yet recorded: the rerun must not append again.
			if cmp -s "$s/work/manifest.before" "$s/shards/manifest.json" ||
				[ -e "$s/work/shards.done" ]; then
				echo "the append was not left unrecorded"
				return 1
			fi ;;
		esac
		run refresh "$s" "$SRV_DIR/urls-12"
		[ "$status" -eq 0 ] || { echo "$at: rerun failed: $output"; return 1; }
		digest "$s" | diff "$T/ref.digest" - || { echo "after a kill at $at"; return 1; }
		llm-shard verify "$s/shards"
		# And one more run adds nothing.
		run refresh "$s" "$SRV_DIR/urls-12"
		[[ "$output" == *"nothing new"* ]] || { echo "$at: $output"; return 1; }
		digest "$s" | diff "$T/ref.digest" -
	done
}

@test "refresh.mk: a missing URLS or BPE_MODEL is a usage error" {
	run make -f "$ROOT/pipelines/refresh.mk" STATE="$T/c" BPE_MODEL=x
	[ "$status" -ne 0 ]
	[[ "$output" == *"set URLS"* ]]
	[ ! -e "$T/c" ]
}
