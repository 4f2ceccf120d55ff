#!/usr/bin/env python3
"""pii_eval.py - precision and recall of llm-redact per type on labelled text.

usage: pii_eval.py [--redact PATH] [--data DIR] [--json OUT] [--min FLOOR]

Runs `llm-redact --annotate` (standard library only, no packages) over:

  synth     presidio-research synth_dataset_v2.json (1,500 sentences with
            character spans); its types are mapped to ours below, the rest
            (PERSON, STREET_ADDRESS, ...) are not ours to find, and a finding
            of ours on them counts as a false positive.
  demo      presidio's demo.txt against demo_anonymized.txt: the labels are
            the <ENTITY> holes, recovered by aligning the two texts.
  datatrove datatrove's PII formatter cases (e-mail, public IPv4), labels
            recovered by aligning input and expected output; run with
            --keep-private, as datatrove leaves private addresses alone.
  cases     our own edge cases, tests/data/redact/cases.jsonl: each line a
            text and the exact (type, value) findings it must give.
  resampled the synth sentences with new Faker values from 43 locales
            (tests/ref/pii_resampled.jsonl, made by pii_resample.py): an
            estimate on values the rules were not tuned on.

A finding is a true positive when it overlaps a labelled span of the same
type ("overlap"), and an exact one when the boundaries agree too.  Rerun:

  make B=build check-build && python3 tests/ref/pii_eval.py --redact build/bin/llm-redact

With --min F it exits 1 when a type with at least 10 labels on synth has
overlap precision or recall below F (the bats test uses this as a floor).
"""
import argparse
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

SYNTH_TYPES = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "CRYPTO": "CRYPTO",
}
OURS = ["SECRET", "URL_CREDENTIALS", "CRYPTO", "IBAN", "CREDIT_CARD",
        "US_SSN", "EMAIL", "IP_ADDRESS", "MAC_ADDRESS", "PHONE"]


def byte_offsets(text):
    """Map character offsets to UTF-8 byte offsets (index i -> bytes)."""
    out, b = [0], 0
    for ch in text:
        b += len(ch.encode("utf-8", "surrogatepass"))
        out.append(b)
    return out


def run_redact(redact, texts, extra=()):
    """Findings per text: lists of (type, start_char, end_char)."""
    lines = "".join(json.dumps({"id": str(i), "text": t}) + "\n"
                    for i, t in enumerate(texts))
    p = subprocess.run([redact, "--annotate", *extra], input=lines.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    found = []
    for line, text in zip(p.stdout.decode().splitlines(), texts):
        d = json.loads(line)
        spans = d.get("metadata", {}).get("redact", {}).get("spans", [])
        inv = {b: c for c, b in enumerate(byte_offsets(text))}
        found.append([(s["type"], inv[s["start"]], inv[s["end"]]) for s in spans])
    return found


def score(gold, pred, counts, text):
    """Add TP/FP/FN for one text.  gold: (type, s, e) with type possibly
    None for a labelled span that is none of ours."""
    used = set()
    for t, s, e in pred:
        hit = None
        for k, (gt, gs, ge) in enumerate(gold):
            if gt == t and gs < e and s < ge and k not in used:
                hit = k
                break
        c = counts[t]
        if hit is None:
            c["fp"] += 1
            c["fp_examples"].append((text, s, e))
        else:
            used.add(hit)
            c["tp"] += 1
            if (gold[hit][1], gold[hit][2]) == (s, e):
                c["exact"] += 1
            else:
                c["inexact"].append((text, s, e))
    for k, (gt, gs, ge) in enumerate(gold):
        if gt is not None:
            counts[gt]["labels"] += 1
            if k not in used:
                counts[gt]["fn"] += 1
                counts[gt]["fn_examples"].append((text, gs, ge))


def new_counts():
    return defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0, "exact": 0, "labels": 0,
                                "fp_examples": [], "fn_examples": [], "inexact": []})


def synth(redact, data):
    rows = json.load(open(os.path.join(data, "pii/presidio-research/synth_dataset_v2.json")))
    texts = [r["full_text"] for r in rows]
    gold = [[(SYNTH_TYPES.get(s["entity_type"]), s["start_position"], s["end_position"])
             for s in r["spans"]] for r in rows]
    return texts, gold, run_redact(redact, texts)


def aligned(src, dst, holes, form):
    """Labels of src from dst, a copy of it with each labelled span
    replaced by a placeholder word (holes: word -> type), written as form
    says ("<%s>" or "%s")."""
    words = "|".join(sorted(holes, key=len, reverse=True))
    parts = re.split(form.replace("%s", r"\b(%s)\b" % words), dst)
    pattern = "".join(re.escape(p) if i % 2 == 0 else "(.+?)" for i, p in enumerate(parts))
    m = re.fullmatch(pattern, src, re.S)
    if not m:
        sys.exit("pii_eval: a labelled text does not align with its source")
    return [(holes[h], m.start(i + 1), m.end(i + 1)) for i, h in enumerate(parts[1::2])]


