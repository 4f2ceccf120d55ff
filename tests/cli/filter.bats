#!/usr/bin/env bats
# llm-filter: the heuristic rule sets against datatrove, the classifier, and
# what a user of the command relies on.

load helpers

REF="$ROOT/tests/ref"
LISTS="$DATA/lists/ldnoobw"
# The parity documents, rebuilt from ../shared/data (standard library only).
PARITY="$BATS_FILE_TMPDIR/parity.jsonl"

setup_file() {
	python3 "$REF/filter_parity.py" input "$PARITY"
	# The very bytes datatrove's decisions were computed on.
	echo "$(cat "$REF/filter_parity_input.sha256")  $PARITY" | sha256sum -c --quiet
}

# Agreement of --annotate output ($1) with the expected decisions of one
# rule set ($2) of the parity fixture; prints "agree total".
agreement() {
	py '
import gzip, json, sys
exp = [json.loads(l) for l in gzip.open(sys.argv[2], "rt", encoding="utf-8")]
out = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(exp) == len(out), (len(exp), len(out))
rule, agree = sys.argv[3], 0
for e, o in zip(exp, out):
    assert e["id"] == o["id"]
    f = o["metadata"]["filter"]
    got = "keep" if f["kept"] else (f["rule"] + ":" + f["reason"] if rule == "stack" else f["reason"])
    ok = got == e[rule]
    if ok and rule == "c4" and got == "keep":
        ok = len(o["text"]) == e["c4_chars"]   # the cleaned text, too
    agree += ok
print(agree, len(exp))
' "$1" "$REF/filter_parity_expected.jsonl.gz" "$2"
}

@test "parity with datatrove: >= 99% of 2,471 real documents per rule set" {
	for r in gopher-quality gopher-repetition c4 fineweb badwords stack; do
		rules=$r
		[ "$r" = stack ] && rules=gopher-quality,gopher-repetition,c4,fineweb,badwords
		llm-filter --annotate --rules "$rules" --badwords-dir "$LISTS" \
			"$PARITY" > "$T/$r.jsonl" 2>/dev/null
		read -r agree total <<< "$(agreement "$T/$r.jsonl" "$r")"
		echo "# $r: $agree / $total agree" >&3
		[ "$total" -eq 2471 ]
		[ $((agree * 100)) -ge $((total * 99)) ]
	done
}

@test "default: drops, keeps order, prints the table and writes --stats" {
	head -400 "$PARITY" > "$T/in.jsonl"
	run llm-filter "$T/in.jsonl" -o "$T/out.jsonl" --stats "$T/stats.json"
	[ "$status" -eq 0 ]
	[[ "$output" == *"rule set"*"dropped"* ]]
	[[ "$output" == *"gopher-quality"*"gopher_short_doc"* ]]
	[[ "$output" == *"400 documents in, "* ]]
	py '
import json, sys
s = json.load(open(sys.argv[1]))
kept = [json.loads(l) for l in open(sys.argv[2])]
ids = [json.loads(l)["id"] for l in open(sys.argv[3])]
assert s["documents_in"] == 400 and s["documents_out"] == len(kept), s
assert sum(s["dropped"].values()) == s["documents_dropped"] == 400 - len(kept), s
assert set(s["dropped"]) == {"gopher-quality", "gopher-repetition", "c4", "fineweb"}, s
assert sum(s["reasons"].values()) == s["documents_dropped"]
assert 0 < len(kept) < 400
pos = [ids.index(d["id"]) for d in kept]
assert pos == sorted(pos)          # input order
' "$T/stats.json" "$T/out.jsonl" "$T/in.jsonl"
}

@test "--annotate keeps everything; C4 cleans only the kept; other fields untouched" {
	head -300 "$PARITY" > "$T/in.jsonl"
	llm-filter --annotate "$T/in.jsonl" > "$T/ann.jsonl" 2>/dev/null
	llm-filter "$T/in.jsonl" > "$T/kept.jsonl" 2>/dev/null
	py '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
kept = {d["id"]: d for d in map(json.loads, open(sys.argv[3]))}
assert len(a) == len(b) == 300
for x, y in zip(a, b):
    f = y["metadata"].pop("filter")
    assert set(f) == {"kept", "rule", "reason", "scores"}, f
    assert f["kept"] == (x["id"] in kept)
    if f["kept"]:
        assert f["rule"] is None and f["reason"] is None
        assert y["text"] == kept[x["id"]]["text"]   # the cleaned text
    else:
        assert f["rule"] and f["reason"] and y["text"] == x["text"]
    if not y["metadata"]:
        del y["metadata"]
    x.pop("text"); y.pop("text")
    assert x == y
' "$T/in.jsonl" "$T/ann.jsonl" "$T/kept.jsonl"
}

