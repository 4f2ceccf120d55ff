#!/usr/bin/env bats
# llm-bpe: train, encode, decode, export, info, as a user runs them.

load helpers

GPT2() { echo "$DATA/bpe"; }

# Ids as text -> one JSON list per line, for Python to compare.
ids_json() {
	py 'import sys, json
for l in open(sys.argv[1]):
    print(json.dumps([int(x) for x in l.split()]))' "$1"
}

@test "encode --text gives GPT-2's ids for tinyshakespeare" {
	llm-bpe encode -m "$(GPT2)" --text --format ids "$DATA/corpus/tinyshakespeare.txt" > "$T/ids"
	py 'import sys, json
got = [int(x) for x in open(sys.argv[1]).read().split()]
want = json.load(open(sys.argv[2]))
assert got == want, (len(got), len(want))' "$T/ids" "$DATA/bpe/tinyshakespeare.gpt2.tokens.json"
}

@test "the token stream: header, end-of-text before each document, 2-byte ids" {
	printf '%s\n' '{"id":"a","text":"hello world"}' '{"id":"b","text":""}' '{"id":"c","text":" hi"}' > "$T/in.jsonl"
	run llm-bpe encode -m "$(GPT2)" "$T/in.jsonl" -o "$T/out.tok"
	[ "$status" -eq 0 ]
	[[ "$output" == *"3 documents in, 3 out"* ]]
	py 'import sys, struct
b = open(sys.argv[1], "rb").read()
assert b[:4] == b"LLMT"
ver, width, vocab, eot = struct.unpack("<HHII", b[4:16])
assert (ver, width, vocab, eot) == (1, 2, 50257, 50256), (ver, width, vocab, eot)
ids = list(struct.unpack("<%dH" % ((len(b) - 16) // 2), b[16:]))
assert ids == [50256, 31373, 995, 50256, 50256, 23105], ids' "$T/out.tok"
}

@test "vocabularies over 65,536 ids write 4-byte tokens" {
	printf '%s\n' '{"id":"a","text":"hello world"}' > "$T/in.jsonl"
	llm-bpe encode -m "$DATA/bpe/cl100k_base.tiktoken" "$T/in.jsonl" > "$T/out.tok"
	py 'import sys, struct
b = open(sys.argv[1], "rb").read()
ver, width, vocab, eot = struct.unpack("<HHII", b[4:16])
assert (width, vocab, eot) == (4, 100277, 100257)
assert list(struct.unpack("<3I", b[16:])) == [100257, 15339, 1917]' "$T/out.tok"
	llm-bpe decode -m "$DATA/bpe/cl100k_base.tiktoken" "$T/out.tok" > "$T/back.jsonl"
	grep -q '"text":"hello world"' "$T/back.jsonl"
}

@test "decode(encode(x)) is byte-identical: documents, and raw bytes that are not UTF-8" {
	cp "$ROOT/tests/data/stream.jsonl" "$T/docs.jsonl"
	llm-bpe encode -m "$(GPT2)" "$T/docs.jsonl" | llm-bpe decode -m "$(GPT2)" > "$T/back.jsonl"
	py 'import sys, json
a = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
b = [json.loads(l)["text"] for l in open(sys.argv[2], encoding="utf-8")]
assert a == b' "$T/docs.jsonl" "$T/back.jsonl"
	head -c 300000 /dev/urandom > "$T/random.bin"
	printf 'caf\xe9 \xff\xfe na\xc3\xafve \xe2\x82 \xf0\x9f\x98\n' >> "$T/random.bin"
	for m in "$(GPT2)" "$DATA/bpe/o200k_base.tiktoken"; do
		llm-bpe encode -m "$m" --text "$T/random.bin" > "$T/r.tok"
		llm-bpe decode -m "$m" --text "$T/r.tok" > "$T/r.back"
		cmp "$T/random.bin" "$T/r.back"
		llm-bpe encode -m "$m" --text --format ids "$T/random.bin" |
			llm-bpe decode -m "$m" --text --format ids > "$T/r.back2"
		cmp "$T/random.bin" "$T/r.back2"
	done
}

@test "raw text is read in chunks; -j changes nothing but speed" {
	for i in 1 2 3 4 5 6; do cat "$DATA/corpus/tinyshakespeare.txt" "$DATA/corpus/kjv_bible.txt"; done > "$T/big.txt"
	llm-bpe encode -m "$(GPT2)" --text --format ids "$T/big.txt" > "$T/j1"
	llm-bpe encode -m "$(GPT2)" --text --format ids -j 3 "$T/big.txt" > "$T/j3"
	cmp "$T/j1" "$T/j3"
	[ "$(wc -l < "$T/j1")" -eq 1 ]
	# The chunked file encodes as the concatenation of its parts' pieces:
	# the first copy of Shakespeare begins it exactly as it does alone.
	llm-bpe encode -m "$(GPT2)" --text --format ids "$DATA/corpus/tinyshakespeare.txt" > "$T/one"
	py 'import sys
a = open(sys.argv[1]).read().split()
b = open(sys.argv[2]).read().split()
assert a[:len(b) - 1] == b[:-1]' "$T/j1" "$T/one"
	llm-bpe encode -m "$(GPT2)" --text "$T/big.txt" | llm-bpe decode -m "$(GPT2)" --text | cmp - "$T/big.txt"
}

@test "documents in order with -j, compressed input, several files" {
	py '
import json
with open("'"$T"'/many.jsonl", "w") as f:
    for i in range(30000):
        f.write(json.dumps({"id": str(i), "text": "document %d: %s" % (i, "abc " * (i % 50))}) + "\n")
'
	zstd -q -c "$T/many.jsonl" > "$T/many.jsonl.zst"
	llm-bpe encode -m "$(GPT2)" --format ids "$T/many.jsonl" > "$T/a"
	llm-bpe encode -m "$(GPT2)" --format ids -j 4 "$T/many.jsonl.zst" > "$T/b"
	cmp "$T/a" "$T/b"
	llm-bpe encode -m "$(GPT2)" "$T/many.jsonl" "$T/many.jsonl" | llm-bpe decode -m "$(GPT2)" > "$T/back"
	[ "$(wc -l < "$T/back")" -eq 60000 ]
	[ "$(sed -n 30001p "$T/back")" = '{"id":"30001","text":"document 0: "}' ]
}

@test "special tokens: plain text unless --allow-special" {
	printf '%s\n' '{"id":"a","text":"x<|endoftext|>y"}' > "$T/in.jsonl"
	# tiktoken's encode_ordinary("x<|endoftext|>y")
	[ "$(llm-bpe encode -m "$(GPT2)" --format ids "$T/in.jsonl")" = "87 27 91 437 1659 5239 91 29 88" ]
	[ "$(llm-bpe encode -m "$(GPT2)" --format ids --allow-special "$T/in.jsonl")" = "87 50256 88" ]
	[ "$(llm-bpe encode -m "$(GPT2)" --format ids --allow-special='<|endoftext|>' "$T/in.jsonl")" = "87 50256 88" ]
	run llm-bpe encode -m "$(GPT2)" --allow-special='<|nope|>' "$T/in.jsonl"
	[ "$status" -eq 2 ]
	[[ "$output" == *"'<|nope|>' is not a special token"* ]]
}

@test "train reproduces the cs336 reference merges and vocabulary" {
	cs="$DATA/tokenizer/cs336"
	run llm-bpe train --text --vocab-size 500 --special '<|endoftext|>' -o "$T/cs.bpe" "$cs/corpus.en"
	[ "$status" -eq 0 ]
	[[ "$output" == *"243 merges, 500 tokens"* ]]
	llm-bpe export -m "$T/cs.bpe" --to gpt2 -o "$T/cs"
	# The reference has no "#version" line.
	tail -n +2 "$T/cs/vocab.bpe" | cmp - "$cs/train-bpe-reference-merges.txt"
	py 'import sys, json
assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))' "$T/cs/encoder.json" "$cs/train-bpe-reference-vocab.json"
}

@test "train on documents with threads: same model as one thread" {
	py '
import json
text = open("'"$DATA"'/corpus/tinyshakespeare.txt").read()
with open("'"$T"'/docs.jsonl", "w") as f:
    for i in range(0, len(text), 3000):
        f.write(json.dumps({"id": str(i), "text": text[i:i + 3000]}) + "\n")
'
	llm-bpe train --vocab-size 1500 --special '<|endoftext|>' --pattern o200k -o "$T/a.bpe" "$T/docs.jsonl"
	llm-bpe train --vocab-size 1500 --special '<|endoftext|>' --pattern o200k -j 3 -o "$T/b.bpe" "$T/docs.jsonl"
	cmp "$T/a.bpe" "$T/b.bpe"
	llm-bpe encode -m "$T/a.bpe" "$T/docs.jsonl" | llm-bpe decode -m "$T/a.bpe" > "$T/back.jsonl"
	py 'import sys, json
a = [json.loads(l)["text"] for l in open(sys.argv[1])]
b = [json.loads(l)["text"] for l in open(sys.argv[2])]
assert a == b' "$T/docs.jsonl" "$T/back.jsonl"
}

@test "export and load: gpt2, tiktoken, hf, bpe give the same ids" {
	m="$ROOT/tests/data/bpe/small.bpe"
	llm-bpe encode -m "$m" --format ids "$ROOT/tests/data/stream.jsonl" > "$T/want"
	llm-bpe export -m "$m" --to gpt2 -o "$T/g"
	llm-bpe export -m "$m" --to tiktoken -o "$T/small.tiktoken"
	llm-bpe export -m "$m" --to hf -o "$T/tokenizer.json"
	llm-bpe export -m "$T/tokenizer.json" --to bpe -o "$T/again.bpe"
	cmp "$m" "$T/again.bpe"
	for x in "$T/g" "$T/small.tiktoken" "$T/tokenizer.json" "$T/again.bpe"; do
		llm-bpe encode -m "$x" --format ids "$ROOT/tests/data/stream.jsonl" | cmp - "$T/want"
	done
	llm-bpe encode -m "$T/g/encoder.json" -m "$T/g/vocab.bpe" --format ids "$ROOT/tests/data/stream.jsonl" | cmp - "$T/want"
	# Exactly the files tiktoken and tokenizers loaded for the fixtures.
	cmp "$T/small.tiktoken" "$ROOT/tests/data/bpe/small.tiktoken"
	cmp "$T/small.tiktoken.json" "$ROOT/tests/data/bpe/small.tiktoken.json"
	cmp "$T/tokenizer.json" "$ROOT/tests/data/bpe/small.tokenizer.json"
}

@test "info describes a model" {
	run llm-bpe info -m "$DATA/bpe/o200k_base.tiktoken"
	[ "$status" -eq 0 ]
	[[ "$output" == *"format: tiktoken"* ]]
	[[ "$output" == *"pattern: o200k"* ]]
	[[ "$output" == *"token width: 4 bytes"* ]]
	[[ "$output" == *'end-of-text: 199999 "<|endoftext|>"'* ]]
}

@test "a truncated or newer model file is a clear error" {
	m="$ROOT/tests/data/bpe/small.bpe"
	head -c 5000 "$m" > "$T/cut.bpe"
	run llm-bpe encode -m "$T/cut.bpe" "$ROOT/tests/data/stream.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/cut.bpe: truncated llm-bpe model (5000 of "*" bytes)"* ]]
	py 'import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[4] = 9
