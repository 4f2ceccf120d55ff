#!/usr/bin/env bats
# llm-shard: packing token streams into llm.c shards, mixtures, the split,
# append, verify/stat/cat, bad input and interrupted runs.  Token streams
# are made by tests/bin/tokgen from real text (one byte per token) or from
# GPT-2 ids; tests/ref/shard_llmc_reader.py reads the shards back the way
# llm.c and nanoGPT do.

load helpers

READER="$ROOT/tests/ref/shard_llmc_reader.py"

# The three-source corpus of real text: web (Common Crawl documents from
# dolma's test data), books (Jane Austen), code (Python's standard
# library), one document per paragraph.  A paragraph found in two sources
# is kept in the first only, so every document has one owner.
three_sources() {
	py '
import glob, json, sys
out = sys.argv[1]
def paras(text):
    cur = []
    for line in text.split("\n"):
        if line.strip():
            cur.append(line.rstrip("\r"))
        elif cur:
            yield "\n".join(cur); cur = []
    if cur:
        yield "\n".join(cur)
def web():
    for p in sorted(glob.glob(sys.argv[2] + "/dedup/dolma/data/multiple_files/*.jsonl")):
        for line in open(p, encoding="utf-8"):
            yield from json.loads(line)["text"].split("\n")
def files(pattern):
    for p in sorted(glob.glob(pattern)):
        yield from paras(open(p, encoding="utf-8", errors="replace").read())
seen = set()
for name, docs in (("web", web()),
                   ("books", files(sys.argv[2] + "/corpus/janeaustenr/*.txt")),
                   ("code", files(sys.argv[2] + "/code/python-stdlib/*.py"))):
    with open("%s/%s.txt" % (out, name), "w", encoding="utf-8") as f:
        for d in docs:
            d = d.strip()
            if d and (d not in seen or seen.add(d)):
                seen.add(d)
                f.write(d + "\n\n")
' "$T" "$DATA"
	for s in web books code; do
		tokgen --docs paras "$T/$s.txt" -o "$T/$s.tok" 2>/dev/null
	done
}

# The GPT-2 ids of tinyshakespeare, one document per blank-line paragraph.
gpt2_stream() {
	py '
import json, sys
ids = json.load(open(sys.argv[1]))
doc = []
with open(sys.argv[2], "w") as f:
    for i, t in enumerate(ids):
        if t == 198 and i + 1 < len(ids) and ids[i + 1] == 198:
            f.write(json.dumps(doc) + "\n"); doc = []
        elif not (t == 198 and doc == []):
            doc.append(t)
    f.write(json.dumps(doc) + "\n")
' "$DATA/bpe/tinyshakespeare.gpt2.tokens.json" "$T/gpt2.jsonl"
	tokgen --docs json "$T/gpt2.jsonl" -o "$1" 2>/dev/null
}

# Shards of a folder whose size does not match their header: torn files.
torn_shards() {
	py '
import glob, os, struct, sys
bad = 0
for p in glob.glob(sys.argv[1] + "/*_*.bin"):
    with open(p, "rb") as f:
        h = struct.unpack("<3i", f.read(12))
    width = 2 if h[0] == 20240520 else 4
    if os.path.getsize(p) != 1024 + width * h[2]:
        print("torn:", p); bad += 1
sys.exit(bad)
' "$1"
}

@test "GPT-2 ids: shards read back by llm.c's and nanoGPT's layout" {
	gpt2_stream "$T/in.tok"
	run llm-shard -o "$T/s" --shard-tokens 100000 "$T/in.tok"
	[ "$status" -eq 0 ]
	[ "$(ls "$T/s" | grep -c '^train_.*\.bin$')" -eq 4 ]
	run python3 "$READER" read "$T/s" --split train --expect "$T/in.tok"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "ok: "*" tokens in 4 shards" ]]
	py '
import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
assert (m["vocab_size"], m["eot"], m["token_bytes"]) == (50257, 50256, 2), m
assert [s["file"] for s in m["shards"]] == ["train_%06d.bin" % i for i in range(4)]
assert all(s["tokens"] <= 100000 and s["sources"] == {"default": s["tokens"]} for s in m["shards"])
' "$T/s"
}

