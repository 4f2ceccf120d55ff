#!/usr/bin/env bats
# `make demo` in its quick form: every stage runs and the report has its counts.

load helpers

@test "DEMO_QUICK=1 runs the pipeline end to end and writes the report" {
	cd "$ROOT"
	run env DEMO_QUICK=1 DEMO_DIR="$T/demo" LLM_SHARED="$SHARED" sh pipelines/demo.sh
	[ "$status" -eq 0 ] || { echo "$output" | tail -20; return 1; }
	r="$T/demo/report.md"
	for stage in "llm-fetch (WARC)" "llm-filter (web)" "llm-dedup" "llm-redact" "llm-shard"; do
		grep -q "^| $stage | [0-9]* | [0-9]* |" "$r" || { echo "no counts for $stage"; return 1; }
	done
	# The planted exact and near duplicates went, and so did the planted PII.
	grep -q "exact duplicates [1-9]" "$r"
	grep -q "near duplicates [1-9]" "$r"
	grep -q "CREDIT_CARD 1" "$r"
	grep -q "validation perplexity" "$r"
	grep -q "HellaSwag acc" "$r"
	[ -s "$T/demo/loss.png" ]
	[ -s "$T/demo/report.html" ]
}
