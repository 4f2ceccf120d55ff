#!/usr/bin/env python3
"""corpus.py - make a benchmark document stream from ../shared/data.

usage: corpus.py OUT.jsonl MEGABYTES

Real text only: the plain-text corpora (books, Bible, Jargon File, fortunes,
TinyStories) and source code (Python standard library, C headers), cut into
documents of about 4 KB and repeated in order until the file reaches the
asked size.  Standard library only, so `make bench` needs no packages.
"""
import glob
import json
import os
import sys


def documents(data):
    paths = sorted(glob.glob(os.path.join(data, "corpus", "**", "*"), recursive=True))
    paths += sorted(glob.glob(os.path.join(data, "code", "**", "*.py"), recursive=True))
    paths += sorted(glob.glob(os.path.join(data, "code", "**", "*.h"), recursive=True))
    for path in paths:
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        name = os.path.relpath(path, data)
        source = "code" if name.startswith("code") else "books"
        for i in range(0, len(text), 4000):
            yield name, source, i, text[i:i + 4000]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: corpus.py OUT.jsonl MEGABYTES")
    out, limit = sys.argv[1], int(float(sys.argv[2]) * 1e6)
    here = os.path.dirname(os.path.abspath(__file__))
    data = os.environ.get("LLM_SHARED", os.path.join(here, "..", "..", "shared"))
    data = os.path.join(data, "data")
    docs = list(documents(data))
    if not docs:
        sys.exit("corpus.py: no text found under " + data)
    size, k = 0, 0
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        while size < limit:
            name, source, off, text = docs[k % len(docs)]
            line = json.dumps({"id": "%s:%d:%d" % (name, off, k // len(docs)),
                               "text": text, "source": source,
                               "metadata": {"offset": off}},
                              ensure_ascii=False) + "\n"
            f.write(line)
            size += len(line.encode("utf-8"))
            k += 1
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
