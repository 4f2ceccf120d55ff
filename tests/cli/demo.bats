#!/usr/bin/env bats
# `make demo` in its quick form: every stage runs and the report has its
# counts, the planted duplicates and personal data are shown gone, and the
# local web server is stopped whatever happens.

load helpers

# Run the pipelines as a user's shell would, not as a sub-make of `make test`.
unset MAKEFLAGS MFLAGS MAKELEVEL

# Web servers still serving a folder under $1.
servers() {
	ps -eo args | grep -F "http.server" | grep -F -- "$1" | grep -v grep || true
}

@test "DEMO_QUICK=1 runs the pipeline end to end and writes the report" {
	cd "$ROOT"
	run env DEMO_QUICK=1 DEMO_DIR="$T/demo" LLM_SHARED="$SHARED" sh pipelines/demo.sh
	[ "$status" -eq 0 ] || { echo "$output" | tail -20; return 1; }
	[[ "${lines[-1]}" == "demo: report written to $T/demo/report.md and $T/demo/report.html" ]]
	[ -z "$(servers "$T/demo")" ]
	r="$T/demo/report.md"
	# Every stage's documents in and out, with reasons.
	for stage in "llm-fetch (local files)" "llm-fetch (crawl)" "llm-fetch (WARC)" "llm-filter (web)" "llm-dedup" "llm-bpe encode" \
		"llm-redact" "llm-shard"; do
		grep -q "^| $stage | [1-9][0-9]* | [1-9][0-9]* | [0-9]* |" "$r" ||
			{ echo "no counts for $stage"; return 1; }
	done
	grep -q '^| llm-fetch (crawl) | 61 | 60 | 1 | ok 60, robots_disallowed 1 |' "$r"
	grep -q '^| llm-filter (web) | .*gopher-quality:gopher_' "$r"
	# The crawl asked robots.txt first and never touched the disallowed folder.
	grep -q 'robots.txt 1 time(s), /private/ 0 time(s), pages 60' "$r"
	run grep -c '/private/' "$T/demo/server.log"
	[ "$output" = 0 ]
	# All 16 planted duplicates went, and every planted value of personal data.
	[ "$(grep -c '^| planted-\(exact\|near\)-.* | removed by llm-dedup |$' "$r")" -eq 16 ]
	[ "$(grep -c '^| .* | gone |$' "$r")" -eq 6 ]
	run grep -c FAILED "$r"
	[ "$output" = 0 ]
	grep -q "exact duplicates [1-9]" "$r"
	grep -q "near duplicates [1-9]" "$r"
	grep -q "CREDIT_CARD 1" "$r"
	grep -q '<EMAIL>' "$r"
	# The stated mixture, the three plans, training, samples, evaluation.
	grep -q '^## Shards (mixture asked: web=0.3,books=0.25,stories=0.35,code=0.1)' "$r"
	grep -q '^  stories .* 35.00%$' "$r"
	[ "$(grep -c '^parameters' "$r")" -eq 3 ]
	grep -q '^parameters  *124.44M (12 layers' "$r"
	grep -q '^parameters  *6.74B (32 layers' "$r"
	grep -q '^60 steps in .* final train loss [0-9.]*, val loss [0-9.]*\.' "$r"
	grep -q '^Once upon a time' "$r"
	grep -q '^| validation perplexity | [0-9.]* |' "$r"
	grep -q '^| hellaswag acc / acc_norm | 0\.[0-9]* +- [0-9.]* / .* | 40 questions, chance 0.250 |' "$r"
	grep -q '^| arc_easy acc / acc_norm | .* | 40 questions, chance 0\.2[0-9]* |' "$r"
	grep -q '^| BLEU of generations vs held-out text | [0-9.]* |' "$r"
	grep -q '^| rougeL F1 of generations | [0-9.]* |' "$r"
	grep -q '^## Why the benchmarks are near chance' "$r"
	# The held-out stories are in neither the tokenizer's input nor the shards.
	[ "$(grep -c '' "$T/demo/heldout.jsonl")" -eq 20 ]
	py 'import json, sys
held = {json.loads(l)["id"] for l in open(sys.argv[1])}
assert len(held) == 20
for f in sys.argv[2:]:
    for l in open(f):
        assert json.loads(l)["id"] not in held, f' "$T/demo/heldout.jsonl" "$T"/demo/clean-*.jsonl
	[ "$(head -c 4 "$T/demo/loss.png" | od -An -c | tr -d ' ')" = '211PNG' ]
	grep -q '<img src="data:image/png;base64,iVBORw0KGgo' "$T/demo/report.html"
	grep -q '<td>llm-dedup</td>' "$T/demo/report.html"
}

@test "the demo stops its web server when a stage fails" {
	# A build folder whose llm-fetch fails: the demo stops at the crawl.
	mkdir -p "$T/b/bin"
	for p in "$B"/bin/llm-*; do ln -s "$p" "$T/b/bin/"; done
	rm "$T/b/bin/llm-fetch"
	printf '#!/bin/sh\necho "llm-fetch: failing on purpose" >&2\nexit 1\n' > "$T/b/bin/llm-fetch"
	chmod +x "$T/b/bin/llm-fetch"
	cd "$ROOT"
	run env DEMO_QUICK=1 DEMO_DIR="$T/demo" LLM_BUILD="$T/b" LLM_SHARED="$SHARED" sh pipelines/demo.sh
	[ "$status" -ne 0 ]
	[[ "$output" == *"failing on purpose"* ]]
	[ -s "$T/demo/server.out" ]
	[ -z "$(servers "$T/demo")" ]
}
