#!/bin/sh
# demo.sh - `make demo`: run the pipeline end to end on bundled data.
#
# Each stage runs when its program has been built; the report says which
# stages ran and what each did.  Output goes to $DEMO_DIR (default
# build/demo); the report is $DEMO_DIR/report.md.
set -eu
cd "$(dirname "$0")/.."
B="${LLM_BUILD:-build}"
PATH="$PWD/$B/bin:$PWD/$B/tests/bin:$PATH"
D="${DEMO_DIR:-$B/demo}"
SHARED="${LLM_SHARED:-$(cd .. && pwd)/shared}"
export LLM_SHARED="$SHARED"
rm -rf "$D"
mkdir -p "$D"
report="$D/report.md"

echo "# llmkit demo" > "$report"
echo >> "$report"

# 1. Documents from bundled books and code (real text, ~20 MB).
python3 bench/corpus.py "$D/corpus.jsonl" 20
docpass --stats "$D/stream.json" "$D/corpus.jsonl" -o "$D/docs.jsonl.zst"
python3 - "$D/stream.json" >> "$report" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("## Documents\n")
print("| stage | documents in | out | bad input skipped | seconds |")
print("| --- | ---: | ---: | ---: | ---: |")
print("| read + validate | %d | %d | %d | %.2f |" % (
    s["documents_in"], s["documents_out"], s.get("errors_skipped", 0), s["seconds"]))
PY

for prog in llm-fetch llm-filter llm-dedup llm-redact llm-bpe llm-shard llm-train llm-eval; do
	if ! command -v "$prog" >/dev/null 2>&1; then
		echo "demo: $prog is not built yet; its stage is skipped" >&2
		printf -- '- %s: not built yet\n' "$prog" >> "$report"
	fi
done

echo "demo: report written to $report"
