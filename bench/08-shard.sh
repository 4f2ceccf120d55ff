#!/bin/sh
# 08-shard.sh - llm-shard packing speed in MB/s of shard bytes written
# (tokens and headers, flushed to disk), against the disk itself: dd
# copying the input, about as many bytes, with conv=fsync.  Packing should
# be disk-bound, so the one-pass ratio should sit near 1.  The mixed run
# reads its three sources twice (counting, then packing) for each byte it
# writes.  The input is the benchmark corpus as a byte-level token stream
# (tests/bin/tokgen), so no tokenizer is timed.
. bench/lib.sh
f=$(corpus 100)
tok="$BENCH_DIR/shard-in.tok"
[ -s "$tok" ] || tokgen --docs lines "$f" -o "$tok" 2>/dev/null || exit 1
out="$BENCH_DIR/shard-out"
ntok=$(( ($(wc -c < "$tok") - 16) / 2 ))

# shard_bytes: bytes of the shards in $out, headers included.
shard_bytes() {
	python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
print(sum(1024 + m["token_bytes"] * s["tokens"] for s in m["shards"]))' "$out/manifest.json"
}

one="rm -rf $out && llm-shard -o $out --shard-tokens 10000000 $tok"
mix="rm -rf $out && llm-shard -o $out --shard-tokens 10000000 \
--source a=$tok --source b=$tok --source c=$tok --mix a=0.6,b=0.3,c=0.1 \
--tokens $ntok --val-tokens 1000000 --shuffle-window 10000 --seed 1"

echo "llm-shard packing, $(( ntok / 1000000 ))M byte-level tokens (2-byte shards, 10M-token shards)"
t_one=$(seconds sh -c "$one") || exit 1
b_one=$(shard_bytes)
t_mix=$(seconds sh -c "$mix") || exit 1
b_mix=$(shard_bytes)
rm -rf "$out"
# Each command deletes its own previous output first, as the packing runs do.
t_dd=$(seconds sh -c "rm -f $out.dd && dd if=$tok of=$out.dd bs=1M conv=fsync") || exit 1
rm -rf "$out" "$out.dd"
row "llm-shard, one source, one pass" "$b_one" "$t_one"
row "llm-shard, 3-source mix, val, shuffle" "$b_mix" "$t_mix"
row "dd conv=fsync, same bytes (anchor)" "$b_one" "$t_dd"
printf '  ratio llmkit/dd (one pass): %.2fx\n' "$(echo "$t_dd / $t_one" | bc -l)"
