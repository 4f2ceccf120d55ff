#!/usr/bin/env bats
# llm-dedup: exact, near, lines, index, decontamination, map/reduce.
# tests/data/dedup/exact.jsonl holds real sentences (Pride and Prejudice,
# KJV) and copies differing in case, spacing, punctuation and accents.

load helpers

ACC="$ROOT/tests/ref/dedup_accuracy.py"

ids() {
	py 'import json,sys; print(" ".join(json.loads(l)["id"] for l in open(sys.argv[1], encoding="utf-8")))' "$1"
}

# A corpus of real documents with near duplicates mixed in (seeded).
corpus() {
	python3 "$ACC" --docs "${2:-300}" --seed "${3:-11}" --write "$1"
}

@test "exact duplicates differing in case, spacing and punctuation go; order and fields stay" {
	run llm-dedup --exact "$FIX/dedup/exact.jsonl" -o "$T/out.jsonl" --stats "$T/s.json"
	[ "$status" -eq 0 ]
	[[ "$output" == *"9 documents in, 4 out, 5 dropped"* ]]
	# Digits fold to 0 and accents go: the two cafe lines differ only so.
	[ "$(ids "$T/out.jsonl")" = "pp-1 kjv-1 cafe pp-2" ]
	# Kept lines are written byte for byte.
	grep -F '"id": "cafe"' "$FIX/dedup/exact.jsonl" | cmp - <(sed -n 3p "$T/out.jsonl")
	py 'import json,sys; s=json.load(open(sys.argv[1])); assert s["exact_duplicates"] == 5, s' "$T/s.json"
	llm-dedup "$FIX/dedup/exact.jsonl" 2>/dev/null | cmp - "$T/out.jsonl"
	# --exact-raw compares the bytes as they are.
	llm-dedup --exact-raw "$FIX/dedup/exact.jsonl" > "$T/raw.jsonl"
	[ "$(ids "$T/raw.jsonl")" = "pp-1 kjv-1 pp-1-case pp-1-space cafe kjv-1-punct cafe-accents pp-2" ]
	[ "$(wc -l < "$T/raw.jsonl")" -eq 8 ]
}

