#!/usr/bin/env python3
"""eval_table.py - the evaluation table (Markdown) from eval.mk's results.

usage: eval_table.py DIR

Reads what is there of DIR/ppl.json (llm-eval ppl --json), DIR/mc-TASK.json
(llm-eval mc --json) with DIR/mc-TASK.jsonl (its -o), DIR/bleu.json and DIR/rouge.json, and prints one
Markdown table: metric, value, notes.  Multiple-choice rows give the
chance level beside the accuracy, since a small model scores near it.
Standard library only.
"""
import glob
import json
import os
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def metric(m, k):
    """'value +- stderr' for a metric stored flat or as {value, stderr}."""
    m = m.get("metrics", m)
    v, e = m.get(k), m.get(k + "_stderr")
    if isinstance(v, dict):
        v, e = v.get("value"), v.get("stderr")
    if v is None:
        return "-"
    return "%.3f" % v if e is None else "%.3f +- %.3f" % (v, e)


def chance(path):
    """Expected accuracy of a uniform guess: the mean of 1/choices over the
    questions in llm-eval mc's per-question file (-o), when there is one."""
    if not os.path.exists(path):
        return "chance about 0.25"
    with open(path, encoding="utf-8") as f:
        n = [len(json.loads(line)["loglikelihoods"]) for line in f if line.strip()]
    return "chance %.3f" % (sum(1.0 / k for k in n) / len(n)) if n else "no questions"


def rows(d):
    out = []
    p = os.path.join(d, "ppl.json")
    if os.path.exists(p):
        r = load(p)
        out.append(["validation perplexity", "%.2f" % r["perplexity"],
                    "%d documents, %d tokens" % (r.get("documents", 0), r.get("tokens", 0))])
        if "bits_per_byte" in r:
            out.append(["validation bits per byte", "%.3f" % r["bits_per_byte"], ""])
    for f in sorted(glob.glob(os.path.join(d, "mc-*.json"))):
        r = load(f)
        task = os.path.basename(f)[3:-5]
        out.append(["%s acc / acc_norm" % task,
                    metric(r, "acc") + " / " + metric(r, "acc_norm"),
                    "%s questions, %s" % (r.get("examples", "?"), chance(f[:-5] + ".jsonl"))])
    p = os.path.join(d, "bleu.json")
    if os.path.exists(p):
        r = load(p)
        out.append(["BLEU of generations vs held-out text", "%.2f" % r["score"], r.get("signature", "")])
    p = os.path.join(d, "rouge.json")
    if os.path.exists(p):
        mean = load(p).get("mean", {})
        for k in ("rouge1", "rouge2", "rougeL"):
            if k in mean:
                v = mean[k]
                out.append(["%s F1 of generations" % k,
                            "%.3f" % (v["fmeasure"] if isinstance(v, dict) else v), ""])
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print("| metric | value | notes |")
    print("|---|---|---|")
    for r in rows(sys.argv[1]):
        print("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")


if __name__ == "__main__":
    main()
