#!/usr/bin/env python3
"""pii_resample.py - presidio-research's sentences with new values, for
an estimate of how llm-redact does on data it was not tuned on.

usage: pii_resample.py OUT.jsonl [SEED ...]

presidio-research made synth_dataset_v2.json by filling sentence templates
with values from Faker.  This script keeps those sentences and puts a new
Faker value in each labelled span of a type llm-redact finds (phone
numbers, cards, IBANs, SSNs, e-mail and IP addresses), drawn from 43 Faker
locales at random, one file line per sentence that has such a span:

    {"id": "SEED:N", "text": "...", "spans": [[TYPE or null, start, end], ...]}

with character offsets; spans of other types (PERSON, ...) keep their text
and have type null.  tests/ref/pii_eval.py scores it ("resampled").

Rerun (Faker is a PyPI package, only needed to make the file):

    pip install faker
    python3 tests/ref/pii_resample.py tests/ref/pii_resampled.jsonl 3 4

The committed file was made with Faker 40.63.0 and seeds 3 and 4.  Faker's
values are not all valid: some locales give GB IBANs of 21 characters and
Thai "IBANs" (Thailand has none), and some cards have made-up issuer
prefixes; those are left in, and count as misses.
"""
import json
import os
import random
import sys

from faker import Faker

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.environ.get("LLM_SHARED", os.path.join(HERE, "..", "..", "..", "shared")),
                   "data/pii/presidio-research/synth_dataset_v2.json")
TYPES = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "CREDIT_CARD",
         "IBAN_CODE": "IBAN", "US_SSN": "US_SSN", "IP_ADDRESS": "IP_ADDRESS"}
LOCALES = ("en_US en_GB de_DE fr_FR it_IT es_ES nl_NL sv_SE pt_PT pt_BR pl_PL da_DK fi_FI "
           "no_NO cs_CZ hu_HU ru_RU ja_JP zh_CN en_AU en_CA en_IN de_AT de_CH fr_CH ko_KR "
           "tr_TR el_GR ro_RO uk_UA he_IL en_NZ es_MX sk_SK bg_BG hr_HR lv_LV lt_LT sl_SI "
           "id_ID th_TH vi_VN fa_IR").split()


def value(fakers, us, kind):
    f = random.choice(fakers)
    if kind == "PHONE_NUMBER":
        return f.phone_number()
    if kind == "CREDIT_CARD":
        return f.credit_card_number()
    if kind == "IBAN_CODE":
        return f.iban()
    if kind == "US_SSN":
        return us.ssn()
    if kind == "EMAIL_ADDRESS":
        return f.email()
    return random.choice([f.ipv4_public(), f.ipv4(), f.ipv6()])


def resample(rows, seed):
    random.seed(seed)
    fakers = [Faker(loc) for loc in LOCALES]
    for f in fakers:
        f.seed_instance(seed)
    us = Faker("en_US")
    us.seed_instance(seed)
    for n, r in enumerate(rows):
        spans = sorted(r["spans"], key=lambda s: s["start_position"])
        if not any(s["entity_type"] in TYPES for s in spans):
            continue
        text, at, out = "", 0, []
        for s in spans:
            text += r["full_text"][at:s["start_position"]]
            v = r["full_text"][s["start_position"]:s["end_position"]]
            if s["entity_type"] in TYPES:
                v = value(fakers, us, s["entity_type"])
            out.append([TYPES.get(s["entity_type"]), len(text), len(text) + len(v)])
            text += v
            at = s["end_position"]
        text += r["full_text"][at:]
        yield {"id": "%d:%d" % (seed, n), "text": text, "spans": out}


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: pii_resample.py OUT.jsonl [SEED ...]")
    rows = json.load(open(SRC, encoding="utf-8"))
    seeds = [int(s) for s in sys.argv[2:]] or [3]
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        for seed in seeds:
            for d in resample(rows, seed):
                f.write(json.dumps(d, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
