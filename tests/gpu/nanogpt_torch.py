#!/usr/bin/env python3
"""nanogpt_torch.py - nanoGPT's shakespeare-char model in PyTorch, the
anchor of tests/gpu/run.sh: the same run as llmkit's GPU trainer on the
same card, to report a wall-time ratio.

The model is nanoGPT's GPT (written here from its description, not copied):
pre-norm blocks, LayerNorm and Linear without biases (nanoGPT's bias=False),
GELU, learned positions, tied output layer, causal attention through
torch.nn.functional.scaled_dot_product_attention (flash), dropout 0.2;
AdamW (betas 0.9, 0.99, weight decay 0.1 on every 2-D tensor, fused),
warmup 100 then cosine from 1e-3 to 1e-4 at 5000 steps, clipping at 1.0,
bf16 autocast, torch.compile unless --no-compile.  Data: the bytes of
tinyshakespeare, first 90% train, last 10% val, token = byte + 1 (llmkit's
bytes.bpe ids), random windows as nanoGPT's get_batch draws them.

usage: nanogpt_torch.py TEXT [--steps N] [--max-seconds S] [--no-compile]
                         [--eval-every N] [--eval-batches N]
Prints one JSON line: steps, val_loss (at the end), best_val_loss (over the
evaluations every N steps and the end), wall_s, train_s and ms_per_step
(training only: evaluations are timed apart).
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, C, H, p):
        super().__init__()
        self.ln1 = nn.LayerNorm(C, bias=False)
        self.qkv = nn.Linear(C, 3 * C, bias=False)
        self.proj = nn.Linear(C, C, bias=False)
        self.ln2 = nn.LayerNorm(C, bias=False)
        self.fc = nn.Linear(C, 4 * C, bias=False)
        self.fcproj = nn.Linear(4 * C, C, bias=False)
        self.H, self.p = H, p
        self.drop = nn.Dropout(p)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.p if self.training else 0,
                                           is_causal=True)
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(B, T, C)))
        return x + self.drop(self.fcproj(F.gelu(self.fc(self.ln2(x)))))


class GPT(nn.Module):
    def __init__(self, V, T, L, H, C, p):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.drop = nn.Dropout(p)
        self.blocks = nn.ModuleList(Block(C, H, p) for _ in range(L))
        self.lnf = nn.LayerNorm(C, bias=False)
        self.apply(self._init)
        for n, w in self.named_parameters():
            if n.endswith("proj.weight"):
                nn.init.normal_(w, 0.0, 0.02 / math.sqrt(2 * L))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(T, device=idx.device)))
        for b in self.blocks:
            x = b(x)
        logits = self.lnf(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.view(-1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("text")
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--max-seconds", type=float, default=0)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--eval-batches", type=int, default=200)
    ap.add_argument("--eval-every", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(1337)
    dev = "cuda"
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    data = open(a.text, "rb").read()
    ids = torch.tensor(list(data), dtype=torch.long) + 1
    n = int(len(ids) * 0.9)
    train, val = ids[:n].to(dev), ids[n:].to(dev)
    B, T = 64, 256

    def batch(split):
        d = train if split == "train" else val
        ix = torch.randint(len(d) - T - 1, (B,), device=dev)
        off = torch.arange(T, device=dev)
        return d[ix[:, None] + off], d[ix[:, None] + off + 1]

    model = GPT(257, T, 6, 6, 384, 0.2).to(dev)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": other, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99), fused=True)
    step_fn = model if a.no_compile else torch.compile(model)

    def lr_at(it):
        if it < 100:
            return 1e-3 * (it + 1) / 100
        x = min(1.0, (it - 100) / (5000 - 100))
        return 1e-4 + 0.5 * (1 + math.cos(math.pi * x)) * (1e-3 - 1e-4)

    def evaluate():
        model.eval()
        with torch.no_grad():
            losses = []
            for _ in range(a.eval_batches):
                x, y = batch("val")
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    losses.append(step_fn(x, y).item())
        model.train()
        return sum(losses) / len(losses)

    t0 = time.time()
    steady = None
    done = 0
    eval_s = 0.0
    vals = []
    for it in range(a.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(it)
        x, y = batch("train")
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = step_fn(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        done = it + 1
        if it == 9:
            torch.cuda.synchronize()
            steady = (time.time(), done)
        if a.eval_every and done % a.eval_every == 0 and done < a.steps:
            torch.cuda.synchronize()
            e0 = time.time()
            vals.append(evaluate())
            eval_s += time.time() - e0
        if a.max_seconds and time.time() - t0 > a.max_seconds:
            break
    torch.cuda.synchronize()
    t1 = time.time()
    last = evaluate()
    vals.append(last)
    # evaluations after step 10 fell inside the steady window: take them out
    ms = ((t1 - steady[0] - eval_s) / (done - steady[1]) * 1e3
          if steady and done > steady[1] else float("nan"))
    print(json.dumps({"steps": done, "val_loss": last, "best_val_loss": min(vals),
                      "train_s": t1 - t0 - eval_s, "wall_s": time.time() - t0,
                      "ms_per_step": ms, "compile": not a.no_compile,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    sys.exit(main())