@test "--rejected writes the dropped documents with their reason, atomically" {
	head -300 "$PARITY" > "$T/in.jsonl"
	llm-filter "$T/in.jsonl" -o "$T/kept.jsonl" --rejected "$T/rej.jsonl" 2>/dev/null
	py '
import json, sys
src = [json.loads(l) for l in open(sys.argv[1])]
kept = [json.loads(l) for l in open(sys.argv[2])]
rej = [json.loads(l) for l in open(sys.argv[3])]
assert len(kept) + len(rej) == len(src) and rej
ids = [d["id"] for d in src]
pos = [ids.index(d["id"]) for d in rej]
assert pos == sorted(pos)
for d in rej:
    f = d["metadata"]["filter"]
    assert f["kept"] is False and f["rule"] and f["reason"]
    assert d["text"] == src[ids.index(d["id"])]["text"]
assert not {d["id"] for d in kept} & {d["id"] for d in rej}
' "$T/in.jsonl" "$T/kept.jsonl" "$T/rej.jsonl"
	# A failed run leaves neither file behind (nor a temporary one).
	printf '{"id":"x","text":"ok"}\nnot json\n' > "$T/bad.jsonl"
	run llm-filter "$T/bad.jsonl" -o "$T/k2" --rejected "$T/r2"
	[ "$status" -eq 1 ]
	[ ! -e "$T/k2" ] && [ ! -e "$T/r2" ]
	[ -z "$(ls -A "$T" | grep tmp)" ]
}

@test "-j N gives the same output, rejected file and counts" {
	cp "$PARITY" "$T/in.jsonl"
	llm-filter -j 1 "$T/in.jsonl" -o "$T/o1" --rejected "$T/r1" --stats "$T/s1" 2>/dev/null
	llm-filter -j 3 "$T/in.jsonl" -o "$T/o3" --rejected "$T/r3" --stats "$T/s3" 2>/dev/null
	cmp "$T/o1" "$T/o3"
	cmp "$T/r1" "$T/r3"
	py '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["dropped"] == b["dropped"] and a["reasons"] == b["reasons"]
' "$T/s1" "$T/s3"
}

@test "malformed lines: file and line named; --on-error=skip counts them" {
	{
		echo '{"id":"1","text":"fine"}'
		printf '{"id":"2","text":"bad \xff byte"}\n'
		echo '{"id":"3","txt":"no text"}'
		echo '{"id":"4","text":"cut'
	} > "$T/bad.jsonl"
	run llm-filter --rules length "$T/bad.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad.jsonl:2: byte"*"invalid UTF-8"* ]]
	run llm-filter --rules length --on-error=skip "$T/bad.jsonl" -o "$T/out.jsonl"
	[ "$status" -eq 0 ]
	[[ "$output" == *"skipped 3 bad input"* ]]
	[ "$(wc -l < "$T/out.jsonl")" -eq 1 ]
}

@test "empty and blank texts are judged, not crashed on; empty input" {
	printf '{"id":"e","text":""}\n{"id":"w","text":" \\n\\t "}\n' > "$T/e.jsonl"
	llm-filter --annotate --rules gopher-repetition "$T/e.jsonl" > "$T/out" 2>/dev/null
	grep -q '"id":"e".*"reason":"empty"' "$T/out"
	for r in gopher-quality c4 fineweb length; do
		run llm-filter --annotate --rules $r "$T/e.jsonl"
		[ "$status" -eq 0 ]
	done
	run llm-filter < /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 documents in, 0 out"* ]]
}

