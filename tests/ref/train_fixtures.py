#!/usr/bin/env python3
"""Reference fixtures for llm-train's ops and model, computed with PyTorch.

Rerun (from the repository root) after changing what the ops compute:

    pip install torch          # the CPU build is enough
    python3 tests/ref/train_fixtures.py tests/ref

It writes tests/ref/train_ops.fix, train_models.fix and train_optim.fix.  The
C tests (tests/unit/test_ops.c, test_model.c, test_optim.c) read them
without Python.

Everything is computed in float64 from float32 inputs and stored as float32,
so the fixtures hold the exact answer to within float32 rounding and the C
code (fp32 throughout) is compared against that with stated tolerances.
Nothing here calls llmkit: the layers are written from their definitions
(PyTorch's layer_norm, gelu(approximate='tanh'), silu, cross_entropy, and
the formulas in lib/ops.h for RoPE, ALiBi and the rest).  Dropout masks come
from crng (lib/crng.h), re-implemented below, so the same elements drop.

File format (little-endian): the 8 bytes "LLMFIX1\\n", then records:
    u32 name length, name (UTF-8), u32 kind (0: float32 tensor, 1: JSON text),
    u32 ndim, u32 dims[ndim], then the data (float32 values, or the bytes of
    the JSON text, dims = [length]).
"""
import json
import math
import struct
import sys

import torch
import torch.nn.functional as Fn

torch.set_default_dtype(torch.float64)
M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


# ---- crng (lib/crng.h) -------------------------------------------------

def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def crng_at(key, i):
    return mix(key ^ mix((i + GOLDEN) & M64))


def crng_key(parent, stream):
    return mix((parent + GOLDEN * (stream + 1)) & M64) ^ mix(stream)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def keep_mask(key, n, rate):
    thr = int(f32(rate) * 16777216.0)
    return torch.tensor([1.0 if (crng_at(key, i) >> 40) >= thr else 0.0
                         for i in range(n)])


def dropout(x, rate, key):
    if rate <= 0:
        return x
    m = keep_mask(key, x.numel(), rate).reshape(x.shape)
    return x * m / (1.0 - f32(rate))


# ---- writing -----------------------------------------------------------

class Fixture:
    def __init__(self):
        self.out = bytearray(b"LLMFIX1\n")

    def tensor(self, name, t):
        t = t.detach().to(torch.float32).contiguous()
        dims = list(t.shape) if t.dim() else [1]
        self._head(name, 0, dims)
        self.out += struct.pack("<%df" % t.numel(), *t.flatten().tolist())

    def json(self, name, obj):
        data = json.dumps(obj, sort_keys=True).encode()
        self._head(name, 1, [len(data)])
        self.out += data

    def _head(self, name, kind, dims):
        nb = name.encode()
        self.out += struct.pack("<I", len(nb)) + nb
        self.out += struct.pack("<II", kind, len(dims))
        self.out += struct.pack("<%dI" % len(dims), *dims)

    def save(self, path):
        with open(path, "wb") as f:
            f.write(self.out)


def rnd(g, *shape, scale=1.0):
    """float32-representable random values, as float64."""
    return (torch.randn(*shape, generator=g, dtype=torch.float32) * scale).double()


def leaf(t):
    return t.clone().requires_grad_(True)


# ---- the layers, from their definitions --------------------------------

def gelu(x):
    return Fn.gelu(x, approximate="tanh")


def layernorm(x, w, b, eps=1e-5):
    return Fn.layer_norm(x, (x.shape[-1],), w, b, eps)


def rmsnorm(x, w, eps=1e-5):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope_tables(T, hs, theta):
    i = torch.arange(hs // 2, dtype=torch.float64)
    t = torch.arange(T, dtype=torch.float64)
    a = t[:, None] * theta ** (-2.0 * i / hs)[None, :]
    # lib/ops.c keeps the tables in float32
    return a.cos().float().double(), a.sin().float().double()


def rope(x, cos, sin):
    """x (B,T,NH,hs): rotate-half."""
    h2 = x.shape[-1] // 2
    x1, x2 = x[..., :h2], x[..., h2:]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], -1)


def alibi_slopes(nh):
    n = 1
    while n * 2 <= nh:
        n *= 2
    s = [f32(2.0 ** (-8.0 * (i + 1) / n)) for i in range(n)]
    s += [f32(2.0 ** (-8.0 * (2 * i + 1) / (2 * n))) for i in range(nh - n)]
    return torch.tensor(s)