open(sys.argv[2], "wb").write(b)' "$m" "$T/new.bpe"
	run llm-bpe info -m "$T/new.bpe"
	[ "$status" -eq 1 ]
	[[ "$output" == *"version 9 is not supported"*"newer llm-bpe"* ]]
}

@test "bad input lines: stop with file and line, or skip and count" {
	printf '%s\n' '{"id":"1","text":"a"}' '{"id":"2","text":' '{"id":"3","text":"c"}' > "$T/bad.jsonl"
	run llm-bpe encode -m "$(GPT2)" --format ids "$T/bad.jsonl" -o "$T/out"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/bad.jsonl:2: "* ]]
	[ ! -e "$T/out" ]
	run llm-bpe encode -m "$(GPT2)" --format ids --on-error=skip "$T/bad.jsonl" -o "$T/out"
	[ "$status" -eq 0 ]
	[[ "$output" == *"skipped 1 bad input line"* ]]
	[ "$(cat "$T/out")" = "$(printf '64\n66')" ]
	printf '1 2 x\n' > "$T/ids"
	run llm-bpe decode -m "$(GPT2)" --format ids "$T/ids"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/ids:1: byte 5: expected a token id"* ]]
	printf '1 99999\n' > "$T/ids"
	run llm-bpe decode -m "$(GPT2)" --format ids "$T/ids"
	[ "$status" -eq 1 ]
	[[ "$output" == *"token id 99999 is not in the vocabulary"* ]]
}

