#!/usr/bin/env python3
"""shard_golden.py - write the expected shard for tests/data/shard/tiny.jsonl.

Independent of llmkit: the file is laid out as llm.c's
dev/data/data_common.py write_datafile() lays out a GPT-2 shard (a header of
256 little-endian int32 with magic 20240520, version 1 and the token count,
then the tokens as uint16), with the end-of-text token 50256 before every
document as llm.c's fineweb.py tokenize() puts it.  tests/cli/shard.bats
packs tiny.jsonl with llm-shard and compares the bytes with this file.

Rerun (standard library only) from the repository root:
  python3 tests/ref/shard_golden.py tests/data/shard/tiny.jsonl \
      tests/data/shard/tiny.expected.bin
"""
import json
import struct
import sys

EOT = 50256


def main():
    src, dst = sys.argv[1], sys.argv[2]
    tokens = []
    with open(src) as f:
        for line in f:
            tokens.append(EOT)
            tokens.extend(json.loads(line))
    header = [0] * 256
    header[0], header[1], header[2] = 20240520, 1, len(tokens)
    with open(dst, "wb") as f:
        f.write(struct.pack("<256i", *header))
        f.write(struct.pack("<%dH" % len(tokens), *tokens))


if __name__ == "__main__":
    main()
