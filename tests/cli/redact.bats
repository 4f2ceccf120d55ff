#!/usr/bin/env bats
# llm-redact: finding and removing personal and secret information.

load helpers

RFIX="$FIX/redact"

@test "documents without findings pass through byte for byte" {
	run llm-redact "$FIX/stream.jsonl" -o "$T/out.jsonl"
	[ "$status" -eq 0 ]
	cmp "$FIX/stream.jsonl" "$T/out.jsonl"
	[[ "$output" == *"found nothing"* ]]
	# Real prose, with escapes and odd spacing kept as they were written.
	py '
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for i in range(0, 300000, 3000):
        f.write(json.dumps({"id": i, "text": text[i:i + 3000], "x": [1.50, {}]}) + "\n")
' "$DATA/corpus/tinyshakespeare.txt" "$T/prose.jsonl"
	llm-redact -j 2 "$T/prose.jsonl" | cmp - "$T/prose.jsonl"
	# With findings, only the text of those documents changes.
	{ cat "$T/prose.jsonl"; echo '{"id":"z","text":"mail bob@example.com","x":[1.50]}'; } > "$T/mixed.jsonl"
	llm-redact "$T/mixed.jsonl" > "$T/mixed.out"
	head -n 100 "$T/mixed.out" | cmp - "$T/prose.jsonl"
	[ "$(tail -n 1 "$T/mixed.out")" = '{"id":"z","text":"mail <EMAIL>","x":[1.50]}' ]
}

@test "labelled edge cases give exactly their findings" {
	llm-redact --annotate "$RFIX/cases.jsonl" > "$T/out.jsonl"
	py '
import json, sys
bad = 0
for a, b in zip(open(sys.argv[1], encoding="utf-8"), open(sys.argv[2], encoding="utf-8")):
    a, b = json.loads(a), json.loads(b)
    raw = b["text"].encode("utf-8")
    spans = b.get("metadata", {}).get("redact", {}).get("spans", [])
    got = sorted((s["type"], raw[s["start"]:s["end"]].decode("utf-8")) for s in spans)
    want = sorted(tuple(x) for x in a["expect"])
    if got != want:
        bad += 1
        print(a["id"], "got", got, "want", want)
sys.exit(bad)
' "$RFIX/cases.jsonl" "$T/out.jsonl"
}

@test "replace, mask and hash modes" {
	printf '%s\n' \
		'{"id":"1","text":"Écrivez à José.G@exämple.fr ou au +33 1 42 68 53 00."}' \
		'{"id":"2","text":"again: JOSÉ.g@EXÄMPLE.fr, (212) 555-0187"}' > "$T/in.jsonl"
	run llm-redact "$T/in.jsonl"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == '{"id":"1","text":"Écrivez à <EMAIL> ou au <PHONE>."}' ]]
	[[ "$output" == *"found 2 EMAIL, 2 PHONE in 2 documents"* ]]

	llm-redact --mode mask --mask-char '█' "$T/in.jsonl" > "$T/mask.jsonl"
	py '
import json, sys
for a, b in zip(open(sys.argv[1], encoding="utf-8"), open(sys.argv[2], encoding="utf-8")):
    a, b = json.loads(a)["text"], json.loads(b)["text"]
    assert len(a) == len(b), (a, b)          # characters, not bytes
    assert "█" * len("José.G@exämple.fr") in b or "█" * len("(212) 555-0187") in b, b
' "$T/in.jsonl" "$T/mask.jsonl"

	llm-redact --mode hash --salt s1 "$T/in.jsonl" > "$T/h1.jsonl"
	llm-redact --mode hash --salt s1 "$T/in.jsonl" > "$T/h1b.jsonl"
	llm-redact --mode hash --salt s2 "$T/in.jsonl" > "$T/h2.jsonl"
	cmp "$T/h1.jsonl" "$T/h1b.jsonl"
	! cmp -s "$T/h1.jsonl" "$T/h2.jsonl"
	# --salt-file keeps the key out of the process list; same pseudonyms.
	printf 's1\n' > "$T/salt"
	llm-redact --mode hash --salt-file "$T/salt" "$T/in.jsonl" | cmp - "$T/h1.jsonl"
	py '
import json, re, sys
a, b = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
ea = re.findall(r"<EMAIL:[0-9a-f]{16}>", a)
eb = re.findall(r"<EMAIL:[0-9a-f]{16}>", b)
assert ea and ea == eb, (a, b)      # same address, other case: same pseudonym
assert re.search(r"<PHONE:[0-9a-f]{16}>", a) and re.search(r"<PHONE:[0-9a-f]{16}>", b)
' "$T/h1.jsonl"

	run llm-redact --mode hash "$T/in.jsonl"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--mode hash needs --salt"* ]]
	run llm-redact --mode mask --mask-char ab "$T/in.jsonl"
	[ "$status" -eq 2 ]
	run llm-redact --mode shred "$T/in.jsonl"
	[ "$status" -eq 2 ]
}

@test "--annotate writes UTF-8 byte offsets and keeps text and metadata" {
	printf '%s\n' '{"id":"1","metadata":{"lang":"ru","filter":{"ok":true}},"text":"Телефон: +7 495 123-45-67, почта иван@пример.рф"}' > "$T/in.jsonl"
	llm-redact --annotate "$T/in.jsonl" > "$T/out.jsonl"
	py '
import json, sys
a = json.loads(open(sys.argv[1], encoding="utf-8").read())
b = json.loads(open(sys.argv[2], encoding="utf-8").read())
assert a["text"] == b["text"]
assert b["metadata"]["lang"] == "ru" and b["metadata"]["filter"] == {"ok": True}
spans = b["metadata"]["redact"]["spans"]
raw = a["text"].encode("utf-8")
got = [(s["type"], raw[s["start"]:s["end"]].decode("utf-8")) for s in spans]
assert got == [("PHONE", "+7 495 123-45-67"), ("EMAIL", "иван@пример.рф")], got
assert spans[0]["start"] == len("Телефон: ".encode("utf-8"))
' "$T/in.jsonl" "$T/out.jsonl"
	run llm-redact --annotate --mode mask "$T/in.jsonl"
	[ "$status" -eq 2 ]
}

