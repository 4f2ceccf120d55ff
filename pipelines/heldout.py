#!/usr/bin/env python3
"""heldout.py - prompts and references from held-out documents, and the
generations back as one line each, for BLEU/ROUGE of a model's text.

usage: heldout.py prompts DOCS.jsonl PROMPTS.jsonl REFS.txt
                  [--limit N] [--prompt-words P] [--ref-words R]
       heldout.py hyps GENERATIONS.jsonl HYPS.txt

prompts: for each of the last N documents of DOCS (default 20) with at
least P + R words, the first P words (default 20) become a prompt for
`llm-eval generate` and the next R words (default 25) the reference line.
The documents must not have been trained on: they are the "held-out text"
the generations are scored against.
hyps: the "completion" of each generation on one line, whitespace squeezed,
in the prompts' order, line-aligned with REFS for `llm-eval bleu|rouge`.
Standard library only.
"""
import argparse
import json
import os


def write_atomic(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)
    os.replace(tmp, path)


def prompts(a):
    with open(a.docs, encoding="utf-8") as f:
        docs = [json.loads(line) for line in f if line.strip()]
    words = [d["text"].split() for d in docs]
    words = [w for w in words if len(w) >= a.prompt_words + a.ref_words][-a.limit:]
    if not words:
        raise SystemExit("heldout.py: no document of %s has %d words" %
                         (a.docs, a.prompt_words + a.ref_words))
    write_atomic(a.prompts, [json.dumps({"id": str(i), "prompt": " ".join(w[:a.prompt_words])},
                                        ensure_ascii=False) for i, w in enumerate(words)])
    write_atomic(a.refs, [" ".join(w[a.prompt_words:a.prompt_words + a.ref_words]) for w in words])


def hyps(a):
    with open(a.generations, encoding="utf-8") as f:
        gens = [json.loads(line) for line in f if line.strip()]
    gens.sort(key=lambda g: int(g["id"]))
    write_atomic(a.hyps, [" ".join(g["completion"].split()) for g in gens])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prompts")
    p.add_argument("docs")
    p.add_argument("prompts")
    p.add_argument("refs")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--prompt-words", type=int, default=20)
    p.add_argument("--ref-words", type=int, default=25)
    h = sub.add_parser("hyps")
    h.add_argument("generations")
    h.add_argument("hyps")
    a = ap.parse_args()
    prompts(a) if a.cmd == "prompts" else hyps(a)


if __name__ == "__main__":
    main()