@test "near duplicates at known Jaccard: removed above the threshold, kept below" {
	py '
import json, sys
sys.path.insert(0, sys.argv[1])
from dedup_accuracy import shingles
words = open(sys.argv[2], encoding="utf-8").read().split()[5000:5400]
base = " ".join(words)
def edit(every):   # replace every n-th word: a known Jaccard
    return " ".join("zzq%s" % "abcdefghij"[i % 10] + "x" * (i // 10) if i % every == 0 else w
                    for i, w in enumerate(words))
def jac(a, b):
    a, b = shingles(a), shingles(b)
    return len(a & b) / len(a | b)
out = open(sys.argv[3], "w")
out.write(json.dumps({"id": "base", "text": base}) + "\n")
for every in (400, 100, 60, 45, 12, 6):
    t = edit(every)
    out.write(json.dumps({"id": "J%.3f" % jac(base, t), "text": t}) + "\n")
' "$ROOT/tests/ref" "$DATA/corpus/janeaustenr/emma.txt" "$T/in.jsonl"
	# The six copies span J from about 0.99 to about 0.2 (ids say).
	run llm-dedup --annotate "$T/in.jsonl"
	[ "$status" -eq 0 ]
	py '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    if d["id"] == "base":
        continue
    j = float(d["id"][1:])
    m = d["metadata"]["dedup"]
    removed = "duplicate_of" in m
    if j >= 0.85:
        assert removed and m["duplicate_of"] == "base" and m["cluster"] == "base", (j, m)
        assert abs(m["similarity"] - j) < 0.15, (j, m)
    if j < 0.6:
        assert not removed and m["cluster"] == d["id"], (j, m)
' <<< "$(llm-dedup --annotate "$T/in.jsonl" 2>/dev/null)"
	# A higher threshold keeps what is below it.
	llm-dedup -t 0.97 "$T/in.jsonl" 2>/dev/null > "$T/hi.jsonl"
	py '
import json, sys
kept = [float(json.loads(l)["id"][1:]) for l in open(sys.argv[1]) if not l.startswith("{\"id\": \"base")]
assert all(j < 0.99 for j in kept) and any(0.85 <= j < 0.97 for j in kept), kept
' "$T/hi.jsonl"
}

@test "the real Common Crawl near-duplicate pair (copycat) is found" {
	py '
import json, sys
p = json.loads(open(sys.argv[1]).readline())
with open(sys.argv[2], "w") as out:
    for k in ("firstDocument", "secondDocument"):
        out.write(json.dumps({"id": p[k]["id"], "text": p[k]["content"]}) + "\n")
' "$DATA/dedup/copycat/cc17_near_duplicate_pair.approved.jsonl" "$T/pair.jsonl"
	run llm-dedup "$T/pair.jsonl"
	[ "$status" -eq 0 ]
	[[ "$output" == *"2 documents in, 1 out, 1 dropped"* ]]
}

@test "accuracy on real documents: precision and recall(J >= 0.85) at least 0.95" {
	run python3 "$ACC" --docs 500 --check
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "-j N changes nothing; a pipe gives the same as a file" {
	corpus "$T/c.jsonl" 400
	llm-dedup -j 1 "$T/c.jsonl" > "$T/j1" 2>/dev/null
	llm-dedup -j 3 "$T/c.jsonl" > "$T/j3" 2>/dev/null
	cmp "$T/j1" "$T/j3"
	gzip -c "$T/c.jsonl" | llm-dedup -j 2 2>/dev/null | cmp - "$T/j1"
	[ "$(wc -l < "$T/j1")" -lt "$(wc -l < "$T/c.jsonl")" ]
	llm-dedup --annotate -j 1 "$T/c.jsonl" > "$T/a1" 2>/dev/null
	llm-dedup --annotate -j 2 "$T/c.jsonl" > "$T/a2" 2>/dev/null
	cmp "$T/a1" "$T/a2"
}

@test "--annotate keeps every document and names duplicate, similarity, cluster" {
	corpus "$T/c.jsonl" 200
	llm-dedup "$T/c.jsonl" > "$T/kept" 2>/dev/null
	llm-dedup --annotate "$T/c.jsonl" > "$T/ann" 2>/dev/null
	py '
import json, sys
src = [json.loads(l) for l in open(sys.argv[1])]
ann = [json.loads(l) for l in open(sys.argv[2])]
kept = [json.loads(l)["id"] for l in open(sys.argv[3])]
assert [d["id"] for d in src] == [d["id"] for d in ann]
ids = set()
for s, a in zip(src, ann):
    m = a["metadata"]["dedup"]
    assert a["text"] == s["text"]
    if "duplicate_of" in m:
        assert m["duplicate_of"] in ids and 0 <= m["similarity"] <= 1, m
        assert m["match"] in ("exact", "near")
        assert m["cluster"] in kept, m
    else:
        assert m["cluster"] == a["id"]
    ids.add(a["id"])
assert [a["id"] for a in ann if "duplicate_of" not in a["metadata"]["dedup"]] == kept
' "$T/c.jsonl" "$T/ann" "$T/kept"
}

@test "--index: two runs decide like one, the index stays under 150 bytes a document" {
	corpus "$T/c.jsonl" 400
	n=$(wc -l < "$T/c.jsonl")
	head -n $((n / 2)) "$T/c.jsonl" > "$T/a.jsonl"
	tail -n +$((n / 2 + 1)) "$T/c.jsonl" > "$T/b.jsonl"
	llm-dedup "$T/c.jsonl" > "$T/one" 2>/dev/null
	llm-dedup --index "$T/idx" "$T/a.jsonl" > "$T/two" 2>/dev/null
	llm-dedup --index "$T/idx" --stats "$T/s.json" "$T/b.jsonl" >> "$T/two" 2>/dev/null
	cmp "$T/one" "$T/two"
	py '
import json, sys
s = json.load(open(sys.argv[1]))
per = s["index_bytes"] / s["index_documents"]
assert s["index_documents_before"] > 0 and per <= 150, s
print(per)
' "$T/s.json"
	# Feeding the same documents again drops them all.
	run llm-dedup --index "$T/idx" "$T/b.jsonl"
	[[ "$output" == *" 0 out, "* ]]
	# A failed run leaves the index as it was.
	cp "$T/idx" "$T/idx.before"
	printf '{"id":"x","text":"brand new text that nobody has seen before"}\nnot json\n' > "$T/bad.jsonl"
	run llm-dedup --index "$T/idx" "$T/bad.jsonl" -o "$T/out.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad.jsonl:2:"* ]]
	cmp "$T/idx" "$T/idx.before"
	[ ! -e "$T/out.jsonl" ]
}