@test "a tiny shard is byte for byte what llm.c's write_datafile lays out" {
	tokgen --docs json "$FIX/shard/tiny.jsonl" | llm-shard -o "$T/s"
	cmp "$T/s/train_000000.bin" "$FIX/shard/tiny.expected.bin"
}

@test "vocabularies over 65,536 ids get llm.c's uint32 shards" {
	py 'import json
for i in range(300): print(json.dumps([(i * 7919 + k * 104729) % 100276 for k in range(i % 50)]))' > "$T/big.jsonl"
	tokgen --docs json --vocab 100277 --eot 100276 "$T/big.jsonl" -o "$T/in.tok"
	llm-shard -o "$T/s" --shard-tokens 3000 "$T/in.tok"
	run python3 "$READER" read "$T/s" --expect "$T/in.tok"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(od -An -tu4 -N8 "$T/s/train_000000.bin" | tr -s ' ')" = " 20240801 7" ]
}

@test "mixture: web=0.6,books=0.3,code=0.1 within 1% on a real three-source corpus" {
	three_sources
	run llm-shard -o "$T/s" --source web="$T/web.tok" --source books="$T/books.tok" \
		--source code="$T/code.tok" --mix web=0.6,books=0.3,code=0.1 \
		--val-tokens 100000 --shard-tokens 1000000 --shuffle-window 2000 --seed 3
	echo "$output"
	[ "$status" -eq 0 ]
	# Shares counted independently: every document found in its source.
	python3 "$READER" mix "$T/s" web="$T/web.tok" books="$T/books.tok" code="$T/code.tok" > "$T/mix.json"
	cat "$T/mix.json"
	py '
import json, sys
got = json.load(open(sys.argv[1]))["shares"]
m = json.load(open(sys.argv[2] + "/manifest.json"))
asked = {"web": 0.6, "books": 0.3, "code": 0.1}
for k, w in asked.items():
    # Within 1% of the asked share (relative, stricter than 1 point).
    assert abs(got[k] - w) <= 0.01 * w, (k, got[k], w)
run = m["runs"][0]["sources"]
# The small source is repeated, the large ones subsampled; recorded.
assert run["web"]["epochs"] > 10 and run["books"]["epochs"] < 1 and run["code"]["epochs"] < 1, run
for k in asked:
    r = run[k]
    assert abs(r["tokens_taken"] - r["epochs"] * r["tokens_available"]) < 1, r
    assert abs(r["share"] - got[k]) < 1e-9, (r, got[k])
# Validation has about the tokens asked, in about the mixture: web,
# repeated 25 times, moves in steps of 25 copies of a document (~10k).
val = sum(s["tokens"] for s in m["shards"] if s["split"] == "val")
assert abs(val - 100000) < 10000, val
for k, w in asked.items():
    assert abs(run[k]["tokens_val"] / val - w) < 0.05, (k, run[k]["tokens_val"], val)
' "$T/mix.json" "$T/s"
	run llm-shard stat "$T/s"
	[[ "$output" == *"web "*"train"* ]]
	[[ "$output" =~ web\ +all\ +[0-9]+\ +[0-9]+\ +(59\.[5-9]|60\.[0-5])[0-9]%\ *$'\n' ]]
}

@test "split: deterministic, whole documents, the same documents whatever the seed" {
	three_sources
	for seed in 1 1 2; do
		d="$T/s.$seed.$RANDOM"
		llm-shard -o "$d" --val-fraction 0.05 --shuffle-window 500 --seed $seed \
			--shard-tokens 500000 "$T/books.tok" 2>/dev/null
		echo "$d" >> "$T/dirs"
	done
	a=$(sed -n 1p "$T/dirs") b=$(sed -n 2p "$T/dirs") c=$(sed -n 3p "$T/dirs")
	diff -r "$a" "$b"		# same seed: identical bytes
	! cmp -s "$a/train_000000.bin" "$c/train_000000.bin"	# shuffled otherwise
	# Every shard document is a whole input document (none cut).
	python3 "$READER" mix "$a" books="$T/books.tok" > /dev/null
	py '
import sys
sys.path.insert(0, sys.argv[4])
from shard_llmc_reader import load_data_shard, read_stream, split_docs
import glob
def docs(d, split):
    out = []
    for p in sorted(glob.glob(d + "/" + split + "_*.bin")):
        out += split_docs(load_data_shard(p), 256)
    return sorted(out)
_, _, toks = read_stream(sys.argv[3])
inp = split_docs(toks, 256)
va, vc = docs(sys.argv[1], "val"), docs(sys.argv[2], "val")
assert va == vc, "the validation documents depend on the seed"
assert sorted(docs(sys.argv[1], "train") + va) == sorted(inp), "documents lost or cut"
frac = sum(len(d) for d in va) / sum(len(d) for d in inp)
assert 0.035 < frac < 0.065, frac
' "$a" "$c" "$T/books.tok" "$ROOT/tests/ref"
	# --val-tokens: as close as whole documents allow (a few hundred tokens).
	llm-shard -o "$T/v" --val-tokens 100000 "$T/books.tok" 2>/dev/null
	val=$(py 'import json,sys; print(sum(s["tokens"] for s in json.load(open(sys.argv[1]))["shards"] if s["split"] == "val"))' "$T/v/manifest.json")
	echo "val tokens: $val"
	[ "$val" -gt 99000 ] && [ "$val" -lt 101000 ]
}

