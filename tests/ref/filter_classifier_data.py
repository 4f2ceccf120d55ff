#!/usr/bin/env python3
"""filter_classifier_data.py - real documents for the quality classifier.

How to rerun (from the repository root, with ../shared beside it; standard
library only):

    python3 tests/ref/filter_classifier_data.py fixture
        -> tests/data/filter/quality_{pos,neg}.jsonl.gz (the test fixture)
    python3 tests/ref/filter_classifier_data.py demo DIR
        -> DIR/{train,test}_{pos,neg}.jsonl (the larger run in llm-filter(1))

Positives ("curated text"): passages of the books in ../shared/data/corpus
(Jane Austen's novels, Shakespeare, the King James Bible, the Jargon File)
cut at blank lines into passages of 300 to 1,500 characters.  Negatives
("raw web text"): the visible text of the web pages in html/trafilatura and
the HTML records of the WARC samples, boilerplate and all (menus, cookie
banners, footers), extracted as in filter_parity.py and cut into pieces of
the same sizes at line ends.

`fixture` takes 200 of each at random (random.Random(4)).  `demo` splits
so that nothing of a test page was seen in training: every second page (by
sorted name) goes to test, and of the books, alternate blocks of 50
passages (the books are few).
"""
import glob
import gzip
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from filter_parity import DATA, html_text, warc_html  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "data", "filter")


def pieces(text, sep):
    """Consecutive parts of text, joined at sep, of 300 to 1,500 chars."""
    out, cur = [], ""
    for part in text.split(sep):
        if len(cur) + len(part) > 1500 and len(cur) >= 300:
            out.append(cur.strip())
            cur = ""
        cur += part + sep
        if len(cur) > 1500:
            out.append(cur[:1500].strip())
            cur = ""
    if len(cur.strip()) >= 300:
        out.append(cur.strip())
    return out


def books():
    paths = sorted(glob.glob(os.path.join(DATA, "corpus", "janeaustenr", "*")))
    paths += [os.path.join(DATA, "corpus", n)
              for n in ("tinyshakespeare.txt", "kjv_bible.txt", "jargon-4.4.7.txt")]
    for p in paths:
        text = open(p, encoding="utf-8", errors="replace").read()
        name = os.path.relpath(p, DATA)
        yield name, pieces(text, "\n\n") if "kjv" not in name else pieces(text, "\n")


def pages():
    for p in sorted(glob.glob(os.path.join(DATA, "html", "**", "*.html"), recursive=True)):
        text, _ = html_text(open(p, "rb").read().decode("utf-8", "replace"))
        yield os.path.relpath(p, DATA), pieces(text, "\n")
    for p in sorted(glob.glob(os.path.join(DATA, "warc", "**", "*.warc*"), recursive=True)):
        if p.endswith((".lz4", ".wat", ".wat.gz")):
            continue
        for k, (_, body) in enumerate(warc_html(p)):
            text, _ = html_text(body)
            yield "%s#%d" % (os.path.relpath(p, DATA), k), pieces(text, "\n")


def docs(sources, label):
    for name, parts in sources:
        for i, t in enumerate(parts):
            yield {"id": "%s:%d" % (name, i), "text": t, "source": label}


def write(path, rows):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    if sys.argv[1:2] == ["fixture"]:
        rng = random.Random(4)
        pos = list(docs(books(), "books"))
        neg = list(docs(pages(), "web"))
        os.makedirs(FIXTURE, exist_ok=True)
        write(os.path.join(FIXTURE, "quality_pos.jsonl.gz"), rng.sample(pos, 200))
        write(os.path.join(FIXTURE, "quality_neg.jsonl.gz"), rng.sample(neg, 200))
    elif sys.argv[1:2] == ["demo"] and len(sys.argv) == 3:
        out = sys.argv[2]
        os.makedirs(out, exist_ok=True)
        for label, sources in (("pos", list(books())), ("neg", list(pages()))):
            # Books are few: alternate passages of each book in blocks of
            # 50 instead, so test passages are far from training ones.
            if label == "pos":
                train = [(n, [p for i, p in enumerate(ps) if (i // 50) % 2 == 0]) for n, ps in sources]
                test = [(n, [p for i, p in enumerate(ps) if (i // 50) % 2 == 1]) for n, ps in sources]
            else:
                train, test = sources[0::2], sources[1::2]
            write(os.path.join(out, "train_%s.jsonl" % label), docs(train, label))
            write(os.path.join(out, "test_%s.jsonl" % label), docs(test, label))
    else:
        sys.exit("usage: filter_classifier_data.py fixture | demo DIR")


if __name__ == "__main__":
    main()
