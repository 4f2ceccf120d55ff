#!/usr/bin/env python3
"""filter_parity.py - the llm-filter parity fixture: real documents and
datatrove's keep/drop decisions on them.

How to rerun (from the repository root, with ../shared beside it):

    pip install datatrove spacy        # spaCy's blank "en" needs no model
    python3 tests/ref/filter_parity.py input OUT.jsonl   # the documents
    python3 tests/ref/filter_parity.py expect   # -> tests/ref/filter_parity_expected.jsonl.gz
                                                #    and filter_parity_input.sha256

`input` builds 2,471 documents from ../shared/data, deterministically and
with the standard library only, so the test suite rebuilds them instead of
the repository carrying 8 MB of text that shared/data already holds; the
SHA-256 recorded by `expect` proves the rebuilt input is the one datatrove
judged.  The documents (choices seeded with random.Random(4)): the plain-text corpora cut into documents of 1 to 150
lines, single fortunes, Python and C source files, the text of the web pages
in html/trafilatura and of the HTML responses in the WARC samples (extracted
with the standard library's HTMLParser, boilerplate kept: navigation, cookie
banners and all), and the Common Crawl text of the dolma samples.  A web page
whose <html lang=".."> names a language keeps it as metadata.language.

`expect` runs datatrove's filters with their default constants (the values in
../shared/data/lists/quality_filter_constants.json) on every document, each
rule set on its own, and the default llm-filter stack in order (C4 rewrites
the text that the rule sets after it see).  One line per document:

    {"id":..., "gopher-quality": "keep" | REASON, "gopher-repetition": ...,
     "c4": ..., "c4_chars": N, "fineweb": ..., "badwords": ...,
     "stack": "keep" | "RULESET:REASON", "spacy_words": N}

c4_chars is the length in code points of the text C4's line cleaning leaves
(-1 when the document is dropped); spacy_words is len(split_into_words(text)).
The C4 bad-words filter runs with fail_on_missing_language=False and reads
its lists from ../shared/data/lists/ldnoobw instead of downloading them.
"""
import glob
import gzip
import hashlib
import html.parser
import io
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("LLM_SHARED", os.path.join(ROOT, "..", "shared"))
DATA = os.path.join(SHARED, "data")
INPUT_SHA256 = os.path.join(HERE, "filter_parity_input.sha256")
EXPECTED = os.path.join(HERE, "filter_parity_expected.jsonl.gz")

# ---------------------------------------------------------------- input

BLOCK = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
         "tr", "td", "th", "table", "section", "article", "header", "footer",
         "nav", "aside", "blockquote", "pre", "form", "title", "dd", "dt", "hr"}


class Text(html.parser.HTMLParser):
    """Visible text, one line per block element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skip, self.lang = [], 0, None

    def handle_starttag(self, tag, attrs):
        if tag == "html" and self.lang is None:
            self.lang = (dict(attrs).get("lang") or "").lower()[:2] or None
        if tag in ("script", "style", "noscript", "svg"):
            self.skip += 1
        if tag in BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "noscript", "svg") and self.skip:
            self.skip -= 1
        if tag in BLOCK:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)

    def text(self):
        t = "".join(self.out)
        lines = [re.sub(r"[ \t\r\f\v]+", " ", l).strip() for l in t.split("\n")]
        t = "\n".join(lines)
        return re.sub(r"\n{3,}", "\n\n", t).strip()


def html_text(raw):
    p = Text()
    try:
        p.feed(raw)
        p.close()
    except Exception:
        pass
    return p.text(), p.lang


def warc_html(path):
    """HTML bodies of the response records of a WARC file."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError):
        return
    for rec in data.split(b"WARC/1.0\r\n")[1:]:
        head, _, rest = rec.partition(b"\r\n\r\n")
        if b"WARC-Type: response" not in head:
            continue
        http, _, body = rest.partition(b"\r\n\r\n")
        if b"text/html" not in http.lower():
            continue
        uri = re.search(rb"WARC-Target-URI: *(\S+)", head)
        yield (uri.group(1).decode("latin-1") if uri else "?"), body.decode("utf-8", "replace")


def chunks(rng, text, name, lo, hi):
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        n = rng.randint(lo, hi)
        yield "%s:%d" % (name, i), "\n".join(lines[i:i + n])
        i += n


