#!/usr/bin/env python3
"""dedup_accuracy.py - precision and recall of llm-dedup's near-duplicate
decisions against the exact Jaccard similarity of the same shingles.

How to rerun (standard library only; from the repository root):

    make B=build check-build
    python3 tests/ref/dedup_accuracy.py                 # the full table
    python3 tests/ref/dedup_accuracy.py --docs 600 --check   # quick, asserts
    python3 tests/ref/dedup_accuracy.py -- --no-verify  # options after --
                                                        # go to llm-dedup
    python3 tests/ref/dedup_accuracy.py --docs 300 --write corpus.jsonl
                                        # only the test corpus, for tests

What it does:

1. Cuts real documents out of ../shared/data (LLM_SHARED overrides): Jane
   Austen and Shakespeare passages, KJV chapters, Jargon File entries,
   TinyStories stories, Common Crawl pages from the dolma test data.
2. Makes near duplicates of some of them by substituting, inserting or
   deleting words, adding or changing web boilerplate (navigation, cookie
   and share lines), or all of these, at rates from 1% to 50% of the words,
   plus copies that differ only in case, spacing and punctuation.
3. Shuffles everything into one stream (seeded), runs
   `llm-dedup --annotate` over it, and reads which documents it marked as
   duplicates of an earlier one.
4. Computes the truth the same way llm-dedup shingles text (textnorm.h,
   minhash.h: lowercase, NFD without nonspacing marks, digit runs to 0,
   punctuation and symbols as separators, word 5-grams, Han/kana/Thai
   characters as words): for every document, the highest exact Jaccard
   similarity with any earlier document.  A document is a true duplicate
   at threshold T when that similarity is at least T.
5. Prints precision and recall at the default threshold, recall for
   documents whose best earlier match has J >= 0.85, and the removal rate
   by similarity band.  --check exits 1 when a target (0.95) is missed.
"""

