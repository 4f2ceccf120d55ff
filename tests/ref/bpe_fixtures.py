#!/usr/bin/env python3
"""bpe_fixtures.py - make llm-bpe's test fixtures with tiktoken and Hugging Face
tokenizers, the references llm-bpe must agree with.

Rerun (from the repository root, with ../shared/data beside it):

    pip install tiktoken==0.14.0 tokenizers==0.23.3
    make B=build-bpe check-build
    python3 tests/ref/bpe_fixtures.py build-bpe

It writes tests/data/bpe/:

  unicode_classes.json  tiktoken's view of \\p{L}, \\p{N}, \\p{Lu}, \\p{Ll}, \\p{Lt},
                        \\p{Lm}, \\p{Lo}, \\p{M} and \\s: code point ranges, found by
                        running each class as a tiktoken pattern over all of Unicode
  cases.jsonl.zst       hand-written edge cases (whitespace runs, contractions,
                        digits, emoji, CJK, combining marks, mixed scripts, Unicode
                        16 characters, long pieces, special tokens) with the ids of
                        tiktoken's gpt2, cl100k_base and o200k_base
  multilingual.jsonl.zst text of real web pages in 15 languages and scripts, code and
                        books (../shared/data), with the same three encodings' ids
  small.bpe             a model llm-bpe trains here (1,000 tokens, cl100k's pattern,
                        <|endoftext|>) on part of multilingual.jsonl and Shakespeare
  small.tiktoken(.json), small.tokenizer.json
                        small.bpe exported by llm-bpe to tiktoken's and Hugging
                        Face's formats, loaded unchanged by those libraries
  small_expected.jsonl.zst  the ids tiktoken and tokenizers give with those exports,
                        for every case and document without special tokens (by
                        name; "hf": "same" when tokenizers agrees with tiktoken)
  gpt2_hf_check.json    how many texts GPT-2 exported to tokenizer.json encodes in
                        tokenizers exactly as tiktoken does (all of them)

The .zst files are JSON Lines compressed with zstd.  Tests read them with
llmkit's own readers or the standard library only; nothing here runs in
`make test`.
"""
import glob
import html.parser
import json
import os
import re
import subprocess
import sys

import tiktoken
import tiktoken_ext.openai_public as openai_public
import tokenizers
from tiktoken.load import data_gym_to_mergeable_bpe_ranks, load_tiktoken_bpe

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(os.environ.get("LLM_SHARED", os.path.join(ROOT, "..", "shared")), "data")
OUT = os.path.join(ROOT, "tests", "data", "bpe")
BPE = os.path.join(DATA, "bpe")


def encodings():
    """tiktoken's gpt2, cl100k_base and o200k_base from the local files, with
    tiktoken_ext's own patterns and special tokens."""
    r = {}
    # gpt2: GPT-2's own encoder.json + vocab.bpe, as tiktoken builds it.
    ranks = data_gym_to_mergeable_bpe_ranks(os.path.join(BPE, "vocab.bpe"),
                                            os.path.join(BPE, "encoder.json"))
    r["gpt2"] = tiktoken.Encoding("gpt2", pat_str=openai_public.r50k_pat_str,
                                  mergeable_ranks=ranks,
                                  special_tokens={"<|endoftext|>": 50256},
                                  explicit_n_vocab=50257)
    for name, fn in (("cl100k", openai_public.cl100k_base), ("o200k", openai_public.o200k_base)):
        saved = openai_public.load_tiktoken_bpe
        openai_public.load_tiktoken_bpe = (
            lambda url, expected_hash=None, f=name: load_tiktoken_bpe(os.path.join(BPE, f + "_base.tiktoken")))
        try:
            kw = fn()
        finally:
            openai_public.load_tiktoken_bpe = saved
        r[name] = tiktoken.Encoding(**kw)
    return r


def unicode_classes():
    ranks = {bytes([i]): i for i in range(256)}
    chars = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    out = {}
    for name in ("L", "N", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "s"):
        cls = r"\s" if name == "s" else r"\p{%s}" % name
        enc = tiktoken.Encoding("probe", pat_str=cls, mergeable_ranks=ranks, special_tokens={})
        got = bytes(enc.encode_ordinary(chars)).decode("utf-8")
        ranges = []
        for c in sorted(map(ord, got)):
            if ranges and ranges[-1][1] == c - 1:
                ranges[-1][1] = c
            else:
                ranges.append([c, c])
        out[name] = ranges
    return out