@test "a 50 MB document goes through every rule set" {
	py '
import glob, json, os, sys
text = "".join(open(p, encoding="utf-8", errors="replace").read()
               for p in sorted(glob.glob(os.path.join(sys.argv[1], "corpus", "*.txt"))))
big = (text * (50_000_000 // len(text) + 1))[:50_000_000]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write(json.dumps({"id": "big", "text": big}, ensure_ascii=False) + "\n")
    f.write(json.dumps({"id": "small", "text": "A small document."}) + "\n")
' "$DATA" "$T/big.jsonl"
	run llm-filter --annotate --rules gopher-quality,c4 "$T/big.jsonl" -o "$T/out.jsonl"
	[ "$status" -eq 0 ]
	[ "$(wc -l < "$T/out.jsonl")" -eq 2 ]
	head -c 100 "$T/out.jsonl" | grep -q '"big"'
	# The whole text is repeated: repetition says so.
	run llm-filter --annotate --rules gopher-repetition,fineweb "$T/big.jsonl" -o "$T/out2.jsonl"
	[ "$status" -eq 0 ]
	grep -q '"reason":"dup_para_frac"' "$T/out2.jsonl"
}

@test "non-Latin scripts: words, per-language bad words" {
	mkdir "$T/lists"
	printf 'badword\n' > "$T/lists/en"
	printf '\xe8\x84\x8f\xe8\xaf\x9d\n' > "$T/lists/zh"          # 脏话
	printf '\xd0\xbf\xd0\xbb\xd0\xbe\xd1\x85\xd0\xbe\n' > "$T/lists/ru"   # плохо
	cat > "$T/in.jsonl" <<-'EOF'
	{"id":"zh","text":"这是一个脏话的例子。","metadata":{"language":"zh"}}
	{"id":"ru1","text":"Это плохо сказано.","metadata":{"language":"ru"}}
	{"id":"ru2","text":"Это неплохо сказано.","metadata":{"language":"ru"}}
	{"id":"ar","text":"هذا نص عربي badword","metadata":{"language":"ar"}}
	{"id":"en","text":"ein badword hier"}
	EOF
	llm-filter --rules badwords --badwords-dir "$T/lists" --annotate "$T/in.jsonl" > "$T/out" 2>/dev/null
	py '
import json, sys
r = {d["id"]: d["metadata"]["filter"]["kept"] for d in map(json.loads, open(sys.argv[1]))}
# Chinese matches inside a run of characters; Russian only as a word;
# a language without a list keeps the document; no language means en.
assert r == {"zh": False, "ru1": False, "ru2": True, "ar": True, "en": False}, r
' "$T/out"
	# Word counts of scripts without spaces and with: one word per run.
	printf '{"id":"1","text":"日本語のテキスト"}\n{"id":"2","text":"Привет, мир"}\n' > "$T/w.jsonl"
	run llm-filter --min-words 2 --rules length "$T/w.jsonl"
	[[ "$output" == *"too_few_words 1"* ]]
	[[ "$output" == *"2 documents in, 1 out"* ]]
}

@test "classifier: trains on real text, held-out AUC >= 0.95; filters and samples" {
	run llm-filter train --positive "$FIX/filter/quality_pos.jsonl.gz" \
		--negative "$FIX/filter/quality_neg.jsonl.gz" --bits 18 --holdout 0.25 \
		-o "$T/q.model" --stats "$T/train.json"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ROC AUC"* ]]
	auc=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["training"]["test_auc"])' "$T/train.json")
	echo "# held-out ROC AUC $auc" >&3
	py 'import sys; assert float(sys.argv[1]) >= 0.95, sys.argv[1]' "$auc"
	zcat "$FIX/filter/quality_pos.jsonl.gz" "$FIX/filter/quality_neg.jsonl.gz" > "$T/all.jsonl"
	llm-filter --classifier "$T/q.model" --rules classifier --min-score 0.5 "$T/all.jsonl" > "$T/kept" 2>/dev/null
	py '
import json, sys
kept = [json.loads(l)["source"] for l in open(sys.argv[1])]
assert kept.count("books") > 180 and kept.count("web") < 20, (kept.count("books"), kept.count("web"))
' "$T/kept"
	# Pareto sampling: seeded, the same at any -j, another seed differs.
	llm-filter --classifier "$T/q.model" --rules classifier --sample pareto:9 "$T/all.jsonl" > "$T/s1" 2>/dev/null
	llm-filter --classifier "$T/q.model" --rules classifier --sample pareto:9 -j 2 "$T/all.jsonl" > "$T/s2" 2>/dev/null
	llm-filter --classifier "$T/q.model" --rules classifier --sample pareto:9 --seed 7 "$T/all.jsonl" > "$T/s3" 2>/dev/null
	cmp "$T/s1" "$T/s2"
	! cmp -s "$T/s1" "$T/s3"
	[ "$(wc -l < "$T/s1")" -gt 200 ] && [ "$(wc -l < "$T/s1")" -lt 400 ]
	# --annotate carries the score.
	llm-filter --classifier "$T/q.model" --annotate "$T/all.jsonl" 2>/dev/null | head -1 |
		grep -q '"scores":{"classifier":0\.[0-9]'
}

@test "a bad or foreign model file is a clear error" {
	printf '{"id":"1","text":"x"}\n' > "$T/in.jsonl"
	run llm-filter --classifier "$T/in.jsonl" "$T/in.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/in.jsonl: not an llm-filter classifier model"* ]]
	run llm-filter --classifier "$T/missing.model" "$T/in.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/missing.model: No such file"* ]]
	zcat "$FIX/filter/quality_pos.jsonl.gz" | head -20 > "$T/p.jsonl"
	zcat "$FIX/filter/quality_neg.jsonl.gz" | head -20 > "$T/n.jsonl"
	llm-filter train --positive "$T/p.jsonl" --negative "$T/n.jsonl" --bits 10 -o "$T/m" 2>/dev/null
	head -c 3000 "$T/m" > "$T/cut"
	run llm-filter --classifier "$T/cut" "$T/in.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"truncated"* ]]
	cp "$T/m" "$T/flip"
	printf '\x01' | dd of="$T/flip" bs=1 seek=100 conv=notrunc 2>/dev/null
	run llm-filter --classifier "$T/flip" "$T/in.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"checksum mismatch"* ]]
}

