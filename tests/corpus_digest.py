#!/usr/bin/env python3
"""corpus_digest.py - what a refreshed corpus holds, independent of order.

    python3 tests/corpus_digest.py STATE

STATE is a pipelines/refresh.mk corpus folder, or any folder with a
shards/ folder in it (pipelines/corpus.mk's OUT).  Prints one line per fact:

  ids N SHA          the ids of every committed refresh batch's documents,
                     sorted
  duplicate-ids N    ids committed more than once
  docs N SHA         every document's tokens, read from the shards
                     themselves (llm.c layout, split at end-of-text), sorted
  duplicate-docs N   token sequences present more than once
  SPLIT tokens N documents N   totals from manifest.json

Two corpora built from the same pages, in one run or in several killed and
resumed ones, must print the same lines.  Standard library only.
"""
import glob
import hashlib
import json
import os
import struct
import sys


def shard_tokens(path, width):
    """The token ids of one shard (llm.c layout: 256 int32 header, then ids)."""
    with open(path, "rb") as f:
        n = struct.unpack("<256i", f.read(1024))[2]
        data = f.read()
    return struct.unpack("<%d%s" % (n, "H" if width == 2 else "I"), data[:n * width])


def split_docs(toks, eot):
    """Tuples of token ids between end-of-text tokens (each document starts
    with one; a document may run on into the split's next shard)."""
    docs, cur = [], None
    for t in toks:
        if t == eot:
            if cur is not None:
                docs.append(tuple(cur))
            cur = []
        elif cur is not None:
            cur.append(t)
    if cur is not None:
        docs.append(tuple(cur))
    return docs


def digest(items):
    h = hashlib.sha256()
    for it in sorted(items):
        h.update(repr(it).encode())
    return h.hexdigest()[:16]


def main():
    state = sys.argv[1]
    ids = []
    for f in sorted(glob.glob(os.path.join(state, "batches", "*", "clean.jsonl"))):
        with open(f, encoding="utf-8") as fh:
            ids += [json.loads(line)["id"] for line in fh]
    print("ids %d %s" % (len(ids), digest(ids)))
    print("duplicate-ids %d" % (len(ids) - len(set(ids))))
    man_path = os.path.join(state, "shards", "manifest.json")
    if not os.path.exists(man_path):
        print("docs 0")
        return
    with open(man_path) as f:
        man = json.load(f)
    toks, totals = {}, {}
    for s in man["shards"]:
        path = os.path.join(state, "shards", s["file"])
        toks.setdefault(s["split"], []).extend(shard_tokens(path, man["token_bytes"]))
        t = totals.setdefault(s["split"], [0, 0])
        t[0] += s["tokens"]
        t[1] += s["documents"]
    docs = [d for split in sorted(toks) for d in split_docs(toks[split], man["eot"])]
    print("docs %d %s" % (len(docs), digest(docs)))
    print("duplicate-docs %d" % (len(docs) - len(set(docs))))
    for split in sorted(totals):
        print("%s tokens %d documents %d" % (split, totals[split][0], totals[split][1]))


if __name__ == "__main__":
    main()