def sinusoid(T, C):
    pe = torch.zeros(T, C)
    for t in range(T):
        for i in range(0, C, 2):
            a = t / 10000.0 ** (i / C)
            pe[t, i] = f32(math.sin(a))
            if i + 1 < C:
                pe[t, i + 1] = f32(math.cos(a))
    return pe


def attention(qkv, nh, alibi=None, rate=0.0, key=0, cos=None, sin=None):
    """qkv (B,T,3C) -> out (B,T,C), att (B,NH,T,T) before dropout."""
    B, T, C3 = qkv.shape
    C = C3 // 3
    hs = C // nh
    q, k, v = qkv.split(C, dim=2)
    q, k, v = (z.reshape(B, T, nh, hs) for z in (q, k, v))
    if cos is not None:
        q, k = rope(q, cos, sin), rope(k, cos, sin)
    q, k, v = (z.transpose(1, 2) for z in (q, k, v))
    s = q @ k.transpose(-1, -2) * (1.0 / math.sqrt(hs))
    i = torch.arange(T)
    if alibi is not None:
        s = s - alibi[None, :, None, None] * (i[:, None] - i[None, :]).double()
    s = s.masked_fill(i[None, :] > i[:, None], float("-inf"))
    att = torch.softmax(s, -1)
    if rate > 0:
        m = keep_mask(key, att.numel(), rate).reshape(att.shape)
        attd = att * m / (1.0 - f32(rate))
    else:
        attd = att
    y = (attd @ v).transpose(1, 2).reshape(B, T, C)
    return y, att


# ---- op fixtures -------------------------------------------------------

