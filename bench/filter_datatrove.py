#!/usr/bin/env python3
"""filter_datatrove.py - the anchor for bench/03-filter.sh.

usage: filter_datatrove.py IN.jsonl MEGABYTES

Runs datatrove's own filters (pip install datatrove spacy) over the first
MEGABYTES of a JSON Lines document stream, as llm-filter's default stack
does: GopherQualityFilter, GopherRepetitionFilter, C4QualityFilter and
FineWebQualityFilter in that order with their default settings, each
document stopping at the first that drops it, C4's cleaned text going on
to FineWeb.  Prints "BYTES SECONDS KEPT" for the bytes of JSON read, the
seconds spent filtering (reading and parsing included) and the documents
kept.  Exits 3 when datatrove is not installed.
"""
import json
import sys
import time


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: filter_datatrove.py IN.jsonl MEGABYTES")
    try:
        from datatrove.data import Document
        from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter,
                                                GopherQualityFilter, GopherRepetitionFilter)
        stack = [GopherQualityFilter(), GopherRepetitionFilter(), C4QualityFilter(),
                 FineWebQualityFilter()]
        # spaCy loads lazily: load it before the clock starts.
        stack[0].filter(Document(text="warm up the tokenizer", id="0"))
    except ImportError:
        sys.exit(3)
    limit = int(float(sys.argv[2]) * 1e6)
    size = kept = 0
    t0 = time.perf_counter()
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            size += len(line.encode("utf-8"))
            d = json.loads(line)
            doc = Document(text=d["text"], id=d["id"])
            for flt in stack:
                r = flt.filter(doc)
                if r is not True and not (isinstance(r, tuple) and r[0]):
                    break
            else:
                kept += 1
            if size >= limit:
                break
    print(size, time.perf_counter() - t0, kept)


if __name__ == "__main__":
    main()
