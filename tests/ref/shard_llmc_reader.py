#!/usr/bin/env python3
"""shard_llmc_reader.py - read llm-shard's shards the way llm.c and nanoGPT do.

An independent reader for the tests of llm-shard, written from the loaders'
documented layout, not from llmkit's code, with the standard library only
(array, struct, glob; no numpy):

  llm.c  (train_gpt2.py _load_data_shard, llmc/dataloader.h, and
          dev/data/data_common.py write_datafile):
          a header of 256 little-endian int32: [0] magic 20240520, [1]
          version 1, [2] number of tokens; then that many uint16 tokens, and
          nothing else (the C loader asserts file size == 1024 + 2 * ntok and
          ntok > 0).  data_common.py's Llama-3 variant: magic 20240801,
          version 7, uint32 tokens.  Shards are found by a glob such as
          DIR/train_*.bin, in sorted order; every document starts with the
          end-of-text token.
  nanoGPT style:
          np.memmap(path, dtype=np.uint16, mode="r", offset=1024), i.e. the
          whole file after the header read as one flat array of tokens.

Commands (exit status 0 on success, 1 with a message on a mismatch):

  read DIR [--split S] --expect STREAM
        Read DIR/S_*.bin (default train) both ways; they must agree with
        each other and equal the tokens of the llmkit token stream STREAM
        (llm-formats(5): 16-byte "LLMT" header, then tokens), end-of-text
        tokens included.  Prints "ok: N tokens in K shards".

  mix DIR NAME=STREAM ... [--split S]
        Attribute every document in the shards (split S, default both) to
        the source stream that holds the same token sequence, and print the
        realised share of tokens per source as JSON.  Every document must
        be found in exactly one source.

Not a fixture generator: the tests run it directly (python3 is the only
requirement).  Rerun by hand, for example:
  python3 tests/ref/shard_llmc_reader.py read shards --expect in.tok
"""
import array
import glob
import json
import os
import struct
import sys

HEADER_INTS = 256
HEADER_BYTES = HEADER_INTS * 4
LAYOUTS = {  # magic -> (version, array typecode, bytes per token)
    20240520: (1, "H", 2),
    20240801: (7, "I", 4),
}


def fail(msg):
    sys.stderr.write("shard_llmc_reader: %s\n" % msg)
    sys.exit(1)


def load_data_shard(path):
    """llm.c's reader: check the header and the size, return the tokens."""
    with open(path, "rb") as f:
        header = struct.unpack("<256i", f.read(HEADER_BYTES))
        data = f.read()
    magic, version, ntok = header[0], header[1], header[2]
    if magic not in LAYOUTS:
        fail("%s: magic number mismatch (%d)" % (path, magic))
    want_version, code, size = LAYOUTS[magic]
    if version != want_version:
        fail("%s: unsupported version %d" % (path, version))
    if ntok <= 0:
        fail("%s: no tokens" % path)
    if len(data) != ntok * size:
        fail("%s: file size is not as expected" % path)
    tokens = array.array(code)
    tokens.frombytes(data)
    if sys.byteorder != "little":
        tokens.byteswap()
    return tokens


def memmap_tokens(path, code):
    """nanoGPT's np.memmap(..., offset=1024): the bytes after the header."""
    tokens = array.array(code)
    with open(path, "rb") as f:
        f.seek(HEADER_BYTES)
        tokens.frombytes(f.read())
    if sys.byteorder != "little":
        tokens.byteswap()
    return tokens


def read_stream(path):
    """An llmkit token stream: (vocab, eot, tokens)."""
    with open(path, "rb") as f:
        head = f.read(16)
        data = f.read()
    if head[:4] != b"LLMT":
        fail("%s: not a token stream" % path)
    version, width, vocab, eot = struct.unpack("<HHII", head[4:16])
    tokens = array.array("H" if width == 2 else "I")
    tokens.frombytes(data)
    if sys.byteorder != "little":
        tokens.byteswap()
    return vocab, eot, tokens


def split_docs(tokens, eot):
    """Documents of a token sequence, each opened by eot, as the bytes of
    their ids (hashable, and equal for equal sequences of one width)."""
    size = tokens.itemsize
    raw = tokens.tobytes()
    pat = array.array(tokens.typecode, [eot]).tobytes()
    starts, i = [], raw.find(pat)
    while i >= 0:  # a match must sit on a token boundary
        if i % size == 0:
            starts.append(i)
            i = raw.find(pat, i + size)
        else:
            i = raw.find(pat, i + 1)
    if raw and (not starts or starts[0] != 0):
        fail("tokens before the first end-of-text")
    ends = starts[1:] + [len(raw)]
    return [raw[a + size:b] for a, b in zip(starts, ends)]


def shard_paths(d, split):
    paths = sorted(glob.glob(os.path.join(d, split + "_*.bin")))
    if not paths:
        fail("no %s shards in %s" % (split, d))
    return paths


def cmd_read(args):
    d, split, expect = args[0], "train", None
    i = 1
    while i < len(args):
        if args[i] == "--split":
            split, i = args[i + 1], i + 2
        elif args[i] == "--expect":
            expect, i = args[i + 1], i + 2
        else:
            fail("unknown argument %s" % args[i])
    paths = shard_paths(d, split)
    got = None
    for p in paths:
        toks = load_data_shard(p)
        flat = memmap_tokens(p, toks.typecode)
        if flat != toks:
            fail("%s: llm.c and nanoGPT-style reads differ" % p)
        if got is None:
            got = array.array(toks.typecode)
        got.extend(toks)
    _, _, want = read_stream(expect)
    if got.typecode != want.typecode:
        fail("shards hold %d-byte tokens, %s %d-byte ones"
             % (got.itemsize, expect, want.itemsize))
    if got != want:
        n = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b),
                 min(len(got), len(want)))
        fail("tokens differ from %s at token %d (%d vs %d tokens)"
             % (expect, n, len(got), len(want)))
    print("ok: %d tokens in %d shards" % (len(got), len(paths)))


def cmd_mix(args):
    d, split, sources = args[0], None, []
    i = 1
    while i < len(args):
        if args[i] == "--split":
            split, i = args[i + 1], i + 2
        else:
            name, path = args[i].split("=", 1)
            sources.append((name, path))
            i += 1
    owner, eot, toks_size = {}, None, 2
    for name, path in sources:
        _, eot, toks = read_stream(path)
        toks_size = toks.itemsize
        for doc in split_docs(toks, eot):
            if owner.setdefault(doc, name) != name:
                fail("a document of %s is also in %s" % (name, owner[doc]))
    counts = dict((name, 0) for name, _ in sources)
    splits = [split] if split else ["train", "val"]
    for sp in splits:
        for p in sorted(glob.glob(os.path.join(d, sp + "_*.bin"))):
            for doc in split_docs(load_data_shard(p), eot):
                if doc not in owner:
                    fail("%s: a document of %d tokens is in no source"
                         % (p, len(doc) // toks_size))
                counts[owner[doc]] += len(doc) // toks_size + 1
    total = sum(counts.values())
    print(json.dumps({"tokens": total,
                      "shares": dict((k, v / total) for k, v in counts.items())}))


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("read", "mix"):
        sys.stderr.write(__doc__)
        sys.exit(2)
    (cmd_read if sys.argv[1] == "read" else cmd_mix)(sys.argv[2:])


if __name__ == "__main__":
    main()
