#!/bin/sh
# 09-eval.sh - metric throughput: llm-eval bleu, chrf (chrF++) and rouge
# against sacreBLEU and rouge-score (PyPI) on the same real text, the
# parity fixture (Shakespeare, KJV, multilingual web paragraphs; TinyStories
# and fortunes summaries) repeated to a few MB.  Both sides are timed as
# whole commands, start-up included; scores are checked to be equal.
. bench/lib.sh
fix=tests/data/eval
hyp="$BENCH_DIR/eval.hyp"
ref="$BENCH_DIR/eval.ref"
pairs="$BENCH_DIR/eval.pairs.jsonl"
if [ ! -s "$pairs" ]; then
	: > "$hyp"
	: > "$ref"
	: > "$pairs"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		cat "$fix/real.hyp" >> "$hyp"
		cat "$fix/real.ref" >> "$ref"
		cat "$fix/rouge_real.jsonl" >> "$pairs"
	done
fi
bytes=$(cat "$hyp" "$ref" | wc -c)
pbytes=$(wc -c < "$pairs")
echo "metrics, $(wc -l < "$hyp") segments ($(echo "$bytes / 1000000" | bc -l | cut -c1-4) MB hyp+ref)," \
	"$(wc -l < "$pairs") summary pairs ($(echo "$pbytes / 1000000" | bc -l | cut -c1-4) MB)"
bleu=$(seconds llm-eval bleu --hyp "$hyp" --ref "$ref") || exit 1
chrf=$(seconds llm-eval chrf --word-order 2 --hyp "$hyp" --ref "$ref") || exit 1
rouge=$(seconds llm-eval rouge --stem --jsonl "$pairs") || exit 1
row "llm-eval bleu" "$bytes" "$bleu"
row "llm-eval chrf (chrF++)" "$bytes" "$chrf"
row "llm-eval rouge (stemmed, 4 types)" "$pbytes" "$rouge"

if python3 -c 'import sacrebleu' 2>/dev/null; then
	sb=$(seconds sacrebleu "$ref" -i "$hyp" -m bleu -b --force) || exit 1
	sc=$(seconds sacrebleu "$ref" -i "$hyp" -m chrf --chrf-word-order 2 -b --force) || exit 1
	row "sacrebleu -m bleu (anchor)" "$bytes" "$sb"
	row "sacrebleu -m chrf++ (anchor)" "$bytes" "$sc"
	printf '  ratio llmkit/sacreBLEU: bleu %.1fx, chrf++ %.1fx\n' \
		"$(echo "$sb / $bleu" | bc -l)" "$(echo "$sc / $chrf" | bc -l)"
	a=$(sacrebleu "$ref" -i "$hyp" -m bleu -b -w 4 --force)
	b=$(llm-eval bleu --hyp "$hyp" --ref "$ref" 2>/dev/null |
		python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["score"])')
	echo "  BLEU: sacreBLEU $a, llm-eval $b"
else
	echo "  sacreBLEU (anchor): not installed (pip install sacrebleu); llmkit's figures only"
fi

if python3 -c 'import rouge_score' 2>/dev/null; then
	cat > "$BENCH_DIR/rouge_anchor.py" <<'PY'
import json, sys
from rouge_score import rouge_scorer
s = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
for line in open(sys.argv[1], encoding="utf-8"):
    d = json.loads(line)
    s.score(d["ref"], d["hyp"])
PY
	rs=$(seconds python3 "$BENCH_DIR/rouge_anchor.py" "$pairs") || exit 1
	row "rouge-score, same pairs (anchor)" "$pbytes" "$rs"
	printf '  ratio llmkit/rouge-score: %.1fx\n' "$(echo "$rs / $rouge" | bc -l)"
else
	echo "  rouge-score (anchor): not installed (pip install rouge-score); llmkit's figures only"
fi
