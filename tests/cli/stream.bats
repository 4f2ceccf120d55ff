#!/usr/bin/env bats
# The document stream as every stage sees it, through tests/bin/docpass.

load helpers

@test "pass-through is byte-identical: escapes, non-ASCII, nested fields" {
	run docpass "$FIX/stream.jsonl" -o "$T/out.jsonl"
	[ "$status" -eq 0 ]
	cmp "$FIX/stream.jsonl" "$T/out.jsonl"
	[[ "$output" == *"7 documents in, 7 out"* ]]
}

@test "rewritten text round-trips every escape and non-ASCII character" {
	docpass --upper-text "$FIX/stream.jsonl" > "$T/out.jsonl"
	py '
import json, sys
up = lambda s: "".join(c.upper() if "a" <= c <= "z" else c for c in s)
a = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
b = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
assert len(a) == len(b) == 7
for x, y in zip(a, b):
    assert up(x["text"]) == y["text"], (x, y)
    x.pop("text"); y.pop("text")
    assert x == y, (x, y)   # every other field, nested ones too
' "$FIX/stream.jsonl" "$T/out.jsonl"
}

@test "annotation adds metadata.<stage> and keeps other metadata" {
	docpass --annotate "$FIX/stream.jsonl" > "$T/out.jsonl"
	py '
import json, sys
for a, b in zip(open(sys.argv[1], encoding="utf-8"), open(sys.argv[2], encoding="utf-8")):
    a, b = json.loads(a), json.loads(b)
    assert b["metadata"]["docpass"] == {"bytes": len(a["text"].encode("utf-8", "surrogatepass"))}
    del b["metadata"]["docpass"]
    if not b["metadata"]: del b["metadata"]
    assert a == b
' "$FIX/stream.jsonl" "$T/out.jsonl"
}

@test "gzip, multi-member gzip and zstd inputs are recognised by content" {
	gzip -c "$FIX/stream.jsonl" > "$T/a.data"
	{ head -3 "$FIX/stream.jsonl" | gzip -c; tail -n +4 "$FIX/stream.jsonl" | gzip -c; } > "$T/b.data"
	zstd -q -c "$FIX/stream.jsonl" > "$T/c.data"
	for f in a b c; do
		docpass "$T/$f.data" > "$T/$f.out"
		cmp "$FIX/stream.jsonl" "$T/$f.out"
	done
	# Through a pipe as well, and several files in order.
	zstd -q -c "$FIX/stream.jsonl" | docpass > "$T/pipe.out"
	cmp "$FIX/stream.jsonl" "$T/pipe.out"
	docpass "$T/a.data" "$T/c.data" > "$T/two.out"
	cat "$FIX/stream.jsonl" "$FIX/stream.jsonl" | cmp - "$T/two.out"
}

@test "--zstd and .zst output names compress" {
	docpass --zstd "$FIX/stream.jsonl" > "$T/o1"
	docpass -o "$T/o2.zst" "$FIX/stream.jsonl"
	zstd -q -d -c "$T/o1" | cmp - "$FIX/stream.jsonl"
	zstd -q -d -c "$T/o2.zst" | cmp - "$FIX/stream.jsonl"
}

@test "truncated gzip and zstd: good lines out, then an error naming the file" {
	py '
import json
with open("'"$T"'/big.jsonl", "w") as f:
    for i in range(20000):
        f.write(json.dumps({"id": str(i), "text": "document number %d" % i}) + "\n")
'
	gzip -c "$T/big.jsonl" > "$T/full.gz"
	zstd -q -c "$T/big.jsonl" > "$T/full.zst"
	head -c $(( $(wc -c < "$T/full.gz") / 2 )) "$T/full.gz" > "$T/cut.jsonl.gz"
	head -c $(( $(wc -c < "$T/full.zst") / 2 )) "$T/full.zst" > "$T/cut.jsonl.zst"
	for f in cut.jsonl.gz cut.jsonl.zst; do
		run docpass "$T/$f" -o "$T/$f.out"
		[ "$status" -eq 1 ]
		[[ "$output" == *"$T/$f: "*"truncated"* ]]
		# Failed runs leave no output file behind.
		[ ! -e "$T/$f.out" ]
		# To stdout, every complete line before the cut comes out.
		docpass "$T/$f" > "$T/$f.stdout" 2>/dev/null || true
		n=$(wc -l < "$T/$f.stdout")
		[ "$n" -gt 100 ]
		head -n "$n" "$T/big.jsonl" | cmp - "$T/$f.stdout"
		# --on-error=skip goes on to the next file and says so.
		run docpass --on-error=skip "$T/$f" "$FIX/stream.jsonl" -o "$T/$f.skip"
		[ "$status" -eq 0 ]
		[[ "$output" == *"skipped 1 bad input"* ]]
		tail -n 7 "$T/$f.skip" | cmp - "$FIX/stream.jsonl"
	done
}