@test "append: new shards continue, old ones untouched, same inputs same bytes" {
	three_sources
	for d in a b; do
		llm-shard -o "$T/$d" --shard-tokens 400000 --val-fraction 0.02 "$T/web.tok" "$T/code.tok" 2>/dev/null
	done
	cp -r "$T/a" "$T/before"
	for d in a b; do
		run llm-shard -o "$T/$d" --append --shard-tokens 400000 --val-fraction 0.02 \
			--source books="$T/books.tok"
		[ "$status" -eq 0 ]
	done
	diff -r "$T/a" "$T/b"
	for f in "$T"/before/*.bin; do cmp "$f" "$T/a/$(basename "$f")"; done
	llm-shard verify "$T/a"
	py '
import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
old = json.load(open(sys.argv[2] + "/manifest.json"))
assert m["shards"][:len(old["shards"])] == old["shards"]
new = m["shards"][len(old["shards"]):]
ntrain = sum(s["split"] == "train" for s in old["shards"])
assert new[0]["file"] == "train_%06d.bin" % ntrain, new[0]
assert all(s["sources"].keys() == {"books"} for s in new)
assert len(m["runs"]) == 2 and "books" in m["runs"][1]["sources"]
' "$T/a" "$T/before"
	# A stream of another vocabulary cannot be appended.
	tokgen --docs json "$FIX/shard/tiny.jsonl" -o "$T/gpt2.tok"
	run llm-shard -o "$T/a" --append "$T/gpt2.tok"
	[ "$status" -eq 1 ]
	[[ "$output" == *"gpt2.tok: vocabulary 50257"*"manifest.json has vocabulary 257"* ]]
	diff -r "$T/a" "$T/b"
}

@test "verify names the first bad shard: flipped byte, header, missing file" {
	three_sources
	llm-shard -o "$T/s" --shard-tokens 300000 "$T/books.tok" 2>/dev/null
	run llm-shard verify "$T/s"
	[ "$status" -eq 0 ]
	[[ "$output" == *"all good"* ]]
	cp -r "$T/s" "$T/orig"
	# One bit in the tokens of the third shard, then one in the fifth.
	for f in train_000002.bin train_000004.bin; do
		printf '\x41' | dd of="$T/s/$f" bs=1 seek=5000 conv=notrunc 2>/dev/null
	done
	run llm-shard verify "$T/s"
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == *"$T/s/train_000002.bin: xxh3 "*"differs from the manifest"* ]]
	[[ "$output" == *"train_000004.bin"* ]]
	[[ "$output" == *"2 of "*" shards bad"* ]]
	# The token count in a header.
	cp "$T/orig"/*.bin "$T/s/"
	printf '\x01' | dd of="$T/s/train_000001.bin" bs=1 seek=9 conv=notrunc 2>/dev/null
	run llm-shard verify "$T/s"
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == *"train_000001.bin: header counts"* ]]
	# A shard gone.
	cp "$T/orig"/*.bin "$T/s/"
	rm "$T/s/train_000003.bin"
	run llm-shard verify "$T/s"
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == *"train_000003.bin: No such file"* ]]
	run llm-shard verify "$T/nothing"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no manifest.json"* ]]
}

@test "an interrupted run leaves the old state or the new, never a torn shard" {
	for i in 1 2 3 4 5 6; do cat "$DATA"/corpus/janeaustenr/*.txt; done > "$T/big.txt"
	tokgen --docs paras "$T/big.txt" -o "$T/big.tok"
	tokgen --docs paras "$DATA/corpus/tinyshakespeare.txt" -o "$T/small.tok"
	llm-shard -o "$T/s" --shard-tokens 50000 "$T/small.tok" 2>/dev/null
	cp "$T/s/manifest.json" "$T/manifest.before"
	# Kill -9 an append once it has written a few shards.
	llm-shard -o "$T/s" --append --shard-tokens 50000 --source a="$T/big.tok" \
		--source b="$T/small.tok" --mix a=0.5,b=0.5 2>/dev/null &
	pid=$!
	for i in $(seq 1 400); do
		[ "$(ls "$T/s" | grep -c '^train_')" -gt 30 ] && break
		sleep 0.01
	done
	kill -9 $pid 2>/dev/null || true	# it may have finished
	wait $pid || true
	if cmp -s "$T/manifest.before" "$T/s/manifest.json"; then
		echo "killed before the manifest was replaced: the old state"
		[ "$(ls "$T/s" | wc -l)" -gt 30 ]	# leftovers to clear
	else
		echo "the run got to replace the manifest: the new state"
		[ "$(py 'import json,sys; print(len(json.load(open(sys.argv[1]))["runs"]))' "$T/s/manifest.json")" -eq 2 ]
	fi
	# Every listed shard verifies ...
	llm-shard verify "$T/s"
	# ... and whatever else is there is whole (or a temporary file).
	torn_shards "$T/s"
	# The next run clears any leftovers and ends in a new state.
	run llm-shard -o "$T/s" --append --shard-tokens 50000 "$T/small.tok"
	[ "$status" -eq 0 ]
	run llm-shard verify "$T/s"
	[ "$status" -eq 0 ]
	[[ "$output" != *"note:"* ]]
	[ -z "$(ls -A "$T/s" | grep '\.tmp\.')" ]
	# Killed on a fresh folder: no manifest at all, so nothing to read.
	llm-shard -o "$T/f" --shard-tokens 50000 "$T/big.tok" 2>/dev/null &
	pid=$!
	for i in $(seq 1 400); do
		[ -e "$T/f/train_000002.bin" ] && break
		sleep 0.01
	done
	kill -9 $pid 2>/dev/null || true	# it may have finished
	wait $pid || true
	if [ ! -e "$T/f/manifest.json" ]; then
		run llm-shard verify "$T/f"
		[ "$status" -eq 1 ]
	fi
	torn_shards "$T/f"
}

@test "bad input: foreign magic, truncated stream, id out of range; nothing left" {
	tokgen --docs lines "$FIX/stream.jsonl" -o "$T/good.tok"
	run llm-shard -o "$T/a" "$FIX/stream.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$FIX/stream.jsonl: not a token stream (no \"LLMT\" magic at byte 0)"* ]]
	[ ! -e "$T/a" ]
	head -c 1001 "$T/good.tok" > "$T/cut.tok"
	run llm-shard -o "$T/b" --shard-tokens 100 "$T/cut.tok"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/cut.tok: byte 1000: token stream ends inside a token"* ]]
	[ ! -e "$T/b" ]
	# id 300 in a vocabulary of 257, at byte 16 + 2 * 5.
	printf 'LLMT\1\0\2\0\1\1\0\0\0\1\0\0\0\1A\0B\0\0\1C\0\54\1D\0' > "$T/bad.tok"
	run llm-shard -o "$T/c" "$T/bad.tok"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad.tok: byte 26: token id 300 is not below the vocabulary size 257"* ]]
	[ ! -e "$T/c" ]
	# Two sources that do not agree, both named; then stdin.
	tokgen --docs json "$FIX/shard/tiny.jsonl" -o "$T/gpt2.tok"
	run llm-shard -o "$T/d" --source a="$T/good.tok" --source b="$T/gpt2.tok"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/gpt2.tok: vocabulary 50257, end-of-text 50256"*"but $T/good.tok has vocabulary 257"* ]]
	head -c 1001 "$T/good.tok" | { run llm-shard -o "$T/e" --source x=- --source y="$T/good.tok"
		[ "$status" -eq 1 ]; [[ "$output" == *"<stdin>: byte 1000"* ]]; }
	[ ! -e "$T/e" ]
}

@test "usage errors exit 2" {
	run llm-shard "$T/x.tok"
	[ "$status" -eq 2 ]
	[[ "$output" == *"-o DIR"* ]]
	run llm-shard -o "$T/s" --mix web=0.5,code
	[ "$status" -eq 2 ]
	run llm-shard -o "$T/s" --source web=a --mix web=1,code=1
	[ "$status" -eq 2 ]
	[[ "$output" == *"'code', which is not a source"* ]]
	run llm-shard -o "$T/s" --source web=a --source code=b --mix web=1
	[ "$status" -eq 2 ]
	[[ "$output" == *"source 'code' no share"* ]]
	run llm-shard -o "$T/s" --val-tokens 10 --val-fraction 0.1
	[ "$status" -eq 2 ]
	run llm-shard -o "$T/s" --shard-tokens 3000000000
	[ "$status" -eq 2 ]
	run llm-shard -o "$T/s" --source 'a b=x'
	[ "$status" -eq 2 ]
	run llm-shard -o "$T/s" --source a=x y.tok
	[ "$status" -eq 2 ]
	run llm-shard -o "$T/s" --on-error=skip
	[ "$status" -eq 2 ]
	run llm-shard -o "$T/s" --source a=- --source b=-
	[ "$status" -eq 2 ]
	[[ "$output" == *"named only once"* ]]
	run llm-shard verify
	[ "$status" -eq 2 ]
	run llm-shard cat --split test "$T"
	[ "$status" -eq 2 ]
	[ ! -e "$T/s" ]
}

@test "pipes, compressed input, cat, stat and the folder lock" {
	tokgen --docs paras "$DATA/corpus/tinyshakespeare.txt" -o "$T/in.tok"
	# One pass from a pipe, zstd-compressed; cat gives the stream back.
	zstd -q -c "$T/in.tok" | llm-shard -o "$T/s" --shard-tokens 200000
	llm-shard cat "$T/s" | cmp - "$T/in.tok"
	llm-shard cat --zstd -o "$T/back.tok.zst" "$T/s"
	zstd -q -d -c "$T/back.tok.zst" | cmp - "$T/in.tok"
	# Two passes from a gzip pipe (stdin is spooled), mixed with a file.
	gzip -c "$T/in.tok" | llm-shard -o "$T/m" --source a=- --source b="$T/in.tok" \
		--mix a=3,b=1 --tokens 500000 --val-tokens 20000 --stats "$T/st.json"
	[ -z "$(ls -A "$T/m" | grep '^\.')" ]
	llm-shard verify "$T/m"
	run llm-shard stat --json "$T/m"
	echo "$output" > "$T/stat.json"
	py '
import json, sys
st = json.load(open(sys.argv[1]))
stats = json.load(open(sys.argv[2]))
assert st["splits"]["train"]["tokens"] + st["splits"]["val"]["tokens"] == st["tokens"]
assert abs(st["tokens"] - 500000) < 5000, st["tokens"]
assert abs(st["sources"]["a"]["share"] - 0.75) < 0.0075, st["sources"]
assert abs(st["splits"]["val"]["tokens"] - 20000) < 2000, st["splits"]
assert st["runs"][0]["sources"]["a"]["files"] == ["-"]
assert stats["tokens_out"] == st["tokens"] and stats["passes"] == 2, stats
' "$T/stat.json" "$T/st.json"
	# cat of one split starts with end-of-text and holds only that split.
	llm-shard cat --split val "$T/m" > "$T/val.tok"
	[ "$(od -An -tu2 -j16 -N2 "$T/val.tok" | tr -d ' ')" = 256 ]
	[ $(( ($(wc -c < "$T/val.tok") - 16) / 2 )) -eq "$(py 'import json,sys; print(json.load(open(sys.argv[1]))["splits"]["val"]["tokens"])' "$T/stat.json")" ]
	# A folder being written by another run is refused.
	flock "$T/s" sleep 2 &
	sleep 0.3
	run llm-shard -o "$T/s" --append "$T/in.tok"
	[ "$status" -eq 1 ]
	[[ "$output" == *"another llm-shard is writing to this folder"* ]]
	wait
}