CASES = [
    # whitespace
    ("spaces", "a  b   c    d"), ("only_spaces", "     "), ("newlines", "\n\n\n"),
    ("space_newline", "x \n y \n\n z"), ("trailing", "end   "), ("trailing_nl", "end\n  "),
    ("tabs", "\tif x:\n\t\treturn 1\n"), ("crlf", "a\r\n\r\nb\r\n"), ("lone_cr", "a\rb\r\rc"),
    ("vt_ff", "a\x0bb\x0c\x0cc"), ("nbsp", "a\u00a0b\u00a0\u00a0c \u00a0d"),
    ("ideographic_space", "日本\u3000語\u3000\u3000x"), ("mongolian_vs", "a\u180eb \u180e c\u180e\u180e"),
    ("line_sep", "a\u2028b\u2029c\u0085d"), ("zwsp", "a\u200bb\ufeffc\u200d"),
    ("ws_mix", " \t \n \u3000\u00a0 x"), ("ws_end_mix", "x\n \t\u00a0"),
    # contractions
    ("contractions", "I'm you're he'll we've they'd it's can't"),
    ("upper_contractions", "DON'T I'M YOU'RE It'S WE'LL THEY'D"),
    ("apostrophe_runs", "'s 's ''s '''ll 'x rock'n'roll y'all"),
    ("long_s", "it'\u017f x'\u017f'LL he'\u017fs"), ("kelvin", "'\u212a 'k"),
    ("curly", "don\u2019t it\u2019s"), ("quote_end", "end'"),
    # digits
    ("digits", "1 12 123 1234 12345 123456789 3.14159 1,000,000 -42 +7"),
    ("digit_scripts", "\u0663\u0664\u0665 \u0967\u0968\u0969 \u2460\u2461 \u216b \u00bd x\u00b2 \uff11\uff12\uff13\uff14"),
    ("digits_letters", "abc123def 4x4 H2O 2nd 10km"),
    # emoji
    ("emoji", "\U0001F600 \U0001F44D\U0001F3FD \U0001F468\u200d\U0001F469\u200d\U0001F467 \U0001F1EB\U0001F1F7 \u2764\ufe0f"),
    ("emoji_runs", "a\U0001F600b \U0001F600\U0001F600\U0001F600 !\U0001F600!"),
    # CJK and other scripts
    ("japanese", "日本語のテキストです。カタカナとひらがな、漢字。"),
    ("chinese", "中文文本，标点符号。“引号”【括号】"),
    ("korean", "한국어 텍스트입니다. 안녕하세요!"),
    ("mixed_cjk", "Tokyo東京2020年オリンピック"),
    ("thai", "สวัสดีครับ ภาษาไทยไม่มีช่องว่าง"),
    ("hindi", "नमस्ते दुनिया क्षत्रिय १२३"),
    ("arabic", "مرحبا بالعالم، هذا نصٌّ عربيٌّ ١٢٣"),
    ("hebrew", "שָׁלוֹם עוֹלָם"),
    ("russian", "Привет, мир! ПРИВЕТ Мир's"),
    ("greek", "Γειά σου Κόσμε ΓΕΙΆ"),
    # combining marks
    ("combining", "e\u0301 n\u0303 a\u0308\u0304 \u0301x x\u0301\u0302\u0303"),
    ("zalgo", "Z\u0337\u0322a\u0338l\u0335g\u0336o\u0337"),
    ("marks_after_space", " \u0301\u0301 a \u0300"),
    # mixed scripts and casing
    ("mixed", "Привет, world! Γειά σου 123 naïve café résumé"),
    ("turkish", "İstanbul ıi İI"), ("sharp_s", "ß ẞ STRASSE straße"),
    ("titlecase", "\u01c5 \u01c8 \u01cb x\u01c5y"), ("modifier", "\u02b0\u02b2 a\u02b0 \u02b0A"),
    ("camel", "HelloWorld HELLOworld CamelCaseWord's THEY'RE mixedUP getHTTPResponse"),
    ("prefix_punct", ".Hello _init_ -x @user #tag $var"),
    # Unicode 15 and 16 (PCRE2 10.42 knows Unicode 14)
    ("unicode16", "\U00031350\U00031351 \U00013460 \U00011F04\U00011F05 \U00011F50\U00011F51 "
                  "\U0001E4D0\U0001E4D1 \u1c89\u1c8a \U00016D40 \u0897x \U0001CCF0"),
    # code
    ("python", "def f(x):\n    return x**2  # square\n\nclass A(object):\n    pass\n"),
    ("c", "int main(void)\n{\n\treturn 0;\n}\n/* comment */\n"),
    ("url", "http://example.com/a/b?c=d&e=f#g https://x.y/z/"),
    ("slashes", "a//b ///c\n/etc/passwd\n/\n//"),
    ("json", '{"key": [1, 2.5, "three"], "nested": {"x": null}}'),
    # control characters
    ("controls", "a\x00b\x01\x1c\x1d\x1e\x1fc\x7f"),
    ("sub_char", "a\x1ab \x1a\x1a"),
    # special tokens
    ("special_as_text", "hello <|endoftext|> world <|endoftext"),
    ("special_allowed", "hello<|endoftext|>world<|endoftext|>"),
    # long pieces
    ("long_word", "a" * 40000), ("long_spaces", " " * 3000 + "x"), ("long_digits", "7" * 3000),
    ("long_punct", "!" * 5000), ("long_emoji", "\U0001F600" * 1000), ("long_cjk", "日" * 3000),
    ("long_mixed", "abc" * 2000), ("long_upper", "AB" * 1500 + "cd"),
]