@test "bad lines: invalid UTF-8, missing text, bad JSON name file and line" {
	{
		echo '{"id":"1","text":"good one"}'
		printf '{"id":"2","text":"bad \xff byte"}\n'
		echo '{"id":"3","txt":"no text"}'
		echo '{"id":"4","text":"unterminated}'
		echo 'not json at all'
		echo '{"id":"5","text":"good two"}'
	} > "$T/bad.jsonl"
	run docpass "$T/bad.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad.jsonl:2: byte 23: invalid UTF-8"* ]]
	[[ "$output" == *'{"id":"1","text":"good one"}'* ]]
	[[ "$output" != *"good two"* ]]

	run docpass --on-error=skip --stats "$T/stats.json" "$T/bad.jsonl" -o "$T/out.jsonl"
	[ "$status" -eq 0 ]
	[[ "$output" == *"skipped 4 bad input"* ]]
	[[ "$output" == *"bad.jsonl:3: missing \"text\""* ]]
	[[ "$output" == *"bad.jsonl:4: byte"*"unterminated string"* ]]
	[[ "$output" == *"bad.jsonl:5: byte 1: not a JSON object"* ]]
	[ "$(wc -l < "$T/out.jsonl")" -eq 2 ]
	grep -q 'good one' "$T/out.jsonl"
	grep -q 'good two' "$T/out.jsonl"
	py '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["documents_in"] == 2 and s["documents_out"] == 2, s
assert s["errors_skipped"] == 4 and s["program"] == "docpass", s
' "$T/stats.json"
}

@test "a 100 MB single document passes through intact" {
	{ printf '{"id":"big","text":"'; head -c 100000000 /dev/zero | tr '\0' 'a'; printf '\\n"}\n'; } > "$T/big.jsonl"
	docpass "$T/big.jsonl" -o "$T/out.jsonl"
	cmp "$T/big.jsonl" "$T/out.jsonl"
	docpass --upper-text "$T/big.jsonl" | head -c 30 | grep -q '"text":"AAAA'
}

@test "empty input and blank lines" {
	run docpass < /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 documents in, 0 out"* ]]
	printf '\n  \n{"id":"1","text":"x"}\n\r\n' > "$T/blank.jsonl"
	run docpass "$T/blank.jsonl"
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 documents in, 1 out"* ]]
}

@test "-j N keeps input order on real text" {
	py '
import json, glob, os
out = open("'"$T"'/corpus.jsonl", "w", encoding="utf-8")
n = 0
for path in sorted(glob.glob("'"$DATA"'/corpus/*.txt")):
    text = open(path, encoding="utf-8", errors="replace").read()
    for i in range(0, len(text), 2000):
        out.write(json.dumps({"id": "%s:%d" % (os.path.basename(path), i), "text": text[i:i+2000]}, ensure_ascii=False) + "\n")
        n += 1
assert n > 1000
'
	docpass -j 1 --upper-text "$T/corpus.jsonl" > "$T/j1"
	docpass -j 3 --upper-text "$T/corpus.jsonl" > "$T/j3"
	cmp "$T/j1" "$T/j3"
	docpass -j 2 "$T/corpus.jsonl" | cmp - "$T/corpus.jsonl"
}

@test "a failed run keeps the previous -o file" {
	echo '{"id":"old","text":"previous output"}' > "$T/out.jsonl"
	echo '{"id":1}' > "$T/bad.jsonl"
	run docpass "$T/bad.jsonl" -o "$T/out.jsonl"
	[ "$status" -eq 1 ]
	grep -q 'previous output' "$T/out.jsonl"
	[ -z "$(ls -A "$T" | grep tmp)" ]
}

@test "usage errors exit 2; --help and --version exit 0" {
	run docpass -j 0
	[ "$status" -eq 2 ]
	[[ "$output" == *"-j: '0' is not a whole number from 1 to 1024"* ]]
	run docpass --on-error=maybe
	[ "$status" -eq 2 ]
	run docpass --no-such-option
	[ "$status" -eq 2 ]
	[[ "$output" == *"Try 'docpass --help'"* ]]
	run docpass --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run docpass --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^docpass\ \(llmkit\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	run docpass "$T/missing.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/missing.jsonl: No such file or directory"* ]]
}
