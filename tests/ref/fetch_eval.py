#!/usr/bin/env python3
"""fetch_eval.py - score llm-fetch's main-text extraction on annotated pages.

Usage:
    python3 tests/ref/fetch_eval.py [--bin build/bin/llm-fetch] [--pages]
                                    [--half dev|test] DIR...

Each DIR holds pages NAME.html beside NAME.html.expected.json, in the gold
format of trafilatura's evaluation (../shared/data/html/trafilatura/cache
and eval): "with" lists snippets the main text must contain, "without"
snippets of boilerplate it must not contain.  The script runs llm-fetch on
the pages, then prints, over all pages together:

  - with found / without absent: the share of "with" snippets found in the
    text and of "without" snippets absent from it;
  - precision, recall, F1 and accuracy as trafilatura's evaluate.py counts
    them (a found "with" snippet is a true positive, a found "without" one
    a false positive);
  - a 4-gram shingle F1: the word 4-grams of the "with" snippets are the
    reference body and those of the "without" snippets known boilerplate;
    recall is the share of reference shingles in the output, precision the
    share of output shingles that are reference ones among those that are
    either.  This is the shingle matching of article-extraction benchmarks
    restricted to the text that is annotated.  Words are the text's
    white-space separated pieces, so "constantly," in the text does not
    match a snippet that ends in "constantly", and a snippet of fewer than
    four words is one short shingle that no 4-gram of the text can match:
    this score understates recall.
  - a token shingle F1, the same with words tokenized the way ScrapingHub's
    article-extraction-benchmark does it: runs of word characters (the
    regex class \\w, case kept), so punctuation neither splits nor glues
    them; a snippet of fewer than four words is matched as a whole, as
    that many consecutive words of the text.

Text is compared after Unicode NFC and white-space collapsing, so a line
break where the snippet has a space is not a miss.  Standard library only;
rerun it after changing lib/extract.c.  --pages lists the worst pages.

--bodies scores whole article bodies instead, where pages publish them:
the "articleBody" of a page's schema.org JSON-LD (<script
type="application/ld+json">), which the extractor never reads (it drops
scripts), is taken as the page's hand-made body, as in article-extraction
benchmarks (ScrapingHub's, trafilatura's): per page, shingle precision
and recall of the output's word 4-grams against the body's; the means
over pages and the F1 of the means are printed, with words split at
white space and, on a second line, with benchmark tokens (see above).
Bodies shorter than 400 characters, or cut short with "...", are left
out, and so are pages whose visible text (llm-fetch --extract all) holds
less than 80% of the body's shingles: their article is drawn by a
script, not in the HTML.

--half dev|test scores one half of the pages, split by the SHA-1 of the
page's file name (even first byte: dev, odd: test), so that the extractor
can be tuned on one half and checked on pages it was not tuned on.
"""
import argparse
import hashlib
import glob
import json
import os
import re
import subprocess
import sys
import unicodedata


def norm(s):
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", s)).strip()


def shingles(text, n=4):
    w = norm(text).lower().split()
    if len(w) < n:
        return {tuple(w)} if w else set()
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


WORD = re.compile(r"\w+")


def token_shingles(text, n=4):
    """Word n-grams of text with benchmark tokens; a text of fewer than n
    words is one shorter gram."""
    w = WORD.findall(unicodedata.normalize("NFC", text))
    if len(w) < n:
        return {tuple(w)} if w else set()
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def grams_upto(text, n=4):
    """All word k-grams of text for k = 1..n (benchmark tokens)."""
    w = WORD.findall(unicodedata.normalize("NFC", text))
    return {tuple(w[i:i + k]) for k in range(1, n + 1) for i in range(len(w) - k + 1)}


def half_of(page):
    h = hashlib.sha1(os.path.basename(page).encode("utf-8")).digest()
    return "dev" if h[0] % 2 == 0 else "test"


def jsonld_bodies(html):
    """The articleBody strings of a page's JSON-LD blocks."""
    out = []
    for m in re.finditer(r'<script[^>]*application/ld\+json[^>]*>(.*?)</script>',
                         html, re.S | re.I):
        try:
            data = json.loads(m.group(1).strip())
        except ValueError:
            continue
        stack = [data]
        while stack:
            x = stack.pop()
            if isinstance(x, dict):
                b = x.get("articleBody")
                if isinstance(b, str):
                    out.append(b)
                stack.extend(x.values())
            elif isinstance(x, list):
                stack.extend(x)
    return out


def body_gold(page):
    try:
        html = open(page, encoding="utf-8", errors="replace").read()
    except OSError:
        return None
    bodies = [b for b in jsonld_bodies(html) if len(norm(b)) >= 400]
    if not bodies:
        return None
    b = html_unescape(max(bodies, key=len))
    if norm(b).endswith(("...", "\u2026", "[…]")):
        return None
    return b


def html_unescape(s):
    import html as h
    return h.unescape(re.sub(r"<[^>]+>", " ", s))


def score_bodies(texts, gold, shingle_fn=shingles):
    rows = []
    for page, body in sorted(gold.items()):
        ref = shingle_fn(body)
        out = shingle_fn(texts.get(page, ""))
        tp = len(ref & out)
        p = tp / len(out) if out else 0.0
        r = tp / len(ref) if ref else 0.0
        rows.append((p, r, page))
    n = max(len(rows), 1)
    mp = sum(r[0] for r in rows) / n
    mr = sum(r[1] for r in rows) / n
    f1 = 2 * mp * mr / max(mp + mr, 1e-9)
    return mp, mr, f1, rows


