#!/bin/sh
# 02-fetch.sh - main-text extraction (llm-fetch on local HTML files: charset
# detection, gumbo parse, boilerplate removal, JSON out, one thread) against
# `w3m -dump` on the same pages: the 283 real pages of
# ../shared/data/html/trafilatura (cache/ and eval/, 33 MB).  Also with -j
# set to the number of cores (the output is the same; only speed changes).
. bench/lib.sh
data="${LLM_SHARED:-../shared}/data/html/trafilatura"
set -- "$data"/cache/*.html "$data"/eval/*.html
[ -f "$1" ] || { echo "bench: no pages in $data" >&2; exit 1; }
bytes=$(cat "$@" | wc -c)
echo "main-text extraction, $# HTML pages, $(echo "$bytes / 1000000" | bc) MB"
ours=$(seconds llm-fetch "$@") || exit 1
all=$(seconds llm-fetch --extract all "$@") || exit 1
cores=$(nproc 2>/dev/null || echo 1)
par=$(seconds llm-fetch -j "$cores" "$@") || exit 1
row "llmkit llm-fetch (main text)" "$bytes" "$ours"
row "llmkit llm-fetch --extract all" "$bytes" "$all"
row "llmkit llm-fetch -j $cores" "$bytes" "$par"
if command -v w3m >/dev/null 2>&1; then
	w3m_all() {
		for f in "$@"; do
			w3m -dump -T text/html -O UTF-8 "$f" || return 1
		done
	}
	w3m=$(seconds w3m_all "$@") || exit 1
	row "w3m -dump (anchor)" "$bytes" "$w3m"
	printf '  ratio llmkit/w3m: %.1fx\n' "$(echo "$w3m / $ours" | bc -l)"
else
	echo "  w3m is not installed (scripts/deps.sh installs it): no anchor"
fi
