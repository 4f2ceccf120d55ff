#!/usr/bin/env python3
"""precision_fixtures.py - reference conversions for tests/unit/test_precision.c.

Writes tests/ref/precision.fix: one line per fp32 value, three hex words:
the fp32 bit pattern, its fp16 pattern and its bf16 pattern, each rounded to
nearest, ties to even.  Computed independently of lib/precision.h:

  fp16  Python's struct.pack('<e', x) (IEEE binary16, round half to even);
        values it refuses as too large (|x| >= 65520) become infinity.
  bf16  exact arithmetic in double (every fp32 and bf16 value is a double):
        the two bf16 neighbours of x, the nearer one, the even one on a tie.
  NaN   a quiet NaN of the same sign (any payload): written as 7fc0/ffc0
        (bf16) and 7e00/fe00 (fp16), compared as "is NaN" by the test.

The values: special ones (zeros, infinities, NaN, extremes, the rounding
boundaries of both formats, ties) then 3,000 random fp32 bit patterns and
3,000 random values spread over fp16's range, from a fixed seed.

Rerun (standard library only):  python3 tests/ref/precision_fixtures.py
"""
import math
import os
import random
import struct


def f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def bits32(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f16_bits(x):
    if math.isnan(x):
        return 0xFE00 if math.copysign(1, x) < 0 else 0x7E00
    try:
        return struct.unpack("<H", struct.pack("<e", x))[0]
    except OverflowError:
        return 0xFC00 if x < 0 else 0x7C00


def bf16_value(h):
    return f32(h << 16)


def bf16_bits(b):
    x = f32(b)
    sign = b & 0x80000000
    if math.isnan(x):
        return 0xFFC0 if sign else 0x7FC0
    if math.isinf(x):
        return b >> 16
    lo = b >> 16                     # truncated: toward zero
    hi = lo + 1                      # next bf16 away from zero
    vlo, vhi = abs(bf16_value(lo)), abs(bf16_value(hi))
    ax = abs(x)
    dlo, dhi = ax - vlo, vhi - ax     # exact in double
    if (hi & 0x7FFF) == 0x7F80:      # the step above the largest finite: inf
        vhi = math.inf
        dhi = None
    if dhi is None:
        # rounding up past the largest bf16 (0x7f7f) means overflow: the
        # tie point is halfway to 2^128 as if the exponent continued
        dhi = 2.0 ** 128 - ax
    if dlo < dhi or (dlo == dhi and lo % 2 == 0):
        return lo
    return hi


def main():
    rnd = random.Random(20261126)
    vals = [0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001,
            0x7F800001, 0x7F7FFFFF, 0xFF7FFFFF, 0x00000001, 0x80000001, 0x007FFFFF,
            0x00800000, 0x3F800000, 0xBF800000]
    special = [65504.0, 65519.0, 65519.99, 65520.0, 65536.0, -65520.0, 2.0 ** -14,
               2.0 ** -24, 2.0 ** -25, -(2.0 ** -25), 1.5 * 2.0 ** -25, 3 * 2.0 ** -26,
               2.0 ** -26, 5 * 2.0 ** -25, 7 * 2.0 ** -25, 2.0 ** -15 + 2.0 ** -25,
               1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8,
               1 + 2.0 ** -9, 3.140625, 0.1, 1e-8, 1e30, -2.5e-5, 3.3895314e38]
    for x in special:
        vals.append(bits32(x))
    # ties and their neighbours for bf16 around several exponents
    for e in (-130, -126, -20, 0, 7, 60, 127):
        for m in (0x8000, 0x18000, 0x7F8000, 0x7FFF, 0x8001):
            b = ((e + 127) & 0xFF) << 23 | (m & 0x7FFFFF)
            vals.append(b)
    for _ in range(3000):
        b = rnd.getrandbits(32)
        if (b & 0x7F800000) == 0x7F800000 and (b & 0x7FFFFF):
            continue                 # NaN payloads: covered above
        vals.append(b)
    for _ in range(3000):
        x = rnd.choice((-1, 1)) * 2.0 ** rnd.uniform(-27, 16.1)
        vals.append(bits32(x))
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "precision.fix"), "w") as f:
        f.write("# fp32 fp16 bf16 (tests/ref/precision_fixtures.py)\n")
        for b in vals:
            x = f32(b)
            f.write(f"{b:08x} {f16_bits(x):04x} {bf16_bits(b):04x}\n")


if __name__ == "__main__":
    main()
