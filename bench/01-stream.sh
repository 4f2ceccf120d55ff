#!/bin/sh
# 01-stream.sh - document stream pass-through (read + validate + write)
# against `jq -c .` on the same 200 MB of real text.
. bench/lib.sh
f=$(corpus 200)
bytes=$(wc -c < "$f")
echo "document stream pass-through, $(echo "$bytes / 1000000" | bc) MB JSONL"
ours=$(seconds docpass "$f") || exit 1
ours_j2=$(seconds docpass -j 2 "$f") || exit 1
rewrite=$(seconds docpass --upper-text --annotate "$f") || exit 1
jq=$(seconds jq -c . "$f") || exit 1
row "llmkit docpass (1 thread)" "$bytes" "$ours"
row "llmkit docpass (2 threads)" "$bytes" "$ours_j2"
row "llmkit docpass, text rewritten" "$bytes" "$rewrite"
row "jq -c . (anchor)" "$bytes" "$jq"
printf '  ratio llmkit/jq (1 thread): %.1fx\n' "$(echo "$jq / $ours" | bc -l)"