@test "a corrupt, truncated, foreign or mismatched index is refused by name" {
	corpus "$T/c.jsonl" 100
	llm-dedup --index "$T/idx" "$T/c.jsonl" > /dev/null 2>&1
	cp "$T/idx" "$T/bad"
	printf 'X' | dd of="$T/bad" bs=1 seek=300 conv=notrunc 2>/dev/null
	run llm-dedup --index "$T/bad" "$T/c.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad: checksum mismatch"* ]]
	head -c 1000 "$T/idx" > "$T/cut"
	run llm-dedup --index "$T/cut" "$T/c.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/cut: truncated"* ]]
	run llm-dedup --index "$T/c.jsonl" "$T/c.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not an llm-dedup index (unknown format)"* ]]
	run llm-dedup --index "$T/idx" --bands 10 --rows 10 "$T/c.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"the index was made with 5-grams, 14 bands x 8 rows"*"this run uses 5-grams, 10 bands x 10 rows"* ]]
	run llm-dedup --index "$T/idx" --exact "$T/c.jsonl"
	[ "$status" -eq 1 ]
	# The refused files are left alone.
	cmp <(head -c 1000 "$T/idx") "$T/cut"
}

@test "--against drops documents duplicating a reference set, never indexing it" {
	corpus "$T/c.jsonl" 200
	# The reference: a few of the corpus's documents, lightly edited.
	py '
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1])][:40:4]
with open(sys.argv[2], "w") as f:
    for i, d in enumerate(docs):
        f.write(json.dumps({"id": "bench-%d" % i, "text": d["text"].replace(" the ", " The ", 1) + " Answer: B."}) + "\n")
' "$T/c.jsonl" "$T/ref.jsonl"
	run llm-dedup --against "$T/ref.jsonl" --annotate "$T/c.jsonl" -o "$T/ann"
	[ "$status" -eq 0 ]
	py '
import json, sys
ann = [json.loads(l) for l in open(sys.argv[1])]
hits = [a for a in ann if "duplicate_of" in a["metadata"]["dedup"]]
assert len(hits) >= 10, len(hits)
assert all(h["metadata"]["dedup"]["duplicate_of"].startswith("bench-") for h in hits)
' "$T/ann"
	llm-dedup --against "$T/ref.jsonl" "$T/c.jsonl" > "$T/clean" 2>/dev/null
	! grep -q '"bench-' "$T/clean"
	# Decontamination alone: documents are not deduplicated among themselves.
	[ "$(wc -l < "$T/clean")" -gt "$(llm-dedup "$T/c.jsonl" 2>/dev/null | wc -l)" ]
	run llm-dedup --against "$T/ref.jsonl" --index "$T/idx" "$T/c.jsonl"
	[ "$status" -eq 2 ]
	[ ! -e "$T/idx" ]
}

