#!/bin/sh
# 05-redact.sh - llm-redact over 200 MB of real prose and code (most of it
# holds no PII) against the anchor: datatrove's e-mail and IPv4 rules in
# Python's re (bench/redact_datatrove.py) on the same file.  The e-mail +
# public-IP row does the anchor's job; the first rows search every type.
. bench/lib.sh
f=$(corpus 200)
bytes=$(wc -c < "$f")
echo "PII redaction, $(echo "$bytes / 1000000" | bc) MB JSONL"
all=$(seconds llm-redact "$f") || exit 1
all_j2=$(seconds llm-redact -j 2 "$f") || exit 1
same=$(seconds llm-redact --types EMAIL,IP_ADDRESS --keep-private "$f") || exit 1
annotate=$(seconds llm-redact --annotate "$f") || exit 1
py=$(seconds python3 bench/redact_datatrove.py "$f") || exit 1
row "llmkit llm-redact, all types" "$bytes" "$all"
row "llmkit llm-redact, all types, -j 2" "$bytes" "$all_j2"
row "llmkit llm-redact --annotate" "$bytes" "$annotate"
row "llmkit, e-mail + public IPv4 only" "$bytes" "$same"
row "datatrove rules, Python re (anchor)" "$bytes" "$py"
printf '  ratio llmkit/Python (1 thread, all types): %.1fx\n' "$(echo "$py / $all" | bc -l)"
printf '  ratio llmkit/Python (1 thread, same rules): %.1fx\n' "$(echo "$py / $same" | bc -l)"