@test "thresholds: --set, --rules-file (datatrove's constants file), --c4-keep-lines" {
	text="One two three four five six seven eight nine ten, with the words and the rest."
	printf '{"id":"1","text":"%s"}\n' "$text" > "$T/in.jsonl"
	run llm-filter --rules gopher-quality "$T/in.jsonl"
	[[ "$output" == *"gopher_short_doc 1"* ]]
	run llm-filter --rules gopher-quality -s gopher-quality.min_doc_words=10 "$T/in.jsonl"
	[[ "$output" == *"1 documents in, 1 out"* ]]
	echo '{"gopher-quality": {"min_doc_words": 10}}' > "$T/rules.json"
	run llm-filter --rules gopher-quality --rules-file "$T/rules.json" "$T/in.jsonl"
	[[ "$output" == *"1 documents in, 1 out"* ]]
	run llm-filter --rules-file "$DATA/lists/quality_filter_constants.json" --rules gopher-quality "$T/in.jsonl"
	[ "$status" -eq 0 ]
	[[ "$output" == *"gopher_short_doc 1"* ]]
	# C4 only cleaning: the lorem ipsum document stays, short lines go.
	printf '{"id":"1","text":"Lorem ipsum dolor sit amet.\\nno end"}\n' > "$T/c4.jsonl"
	run llm-filter --rules c4 "$T/c4.jsonl"
	[[ "$output" == *"lorem_ipsum 1"* ]]
	llm-filter --rules c4 --c4-keep-lines "$T/c4.jsonl" 2>/dev/null | grep -q '"text":"Lorem ipsum dolor sit amet."}'
}

@test "usage errors exit 2; --help agrees with the man page" {
	for args in "--rules nope" "--set gopher-quality.nope=1" "--set x" "--min-score 0.5" \
		"--rules badwords" "--sample uniform:3 --classifier x" "--annotate --rejected x" \
		"--positive x" "train --rules c4"; do
		run env -u LLM_BADWORDS_DIR llm-filter $args < /dev/null
		[ "$status" -eq 2 ] || { echo "$args: $status $output"; false; }
	done
	run llm-filter --help
	[ "$status" -eq 0 ]
	for opt in $(echo "$output" | grep -o -- '--[a-z0-9-]*' | sort -u); do
		grep -Eq -- "(Fl |, )-${opt#--}( |$)" "$ROOT/man/llm-filter.1" ||
			{ echo "$opt not in man page"; false; }
	done
	run llm-filter --version
	[[ "$output" =~ ^llm-filter\ \(llmkit\)\ [0-9.]+$ ]]
	run mandoc -Tlint -W warning "$ROOT/man/llm-filter.1"
	[ "$status" -eq 0 ]
}