@test "--keep longest keeps the longest of each cluster and needs files" {
	py '
import json
base = open("'"$DATA"'/corpus/janeaustenr/persuasion.txt", encoding="utf-8").read().split()[2000:2300]
docs = [("short", base[:290]), ("other", base[150:160] * 3), ("long", base + ["the", "end"]), ("mid", base[:295])]
with open("'"$T"'/in.jsonl", "w") as f:
    for i, w in docs:
        f.write(json.dumps({"id": i, "text": " ".join(w)}) + "\n")
'
	llm-dedup --keep longest "$T/in.jsonl" > "$T/out" 2>/dev/null
	[ "$(ids "$T/out")" = "other long" ]
	llm-dedup "$T/in.jsonl" > "$T/first" 2>/dev/null
	[ "$(ids "$T/first")" = "short other" ]
	run llm-dedup --keep longest < "$T/in.jsonl"
	[ "$status" -eq 2 ]
	[[ "$output" == *"give FILEs, not a pipe"* ]]
}

@test "map/reduce steps remove exactly the documents one process removes" {
	corpus "$T/c.jsonl" 500 5
	split -n l/3 -d "$T/c.jsonl" "$T/part"
	for opts in "" "--no-verify" "--keep longest" "-t 0.85 --ngram 3 --bands 20 --rows 5" "--exact"; do
		rm -rf "$T/mr" && mkdir -p "$T/mr/b"
		# shellcheck disable=SC2086
		llm-dedup $opts "$T/part00" "$T/part01" "$T/part02" > "$T/one" 2>/dev/null
		for p in 0 1 2; do
			# shellcheck disable=SC2086
			llm-dedup sig $opts --part $p -j 2 -o "$T/mr/$p.sig" "$T/part0$p" 2>/dev/null
			llm-dedup bucket --buckets 4 -o "$T/mr/b" "$T/mr/$p.sig" 2>/dev/null
		done
		for k in 0 1 2 3; do
			llm-dedup cluster -o "$T/mr/$k.rm" "$T/mr/b/bucket-0000$k".* 2>/dev/null
		done
		: > "$T/split"
		for p in 0 1 2; do
			llm-dedup apply --part $p -r "$T/mr/0.rm" -r "$T/mr/1.rm" -r "$T/mr/2.rm" \
				-r "$T/mr/3.rm" "$T/part0$p" >> "$T/split" 2>/dev/null
		done
		[ "$(wc -l < "$T/one")" -lt "$(wc -l < "$T/c.jsonl")" ]
		cmp "$T/one" "$T/split" || { echo "differs with options: $opts"; false; }
	done
	# Annotated: the same documents are marked, named part:position.
	llm-dedup apply --annotate --part 1 -r "$T/mr/0.rm" -r "$T/mr/1.rm" -r "$T/mr/2.rm" \
		-r "$T/mr/3.rm" "$T/part01" > "$T/ann" 2>/dev/null
	grep -q '"cluster":"1:0"' "$T/ann"
	# Mixed-up steps are refused with a reason.
	run llm-dedup apply --part 1 -r "$T/mr/0.sig" "$T/part01"
	[ "$status" -eq 1 ]
	[[ "$output" == *"this is an llm-dedup signature file, not an llm-dedup removal list"* ]]
	run llm-dedup cluster -o "$T/x.rm" "$T/mr/b/bucket-00000.part-00000.bkt" "$T/mr/b/bucket-00000.part-00000.bkt"
	[ "$status" -eq 1 ]
	[[ "$output" == *"given twice"* ]]
	run llm-dedup apply --part 0 -r "$T/mr/0.rm" -r "$T/mr/1.rm" -r "$T/mr/2.rm" -r "$T/mr/3.rm" "$T/part02"
	[ "$status" -eq 1 ]
	run llm-dedup cluster "$T/mr/b/bucket-00000.part-00000.bkt"
	[ "$status" -eq 2 ]
	[[ "$output" == *"-o is required"* ]]
	run llm-dedup bucket --threshold 0.9 -o "$T/mr/b" "$T/mr/0.sig"
	[ "$status" -eq 2 ]
}

