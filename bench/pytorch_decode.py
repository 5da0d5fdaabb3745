#!/usr/bin/python3
"""PyTorch side of `lori bench`: the same Llama shapes with random weights, decode (batch 1, KV cache)
and prefill speed in fp32 and bf16, 2 threads. Run with Debian's torch (no transformers needed):

    /usr/bin/python3 bench/pytorch_decode.py --shape tinyllama --dtype both

The model is a minimal Llama (RMSNorm, rotate-half RoPE, GQA attention, SwiGLU, untied lm_head) in plain
torch ops, as HF's eager LlamaForCausalLM computes it; the numbers are the anchor for lori4j's.
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F

SHAPES = {  # hidden, layers, heads, kv heads, ffn, vocab -- as RandomWeights.shape in lori4j
    "tinyllama": (2048, 22, 32, 4, 5632, 32000),
    "medium": (2048, 4, 32, 8, 5632, 32000),
    "small": (512, 8, 8, 8, 1376, 32000),
    "tiny": (64, 5, 8, 4, 172, 512),
}


class Llama:
    def __init__(self, shape, dtype, max_len):
        C, L, H, KV, Fd, V = SHAPES[shape]
        self.C, self.L, self.H, self.KV, self.D, self.V = C, L, H, KV, C // H, V
        g = torch.Generator().manual_seed(1)

        def w(o, i):
            return ((torch.rand(o, i, generator=g) * 2 - 1) * math.sqrt(3.0 / i)).to(dtype)

        self.embed = (torch.rand(V, C, generator=g) * 2 - 1).to(dtype)
        self.layers = [dict(q=w(H * self.D, C), k=w(KV * self.D, C), v=w(KV * self.D, C), o=w(C, H * self.D),
                            gate=w(Fd, C), up=w(Fd, C), down=w(C, Fd),
                            n1=torch.ones(C, dtype=dtype), n2=torch.ones(C, dtype=dtype)) for _ in range(L)]
        self.norm = torch.ones(C, dtype=dtype)
        self.head = w(V, C)
        inv = 1.0 / (10000.0 ** (torch.arange(0, self.D, 2, dtype=torch.int64).float() / self.D))
        ang = torch.outer(torch.arange(max_len, dtype=torch.float32), inv)
        emb = torch.cat((ang, ang), dim=-1)
        self.cos, self.sin = emb.cos().to(dtype), emb.sin().to(dtype)
        self.dtype = dtype
        self.max_len = max_len

    def weight_bytes(self):
        n = self.head.numel()
        for l in self.layers:
            n += sum(l[k].numel() for k in ("q", "k", "v", "o", "gate", "up", "down"))
        return n * self.head.element_size()

    def new_cache(self):
        return [(torch.zeros(self.KV, self.max_len, self.D, dtype=self.dtype),
                 torch.zeros(self.KV, self.max_len, self.D, dtype=self.dtype)) for _ in range(self.L)], 0

    @staticmethod
    def rms(x, w):
        x32 = x.float()
        return w * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + 1e-5)).to(x.dtype)

    @staticmethod
    def rot(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    def forward(self, tokens, cache):
        kv, p0 = cache
        T = tokens.shape[0]
        x = self.embed[tokens]
        cos, sin = self.cos[p0:p0 + T], self.sin[p0:p0 + T]
        for li, l in enumerate(self.layers):
            h = self.rms(x, l["n1"])
            q = (h @ l["q"].T).view(T, self.H, self.D).transpose(0, 1)
            k = (h @ l["k"].T).view(T, self.KV, self.D).transpose(0, 1)
            v = (h @ l["v"].T).view(T, self.KV, self.D).transpose(0, 1)
            q = q * cos + self.rot(q) * sin
            k = k * cos + self.rot(k) * sin
            kc, vc = kv[li]
            kc[:, p0:p0 + T] = k
            vc[:, p0:p0 + T] = v
            K = kc[:, :p0 + T].repeat_interleave(self.H // self.KV, dim=0)
            Vv = vc[:, :p0 + T].repeat_interleave(self.H // self.KV, dim=0)
            att = (q @ K.transpose(1, 2)) / math.sqrt(self.D)
            if T > 1:
                mask = torch.full((T, p0 + T), float("-inf")).triu(p0 + 1)
                att = att + mask.to(att.dtype)
            att = torch.softmax(att.float(), dim=-1).to(q.dtype)
            o = (att @ Vv).transpose(0, 1).reshape(T, self.H * self.D)
            x = x + o @ l["o"].T
            h = self.rms(x, l["n2"])
            x = x + (F.silu(h @ l["gate"].T) * (h @ l["up"].T)) @ l["down"].T
        last = self.rms(x[-1:], self.norm)
        return (last @ self.head.T).float(), (kv, p0 + T)


def bench(shape, dtype, tokens, prefill, runs):
    name = {torch.float32: "fp32", torch.bfloat16: "bf16"}[dtype]
    m = Llama(shape, dtype, max(prefill, 8 + tokens))
    ids = torch.randint(0, m.V, (prefill,), generator=torch.Generator().manual_seed(7))
    rates, pre = [], []
    with torch.inference_mode():
        for run in range(runs + 1):
            cache = m.new_cache()
            logits, cache = m.forward(ids[:8], cache)
            t0 = time.perf_counter()
            for _ in range(tokens):
                nxt = torch.argmax(logits, dim=-1)
                logits, cache = m.forward(nxt, cache)
            s = time.perf_counter() - t0
            t0 = time.perf_counter()
            m.forward(ids, m.new_cache())
            p = time.perf_counter() - t0
            if run > 0:
                rates.append(tokens / s)
                pre.append(prefill / p)
    gb = m.weight_bytes() / 1e9
    med = statistics.median(rates)
    print(f"torch {torch.__version__} {name} {shape}, {torch.get_num_threads()} threads: "
          f"decode tokens/s min {min(rates):.2f} median {med:.2f} max {max(rates):.2f} "
          f"({med * gb:.1f} GB/s of {gb:.2f} GB weights); "
          f"prefill-{prefill} tokens/s min {min(pre):.1f} median {statistics.median(pre):.1f} max {max(pre):.1f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", default="tinyllama", choices=SHAPES)
    ap.add_argument("--dtype", default="both", choices=["f32", "bf16", "both"])
    ap.add_argument("--tokens", type=int, default=32, help="decode tokens per run")
    ap.add_argument("--prefill", type=int, default=256, help="prefill prompt length")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for d in ([torch.float32, torch.bfloat16] if a.dtype == "both" else
              [torch.float32 if a.dtype == "f32" else torch.bfloat16]):
        bench(a.shape, d, a.tokens, a.prefill, a.runs)