def op_fixtures(fx):
    g = torch.Generator().manual_seed(1234)

    # embedding, learned positions
    B, T, V, C = 2, 5, 11, 8
    ids = torch.randint(0, V, (B * T,), generator=g)
    wte, wpe = leaf(rnd(g, V, C)), leaf(rnd(g, T, C))
    out = wte[ids] + wpe[torch.arange(B * T) % T]
    dout = rnd(g, B * T, C)
    out.backward(dout)
    for n, t in [("ids", ids.double()), ("wte", wte), ("wpe", wpe), ("out", out),
                 ("dout", dout), ("dwte", wte.grad), ("dwpe", wpe.grad)]:
        fx.tensor("embedding." + n, t)
    fx.tensor("sinusoidal.table", sinusoid(7, 10))

    # layernorm and rmsnorm
    N, C = 6, 16
    x, w, b = leaf(rnd(g, N, C, scale=2.0) + 0.5), leaf(1 + rnd(g, C, scale=0.1)), leaf(rnd(g, C))
    out = layernorm(x, w, b)
    dout = rnd(g, N, C)
    out.backward(dout)
    for n, t in [("inp", x), ("w", w), ("b", b), ("out", out), ("dout", dout),
                 ("dinp", x.grad), ("dw", w.grad), ("db", b.grad)]:
        fx.tensor("layernorm." + n, t)
    x, w = leaf(x.detach()), leaf(w.detach())
    out = rmsnorm(x, w)
    out.backward(dout)
    for n, t in [("inp", x), ("w", w), ("out", out), ("dout", dout),
                 ("dinp", x.grad), ("dw", w.grad)]:
        fx.tensor("rmsnorm." + n, t)

    # matmul
    N, C, OC = 6, 16, 12
    x, w, b = leaf(rnd(g, N, C)), leaf(rnd(g, OC, C)), leaf(rnd(g, OC))
    out = x @ w.T + b
    dout = rnd(g, N, OC)
    out.backward(dout)
    for n, t in [("inp", x), ("w", w), ("b", b), ("out", out), ("dout", dout),
                 ("dinp", x.grad), ("dw", w.grad), ("db", b.grad)]:
        fx.tensor("matmul." + n, t)

    # attention: plain; ALiBi with 3 heads; dropout over more than one
    # 64-row block; RoPE
    cases = [("attention", 2, 7, 16, 4, False, 0.0, False),
             ("attention_alibi", 2, 7, 12, 3, True, 0.0, False),
             ("attention_dropout", 1, 70, 8, 2, False, 0.25, False),
             ("attention_rope", 2, 6, 16, 2, False, 0.0, True)]
    for name, B, T, C, nh, use_alibi, rate, use_rope in cases:
        qkv = leaf(rnd(g, B, T, 3 * C))
        slopes = alibi_slopes(nh) if use_alibi else None
        key = crng_key(99, 7)
        cos = sin = None
        if use_rope:
            cos, sin = rope_tables(T, C // nh, 10000.0)
        y, att = attention(qkv, nh, slopes, rate, key, cos, sin)
        dout = rnd(g, B, T, C)
        y.backward(dout)
        fx.json(name + ".shape", {"B": B, "T": T, "C": C, "NH": nh,
                                  "dropout": rate, "key": str(key)})
        for n, t in [("qkv", qkv), ("out", y), ("att", att), ("dout", dout),
                     ("dqkv", qkv.grad)]:
            fx.tensor(name + "." + n, t)
        if slopes is not None:
            fx.tensor(name + ".slopes", slopes)

    # activations
    n = 64
    x = leaf(rnd(g, n, scale=2.0))
    dout = rnd(g, n)
    for name, f in [("gelu", gelu), ("relu", Fn.relu)]:
        xx = leaf(x.detach())
        y = f(xx)
        y.backward(dout)
        for k, t in [("inp", xx), ("out", y), ("dout", dout), ("dinp", xx.grad)]:
            fx.tensor(name + "." + k, t)
    N, F = 4, 8
    x = rnd(g, N, 2 * F, scale=2.0)
    dout = rnd(g, N, F)
    for name, f in [("swiglu", Fn.silu), ("geglu", gelu)]:
        xx = leaf(x)
        a, bb = xx[:, :F], xx[:, F:]
        y = f(a) * bb
        y.backward(dout)
        for k, t in [("inp", xx), ("out", y), ("dout", dout), ("dinp", xx.grad)]:
            fx.tensor(name + "." + k, t)

    # dropout
    n, rate, key = 200, 0.3, crng_key(5, 11)
    x = leaf(rnd(g, n))
    y = dropout(x, rate, key)
    dout = rnd(g, n)
    y.backward(dout)
    fx.json("dropout.shape", {"n": n, "rate": rate, "key": str(key)})
    for k, t in [("inp", x), ("out", y), ("dout", dout), ("dinp", x.grad)]:
        fx.tensor("dropout." + k, t)

    # cross-entropy over V of Vp columns, one target ignored
    N, V, Vp = 6, 13, 16
    logits = leaf(rnd(g, N, Vp, scale=3.0))
    tg = torch.randint(0, V, (N,), generator=g)
    tg[2] = -1
    losses = Fn.cross_entropy(logits[:, :V], tg, ignore_index=-1, reduction="none")
    dloss = rnd(g, N).abs()
    losses.backward(dloss)
    lse = torch.logsumexp(logits[:, :V].detach(), -1)
    for k, t in [("logits", logits), ("targets", tg.double()), ("losses", losses),
                 ("lse", lse), ("dloss", dloss), ("dlogits", logits.grad)]:
        fx.tensor("crossentropy." + k, t)


# ---- model fixtures ----------------------------------------------------

BASE = {"layers": 2, "heads": 2, "width": 16, "context": 8, "vocab": 37,
        "padded_vocab": 0, "ffn": 0, "norm": "layernorm", "norm_position": "pre",
        "activation": "gelu", "positions": "learned", "bias": True, "tied": True,
        "dropout_embedding": 0.0, "dropout_attention": 0.0,
        "dropout_residual": 0.0, "norm_eps": 1e-5, "rope_theta": 10000.0}

MODELS = [
    ("gpt2", {}),
    ("llama", {"norm": "rmsnorm", "activation": "swiglu", "positions": "rope",
               "bias": False, "tied": False}),
    ("postnorm", {"norm_position": "post", "activation": "relu",
                  "positions": "sinusoidal"}),
    ("alibi_geglu", {"heads": 3, "width": 18, "activation": "geglu",
                     "positions": "alibi", "bias": False}),
    ("dropout", {"dropout_embedding": 0.1, "dropout_attention": 0.2,
                 "dropout_residual": 0.15}),
    ("post_rms_untied", {"norm_position": "post", "norm": "rmsnorm",
                         "activation": "gelu", "positions": "learned",
                         "tied": False}),
]


def finish(c):
    c = dict(c)
    if c["padded_vocab"] == 0:
        c["padded_vocab"] = (c["vocab"] + 127) // 128 * 128
    if c["ffn"] == 0:
        glu = c["activation"] in ("swiglu", "geglu")
        c["ffn"] = (8 * c["width"] // 3 + 63) // 64 * 64 if glu else 4 * c["width"]
    return c


def model_params(c, g):
    """name -> tensor, in lib/model.c's order."""
    L, C, F, Vp, V = c["layers"], c["width"], c["ffn"], c["padded_vocab"], c["vocab"]
    F1 = 2 * F if c["activation"] in ("swiglu", "geglu") else F
    ln_bias = c["norm"] == "layernorm" and c["bias"]
    P = {}
    wte = rnd(g, Vp, C, scale=0.3)
    wte[V:] = 0
    P["wte"] = wte
    if c["positions"] == "learned":
        P["wpe"] = rnd(g, c["context"], C, scale=0.3)
    kinds = [("ln_1.weight", (C,), "norm", True), ("ln_1.bias", (C,), "bias", ln_bias),
             ("attn.c_attn.weight", (3 * C, C), "w", True),
             ("attn.c_attn.bias", (3 * C,), "bias", c["bias"]),
             ("attn.c_proj.weight", (C, C), "w", True),
             ("attn.c_proj.bias", (C,), "bias", c["bias"]),
             ("ln_2.weight", (C,), "norm", True), ("ln_2.bias", (C,), "bias", ln_bias),
             ("mlp.c_fc.weight", (F1, C), "w", True),
             ("mlp.c_fc.bias", (F1,), "bias", c["bias"]),
             ("mlp.c_proj.weight", (C, F), "w", True),
             ("mlp.c_proj.bias", (C,), "bias", c["bias"])]
    for name, shape, kind, present in kinds:
        if not present:
            continue
        for l in range(L):
            if kind == "norm":
                t = 1 + rnd(g, *shape, scale=0.1)
            elif kind == "bias":
                t = rnd(g, *shape, scale=0.1)
            else:
                t = rnd(g, *shape, scale=0.4 / math.sqrt(shape[1]))
            P["h.%d.%s" % (l, name)] = t
    if c["norm_position"] == "pre":
        P["ln_f.weight"] = 1 + rnd(g, C, scale=0.1)
        if ln_bias:
            P["ln_f.bias"] = rnd(g, C, scale=0.1)
    if not c["tied"]:
        h = rnd(g, Vp, C, scale=0.3)
        h[V:] = 0
        P["lm_head.weight"] = h
    return P


def model_forward(c, P, ids, targets, B, T, train, key):
    L, C, nh = c["layers"], c["width"], c["heads"]
    N = B * T
    norm_kind = c["norm"]

    def norm(x, w, b):
        return layernorm(x, w, b, c["norm_eps"]) if norm_kind == "layernorm" \
            else rmsnorm(x, w, c["norm_eps"])

    def site(layer, s):
        return crng_key(crng_key(key, layer), s)

    def drop(x, rate, k):
        return dropout(x, rate, k) if train else x

    act = c["activation"]
    F = c["ffn"]
    x = P["wte"][ids]
    if c["positions"] == "learned":
        x = x + P["wpe"][torch.arange(N) % T]
    elif c["positions"] == "sinusoidal":
        x = x + sinusoid(c["context"], C)[torch.arange(N) % T]
    x = drop(x, c["dropout_embedding"], site(L, 3))
    slopes = alibi_slopes(nh) if c["positions"] == "alibi" else None
    cos = sin = None
    if c["positions"] == "rope":
        cos, sin = rope_tables(T, C // nh, c["rope_theta"])
    pre = c["norm_position"] == "pre"
    for l in range(L):
        p = lambda n: P.get("h.%d.%s" % (l, n))
        h = norm(x, p("ln_1.weight"), p("ln_1.bias")) if pre else x
        qkv = h @ p("attn.c_attn.weight").T
        if p("attn.c_attn.bias") is not None:
            qkv = qkv + p("attn.c_attn.bias")
        y, _ = attention(qkv.reshape(B, T, 3 * C), nh, slopes,
                         c["dropout_attention"] if train else 0.0, site(l, 0), cos, sin)
        ao = y.reshape(N, C) @ p("attn.c_proj.weight").T
        if p("attn.c_proj.bias") is not None:
            ao = ao + p("attn.c_proj.bias")
        s1 = x + drop(ao, c["dropout_residual"], site(l, 1))
        if pre:
            m_in = norm(s1, p("ln_2.weight"), p("ln_2.bias"))
        else:
            m_in = norm(s1, p("ln_1.weight"), p("ln_1.bias"))
        fch = m_in @ p("mlp.c_fc.weight").T
        if p("mlp.c_fc.bias") is not None:
            fch = fch + p("mlp.c_fc.bias")
        if act == "gelu":
            fca = gelu(fch)
        elif act == "relu":
            fca = Fn.relu(fch)
        elif act == "swiglu":
            fca = Fn.silu(fch[:, :F]) * fch[:, F:]
        else:
            fca = gelu(fch[:, :F]) * fch[:, F:]
        fo = fca @ p("mlp.c_proj.weight").T
        if p("mlp.c_proj.bias") is not None:
            fo = fo + p("mlp.c_proj.bias")
        fo = drop(fo, c["dropout_residual"], site(l, 2))
        x = s1 + fo if pre else norm(m_in + fo, p("ln_2.weight"), p("ln_2.bias"))
    if pre:
        x = norm(x, P["ln_f.weight"], P.get("ln_f.bias"))
    head = P["wte"] if c["tied"] else P["lm_head.weight"]
    logits = x @ head.T
    loss = Fn.cross_entropy(logits[:, :c["vocab"]], targets, ignore_index=-1)
    return logits, loss


def model_fixtures(fx):
    g = torch.Generator().manual_seed(4321)
    for name, over in MODELS:
        c = finish({**BASE, **over})
        P = {k: leaf(v) for k, v in model_params(c, g).items()}
        B, T = 2, c["context"]
        ids = torch.randint(0, c["vocab"], (B * T,), generator=g)
        targets = torch.randint(0, c["vocab"], (B * T,), generator=g)
        if name == "gpt2":
            targets[3] = -1
        train = name == "dropout"
        key = crng_key(2024, 1)
        logits, loss = model_forward(c, P, ids, targets, B, T, train, key)
        loss.backward()
        pre = name + "."
        fx.json(pre + "config", c)
        fx.json(pre + "run", {"B": B, "T": T, "train": train, "key": str(key)})
        fx.tensor(pre + "ids", ids.double())
        fx.tensor(pre + "targets", targets.double())
        fx.tensor(pre + "loss", loss.detach().reshape(1))
        fx.tensor(pre + "logits", logits[:, :c["vocab"]])
        for k, v in P.items():
            fx.tensor(pre + "param." + k, v)
            fx.tensor(pre + "grad." + k, v.grad)


# ---- AdamW fixtures -----------------------------------------------------

def optim_fixtures(fx):
    """torch.optim.AdamW on two tensors, one with weight decay and one
    without, gradients clipped to a global norm of 0.5 every step."""
    g = torch.Generator().manual_seed(99)
    w = rnd(g, 24).requires_grad_(True)
    b = rnd(g, 8).requires_grad_(True)
    fx.tensor("adamw.w0", w)
    fx.tensor("adamw.b0", b)
    lr, wd, betas, eps = 1e-2, 0.1, (0.9, 0.95), 1e-8
    fx.json("adamw.cfg", {"lr": lr, "weight_decay": wd, "beta1": betas[0],
                          "beta2": betas[1], "eps": eps, "clip": 0.5, "steps": 4})
    opt = torch.optim.AdamW([{"params": [w], "weight_decay": wd},
                             {"params": [b], "weight_decay": 0.0}],
                            lr=lr, betas=betas, eps=eps)
    for k in range(4):
        gw, gb = rnd(g, 24, scale=0.3), rnd(g, 8, scale=0.3)
        w.grad, b.grad = gw.clone(), gb.clone()
        fx.tensor("adamw.gw%d" % k, gw)
        fx.tensor("adamw.gb%d" % k, gb)
        norm = torch.nn.utils.clip_grad_norm_([w, b], 0.5)
        fx.tensor("adamw.norm%d" % k, norm.reshape(1))
        opt.step()
        fx.tensor("adamw.w%d" % (k + 1), w)
        fx.tensor("adamw.b%d" % (k + 1), b)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/ref"
    fx = Fixture()
    op_fixtures(fx)
    fx.save(out + "/train_ops.fix")
    fx = Fixture()
    model_fixtures(fx)
    fx.save(out + "/train_models.fix")
    fx = Fixture()
    optim_fixtures(fx)
    fx.save(out + "/train_optim.fix")


if __name__ == "__main__":
    main()
