#!/usr/bin/env python3
"""stage_counts.py - documents in and out of each stage, from --stats files.

usage: stage_counts.py NAME=PATH ...

PATH is one --stats JSON file, or a folder whose *.json files (one per
partition) are summed.  Prints, per NAME, the documents in and out and the
counts behind the drops and findings (the "dropped", "urls" and "found"
objects of the stats, and the dedup duplicate counts).  Standard library only.
"""
import collections
import glob
import json
import os
import sys

DETAIL_OBJECTS = ("dropped", "urls", "found")
DETAIL_COUNTS = ("exact_duplicates", "near_duplicates", "documents_with_findings")


def load(path):
    files = sorted(glob.glob(os.path.join(path, "*.json"))) if os.path.isdir(path) else [path]
    out = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            out.append(json.load(fh))
    return out


def summarise(stats):
    docs_in = sum(s.get("documents_in", 0) for s in stats)
    docs_out = sum(s.get("documents_out", 0) for s in stats)
    detail = collections.Counter()
    for s in stats:
        for key in DETAIL_OBJECTS:
            for k, v in (s.get(key) or {}).items():
                if isinstance(v, int) and v:
                    detail[k] += v
        for key in DETAIL_COUNTS:
            if s.get(key):
                detail[key] += s[key]
    return docs_in, docs_out, detail


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        name, _, path = arg.partition("=")
        stats = load(path)
        if not stats:
            print("%-8s (not run yet)" % name)
            continue
        docs_in, docs_out, detail = summarise(stats)
        print("%-8s %9d in %9d out  %s" % (name, docs_in, docs_out,
              ", ".join("%s %d" % kv for kv in sorted(detail.items()))))


if __name__ == "__main__":
    main()