def build_input():
    rng = random.Random(4)
    docs = []

    def add(id_, text, source, lang=None):
        if not text.strip():
            return
        if len(text) > 20000:   # keeps the fixture small; cut at a line end
            text = text[:text.rfind("\n", 0, 20000) + 1 or 20000]
        d = {"id": id_, "text": text, "source": source}
        if lang:
            d["metadata"] = {"language": lang}
        docs.append(d)

    corpora = sorted(glob.glob(os.path.join(DATA, "corpus", "*.txt")))
    corpora += sorted(glob.glob(os.path.join(DATA, "corpus", "janeaustenr", "*")))
    corpora += sorted(glob.glob(os.path.join(DATA, "corpus", "tinystories", "*")))
    for path in corpora:
        text = open(path, encoding="utf-8", errors="replace").read()
        name = os.path.relpath(path, DATA)
        if "tinystories" in name:
            stories = text.split("<|endoftext|>")
            for k in range(0, len(stories), 7):
                add("%s:%d" % (name, k), "\n".join(s.strip() for s in stories[k:k + rng.randint(1, 6)]), "stories")
            continue
        parts = list(chunks(rng, text, name, 1, 150))
        rng.shuffle(parts)
        for id_, t in parts[:70]:
            add(id_, t, "books")
    for path in sorted(glob.glob(os.path.join(DATA, "corpus", "fortunes", "*"))):
        name = os.path.relpath(path, DATA)
        fortunes = open(path, encoding="utf-8", errors="replace").read().split("\n%\n")
        picked = rng.sample(range(len(fortunes)), min(22, len(fortunes)))
        for k in sorted(picked):
            add("%s:%d" % (name, k), fortunes[k], "fortunes")
    code = sorted(glob.glob(os.path.join(DATA, "code", "**", "*.py"), recursive=True))
    code += sorted(glob.glob(os.path.join(DATA, "code", "**", "*.h"), recursive=True))
    for path in rng.sample(code, 120):
        text = open(path, encoding="utf-8", errors="replace").read()
        for id_, t in list(chunks(rng, text, os.path.relpath(path, DATA), 10, 120))[:2]:
            add(id_, t, "code")
    for path in sorted(glob.glob(os.path.join(DATA, "html", "**", "*.html"), recursive=True)):
        raw = open(path, "rb").read().decode("utf-8", "replace")
        text, lang = html_text(raw)
        add(os.path.relpath(path, DATA), text, "web", lang)
    for path in sorted(glob.glob(os.path.join(DATA, "warc", "**", "*.warc*"), recursive=True)):
        if path.endswith((".lz4", ".wat", ".wat.gz")):
            continue
        for k, (uri, body) in enumerate(warc_html(path)):
            text, lang = html_text(body)
            add("%s#%d" % (os.path.relpath(path, DATA), k), text, "web", lang)
    for path in sorted(glob.glob(os.path.join(DATA, "dedup", "dolma", "data", "**", "*.json*"), recursive=True)):
        if "expected" in path or "attributes" in path:
            continue
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for k, line in enumerate(f):
                try:
                    text = json.loads(line).get("text")
                except ValueError:
                    continue
                if isinstance(text, str):
                    add("%s#%d" % (os.path.relpath(path, DATA), k), text, "cc")
    # Web text twice over in places: repeated boilerplate, as crawls have.
    web = [d for d in docs if d["source"] == "web"]
    for d in rng.sample(web, 40):
        t = d["text"].split("\n")
        add(d["id"] + "+repeat", "\n".join(t[:40] * 3), "web")
    seen, out = set(), []
    for d in docs:
        if d["id"] not in seen:
            seen.add(d["id"])
            out.append(d)
    return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in out).encode("utf-8")

# ---------------------------------------------------------------- expect


def read_input():
    raw = build_input()
    with open(INPUT_SHA256, "w") as f:
        f.write(hashlib.sha256(raw).hexdigest() + "\n")
    return [json.loads(l) for l in raw.decode("utf-8").split("\n") if l.strip()]


def expect():
    import datatrove.pipeline.filters.c4_filters as c4mod
    from datatrove.data import Document
    from datatrove.pipeline.filters import (C4BadWordsFilter, C4QualityFilter, FineWebQualityFilter,
                                            GopherQualityFilter, GopherRepetitionFilter)
    from datatrove.utils.text import split_into_words

    lists = os.path.join(DATA, "lists", "ldnoobw")
    # The lists as datatrove would download them: en pinned at C4's commit.
    c4mod.cached_asset_path_or_download = lambda url, **kw: os.path.join(
        lists, "en.c4-25e679f" if url == c4mod._EN_BADWORDS_URL else url.rsplit("/", 1)[1])
    rules = {
        "gopher-quality": GopherQualityFilter(),
        "gopher-repetition": GopherRepetitionFilter(),
        "c4": C4QualityFilter(),
        "fineweb": FineWebQualityFilter(),
        "badwords": C4BadWordsFilter(fail_on_missing_language=False),
    }
    stack = ["gopher-quality", "gopher-repetition", "c4", "fineweb", "badwords"]

    def run(f, doc):
        r = f.filter(doc)
        if r is True or (isinstance(r, tuple) and r[0]):
            return "keep"
        return r[1] if isinstance(r, tuple) else "dropped"

    def copy(d):
        return Document(text=d["text"], id=d["id"], metadata=dict(d.get("metadata", {})))

    with gzip.open(EXPECTED, "wt", encoding="utf-8") as out:
        for d in read_input():
            row = {"id": d["id"]}
            for name, f in rules.items():
                doc = copy(d)
                row[name] = run(f, doc)
                if name == "c4":
                    row["c4_chars"] = len(doc.text) if row[name] == "keep" else -1
            doc, row["stack"] = copy(d), "keep"
            for name in stack:
                v = run(rules[name], doc)
                if v != "keep":
                    row["stack"] = "%s:%s" % (name, v)
                    break
            row["spacy_words"] = len(split_into_words(d["text"]))
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "input":
        with open(sys.argv[2], "wb") as f:
            f.write(build_input())
    elif sys.argv[1:] == ["expect"]:
        expect()
    else:
        sys.exit("usage: filter_parity.py input OUT.jsonl | expect")
