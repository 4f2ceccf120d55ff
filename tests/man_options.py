#!/usr/bin/env python3
"""man_options.py - the long options a man page's OPTIONS section lists.

    python3 tests/man_options.py PAGE

Prints each --option named by an Fl macro between ".Sh OPTIONS" and the
next .Sh, one a line, sorted: "Fl -threshold", "Fl t , -threshold" and
"Fl -on-error Ns = Ns Cm fail" all give --threshold / --on-error.  Used by
tests/cli/man.bats to check that --help and the page agree.
"""
import re
import sys

MACRO = re.compile(r"^[A-Z][a-z][a-z]?$")
LONG = re.compile(r"^-([a-z][a-z0-9-]*[a-z0-9])[,.;:]?$")


def options(lines):
    found, inside = set(), False
    for line in lines:
        if line.startswith(".Sh "):
            inside = line.split(None, 1)[1].strip() == "OPTIONS"
            continue
        if not inside or not line.startswith("."):
            continue
        last = None
        for tok in line[1:].split():
            if MACRO.match(tok):
                last = tok
            elif last == "Fl":
                m = LONG.match(tok)
                if m:
                    found.add("--" + m.group(1))
    return sorted(found)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        # A line ending in a backslash continues on the next one.
        text = re.sub(r"\\\n", " ", f.read())
    print("\n".join(options(text.splitlines())))


if __name__ == "__main__":
    main()