@test "--lines removes repeated lines after their first occurrence" {
	printf '%s\n' \
		'{"id":"1","text":"Home | About\nFirst story begins here.\nShare on Facebook"}' \
		'{"id":"2","text":"HOME | about\nSecond story, all new.\nShare on Facebook\n"}' \
		'{"id":"3","text":"Share on facebook!\nhome about"}' \
		'{"id":"4","text":"A line seen twice.\n----\n----\nA line seen twice."}' > "$T/in.jsonl"
	llm-dedup --lines 2 "$T/in.jsonl" --stats "$T/s.json" > "$T/out" 2>/dev/null
	py '
import json, sys
out = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(sys.argv[1])}
assert out["1"] == "Home | About\nFirst story begins here.\nShare on Facebook", out
assert out["2"] == "Second story, all new.\n", out
assert "3" not in out, out      # nothing left: dropped
assert out["4"] == "A line seen twice.\n----\n----\n", out   # punctuation-only lines stay
s = json.load(open(sys.argv[2]))
assert s["lines_removed"] == 5 and s["documents_emptied"] == 1, s
' "$T/out" "$T/s.json"
	# N = 3: only lines seen three times or more, first kept; two passes.
	llm-dedup --lines 3 "$T/in.jsonl" > "$T/out3" 2>/dev/null
	py '
import json, sys
out = {json.loads(l)["id"]: json.loads(l)["text"] for l in open(sys.argv[1])}
assert out["2"] == "Second story, all new.\n", out   # both lines seen 3 times
assert "3" not in out, out
assert out["4"] == "A line seen twice.\n----\n----\nA line seen twice.", out
' "$T/out3"
	run llm-dedup --lines 3 < "$T/in.jsonl"
	[ "$status" -eq 2 ]
	# Annotated: nothing removed, spans in code points.
	printf '{"id":"a","text":"é x\\nsame\\n"}\n{"id":"b","text":"ü\\nsame\\nmore"}\n' |
		llm-dedup --lines 2 --annotate 2>/dev/null > "$T/ann"
	py '
import json, sys
a, b = [json.loads(l) for l in open(sys.argv[1])]
assert "dedup" not in a.get("metadata", {}) or a["metadata"]["dedup"]["duplicate_lines"] == []
spans = b["metadata"]["dedup"]["duplicate_lines"]
assert spans == [[2, 7]], spans
assert b["text"][2:7] == "same\n"
' "$T/ann"
}

@test "bad input names file and line; usage errors exit 2" {
	printf '{"id":"1","text":"fine"}\n{"id":"2"}\n{"id":"3","text":"fine"}\n' > "$T/bad.jsonl"
	run llm-dedup "$T/bad.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad.jsonl:2: missing \"text\""* ]]
	run llm-dedup --on-error=skip "$T/bad.jsonl"
	[ "$status" -eq 0 ]
	[[ "$output" == *"skipped 1 bad input"* ]]
	[[ "$output" == *"2 documents in, 1 out, 1 dropped"* ]]
	run llm-dedup -t 1.5
	[ "$status" -eq 2 ]
	run llm-dedup --keep biggest
	[ "$status" -eq 2 ]
	run llm-dedup --exact --ngram 3
	[ "$status" -eq 2 ]
	run llm-dedup --bands 100 --rows 100
	[ "$status" -eq 2 ]
	run llm-dedup --part 3
	[ "$status" -eq 2 ]
	run llm-dedup sig --part 0
	[ "$status" -eq 2 ]
	run llm-dedup --help
	[ "$status" -eq 0 ]
	[[ "$output" == usage:* ]]
	run llm-dedup --version
	[[ "$output" =~ ^llm-dedup\ \(llmkit\)\ [0-9.]+$ ]]
}

@test "the pipelines/ example (GNU parallel or xargs) matches one process" {
	corpus "$T/c.jsonl" 200 9
	split -n l/2 -d "$T/c.jsonl" "$T/part"
	BUCKETS=3 JOBS=2 DEDUP_OPTS="--keep longest" \
		sh "$ROOT/pipelines/dedup-parallel.sh" "$T/w" "$T/part00" "$T/part01" 2>/dev/null
	llm-dedup --keep longest "$T/part00" "$T/part01" 2>/dev/null |
		cmp - <(cat "$T/w/out/0.jsonl" "$T/w/out/1.jsonl")
}
