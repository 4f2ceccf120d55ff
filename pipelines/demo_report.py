#!/usr/bin/env python3
"""demo_report.py - write report.md and report.html for `make demo`.

usage: demo_report.py DEMO_DIR

Reads what pipelines/demo.sh left in DEMO_DIR: the --stats JSON of every
stage, the web server's request log, the planted duplicates and personal
data and what became of them, the shard statistics, the plans, the
training log and loss plot, the samples and the evaluation results
(eval/, from pipelines/eval.mk).  Standard library only.
"""
import base64
import html
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eval_table  # noqa: E402  (beside this file)

PLANTED_PII = ["jane.roe@example.com", "+1 415 555 0132", "4111 1111 1111 1111",
               "GB82 WEST 1234 5698 7654 32", "203.0.113.45", "AKIAIOSFODNN7EXAMPLE"]


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def text(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().rstrip("\n")


def jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def notes(st):
    """The reasons and findings of one stage's --stats, as "name count"."""
    out = []
    for key in ("urls", "dropped", "reasons", "found"):
        v = st.get(key)
        if not isinstance(v, dict):
            continue
        items = [(k, n) for k, n in v.items() if n and not isinstance(n, dict)]
        # "rule:reason" counts say more than the per-rule totals.
        if key == "dropped" and (isinstance(st.get("reasons"), dict) or "urls" in st):
            continue
        out += ["%s %s" % (k, n) for k, n in items]
    for key in ("exact_duplicates", "near_duplicates", "documents_with_findings"):
        if key in st:
            out.append("%s %s" % (key.replace("_", " "), st[key]))
    if "tokens_taken" in st:
        # llm-shard repeats small sources and subsamples large ones to meet
        # the mixture, so documents out can exceed documents in.
        out.append("tokens in %d, out %d; taken %s (repeated or subsampled to the mixture)" % (
            st.get("tokens_in", 0), st.get("tokens_out", 0),
            ", ".join("%s %d" % kv for kv in st["tokens_taken"].items())))
    return ", ".join(out) or "-"


def stage_rows(d):
    s = os.path.join(d, "stats")
    rows = []
    rows.append(local_row(s))
    for name, label in [("fetch-crawl", "llm-fetch (crawl)"), ("fetch-warc", "llm-fetch (WARC)"),
                        ("filter", "llm-filter (web)"), ("dedup", "llm-dedup"),
                        ("redact", "llm-redact"), ("shard", "llm-shard")]:
        st = load(os.path.join(s, name + ".json"))
        rows.append([label, st.get("documents_in", 0), st.get("documents_out", 0),
                     st.get("documents_dropped", 0), notes(st)])
        if name == "redact":
            rows.append(encode_row(s))
    return rows


def local_row(s):
    """llm-fetch of the local files, one run per source, as one row."""
    per = [(src, load(os.path.join(s, "fetch-%s.json" % src))) for src in ("books", "stories", "code")]
    return ["llm-fetch (local files)", sum(st.get("documents_in", 0) for _, st in per),
            sum(st.get("documents_out", 0) for _, st in per),
            sum(st.get("documents_dropped", 0) for _, st in per),
            ", ".join("%s %d" % (src, st.get("documents_out", 0)) for src, st in per)]


def encode_row(s):
    """llm-bpe encode, one run per source, as one row."""
    per = [(src, load(os.path.join(s, "encode-%s.json" % src)))
           for src in ("web", "books", "stories", "code")]
    return ["llm-bpe encode", sum(st.get("documents_in", 0) for _, st in per),
            sum(st.get("documents_out", 0) for _, st in per),
            sum(st.get("documents_dropped", 0) for _, st in per),
            ", ".join("%s %d" % (src, st.get("documents_out", 0)) for src, st in per) +
            " (20 stories held out)"]


def crawl_lines(d):
    """What the local web server saw: robots.txt fetched, the disallowed
    folder never requested."""
    log = text(os.path.join(d, "server.log")).splitlines()
    reqs = [m.group(1) for m in (re.search(r'"GET (\S+) HTTP', line) for line in log) if m]
    urls = text(os.path.join(d, "urls.txt")).splitlines()
    private = [u for u in urls if "/private/" in u]
    return ["%d URLs in the list, %d of them under /private/, which robots.txt disallows."
            % (len(urls), len(private)),
            "The server on 127.0.0.1 saw %d requests: robots.txt %d time(s), "
            "/private/ %d time(s), pages %d." % (
                len(reqs), reqs.count("/robots.txt"),
                sum(r.startswith("/private/") for r in reqs),
                sum(r.startswith("/pages/") for r in reqs))]


def planted_rows(d):
    """Each planted duplicate: in the dedup input, gone from its output."""
    kept = {x["id"] for x in jsonl(os.path.join(d, "dedup.jsonl"))}
    rows = []
    for p in jsonl(os.path.join(d, "planted.jsonl")):
        rows.append([p["id"], p["metadata"].get("copy_of_name", p["metadata"]["copy_of"]),
                     "kept (FAILED)" if p["id"] in kept else "removed by llm-dedup"])
    return rows


def pii_rows(d):
    doc = next(x for x in jsonl(os.path.join(d, "clean.jsonl")) if x["id"] == "planted-pii")
    return [[v, "still there (FAILED)" if v in doc["text"] else "gone"] for v in PLANTED_PII], doc["text"]


def md_table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def html_table(head, rows):
    out = ["<table><tr>" + "".join("<th>%s</th>" % html.escape(h) for h in head) + "</tr>"]
    out += ["<tr>" + "".join("<td>%s</td>" % html.escape(str(c)) for c in r) + "</tr>" for r in rows]
    return "\n".join(out) + "</table>"


def main():
    d = sys.argv[1]
    log = jsonl(os.path.join(d, "run", "log.jsonl"))
    steps = [r for r in log if "loss" in r and "step" in r]
    vals = [r for r in log if "val_loss" in r]
    last = steps[-1] if steps else {}
    seconds = sum(r.get("ms", 0) for r in steps) / 1000
    pii, redacted = pii_rows(d)
    evals = eval_table.rows(os.path.join(d, "eval"))
    plan = text(os.path.join(d, "plan-demo.txt"))
    m = re.search(r"^parameters\s+(\S+)", plan, re.M)
    why = ("The model is tiny (" + (m.group(1) + " parameters" if m else "4 layers, width 128") +
           ") and has seen about %.1fM tokens, so HellaSwag and ARC-Easy are at chance (the notes give chance for "
           "these very questions): they need world knowledge and reading skill that appear "
           "only at billions of tokens and parameters (GPT-2 124M scores about 0.31 on "
           "HellaSwag after 10B tokens). Perplexity, the loss curve and the samples are the "
           "measures that move at this scale; BLEU and ROUGE against held-out stories show how "
           "far the model's own continuation is from the real one." % (last.get("tokens", 0) / 1e6))
    train = "%d steps in %.0f s of training, %.0f tokens/s; final train loss %.3f%s." % (
        last.get("step", 0), seconds, last.get("tokens_per_s", 0), last.get("loss", float("nan")),
        ", val loss %.3f" % vals[-1]["val_loss"] if vals else "")
    # A small source repeated many times to meet the mixture is learnt by
    # heart: the train loss then runs below the val loss.
    manifest = load(os.path.join(d, "shards", "manifest.json"))
    repeated = ["%s %.1f times" % (k, v["epochs"]) for run in manifest.get("runs", [])
                for k, v in run["sources"].items() if v.get("epochs", 0) >= 2]
    if repeated:
        train += (" To meet the mixture the shards repeat %s, and the model learns those "
                  "documents by heart, so its train loss runs below the val loss, which is "
                  "measured on documents it never saw." % ", ".join(repeated))
    parts = [
        ("Stages", "table", (["stage", "documents in", "out", "dropped", "reasons and findings"],
                             stage_rows(d))),
        ("Crawl", "list", crawl_lines(d)),
        ("Planted duplicates", "table", (["planted document", "copy of", "fate"], planted_rows(d))),
        ("Planted personal data", "table", (["planted value", "after llm-redact"], pii)),
        ("The planted document after llm-redact", "pre", redacted),
        ("Shards (mixture asked: %s)" % text(os.path.join(d, "mix.txt")), "pre",
         text(os.path.join(d, "shard-stat.txt"))),
        ("Plan: this model", "pre", text(os.path.join(d, "plan-demo.txt"))),
        ("Plan: GPT-2 124M on 10B tokens", "pre", text(os.path.join(d, "plan-gpt2.txt"))),
        ("Plan: LLaMA-2 7B on 2T tokens", "pre", text(os.path.join(d, "plan-llama2-7b.txt"))),
        ("Training", "p", train),
        ("Loss curve", "img", "loss.png"),
        ("Samples", "pre", text(os.path.join(d, "sample.txt")) + "\n\n" +
         text(os.path.join(d, "sample-books.txt"))),
        ("Evaluation", "table", (["metric", "value", "notes"], evals)),
        ("Why the benchmarks are near chance", "p", why),
    ]
    md, h = ["# llmkit demo report", ""], ["<!doctype html><meta charset=utf-8><title>llmkit demo</title>",
                                          "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
                                          "td,th{border:1px solid #ccc;padding:2px 6px}"
                                          "pre{white-space:pre-wrap}</style>",
                                          "<h1>llmkit demo report</h1>"]
    for title, kind, body in parts:
        md += ["## " + title, ""]
        h.append("<h2>%s</h2>" % html.escape(title))
        if kind == "table":
            md.append(md_table(*body))
            h.append(html_table(*body))
        elif kind == "pre":
            md += ["```", body, "```"]
            h.append("<pre>%s</pre>" % html.escape(body))
        elif kind == "img":
            # Inline in the HTML, so the page stands alone when copied.
            with open(os.path.join(d, body), "rb") as f:
                png = base64.b64encode(f.read()).decode("ascii")
            md.append("![loss curve](%s)" % body)
            h.append('<img src="data:image/png;base64,%s" alt="loss curve">' % png)
        elif kind == "list":
            md += ["- " + x for x in body]
            h.append("<ul>%s</ul>" % "".join("<li>%s</li>" % html.escape(x) for x in body))
        else:
            md.append(body)
            h.append("<p>%s</p>" % html.escape(body))
        md.append("")
    with open(os.path.join(d, "report.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(d, "report.html"), "w", encoding="utf-8") as f:
        f.write("\n".join(h) + "\n")


if __name__ == "__main__":
    main()