@test "--types, --keep-private and --list-types" {
	echo '{"id":"1","text":"a@example.com from 10.1.2.3 and 8.8.4.4, call (212) 555-0187"}' > "$T/in.jsonl"
	run llm-redact --types EMAIL,IP_ADDRESS "$T/in.jsonl"
	[[ "${lines[0]}" == '{"id":"1","text":"<EMAIL> from <IP_ADDRESS> and <IP_ADDRESS>, call (212) 555-0187"}' ]]
	run llm-redact --types IP_ADDRESS --keep-private "$T/in.jsonl"
	[[ "${lines[0]}" == '{"id":"1","text":"a@example.com from 10.1.2.3 and <IP_ADDRESS>, call (212) 555-0187"}' ]]
	run llm-redact --types EMAIL,NOPE "$T/in.jsonl"
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown type 'NOPE'"* ]]
	run llm-redact --list-types
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^[A-Z_]* ')" -eq 10 ]
}

@test "--rules: types of your own; a bad pattern names file, line, rule and offset" {
	printf '# ticket ids\nTICKET\tTCK-\\d{6}\nEMAIL\t\\b[a-z]+ at [a-z]+ dot (?:com|org)\\b\n' > "$T/rules.tsv"
	echo '{"id":"1","text":"see TCK-123456, write jane at example dot org"}' > "$T/in.jsonl"
	run llm-redact --rules "$T/rules.tsv" --stats "$T/s.json" "$T/in.jsonl"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == '{"id":"1","text":"see <TICKET>, write <EMAIL>"}' ]]
	py '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["found"]["TICKET"] == 1 and s["found"]["EMAIL"] == 1, s
' "$T/s.json"
	run llm-redact --rules "$T/rules.tsv" --types TICKET "$T/in.jsonl"
	[[ "${lines[0]}" == '{"id":"1","text":"see <TICKET>, write jane at example dot org"}' ]]
	run llm-redact --rules "$T/rules.tsv" --list-types
	[[ "$output" == *"TICKET"*"rule from --rules"* ]]

	printf 'OK\tfine\n\nKEY\t(?i)key-[a-z]+(\n' > "$T/bad.tsv"
	run llm-redact --rules "$T/bad.tsv" "$T/in.jsonl" -o "$T/out.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad.tsv:3: rule KEY: PCRE2 error at offset 15: missing closing parenthesis"* ]]
	[ ! -e "$T/out.jsonl" ]
	printf 'NOTAB pattern\n' > "$T/bad2.tsv"
	run llm-redact --rules "$T/bad2.tsv" "$T/in.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad2.tsv:1: expected NAME<TAB>PATTERN"* ]]
	run llm-redact --rules "$T/none.tsv" "$T/in.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"none.tsv: No such file or directory"* ]]
}

@test "--drop-over N and the counts in --stats" {
	printf '%s\n' \
		'{"id":"0","text":"nothing here"}' \
		'{"id":"1","text":"one: a@example.com"}' \
		'{"id":"2","text":"two: a@example.com, b@example.com"}' \
		'{"id":"3","text":"three: a@example.com b@example.com 536-22-1234"}' > "$T/in.jsonl"
	run llm-redact --drop-over 1 --stats "$T/s.json" "$T/in.jsonl"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "$output" == *"4 documents in, 2 out, 2 dropped"* ]]
	py '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["found"]["EMAIL"] == 5 and s["found"]["US_SSN"] == 1 and s["found"]["PHONE"] == 0, s
assert s["documents_dropped"] == 2 and s["documents_with_findings"] == 3, s
' "$T/s.json"
	run llm-redact --drop-over -1 "$T/in.jsonl"
	[ "$status" -eq 2 ]
}

@test "-j N gives the same output as one thread" {
	py '
import json, sys
rows = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for k in range(4):
        for i, r in enumerate(rows):
            f.write(json.dumps({"id": "%d:%d" % (k, i), "text": r["full_text"]}) + "\n")
' "$DATA/pii/presidio-research/synth_dataset_v2.json" "$T/synth.jsonl"
	llm-redact -j 1 "$T/synth.jsonl" > "$T/j1"
	llm-redact -j 3 "$T/synth.jsonl" > "$T/j3"
	cmp "$T/j1" "$T/j3"
	llm-redact -j 2 --annotate "$T/synth.jsonl" | llm-redact --annotate -j 1 > /dev/null
}

@test "bad input lines name the file and the line" {
	printf '%s\n' '{"id":"1","text":"a@example.com"}' '{"id":"2","txt":"x"}' '{"id":"3","text":"b@example.com"}' > "$T/bad.jsonl"
	run llm-redact "$T/bad.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad.jsonl:2: missing \"text\""* ]]
	run llm-redact --on-error=skip "$T/bad.jsonl"
	[ "$status" -eq 0 ]
	[[ "$output" == *"skipped 1 bad input"* ]]
	[[ "$output" == *'{"id":"3","text":"<EMAIL>"}'* ]]
}

@test "precision and recall of 0.95 or better per type on presidio-research's data" {
	run python3 "$ROOT/tests/ref/pii_eval.py" --redact "$B/bin/llm-redact" \
		--data "$DATA" --min 0.95
	echo "$output"
	[ "$status" -eq 0 ]
}
