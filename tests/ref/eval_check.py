#!/usr/bin/env python3
"""eval_check.py - run llm-eval on the committed parity cases and compare.

Usage: eval_check.py LLM_EVAL CASES.jsonl FIXTURE_DIR

Each line of CASES.jsonl (written by eval_make_fixtures.py) holds the
llm-eval arguments of one case and what sacreBLEU or rouge-score computed:
"expected" (one JSON object) or "expected_lines" (one a line, --sentence).
Every number must agree to 4 decimal places (|difference| < 5e-5), every
string exactly.  Standard library only, so the tests need no packages.
"""
import json
import subprocess
import sys

TOL = 5e-5


def compare(want, got, path, errors):
    if isinstance(want, dict):
        if not isinstance(got, dict):
            errors.append("%s: want an object, got %r" % (path, got))
            return
        for k, v in want.items():
            if k not in got:
                errors.append("%s.%s: missing" % (path, k))
            else:
                compare(v, got[k], "%s.%s" % (path, k), errors)
    elif isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            errors.append("%s: want %d items, got %r" % (path, len(want), got))
            return
        for i, (a, b) in enumerate(zip(want, got)):
            compare(a, b, "%s[%d]" % (path, i), errors)
    elif isinstance(want, (int, float)) and not isinstance(want, bool):
        if not isinstance(got, (int, float)) or abs(want - got) >= TOL:
            errors.append("%s: want %r, got %r" % (path, want, got))
    elif want != got:
        errors.append("%s: want %r, got %r" % (path, want, got))


def main():
    prog, cases, fixdir = sys.argv[1:4]
    failed = 0
    n = 0
    for line in open(cases, encoding="utf-8"):
        case = json.loads(line)
        n += 1
        r = subprocess.run([prog] + case["args"], cwd=fixdir, capture_output=True)
        errors = []
        if r.returncode != 0:
            errors.append("exit %d: %s" % (r.returncode, r.stderr.decode(errors="replace")))
        else:
            out = [json.loads(l) for l in r.stdout.decode().splitlines()]
            if "expected" in case:
                compare([case["expected"]], out, "", errors)
            else:
                compare(case["expected_lines"], out, "", errors)
        if errors:
            failed += 1
            print("FAIL %s (llm-eval %s)" % (case["name"], " ".join(case["args"])))
            for e in errors[:5]:
                print("  " + e)
            if len(errors) > 5:
                print("  ... %d more differences" % (len(errors) - 5))
    print("%d of %d cases agree to 4 decimal places" % (n - failed, n))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
