#!/bin/sh
# 06-bpe.sh - llm-bpe encoding against tiktoken (GPT-2's ranks) and training
# against Hugging Face tokenizers' BpeTrainer, on the same real text.
#
# Encoding: 100 MB of JSONL (books and code), GPT-2's files, best of 3.
# llm-bpe's time is the whole run (read, parse JSON, encode, write the token
# stream); tiktoken's is encode_ordinary() alone on texts already in memory,
# one thread, which flatters the anchor.  Training: 20 MB, 8,192 tokens,
# <|endoftext|>, GPT-2's pattern; BpeTrainer with a ByteLevel pre-tokenizer
# uses every core, llm-bpe gets -j with as many threads.  Without the Python
# packages, llm-bpe's own figures are printed and the anchor is said missing.
. bench/lib.sh
f=$(corpus 100)
bytes=$(wc -c < "$f")
text_bytes=$(python3 -c 'import json, sys
print(sum(len(json.loads(l)["text"].encode()) for l in open(sys.argv[1], encoding="utf-8")))' "$f")
cores=$(nproc 2>/dev/null || echo 2)
model="${LLM_SHARED:-../shared}/data/bpe"

echo "llm-bpe encode, GPT-2, $(echo "$bytes / 1000000" | bc) MB JSONL ($(echo "$text_bytes / 1000000" | bc) MB of text)"
one=$(seconds llm-bpe encode -m "$model" "$f") || exit 1
row "llm-bpe encode (1 thread)" "$text_bytes" "$one"
for j in 2 4; do
	[ "$j" -gt "$cores" ] && [ "$j" -gt 2 ] && break
	t=$(seconds llm-bpe encode -m "$model" -j "$j" "$f") || exit 1
	row "llm-bpe encode ($j threads)" "$text_bytes" "$t"
	printf '  scaling with %d threads: %.2fx\n' "$j" "$(echo "$one / $t" | bc -l)"
done

tt=$(python3 - "$f" "$model" <<'EOF' 2>/dev/null
import json, sys, time
try:
    import tiktoken
    import tiktoken_ext.openai_public as openai_public
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
except ImportError:
    sys.exit(1)
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
ranks = data_gym_to_mergeable_bpe_ranks(sys.argv[2] + "/vocab.bpe", sys.argv[2] + "/encoder.json")
enc = tiktoken.Encoding("gpt2", pat_str=openai_public.r50k_pat_str, mergeable_ranks=ranks,
                        special_tokens={"<|endoftext|>": 50256})
best = None
for _ in range(3):
    t0 = time.perf_counter()
    for t in texts:
        enc.encode_ordinary(t)
    t1 = time.perf_counter() - t0
    best = t1 if best is None else min(best, t1)
print("%.3f" % best)
EOF
)
if [ -n "$tt" ]; then
	row "tiktoken encode_ordinary (anchor)" "$text_bytes" "$tt"
	printf '  ratio llm-bpe/tiktoken (1 thread): %.1fx\n' "$(echo "$tt / $one" | bc -l)"
else
	echo "  tiktoken (anchor): not installed (pip install tiktoken)"
fi

echo
g=$(corpus 20)
gbytes=$(wc -c < "$g")
echo "llm-bpe train, 8192 tokens, $(echo "$gbytes / 1000000" | bc) MB JSONL"
tmp="$BENCH_DIR/bench-bpe.$$"
ours=$(seconds llm-bpe train --vocab-size 8192 --special '<|endoftext|>' -j "$cores" -o "$tmp" "$g") || exit 1
rm -f "$tmp"
printf '  %-34s %9.2f s\n' "llm-bpe train (-j $cores)" "$ours"
hf=$(python3 - "$g" <<'EOF' 2>/dev/null
import json, sys, time
try:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
except ImportError:
    sys.exit(1)
texts = [json.loads(l)["text"] for l in open(sys.argv[1], encoding="utf-8")]
best = None
for _ in range(3):
    t0 = time.perf_counter()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=8192, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    t1 = time.perf_counter() - t0
    best = t1 if best is None else min(best, t1)
print("%.3f" % best)
EOF
)
if [ -n "$hf" ]; then
	printf '  %-34s %9.2f s\n' "HF tokenizers BpeTrainer (anchor)" "$hf"
	printf '  ratio llm-bpe/BpeTrainer: %.1fx faster\n' "$(echo "$hf / $ours" | bc -l)"
else
	echo "  HF tokenizers BpeTrainer (anchor): not installed (pip install tokenizers)"
fi