def make_cases(encs):
    rows = []
    for name, text in CASES:
        row = {"name": name, "text": text}
        allow = name == "special_allowed"
        if allow:
            row["allow_special"] = True
        for k, enc in encs.items():
            row[k] = enc.encode(text, allowed_special="all") if allow else enc.encode_ordinary(text)
        rows.append(row)
    return rows


class Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.out, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style", "noscript")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "noscript"):
            self.skip = max(0, self.skip - 1)

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


PAGES = [
    ("ar", "assabah.com.tn.article.html"), ("zh", "xinhuanet.com.c_1125597921.html"),
    ("zh", "banyuetan.org.1000200033136171577956287380194268_1.html"),
    ("ru", "football.ua.podolski.html"), ("ja", "nhk.or.jp.k100.html"),
    ("bn", "ukbdnews.com.23646.html"), ("ko", "world.kbs.co.kr-Temperatures.html"),
]


def page_text(path, limit=6000):
    p = Text()
    p.feed(open(path, "rb").read().decode("utf-8", "replace"))
    t = re.sub(r"\n\s*\n+", "\n\n", "".join(p.out)).strip()
    return t[:limit]


def latin_pages():
    """Pages in languages written in Latin script with many diacritics."""
    found = []
    for path in sorted(glob.glob(os.path.join(DATA, "html", "trafilatura", "eval", "*.html"))):
        t = page_text(path, 20000)
        marks = sum(1 for c in t if 0xC0 <= ord(c) < 0x250)
        if len(t) > 3000 and marks > len(t) / 40:
            found.append((path, marks / len(t)))
    found.sort(key=lambda x: -x[1])
    return [p for p, _ in found[:8]]


def make_multilingual(encs):
    docs = []
    ev = os.path.join(DATA, "html", "trafilatura", "eval")
    for lang, name in PAGES:
        docs.append({"id": name, "lang": lang, "text": page_text(os.path.join(ev, name))})
    for path in latin_pages():
        docs.append({"id": os.path.basename(path), "lang": "latin", "text": page_text(path)})
    for rel, lang in (("corpus/kjv_bible.txt", "en"), ("corpus/jargon-4.4.7.txt", "en"),
                      ("code/python-stdlib/json/decoder.py", "python")):
        path = os.path.join(DATA, rel)
        if os.path.exists(path):
            docs.append({"id": rel, "lang": lang,
                         "text": open(path, encoding="utf-8", errors="replace").read()[20000:26000]})
    for h in sorted(glob.glob(os.path.join(DATA, "code", "glibc-headers", "*.h")))[:2]:
        docs.append({"id": os.path.relpath(h, DATA), "lang": "c",
                     "text": open(h, encoding="utf-8", errors="replace").read()[:5000]})
    for d in docs:
        for k, enc in encs.items():
            d[k] = enc.encode_ordinary(d["text"])
    return docs