def demo(redact, data):
    d = os.path.join(data, "pii/presidio_files")
    src = open(os.path.join(d, "demo.txt"), encoding="utf-8").read()
    dst = open(os.path.join(d, "demo_anonymized.txt"), encoding="utf-8").read()
    holes = {w: SYNTH_TYPES.get(w) for w in set(re.findall(r"<([A-Z_]+)>", dst))}
    return [src], [aligned(src, dst, holes, "<%s>")], run_redact(redact, [src])


def datatrove(redact, data):
    cases = json.load(open(os.path.join(data, "pii/datatrove_pii_cases.json")))["cases"]
    texts, gold = [], []
    for c in cases:
        texts.append(c["input"])
        gold.append(aligned(c["input"], c["expected_output"],
                            {"EMAIL": "EMAIL", "IP": "IP_ADDRESS"}, "%s"))
    return texts, gold, run_redact(redact, texts, ["--keep-private"])


def own_cases(redact, path):
    rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    texts = [r["text"] for r in rows]
    gold = []
    for r in rows:
        g = []
        for t, v in r["expect"]:
            i = r["text"].find(v)
            if i < 0:
                sys.exit("pii_eval: %s: %r not in its text" % (r["id"], v))
            g.append((t, i, i + len(v)))
        gold.append(g)
    return texts, gold, run_redact(redact, texts)


def resampled(redact, path):
    rows = [json.loads(l) for l in open(path, encoding="utf-8")]
    texts = [r["text"] for r in rows]
    gold = [[tuple(s) for s in r["spans"]] for r in rows]
    return texts, gold, run_redact(redact, texts)


def table(name, texts, gold, pred, show):
    counts = new_counts()
    for g, p, x in zip(gold, pred, texts):
        score(g, p, counts, x)
    print("%s (%d texts)" % (name, len(texts)))
    print("  %-16s %6s %6s %6s %6s %9s %7s %7s" %
          ("type", "labels", "found", "tp", "exact", "precision", "recall", "f1"))
    result = {}
    for t in OURS:
        c = counts.get(t)
        if not c or (c["labels"] == 0 and c["tp"] + c["fp"] == 0):
            continue
        found = c["tp"] + c["fp"]
        prec = c["tp"] / found if found else float("nan")
        rec = c["tp"] / c["labels"] if c["labels"] else float("nan")
        f1 = 2 * prec * rec / (prec + rec) if found and c["labels"] and prec + rec else float("nan")
        result[t] = {"labels": c["labels"], "found": found, "tp": c["tp"],
                     "exact": c["exact"], "precision": prec, "recall": rec}
        print("  %-16s %6d %6d %6d %6d %9.3f %7.3f %7.3f" %
              (t, c["labels"], found, c["tp"], c["exact"], prec, rec, f1))
        for kind in ("fp_examples", "fn_examples", "inexact")[:3 if show else 0]:
            for x, s, e in c[kind][:show]:
                print("      %s %r in %r" % (kind[:2], x[s:e], x[max(0, s - 30):e + 20]))
    print()
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--redact", default=os.path.join(ROOT, os.environ.get("LLM_BUILD", "build"),
                                                     "bin", "llm-redact"))
    ap.add_argument("--data", default=os.path.join(os.environ.get(
        "LLM_SHARED", os.path.join(ROOT, "..", "shared")), "data"))
    ap.add_argument("--cases", default=os.path.join(ROOT, "tests/data/redact/cases.jsonl"))
    ap.add_argument("--resampled", default=os.path.join(HERE, "pii_resampled.jsonl"))
    ap.add_argument("--json")
    ap.add_argument("--show", type=int, default=0, help="print N errors per type")
    ap.add_argument("--min", type=float)
    a = ap.parse_args()
    results = {}
    for name, fn in (("synth", lambda: synth(a.redact, a.data)),
                     ("demo", lambda: demo(a.redact, a.data)),
                     ("datatrove", lambda: datatrove(a.redact, a.data)),
                     ("cases", lambda: own_cases(a.redact, a.cases)),
                     ("resampled", lambda: resampled(a.redact, a.resampled))):
        texts, gold, pred = fn()
        results[name] = table(name, texts, gold, pred, a.show)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    if a.min is not None:
        bad = [(t, r) for t, r in results["synth"].items()
               if r["labels"] >= 10 and (r["precision"] < a.min or r["recall"] < a.min)]
        for t, r in bad:
            print("pii_eval: %s below %.2f: precision %.3f recall %.3f" %
                  (t, a.min, r["precision"], r["recall"]), file=sys.stderr)
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
