#!/usr/bin/env python3
"""demo_report.py - write report.md and report.html for `make demo`.

usage: demo_report.py DEMO_DIR

Reads what pipelines/demo.sh left in DEMO_DIR: the --stats JSON of every
stage, the shard statistics, the plans, the training log and loss plot, the
sample and the evaluation results.  Standard library only.
"""
import html
import json
import os
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def text(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().rstrip("\n")


def stage_rows(d):
    s = os.path.join(d, "stats")
    rows = []
    for name, label in [("fetch-warc", "llm-fetch (WARC)"), ("fetch-pages", "llm-fetch (pages)"),
                        ("filter", "llm-filter (web)"), ("dedup", "llm-dedup"),
                        ("redact", "llm-redact"), ("shard", "llm-shard")]:
        st = load(os.path.join(s, name + ".json"))
        notes = []
        for key in ("dropped", "found", "reasons"):
            v = st.get(key)
            if isinstance(v, dict):
                items = [(k, n) for k, n in v.items() if n and not isinstance(n, dict)]
                # "rule:reason" counts say more than the per-rule totals.
                if any(":" in k for k, _ in items):
                    items = [(k, n) for k, n in items if ":" in k]
                notes += ["%s %s" % (k, n) for k, n in items]
        for key in ("exact_duplicates", "near_duplicates", "documents_with_findings"):
            if key in st:
                notes.append("%s %s" % (key.replace("_", " "), st[key]))
        rows.append([label, st.get("documents_in", 0), st.get("documents_out", 0),
                     st.get("documents_dropped", 0), ", ".join(notes) or "-"])
    return rows


def eval_rows(d):
    ppl = load(os.path.join(d, "eval-ppl.json"))
    hs = load(os.path.join(d, "eval-hellaswag.json"))
    arc = load(os.path.join(d, "eval-arc.json"))
    bleu = load(os.path.join(d, "eval-bleu.json"))
    rouge = load(os.path.join(d, "eval-rouge.json"))

    def acc(r, k):
        m = r.get("metrics", r)
        v = m.get(k)
        e = m.get(k + "_stderr")
        if isinstance(v, dict):
            v, e = v.get("value"), v.get("stderr")
        return "%.3f" % v if e is None else "%.3f +- %.3f" % (v, e)

    mean = rouge.get("mean", {})
    rows = [["validation perplexity", "%.1f" % ppl["perplexity"], "%d documents" % ppl["documents"]],
            ["validation bits per byte", "%.3f" % ppl["bits_per_byte"], ""],
            ["HellaSwag acc / acc_norm", acc(hs, "acc") + " / " + acc(hs, "acc_norm"),
             "100 questions, chance 0.25"],
            ["ARC-Easy acc / acc_norm", acc(arc, "acc") + " / " + acc(arc, "acc_norm"),
             "100 questions, chance about 0.25"],
            ["BLEU of generations", "%.2f" % bleu["score"], bleu.get("signature", "")]]
    for k in ("rouge1", "rouge2", "rougeL"):
        if k in mean:
            v = mean[k]
            rows.append(["%s F1 of generations" % k, "%.3f" % (v["fmeasure"] if isinstance(v, dict) else v), ""])
    return rows


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
    log = [json.loads(l) for l in open(os.path.join(d, "run", "log.jsonl"))]
    steps = [r for r in log if "loss" in r and "step" in r]
    last = steps[-1] if steps else {}
    stages = stage_rows(d)
    evals = eval_rows(d)
    why = ("The model is tiny (4 layers, width 128) and trained for minutes on a few MB, "
           "so HellaSwag and ARC are at chance: they need world knowledge and reading "
           "skill that appear only at billions of tokens. Perplexity, the loss curve and "
           "the sample are the measures that move at this scale.")
    parts = [
        ("Stages", "table", (["stage", "documents in", "out", "dropped", "notes"], stages)),
        ("Shards", "pre", text(os.path.join(d, "shard-stat.txt"))),
        ("Plan: this model", "pre", text(os.path.join(d, "plan-demo.txt"))),
        ("Plan: GPT-2 124M on 10B tokens", "pre", text(os.path.join(d, "plan-gpt2.txt"))),
        ("Plan: LLaMA-2 7B on 2T tokens", "pre", text(os.path.join(d, "plan-llama2-7b.txt"))),
        ("Training", "p", "%d steps, final train loss %.4f, %.0f tokens/s." % (
            last.get("step", 0), last.get("loss", float("nan")), last.get("tokens_per_s", 0))),
        ("Loss curve", "img", "loss.png"),
        ("Sample", "pre", text(os.path.join(d, "sample.txt"))),
        ("Evaluation", "table", (["metric", "value", "notes"], evals)),
        ("Why the benchmarks are near chance", "p", why),
    ]
    md, h = ["# llmkit demo report", ""], ["<!doctype html><meta charset=utf-8><title>llmkit demo</title>",
                                          "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
                                          "td,th{border:1px solid #ccc;padding:2px 6px}</style>",
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
            md.append("![loss](%s)" % body)
            h.append('<img src="%s" alt="loss curve">' % html.escape(body))
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
