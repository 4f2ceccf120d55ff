#!/usr/bin/env python3
"""redact_datatrove.py - the anchor for bench/05-redact.sh.

usage: redact_datatrove.py IN.jsonl > OUT.jsonl

datatrove's PIIFormatter (src/datatrove/pipeline/formatters/pii.py at
a649de79c14a) in the Python standard library only: its e-mail and IPv4
regular expressions, applied with re.sub one after the other, public
addresses only (ipaddress' is_global, datatrove's default), over a JSON
Lines document stream read and written with the json module.  The two
patterns are datatrove's, as published; the rest is written here.
"""
import ipaddress
import json
import re
import sys

EMAIL = re.compile(
    r"\b[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:(?:[a-z0-9](?:[a-z0-9-]*["
    r"a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?|\[(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25["
    r"0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?|[a-z0-9-]*[a-z0-9]:)])")
IP = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)")


def public_ip(m):
    try:
        if ipaddress.ip_address(m.group(0)).is_global:
            return "<IP_ADDRESS>"
    except ValueError:
        pass
    return m.group(0)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: redact_datatrove.py IN.jsonl")
    out = sys.stdout
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            text = EMAIL.sub("<EMAIL>", doc["text"])
            doc["text"] = IP.sub(public_ip, text)
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