@test "a stream from another vocabulary is refused" {
	printf '%s\n' '{"id":"a","text":"hi"}' > "$T/in.jsonl"
	llm-bpe encode -m "$DATA/bpe/cl100k_base.tiktoken" "$T/in.jsonl" > "$T/cl.tok"
	run llm-bpe decode -m "$(GPT2)" "$T/cl.tok"
	[ "$status" -eq 1 ]
	[[ "$output" == *"made with another vocabulary"* ]]
}

@test "usage errors exit 2; --help and --version" {
	run llm-bpe
	[ "$status" -eq 2 ]
	run llm-bpe frobnicate
	[ "$status" -eq 2 ]
	run llm-bpe encode "$ROOT/tests/data/stream.jsonl"
	[ "$status" -eq 2 ]
	[[ "$output" == *"-m MODEL is required"* ]]
	run llm-bpe train -o "$T/x.bpe"
	[ "$status" -eq 2 ]
	run llm-bpe export -m "$(GPT2)" --to word2vec -o "$T/x"
	[ "$status" -eq 2 ]
	run llm-bpe encode -m "$(GPT2)" --format xml
	[ "$status" -eq 2 ]
	run llm-bpe --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"llm-bpe train --vocab-size N"* ]]
	run llm-bpe encode --version
	[[ "$output" == "llm-bpe (llmkit) "* ]]
}

