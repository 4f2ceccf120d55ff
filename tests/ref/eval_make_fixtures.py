#!/usr/bin/env python3
"""eval_make_fixtures.py - reference results for llm-eval's bleu, chrf and rouge.

The expected values come from the reference implementations themselves,
run here through their Python APIs exactly as their command-line tools
run them:

    sacreBLEU 2.6.0   BLEU, chrF, chrF++   (sacrebleu.metrics.BLEU / CHRF)
    rouge-score 0.1.2 ROUGE-N/L/Lsum       (rouge_score.rouge_scorer,
                                            scoring.BootstrapAggregator)

Cases: the test cases of sacreBLEU's and rouge-score's own test suites
(test_bleu.py, test_sentence_bleu.py, test_chrf.py, rouge_scorer_test.py,
with rouge-score's testdata files), and real text from ../shared/data:
Shakespeare, the King James Bible, TinyStories, fortunes, and the paragraphs
of the multilingual trafilatura evaluation pages (German, Spanish, French,
Polish, Russian, Arabic, Bengali, Czech, ...).  Hypotheses are the real
sentences edited by a seeded random process (words dropped, swapped,
replaced, re-cased, punctuation moved, entities escaped), so every case
is reproducible.

Outputs (committed; the tests read them without Python packages):
    tests/data/eval/*.txt, *.jsonl          the inputs
    tests/ref/eval_bleu.jsonl               one case a line:
    tests/ref/eval_chrf.jsonl                 {"name", "args": [llm-eval
    tests/ref/eval_rouge.jsonl                 arguments], "expected": ...}

Rerun from the repository root (takes about a minute):
    pip install sacrebleu==2.6.0 rouge-score==0.1.2
    python3 tests/ref/eval_make_fixtures.py [SHARED_DATA_DIR]
"""
import glob
import html
import json
import os
import random
import re
import sys

import numpy as np
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF
from rouge_score import rouge_scorer, scoring

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "data")
FIX = os.path.join(ROOT, "tests", "data", "eval")
REF = os.path.join(ROOT, "tests", "ref")
assert sacrebleu.__version__ == "2.6.0", sacrebleu.__version__