def run(binary, files, extra=()):
    out = {}
    # Batches keep the command line short.
    for i in range(0, len(files), 200):
        batch = files[i:i + 200]
        p = subprocess.run([binary, "--on-error=skip"] + list(extra) + batch,
                           capture_output=True, check=False)
        if p.returncode != 0:
            sys.exit("fetch_eval: %s failed: %s" % (binary, p.stderr.decode(errors="replace")))
        # split("\n"), not splitlines(): U+2028 may be inside a string.
        for line in p.stdout.decode("utf-8").split("\n"):
            if not line:
                continue
            d = json.loads(line)
            path = d.get("metadata", {}).get("fetch", {}).get("path") or d.get("file")
            out[path] = d["text"]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.environ.get("LLM_BUILD", "build"), "bin", "llm-fetch"))
    ap.add_argument("--results", help="JSONL with file and text, instead of running --bin")
    ap.add_argument("--pages", action="store_true", help="list the pages with misses")
    ap.add_argument("--bodies", action="store_true",
                    help="score whole bodies of pages with a JSON-LD articleBody")
    ap.add_argument("--half", choices=["dev", "test"], help="score one half of the pages")
    ap.add_argument("dirs", nargs="+")
    a = ap.parse_args()

    if a.bodies:
        gold = {}
        for d in a.dirs:
            for page in sorted(glob.glob(os.path.join(d, "*.htm*"))):
                if a.half and half_of(page) != a.half:
                    continue
                b = body_gold(page)
                if b:
                    gold[page] = b
        visible = run(a.bin, sorted(gold), ["--extract", "all"])
        for page in list(gold):
            ref = shingles(gold[page])
            if len(ref & shingles(visible.get(page, ""))) < 0.8 * len(ref):
                del gold[page]
        texts = run(a.bin, sorted(gold))
        mp, mr, f1, rows = score_bodies(texts, gold)
        print("pages %d with a JSON-LD articleBody" % len(rows))
        print("body shingle precision %.4f  recall %.4f  F1 %.4f" % (mp, mr, f1))
        tp, tr, tf, _ = score_bodies(texts, gold, token_shingles)
        print("body token shingle precision %.4f  recall %.4f  F1 %.4f" % (tp, tr, tf))
        if a.pages:
            for p, r, page in sorted(rows, key=lambda x: min(x[0], x[1])):
                print("  P %.3f R %.3f  %s" % (p, r, os.path.basename(page)))
        return

    gold = {}
    for d in a.dirs:
        for exp in sorted(glob.glob(os.path.join(d, "*.expected.json"))):
            page = exp[:-len(".expected.json")]
            if os.path.exists(page) and (not a.half or half_of(page) == a.half):
                gold[page] = json.load(open(exp, encoding="utf-8"))
    if a.results:
        texts = {}
        for line in open(a.results, encoding="utf-8"):
            d = json.loads(line)
            texts[d["file"]] = d["text"]
    else:
        texts = run(a.bin, sorted(gold))

    tp = fn = fp = tn = 0
    sh_tp = sh_ref = sh_fp = 0
    tk_tp = tk_ref = tk_fp = 0
    worst = []
    for page, g in sorted(gold.items()):
        text = norm(texts.get(page, ""))
        miss = [s for s in g.get("with", []) if norm(s) not in text]
        extra = [s for s in g.get("without", []) if norm(s) and norm(s) in text]
        n_with = len(g.get("with", []))
        n_without = len(g.get("without", []))
        tp += n_with - len(miss)
        fn += len(miss)
        fp += len(extra)
        tn += n_without - len(extra)
        ref = set()
        for s in g.get("with", []):
            ref |= shingles(s)
        bad = set()
        for s in g.get("without", []):
            bad |= shingles(s)
        bad -= ref
        out = shingles(text)
        sh_tp += len(ref & out)
        sh_ref += len(ref)
        sh_fp += len(bad & out)
        # The same with benchmark tokens; a short snippet's one gram is
        # looked up among the text's grams of its length.
        tref = set()
        for s in g.get("with", []):
            tref |= token_shingles(s)
        tbad = set()
        for s in g.get("without", []):
            tbad |= token_shingles(s)
        tbad -= tref
        tout = grams_upto(texts.get(page, ""))
        tk_tp += len(tref & tout)
        tk_ref += len(tref)
        tk_fp += len(tbad & tout)
        if miss or extra:
            worst.append((len(miss) + len(extra), page, miss, extra))

    prec = tp / max(tp + fp, 1)
    rec = tp / max(tp + fn, 1)
    f1 = 2 * prec * rec / max(prec + rec, 1e-9)
    acc = (tp + tn) / max(tp + tn + fp + fn, 1)
    sp = sh_tp / max(sh_tp + sh_fp, 1)
    sr = sh_tp / max(sh_ref, 1)
    sf = 2 * sp * sr / max(sp + sr, 1e-9)
    print("pages %d, snippets: %d with, %d without" % (len(gold), tp + fn, fp + tn))
    print("with found     %.4f" % rec)
    print("without absent %.4f" % (tn / max(tn + fp, 1)))
    print("precision %.4f  recall %.4f  F1 %.4f  accuracy %.4f" % (prec, rec, f1, acc))
    print("shingle precision %.4f  recall %.4f  F1 %.4f" % (sp, sr, sf))
    tkp = tk_tp / max(tk_tp + tk_fp, 1)
    tkr = tk_tp / max(tk_ref, 1)
    tkf = 2 * tkp * tkr / max(tkp + tkr, 1e-9)
    print("token shingle precision %.4f  recall %.4f  F1 %.4f" % (tkp, tkr, tkf))
    if a.pages:
        for n, page, miss, extra in sorted(worst, reverse=True):
            print("\n%s: %d missing, %d extra" % (os.path.basename(page), len(miss), len(extra)))
            for s in miss:
                print("  - " + norm(s)[:150])
            for s in extra:
                print("  + " + norm(s)[:150])


if __name__ == "__main__":
    main()