@test "a model without special tokens: ids work, the stream says what is missing" {
	printf '%s\n' '{"id":"a","text":"hi"}' > "$T/in.jsonl"
	llm-bpe train --vocab-size 300 -o "$T/plain.bpe" "$T/in.jsonl"
	run llm-bpe encode -m "$T/plain.bpe" "$T/in.jsonl"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no special token to use as end-of-text"* ]]
	[ "$(llm-bpe encode -m "$T/plain.bpe" --format ids "$T/in.jsonl")" = "256" ]
}

@test "--stats counts documents and tokens" {
	llm-bpe encode -m "$(GPT2)" --stats "$T/s.json" "$ROOT/tests/data/stream.jsonl" > /dev/null
	py 'import sys, json
s = json.load(open(sys.argv[1]))
assert s["documents_in"] == 7 and s["documents_out"] == 7 and s["tokens_out"] > 7, s' "$T/s.json"
}

@test "-o onto a pipe or device writes into it and leaves it be" {
	mkfifo "$T/fifo"
	cat "$T/fifo" > "$T/got" &
	llm-bpe encode -m "$(GPT2)" --format ids "$ROOT/tests/data/stream.jsonl" -o "$T/fifo"
	wait
	[ -p "$T/fifo" ]
	llm-bpe encode -m "$(GPT2)" --format ids "$ROOT/tests/data/stream.jsonl" | cmp - "$T/got"
}