def write_lines(name, lines):
    with open(os.path.join(FIX, name), "w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            assert "\n" not in line
            f.write(line + "\n")
    return name


def write_jsonl(name, objs):
    with open(os.path.join(FIX, name), "w", encoding="utf-8", newline="\n") as f:
        for o in objs:
            f.write(json.dumps(o, ensure_ascii=False) + "\n")
    return name


# ---- real text ----

def shakespeare(n, rnd):
    lines = [l.strip() for l in open(os.path.join(DATA, "corpus/tinyshakespeare.txt"), encoding="utf-8")]
    lines = [l for l in lines if len(l.split()) >= 4]
    return rnd.sample(lines, n)


def bible(n, rnd):
    lines = [l.strip() for l in open(os.path.join(DATA, "corpus/kjv_bible.txt"), encoding="utf-8")]
    return [re.sub(r"^\S+\s+", "", l) for l in rnd.sample(lines, n)]


def web_paragraphs(n, rnd):
    """<p> paragraphs of the multilingual trafilatura pages."""
    paras = []
    for path in sorted(glob.glob(os.path.join(DATA, "html/trafilatura/eval/*.html"))):
        raw = open(path, "rb").read().decode("utf-8", "replace")
        for m in re.finditer(r"<p[^>]*>(.*?)</p>", raw, re.S | re.I):
            text = html.unescape(re.sub(r"<[^>]+>", " ", m.group(1)))
            text = " ".join(text.split())
            if 30 <= len(text) <= 400 and "\ufffd" not in text:
                paras.append(text)
    return rnd.sample(paras, min(n, len(paras)))


def stories(n, rnd):
    text = open(os.path.join(DATA, "corpus/tinystories/tinystories_train_2MiB_sample.txt"), encoding="utf-8").read()
    docs = [d.strip() for d in text.split("<|endoftext|>") if len(d.strip()) > 100]
    return rnd.sample(docs, n)


def fortunes(n, rnd):
    docs = []
    for path in sorted(glob.glob(os.path.join(DATA, "corpus/fortunes/*"))):
        if os.path.isdir(path) or path.endswith((".dat", ".u8")):
            continue
        raw = open(path, "rb").read().decode("utf-8", "replace")
        docs += [d.strip() for d in raw.split("\n%\n") if 40 < len(d.strip()) < 600]
    return rnd.sample(docs, n)


# ---- seeded edits that turn a reference into a hypothesis ----

def edit(text, rnd, vocab, rate=0.25):
    words = text.split()
    out = []
    for w in words:
        r = rnd.random()
        if r < rate * 0.25:
            continue                                  # drop
        if r < rate * 0.45:
            w = rnd.choice(vocab)                     # replace
        elif r < rate * 0.55:
            w = w.upper() if rnd.random() < 0.5 else w.lower()
        elif r < rate * 0.65:
            w = w + rnd.choice([",", ".", "!", "?", ";", ":", "'s", "-", "&amp;", "&quot;"])
        elif r < rate * 0.75 and out:
            out[-1], w = w, out[-1]                   # swap
        elif r < rate * 0.85:
            out.append(w)                             # repeat
        elif r < rate * 0.9:
            w = "(" + w + ")"
        out.append(w)
    if rnd.random() < 0.1:
        rnd.shuffle(out)
    sep = " " if rnd.random() < 0.9 else rnd.choice(["  ", "\t", "\u00a0", "\u3000 "])
    return sep.join(out)


def make_pairs(refs, rnd, rate=0.25):
    vocab = [w for r in refs for w in r.split()][:5000] or ["x"]
    hyps = [edit(r, rnd, vocab, rate) for r in refs]
    # A few empty or whitespace-only lines, as real system output has.
    for i in rnd.sample(range(len(hyps)), max(1, len(hyps) // 100)):
        hyps[i] = rnd.choice(["", " ", "."])
    return hyps


# ---- sacreBLEU ----

def bleu_expected(hyps, refs, **kw):
    m = BLEU(**kw)
    s = m.corpus_score(hyps, refs)
    return {"name": "BLEU", "score": s.score, "counts": s.counts, "totals": s.totals,
            "precisions": s.precisions, "bp": s.bp, "sys_len": s.sys_len,
            "ref_len": s.ref_len, "signature": str(m.get_signature())}


def bleu_sentences(hyps, refs, **kw):
    kw["effective_order"] = True      # what sacrebleu --sentence-level does
    m = BLEU(references=refs, **kw)
    out = []
    for i, h in enumerate(hyps):
        s = m.sentence_score(h, [r[i] for r in refs])
        out.append({"score": s.score, "counts": s.counts, "totals": s.totals,
                    "bp": s.bp, "sys_len": s.sys_len, "ref_len": s.ref_len,
                    "signature": str(m.get_signature())})
    return out


def bleu_args(kw):
    args = []
    for k, v in kw.items():
        if k == "tokenize":
            args += ["--tokenize", v]
        elif k == "smooth_method":
            args += ["--smooth", v]
        elif k == "smooth_value":
            args += ["--smooth-value", repr(v)]
        elif k == "lowercase" and v:
            args += ["--lowercase"]
        elif k == "effective_order" and v:
            args += ["--effective-order"]
        elif k == "max_ngram_order":
            args += ["--max-ngram", str(v)]
    return args


def chrf_expected(hyps, refs, **kw):
    m = CHRF(**kw)
    s = m.corpus_score(hyps, refs)
    return {"name": s.name, "score": s.score, "signature": str(m.get_signature())}


def chrf_sentences(hyps, refs, **kw):
    m = CHRF(references=refs, **kw)
    return [{"name": m.sentence_score(h, [r[i] for r in refs]).name,
             "score": m.sentence_score(h, [r[i] for r in refs]).score}
            for i, h in enumerate(hyps)]


def chrf_args(kw):
    args = []
    for k, v in kw.items():
        if k == "char_order":
            args += ["--char-order", str(v)]
        elif k == "word_order":
            args += ["--word-order", str(v)]
        elif k == "beta":
            args += ["--beta", str(v)]
        elif k == "lowercase" and v:
            args += ["--lowercase"]
        elif k == "whitespace" and v:
            args += ["--whitespace"]
        elif k == "eps_smoothing" and v:
            args += ["--eps-smoothing"]
    return args


def read_back(name):
    """Lines as sacreBLEU's command line reads them."""
    with open(os.path.join(FIX, name), encoding="utf-8", newline="\n") as f:
        return [l.rstrip() for l in f]


def sacre_cases():
    """The test cases of sacreBLEU's own suite, as files."""
    cases_bleu, cases_chrf = [], []
    refs = [['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
            ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.']]
    hyps = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.']
    h = write_lines("sb_readme.hyp", hyps)
    r = [write_lines("sb_readme.ref%d" % i, x) for i, x in enumerate(refs)]
    e = write_lines("sb_empty.hyp", ["", "", ""])
    ref_args = sum([["--ref", x] for x in r], [])
    for kw in [{}, {"tokenize": "none"}, {"tokenize": "13a"}, {"tokenize": "intl"},
               {"smooth_method": "none"}]:
        cases_bleu.append({"name": "sacrebleu test_corpus_bleu %s" % kw,
                           "args": ["bleu", "--hyp", h] + ref_args + bleu_args(kw),
                           "expected": bleu_expected(hyps, refs, **kw)})
    cases_bleu.append({"name": "sacrebleu test_corpus_bleu empty hypotheses",
                       "args": ["bleu", "--hyp", e] + ref_args,
                       "expected": bleu_expected(["", "", ""], refs)})
    # raw_corpus_bleu(): tokenize none, floor smoothing
    for i, (hy, rf) in enumerate([(["this is a test", "another test"], ["ref1", "ref2"]),
                                  (["this is a test"], ["this is a test"]),
                                  (["this is a fest"], ["this is a test"]),
                                  (["test"], ["a test"]), (["a test"], ["a test"]),
                                  (["a little test"], ["a test"]),
                                  (["am I am a character sequence"], ["I am a symbol string sequence a a"])]):
        hf = write_lines("sb_raw%d.hyp" % i, hy)
        rfn = write_lines("sb_raw%d.ref" % i, rf)
        for sv in [0.01, 0.1, 0.0]:
            kw = {"tokenize": "none", "smooth_method": "floor", "smooth_value": sv}
            cases_bleu.append({"name": "sacrebleu raw_corpus_bleu %d %s" % (i, sv),
                               "args": ["bleu", "--hyp", hf, "--ref", rfn] + bleu_args(kw),
                               "expected": bleu_expected(hy, [rf], force=True, **kw)})
    # test_sentence_bleu.py (issue #98 and #141)
    for tag, sys_, ref in [("98", "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;",
                            "producţia de zahăr brut se exprimă în zahăr alb;"),
                           ("141", "this is a cat", "okay thanks")]:
        hf = write_lines("sb_sent%s.hyp" % tag, [sys_])
        rfn = write_lines("sb_sent%s.ref" % tag, [ref])
        for sm, sv, lc, tok in [("exp", None, False, "13a"), ("none", None, False, "13a"),
                                ("floor", None, False, "13a"), ("floor", 0.5, False, "13a"),
                                ("add-k", None, False, "13a"), ("add-k", 2, False, "13a"),
                                ("exp", None, False, "none"), ("exp", None, False, "intl"),
                                ("exp", None, False, "char"), ("exp", None, True, "char")]:
            kw = {"smooth_method": sm, "tokenize": tok, "lowercase": lc}
            if sv is not None:
                kw["smooth_value"] = sv
            cases_bleu.append({"name": "sacrebleu test_sentence_bleu #%s %s" % (tag, kw),
                               "args": ["bleu", "--sentence", "--hyp", hf, "--ref", rfn] + bleu_args(kw),
                               "expected_lines": bleu_sentences([sys_], [[ref]], **kw)})
    # test_chrf.py
    chrf_cases = [
        (["abcdefg"], ["hijklmnop"]), (["a"], ["b"]), ([""], ["b"]), ([""], ["ref"]),
        ([""], ["reference"]), (["aa"], ["ab"]), (["a", "b"], ["a", "c"]), (["a"], ["a"]),
        (["a b c"], ["a b c"]), (["a b c"], ["abc"]), ([""], ["c"]),
        ([" risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists ."],
         ["risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists ."]),
        ([" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "],
         ["Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."]),
        (["Niemand hat die Absicht, eine Mauer zu errichten"], ["Niemand hat die Absicht, eine Mauer zu errichten"]),
    ]
    for i, (hy, rf) in enumerate(chrf_cases):
        hf = write_lines("sb_chrf%d.hyp" % i, hy)
        rfn = write_lines("sb_chrf%d.ref" % i, rf)
        hy2, rf2 = read_back(hf), [read_back(rfn)]
        for kw in [{"beta": 3, "eps_smoothing": True}, {"beta": 3}, {"beta": 3, "whitespace": True}]:
            cases_chrf.append({"name": "sacrebleu test_chrf %d %s" % (i, kw),
                               "args": ["chrf", "--hyp", hf, "--ref", rfn] + chrf_args(kw),
                               "expected": chrf_expected(hy2, rf2, **kw)})
    sent = [('Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.',
             'Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.'),
            ('Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.',
             'A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.'),
            ('Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.',
             'Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli.')]
    hf = write_lines("sb_chrf_sent.hyp", [s for s, _ in sent])
    rfn = write_lines("sb_chrf_sent.ref", [r for _, r in sent])
    cases_chrf.append({"name": "sacrebleu test_chrf_sentence_level",
                       "args": ["chrf", "--sentence", "--eps-smoothing", "--hyp", hf, "--ref", rfn],
                       "expected_lines": chrf_sentences([s for s, _ in sent], [[r for _, r in sent]],
                                                        eps_smoothing=True)})
    return cases_bleu, cases_chrf


def real_cases():
    rnd = random.Random(20240601)
    refs = shakespeare(500, rnd) + bible(400, rnd) + web_paragraphs(600, rnd)
    rnd.shuffle(refs)
    hyps = make_pairs(refs, rnd)
    refs2 = make_pairs(refs, rnd, rate=0.15)
    hf = write_lines("real.hyp", hyps)
    r1 = write_lines("real.ref", refs)
    r2 = write_lines("real.ref2", refs2)
    H, R1, R2 = read_back(hf), read_back(r1), read_back(r2)
    bleu, chrf = [], []
    for kw in [{}, {"tokenize": "intl"}, {"tokenize": "char"}, {"tokenize": "none"},
               {"lowercase": True}, {"lowercase": True, "tokenize": "intl"},
               {"smooth_method": "floor"}, {"smooth_method": "floor", "smooth_value": 0.3},
               {"smooth_method": "add-k", "smooth_value": 2}, {"smooth_method": "none"},
               {"effective_order": True}, {"max_ngram_order": 2}, {"max_ngram_order": 6}]:
        bleu.append({"name": "real text %s" % kw, "args": ["bleu", "--hyp", hf, "--ref", r1] + bleu_args(kw),
                     "expected": bleu_expected(H, [R1], **kw)})
    bleu.append({"name": "real text, two references",
                 "args": ["bleu", "--hyp", hf, "--ref", r1, "--ref", r2],
                 "expected": bleu_expected(H, [R1, R2])})
    bleu.append({"name": "real text, two references, intl, lowercase",
                 "args": ["bleu", "--hyp", hf, "--ref", r1, "--ref", r2, "--tokenize", "intl", "--lowercase"],
                 "expected": bleu_expected(H, [R1, R2], tokenize="intl", lowercase=True)})
    # Sentence level on the first 300 lines.
    hs = write_lines("real300.hyp", H[:300])
    rs = write_lines("real300.ref", R1[:300])
    rs2 = write_lines("real300.ref2", R2[:300])
    for kw in [{}, {"tokenize": "intl", "smooth_method": "add-k"}, {"smooth_method": "floor"}]:
        bleu.append({"name": "real text sentences %s" % kw,
                     "args": ["bleu", "--sentence", "--hyp", hs, "--ref", rs, "--ref", rs2] + bleu_args(kw),
                     "expected_lines": bleu_sentences(H[:300], [R1[:300], R2[:300]], **kw)})
    for kw in [{}, {"word_order": 2}, {"lowercase": True}, {"whitespace": True},
               {"eps_smoothing": True}, {"word_order": 2, "eps_smoothing": True},
               {"beta": 1}, {"beta": 3, "char_order": 4}, {"char_order": 6, "word_order": 1, "lowercase": True}]:
        chrf.append({"name": "real text %s" % kw, "args": ["chrf", "--hyp", hf, "--ref", r1] + chrf_args(kw),
                     "expected": chrf_expected(H, [R1], **kw)})
    chrf.append({"name": "real text, two references, chrF++",
                 "args": ["chrf", "--hyp", hf, "--ref", r1, "--ref", r2, "--word-order", "2"],
                 "expected": chrf_expected(H, [R1, R2], word_order=2)})
    chrf.append({"name": "real text sentences, chrF++",
                 "args": ["chrf", "--sentence", "--word-order", "2", "--hyp", hs, "--ref", rs, "--ref", rs2],
                 "expected_lines": chrf_sentences(H[:300], [R1[:300], R2[:300]], word_order=2)})
    return bleu, chrf


# ---- rouge-score ----

def rouge_expected(pairs, types, stem, boot=0, seed=0):
    scorer = rouge_scorer.RougeScorer(types, use_stemmer=stem)
    agg = scoring.BootstrapAggregator(n_samples=boot) if boot else None
    out = []
    for hyp, refs in pairs:
        refs = [refs] if isinstance(refs, str) else refs
        s = scorer.score_multi(refs, hyp) if len(refs) > 1 else scorer.score(refs[0], hyp)
        out.append({t: s[t]._asdict() for t in types})
        if agg:
            agg.add_scores(s)
    mean = {t: {k: float(np.mean([o[t][k] for o in out])) for k in ("precision", "recall", "fmeasure")}
            for t in types}
    exp = {"pairs": out, "mean": mean, "count": len(out)}
    if agg:
        np.random.seed(seed)
        res = agg.aggregate()
        exp["bootstrap"] = {t: {b: getattr(res[t], b)._asdict() for b in ("low", "mid", "high")}
                            for t in types}
        exp["bootstrap"] = json.loads(json.dumps(exp["bootstrap"], default=float))
    return exp


def rouge_cases():
    cases = []
    all4 = ["rouge1", "rouge2", "rougeL", "rougeLsum"]

    def add(name, fname, pairs, types=all4, stem=False, boot=0, seed=0, extra=()):
        args = ["rouge", "--jsonl", fname, "--types", ",".join(types)] + list(extra)
        if stem:
            args.append("--stem")
        if boot:
            args += ["--bootstrap", str(boot), "--seed", str(seed)]
        cases.append({"name": name, "args": args,
                      "expected": rouge_expected(pairs, types, stem, boot, seed)})

    # rouge_scorer_test.py literal cases (hyp = prediction, ref = target)
    lit = [("testing", "testing one two"), ("", "testing one two"), ("testing one", "testing one two"),
           ("testing two", "testing one two"), ("w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5", "w1 w2 w3 w4 w5"),
           ("w1", ""), ("/", "w1 w2 w3 w4 w5"), ("this is a test", "this is a test"),
           ("Second sentence.\nFirst Sentence.", "First sentence.\nSecond Sentence."),
           ("Second sentence. First Sentence.", "First sentence. Second Sentence."),
           ("text first", ["first text", "first something"])]
    f = write_jsonl("rouge_literal.jsonl", [{"hyp": h, "ref": r} for h, r in lit])
    add("rouge-score literal tests", f, lit, all4 + ["rouge3", "rouge9"])
    add("rouge-score literal tests, stemmed", f, lit, all4, stem=True)
    # rouge-score testdata (target.txt/prediction.txt and the multi-sentence pair)
    td = os.path.join(FIX, "rouge-score")
    tgt = open(os.path.join(td, "target.txt")).read().split("\n")[:-1]
    pred = open(os.path.join(td, "prediction.txt")).read().split("\n")[:-1]
    cases.append({"name": "rouge-score testdata target/prediction lines",
                  "args": ["rouge", "--hyp", "rouge-score/prediction.txt", "--ref", "rouge-score/target.txt"],
                  "expected": rouge_expected(list(zip(pred, tgt)), all4, False)})
    cases.append({"name": "rouge-score testdata target/prediction lines, stemmed",
                  "args": ["rouge", "--stem", "--hyp", "rouge-score/prediction.txt", "--ref", "rouge-score/target.txt"],
                  "expected": rouge_expected(list(zip(pred, tgt)), all4, True)})
    multi = [(open(os.path.join(td, "prediction_multi.0.txt")).read(),
              open(os.path.join(td, "target_multi.0.txt")).read())]
    f = write_jsonl("rouge_multi.jsonl", [{"hyp": h, "ref": r} for h, r in multi])
    add("rouge-score testdata multi-sentence, stemmed", f, multi, all4, stem=True)

    rnd = random.Random(7)
    docs = stories(120, rnd) + fortunes(80, rnd)
    rnd.shuffle(docs)
    vocab = [w for d in docs for w in d.split()][:5000]
    pairs = []
    for d in docs:
        sents = [s for s in re.split(r"(?<=[.!?])\s+", d) if s]
        kept = [edit(s, rnd, vocab, 0.3) for s in sents if rnd.random() < 0.7] or [edit(d, rnd, vocab)]
        pairs.append(("\n".join(kept), "\n".join(sents)))
    f = write_jsonl("rouge_real.jsonl", [{"hyp": h, "ref": r} for h, r in pairs])
    types = ["rouge1", "rouge2", "rouge3", "rougeL", "rougeLsum"]
    add("real summaries", f, pairs, types)
    add("real summaries, stemmed", f, pairs, types, stem=True)
    add("real summaries, stemmed, bootstrap 200 seed 42", f, pairs, ["rouge1", "rougeL", "rougeLsum"],
        stem=True, boot=200, seed=42)
    add("real summaries, bootstrap 1000 seed 0", f, pairs, ["rouge2", "rougeLsum"], boot=1000, seed=0)
    mref = [(h, [r, edit(r, rnd, vocab, 0.2)]) for h, r in pairs[:60]]
    f = write_jsonl("rouge_multiref.jsonl", [{"hyp": h, "ref": r} for h, r in mref])
    add("real summaries, two references (score_multi)", f, mref, all4, stem=True)
    return cases


def dump(name, cases):
    with open(os.path.join(REF, name), "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    print("%s: %d cases" % (name, len(cases)))


def main():
    os.makedirs(FIX, exist_ok=True)
    b1, c1 = sacre_cases()
    b2, c2 = real_cases()
    dump("eval_bleu.jsonl", b1 + b2)
    dump("eval_chrf.jsonl", c1 + c2)
    dump("eval_rouge.jsonl", rouge_cases())


if __name__ == "__main__":
    main()
