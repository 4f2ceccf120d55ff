#!/bin/sh
# 04-dedup.sh - MinHash signatures and the whole dedup stage, 1 and 2
# threads, against datasketch (PyPI) computing the same 112-permutation
# MinHash of word 5-grams on the same documents.
. bench/lib.sh
f=$(corpus 50)
bytes=$(wc -c < "$f")
sig="$BENCH_DIR/dedup.sig"
echo "llm-dedup, $(echo "$bytes / 1000000" | bc) MB JSONL (documents of ~4 KB; 5-grams, 14 x 8)"
sig1=$(seconds llm-dedup sig -j 1 -o "$sig" "$f") || exit 1
sig2=$(seconds llm-dedup sig -j 2 -o "$sig" "$f") || exit 1
run1=$(seconds llm-dedup -j 1 "$f") || exit 1
run2=$(seconds llm-dedup -j 2 "$f") || exit 1
exact=$(seconds llm-dedup --exact "$f") || exit 1
row "signatures (sig, 1 thread)" "$bytes" "$sig1"
row "signatures (sig, 2 threads)" "$bytes" "$sig2"
row "dedup stream (1 thread)" "$bytes" "$run1"
row "dedup stream (2 threads)" "$bytes" "$run2"
row "exact only (1 thread)" "$bytes" "$exact"
printf '  -j 2 speed-up: signatures %.2fx, stream %.2fx\n' \
	"$(echo "$sig1 / $sig2" | bc -l)" "$(echo "$run1 / $run2" | bc -l)"

# The anchor: datasketch on the first 5 MB (it is much slower), the same
# shingles (lower-cased words, 5-grams), 112 permutations, one thread.
if ! python3 -c 'import datasketch' 2>/dev/null; then
	echo "  datasketch (anchor): not installed (pip install datasketch);" \
		"llmkit's figures only"
	exit 0
fi
ds=$(python3 - "$f" <<'PY'
import json, sys, time
from datasketch import MinHash
docs, size = [], 0
for line in open(sys.argv[1], encoding="utf-8"):
    docs.append(json.loads(line)["text"])
    size += len(line.encode("utf-8"))
    if size >= 5_000_000:
        break
best = None
for _ in range(2):
    t = time.perf_counter()
    for text in docs:
        w = text.lower().split()
        m = MinHash(num_perm=112)
        m.update_batch([" ".join(w[i:i + 5]).encode() for i in range(max(len(w) - 4, 1))])
    t = time.perf_counter() - t
    best = t if best is None or t < best else best
print(size, best)
PY
) || exit 1
set -- $ds
row "datasketch MinHash (anchor, 5 MB)" "$1" "$2"
printf '  ratio llmkit sig/datasketch (1 thread): %.1fx\n' \
	"$(echo "($bytes / $sig1) / ($1 / $2)" | bc -l)"