def llm_bpe(build, *args):
    subprocess.run([os.path.join(ROOT, build, "bin", "llm-bpe"), *args], check=True,
                   stderr=subprocess.DEVNULL)


def plain_texts(cases, docs):
    """(name, text) of the cases and documents without special tokens:
    tokenizers always splits those out, tiktoken's encode_ordinary never."""
    for c in cases:
        if "<|" not in c["text"]:
            yield "cases:" + c["name"], c["text"]
    for d in docs:
        yield "multilingual:" + d["id"], d["text"]


def make_small(build, docs, cases):
    """Train with llm-bpe, export, and encode with tiktoken and tokenizers."""
    train = os.path.join(OUT, "small_train.txt.tmp")
    with open(train, "w", encoding="utf-8") as f:
        for d in docs[::2]:
            f.write(d["text"] + "<|endoftext|>")
        f.write(open(os.path.join(DATA, "corpus", "tinyshakespeare.txt"), encoding="utf-8").read()[:200000])
    model = os.path.join(OUT, "small.bpe")
    llm_bpe(build, "train", "--text", "--vocab-size", "1000", "--special", "<|endoftext|>",
            "--pattern", "cl100k", "-o", model, train)
    os.remove(train)
    tk_path = os.path.join(OUT, "small.tiktoken")
    hf_path = os.path.join(OUT, "small.tokenizer.json")
    llm_bpe(build, "export", "-m", model, "--to", "tiktoken", "-o", tk_path)
    llm_bpe(build, "export", "-m", model, "--to", "hf", "-o", hf_path)
    side = json.load(open(tk_path + ".json"))
    enc = tiktoken.Encoding(mergeable_ranks=load_tiktoken_bpe(tk_path), **side)
    hf = tokenizers.Tokenizer.from_file(hf_path)
    rows = []
    for name, t in plain_texts(cases, docs):
        a = enc.encode_ordinary(t)
        b = hf.encode(t, add_special_tokens=False).ids
        rows.append({"name": name, "tiktoken": a, "hf": "same" if a == b else b})
    same = sum(r["hf"] == "same" for r in rows)
    print("small model: tiktoken and tokenizers agree on %d of %d texts" % (same, len(rows)))
    return rows


def gpt2_hf_check(build, encs, cases, docs):
    """GPT-2 exported to tokenizer.json by llm-bpe, encoded by tokenizers."""
    path = os.path.join(OUT, "gpt2.tokenizer.json.tmp")
    llm_bpe(build, "export", "-m", BPE, "--to", "hf", "-o", path)
    hf = tokenizers.Tokenizer.from_file(path)
    os.remove(path)
    texts = list(plain_texts(cases, docs))
    bad = [n for n, t in texts if hf.encode(t, add_special_tokens=False).ids != encs["gpt2"].encode_ordinary(t)]
    return {"texts": len(texts), "same_as_tiktoken": len(texts) - len(bad), "differ": bad}


def write_jsonl(name, rows):
    """Write NAME.zst: JSON Lines compressed with zstd (the tests read it
    through llmkit's input.h, which decompresses by content)."""
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    subprocess.run(["zstd", "-q", "-f", "-19", "--rm", path], check=True)


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LLM_BUILD", "build")
    os.makedirs(OUT, exist_ok=True)
    encs = encodings()
    with open(os.path.join(OUT, "unicode_classes.json"), "w") as f:
        json.dump({"tiktoken": tiktoken.__version__, "classes": unicode_classes()}, f)
    cases = make_cases(encs)
    write_jsonl("cases.jsonl", cases)
    docs = make_multilingual(encs)
    write_jsonl("multilingual.jsonl", docs)
    write_jsonl("small_expected.jsonl", make_small(build, docs, cases))
    check = gpt2_hf_check(build, encs, cases, docs)
    with open(os.path.join(OUT, "gpt2_hf_check.json"), "w", encoding="utf-8") as f:
        json.dump(check, f, ensure_ascii=False, indent=1)
    print("gpt2 in tokenizers: %d of %d texts as tiktoken" % (check["same_as_tiktoken"], check["texts"]))
    print("tiktoken %s, tokenizers %s" % (tiktoken.__version__, tokenizers.__version__))


if __name__ == "__main__":
    main()