import argparse
import collections
import glob
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("LLM_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
DATA = os.path.join(SHARED, "data")

BOILERPLATE = [
    "Home | About us | Contact | Privacy policy | Terms of use",
    "Share this: Facebook Twitter Email Print",
    "We use cookies to improve your experience. By continuing to browse you agree to our use of cookies.",
    "Copyright 2019 Example Media Ltd. All rights reserved.",
    "Posted by admin on March 3, 2018 in Uncategorized",
    "Subscribe to our newsletter to get the latest updates straight to your inbox",
    "Related posts: Ten things you did not know about gardening",
    "Leave a comment. Your email address will not be published.",
    "Skip to main content. Search this site. Menu.",
    "Click here to download the free PDF guide now!",
    "Sign in or register to read the full article",
    "Tags: news, world, business, opinion, video",
]


# ---- the same normalisation and shingles as llm-dedup ----

def unspaced(cp):
    return (0x0E00 <= cp <= 0x0EFF or 0x1000 <= cp <= 0x109F or
            0x1780 <= cp <= 0x17FF or 0x2E80 <= cp <= 0x2FDF or
            0x3040 <= cp <= 0x31FF or 0x3400 <= cp <= 0x4DBF or
            0x4E00 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or
            0x20000 <= cp <= 0x3134F)


def normalise(text):
    out = []
    pending = False
    digits = False
    for ch in text:
        for c in unicodedata.normalize("NFD", ch):
            cat = unicodedata.category(c)
            if cat == "Mn":
                continue
            if cat == "Nd":
                if not digits:
                    if pending and out:
                        out.append(" ")
                    pending = False
                    out.append("0")
                digits = True
                continue
            digits = False
            if c == "\u200b" or cat[0] in "PSZ" or cat == "Cc":
                pending = True
                continue
            if cat == "Cf":
                continue
            if pending and out:
                out.append(" ")
            pending = False
            low = c.lower()
            out.append(low if len(low) == 1 else c)
    return "".join(out)


def tokens(norm):
    toks = []
    for word in norm.split(" "):
        cur = []
        for c in word:
            if ord(c) >= 0x800 and unspaced(ord(c)):
                if cur:
                    toks.append("".join(cur))
                    cur = []
                toks.append(c)
            else:
                cur.append(c)
        if cur:
            toks.append("".join(cur))
    return toks


def shingles(text, n=5):
    t = tokens(normalise(text))
    if not t:
        return frozenset()
    if len(t) < n:
        return frozenset([tuple(t)])
    return frozenset(tuple(t[i:i + n]) for i in range(len(t) - n + 1))


# ---- real documents ----

def chunks_of_words(text, size, rng, limit):
    words = text.split()
    out = []
    i = 0
    while i < len(words) and len(out) < limit:
        n = rng.randint(size // 2, size * 2)
        out.append(" ".join(words[i:i + n]))
        i += n
    return out


def real_documents(rng, want):
    docs = []
    per = max(want // 6, 10)
    for path in sorted(glob.glob(os.path.join(DATA, "corpus/janeaustenr/*"))):
        docs += chunks_of_words(open(path, encoding="utf-8", errors="replace").read(),
                                250, rng, per // 3)
    text = open(os.path.join(DATA, "corpus/tinyshakespeare.txt"), encoding="utf-8").read()
    docs += [p.strip() for p in text.split("\n\n") if len(p.split()) > 40][:per // 2]
    chapters = collections.OrderedDict()
    for line in open(os.path.join(DATA, "corpus/kjv_bible.txt"), encoding="utf-8"):
        ref, _, verse = line.partition(" ")
        chapters.setdefault(ref.split(":")[0], []).append(verse.strip())
    docs += ["\n".join(v) for v in list(chapters.values())[:per]]
    jargon = open(os.path.join(DATA, "corpus/jargon-4.4.7.txt"), encoding="utf-8",
                  errors="replace").read().split("\n\n")
    docs += [j.strip() for j in jargon if len(j.split()) > 60][:per]
    for path in sorted(glob.glob(os.path.join(DATA, "corpus/tinystories/*"))):
        stories = open(path, encoding="utf-8", errors="replace").read().split("<|endoftext|>")
        docs += [s.strip() for s in stories if len(s.split()) > 60][:per]
    for path in sorted(glob.glob(os.path.join(DATA, "dedup/dolma/data/multiple_files/*.jsonl"))):
        docs += [json.loads(l)["text"] for l in open(path, encoding="utf-8")]
    docs = [d for d in docs if len(d.split()) >= 30]
    rng.shuffle(docs)
    return docs[:want]


# ---- near duplicates ----

def substitute(words, rate, rng, vocab):
    w = list(words)
    for i in rng.sample(range(len(w)), max(1, int(len(w) * rate))):
        w[i] = rng.choice(vocab)
    return w


def insert(words, rate, rng, vocab):
    w = list(words)
    for _ in range(max(1, int(len(w) * rate))):
        w.insert(rng.randint(0, len(w)), rng.choice(vocab))
    return w


def delete(words, rate, rng, vocab):
    w = list(words)
    for _ in range(min(len(w) - 5, max(1, int(len(w) * rate)))):
        del w[rng.randrange(len(w))]
    return w


def boilerplate(text, rate, rng):
    # Header and footer lines adding about rate x the words of the text.
    budget = max(1, int(len(text.split()) * rate))
    head, foot = [], []
    while budget > 0:
        line = rng.choice(BOILERPLATE)
        (head if rng.random() < 0.5 else foot).append(line)
        budget -= len(line.split())
    return "\n".join(head + [text] + foot)


def formatting(text, rng):
    # What exact matching on normalised text must see through.
    t = text.upper() if rng.random() < 0.5 else text.lower()
    t = t.replace(" ", "  ").replace(".", " .").replace(",", ";")
    return "\n" + t + "  \n"


def variant(text, rng, vocab):
    rate = rng.choice([0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5])
    kind = rng.choice(["substitute", "insert", "delete", "boilerplate", "mixed",
                       "formatting"])
    words = text.split()
    if kind == "substitute":
        out = " ".join(substitute(words, rate, rng, vocab))
    elif kind == "insert":
        out = " ".join(insert(words, rate, rng, vocab))
    elif kind == "delete":
        out = " ".join(delete(words, rate, rng, vocab))
    elif kind == "boilerplate":
        out = boilerplate(text, rate, rng)
    elif kind == "formatting":
        out, rate = formatting(text, rng), 0
    else:
        w = substitute(words, rate / 3, rng, vocab)
        w = delete(insert(w, rate / 3, rng, vocab), rate / 3, rng, vocab)
        out = boilerplate(" ".join(w), rate / 3, rng)
    return out, kind, rate


def build(ndocs, seed):
    rng = random.Random(seed)
    base = real_documents(rng, ndocs)
    vocab = sorted({w for d in base[:200] for w in d.split() if w.isalpha()})
    docs = [{"id": "doc%05d" % i, "text": t, "kind": "original", "rate": 0}
            for i, t in enumerate(base)]
    # A third of the documents get one to three near duplicates.
    for i, t in enumerate(base[: len(base) // 3]):
        for k in range(rng.choice([1, 1, 2, 3])):
            v, kind, rate = variant(t, rng, vocab)
            docs.append({"id": "doc%05d-v%d" % (i, k), "text": v, "kind": kind,
                         "rate": rate})
    rng.shuffle(docs)
    return docs


# ---- the truth ----

def best_earlier(docs):
    """For each document, the highest exact Jaccard with an earlier one."""
    sets = [shingles(d["text"]) for d in docs]
    index = collections.defaultdict(list)
    best = []
    for i, s in enumerate(sets):
        shared = collections.Counter()
        for sh in s:
            for j in index[sh]:
                shared[j] += 1
        b = 0.0
        for j, inter in shared.items():
            b = max(b, inter / (len(s) + len(sets[j]) - inter))
        if not s:   # no words: only an exact (empty) copy matches
            b = 1.0 if any(not sets[j] for j in range(i)) else 0.0
        best.append(b)
        for sh in s:
            index[sh].append(i)
    return best


def run_dedup(docs, extra):
    build_dir = os.environ.get("LLM_BUILD", "build")
    exe = os.path.join(ROOT, build_dir, "bin", "llm-dedup")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "in.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps({"id": d["id"], "text": d["text"]},
                                   ensure_ascii=False) + "\n")
        out = subprocess.run([exe, "--annotate", path] + extra, check=True,
                             capture_output=True, text=True).stdout
    removed = []
    for line in out.splitlines():
        m = json.loads(line)["metadata"]["dedup"]
        removed.append("duplicate_of" in m)
    return removed


def report(docs, best, removed, threshold):
    def prf(t):
        tp = sum(1 for b, r in zip(best, removed) if r and b >= t)
        fp = sum(1 for b, r in zip(best, removed) if r and b < t)
        fn = sum(1 for b, r in zip(best, removed) if not r and b >= t)
        return tp / max(tp + fp, 1), tp / max(tp + fn, 1), tp, fp, fn

    p, r, tp, fp, fn = prf(threshold)
    hi = [rm for b, rm in zip(best, removed) if b >= 0.85]
    r85 = sum(hi) / max(len(hi), 1)
    print("documents: %d, true duplicates at J >= %.2f: %d, removed: %d"
          % (len(docs), threshold, tp + fn, sum(removed)))
    print()
    print("| measure | value |")
    print("|---|---|")
    print("| precision at T = %.2f | %.4f (%d of %d removed have J >= T) |" % (threshold, p, tp, tp + fp))
    print("| recall at T = %.2f | %.4f (%d of %d with J >= T removed) |" % (threshold, r, tp, tp + fn))
    print("| recall, J >= 0.85 | %.4f (%d of %d) |" % (r85, sum(hi), len(hi)))
    print()
    print("| best earlier J | documents | removed | rate |")
    print("|---|---|---|---|")
    bands = [(0, 0.3), (0.3, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.75),
             (0.75, 0.8), (0.8, 0.85), (0.85, 0.9), (0.9, 0.95), (0.95, 1.0),
             (1.0, 1.01)]
    for lo, hi_ in bands:
        sel = [rm for b, rm in zip(best, removed) if lo <= b < hi_]
        name = "1.0 (exact)" if lo == 1.0 else "[%.2f, %.2f)" % (lo, hi_)
        if sel:
            print("| %s | %d | %d | %.3f |" % (name, len(sel), sum(sel), sum(sel) / len(sel)))
    return p, r, r85


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=3000, help="original documents")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--threshold", type=float, default=0.75,
                    help="the truth's threshold: llm-dedup's default -t")
    ap.add_argument("--check", action="store_true", help="exit 1 below 0.95")
    ap.add_argument("--write", metavar="FILE",
                    help="only write the shuffled corpus (JSON Lines) to FILE")
    ap.add_argument("extra", nargs="*", help="llm-dedup options (after --)")
    a = ap.parse_args()
    docs = build(a.docs, a.seed)
    if a.write:
        with open(a.write, "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps({"id": d["id"], "text": d["text"]},
                                   ensure_ascii=False) + "\n")
        return 0
    best = best_earlier(docs)
    removed = run_dedup(docs, a.extra)
    p, r, r85 = report(docs, best, removed, a.threshold)
    if a.check and (p < 0.95 or r85 < 0.95):
        print("below target: precision %.4f, recall(J>=0.85) %.4f" % (p, r85))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
