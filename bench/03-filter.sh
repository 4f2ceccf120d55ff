#!/bin/sh
# 03-filter.sh - llm-filter's default heuristic stack (gopher-quality,
# gopher-repetition, c4, fineweb) over 200 MB of real prose and code,
# against the anchor: datatrove's own filters on the first 10 MB of the
# same file (bench/filter_datatrove.py; spaCy makes it slow, hence the
# smaller slice).  MB/s are of JSON Lines read.
. bench/lib.sh
f=$(corpus 200)
bytes=$(wc -c < "$f")
echo "quality filtering, $(echo "$bytes / 1000000" | bc) MB JSONL"
one=$(seconds llm-filter "$f") || exit 1
two=$(seconds llm-filter -j 2 "$f") || exit 1
each=""
for r in gopher-quality gopher-repetition c4 fineweb; do
	t=$(seconds llm-filter --rules $r "$f") || exit 1
	each="$each $r:$t"
done
row "llmkit llm-filter (1 thread)" "$bytes" "$one"
row "llmkit llm-filter (2 threads)" "$bytes" "$two"
for rt in $each; do
	row "  ${rt%%:*} alone" "$bytes" "${rt#*:}"
done
out=$(python3 bench/filter_datatrove.py "$f" 10)
case $? in
0)
	set -- $out
	row "datatrove 0.10 filters (anchor)" "$1" "$2"
	printf '  ratio llmkit/datatrove (1 thread): %.1fx\n' \
		"$(echo "($2 / $1) / ($one / $bytes)" | bc -l)"
	;;
3)
	echo "  datatrove is not installed (pip install datatrove spacy): anchor missing"
	;;
*)
	echo "bench: bench/filter_datatrove.py failed" >&2
	exit 1
	;;
esac
