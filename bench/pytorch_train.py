#!/usr/bin/python3
"""PyTorch side of `lori bench train`: LoRA fine-tuning tokens/s on the same shapes (Debian torch 1.13, 2 threads).

A Llama written from Hugging Face's LlamaForCausalLM semantics (RMSNorm, rotate-half RoPE, GQA causal attention,
SwiGLU, untied lm_head), random fp32 weights, LoRA rank 16 on all seven projections with A and the base frozen
(LoRI-D), per-sequence summed NLL averaged over the batch, AdamW on B. One step = forward + backward + AdamW on a
[batch, seq] batch of random tokens; tokens/s = batch * seq / step time, after a warm-up step.

  /usr/bin/python3 bench/pytorch_train.py --shape tiny|small|medium [--steps 5] [--seq 256] [--batch B]
"""
import argparse
import math
import time

import torch

SHAPES = {  # hidden, layers, heads, kv heads, ffn, vocab, default batch
    "tiny": (64, 5, 8, 4, 172, 512, 8),
    "small": (512, 8, 8, 8, 1376, 32000, 4),
    "medium": (2048, 4, 32, 8, 5632, 32000, 2),
}


class Lora(torch.nn.Module):
    def __init__(self, n_in, n_out, r, alpha):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(n_out, n_in) / math.sqrt(n_in), requires_grad=False)
        self.a = torch.nn.Parameter((torch.rand(r, n_in) * 2 - 1) / math.sqrt(n_in), requires_grad=False)
        self.b = torch.nn.Parameter(torch.zeros(n_out, r))
        self.s = alpha / r

    def forward(self, x):
        return x @ self.weight.t() + (x @ self.a.t()) @ self.b.t() * self.s


def rms(x, w, eps=1e-5):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Model(torch.nn.Module):
    def __init__(self, c, layers, heads, kv, ffn, vocab, r=16, alpha=32):
        super().__init__()
        self.c, self.h, self.kv, self.d = c, heads, kv, c // heads
        self.embed = torch.nn.Parameter(torch.randn(vocab, c), requires_grad=False)
        self.head = torch.nn.Parameter(torch.randn(vocab, c) / math.sqrt(c), requires_grad=False)
        self.norm = torch.nn.Parameter(torch.ones(c), requires_grad=False)
        kvd = kv * self.d
        self.layers = torch.nn.ModuleList()
        for _ in range(layers):
            m = torch.nn.ModuleDict(dict(q=Lora(c, c, r, alpha), k=Lora(c, kvd, r, alpha), v=Lora(c, kvd, r, alpha),
                                         o=Lora(c, c, r, alpha), g=Lora(c, ffn, r, alpha), u=Lora(c, ffn, r, alpha),
                                         dn=Lora(ffn, c, r, alpha)))
            m.n1 = torch.nn.Parameter(torch.ones(c), requires_grad=False)
            m.n2 = torch.nn.Parameter(torch.ones(c), requires_grad=False)
            self.layers.append(m)

    def forward(self, ids):
        b, T = ids.shape
        x = self.embed[ids]
        inv = 1.0 / (10000.0 ** (torch.arange(0, self.d, 2).float() / self.d))
        f = torch.outer(torch.arange(T).float(), inv)
        emb = torch.cat((f, f), -1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.full((T, T), float("-inf")).triu(1)
        for m in self.layers:
            h = rms(x, m.n1)
            q = m["q"](h).view(b, T, self.h, self.d).transpose(1, 2)
            k = m["k"](h).view(b, T, self.kv, self.d).transpose(1, 2)
            v = m["v"](h).view(b, T, self.kv, self.d).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = k.repeat_interleave(self.h // self.kv, 1)
            v = v.repeat_interleave(self.h // self.kv, 1)
            a = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(self.d) + mask, -1) @ v
            x = x + m["o"](a.transpose(1, 2).reshape(b, T, self.c))
            h = rms(x, m.n2)
            x = x + m["dn"](torch.nn.functional.silu(m["g"](h)) * m["u"](h))
        return rms(x, self.norm) @ self.head.t()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="tiny", choices=sorted(SHAPES))
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    c, layers, heads, kv, ffn, vocab, batch = SHAPES[args.shape]
    batch = args.batch or batch
    model = Model(c, layers, heads, kv, ffn, vocab)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    ids = torch.randint(0, vocab, (batch, args.seq))
    rates, cpu_rates = [], []
    for step in range(args.steps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        logits = model(ids)
        logp = torch.gather(logits[:, :-1].log_softmax(-1), 2, ids[:, 1:].unsqueeze(2)).squeeze(2)
        loss = (-logp.sum(-1)).mean()
        opt.zero_grad()
        loss.backward()
        for p in params:
            torch.nn.utils.clip_grad_norm_(p, 1.0)
        opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if step > 0:
            rates.append(batch * args.seq / dt)
            cpu_rates.append(batch * args.seq / (dc / 2))
    rates.sort()
    cpu_rates.sort()
    print(f"pytorch {torch.__version__} train {args.shape}: batch {batch} x {args.seq}, {args.steps} steps: "
          f"tokens/s min {rates[0]:.0f} median {rates[len(rates) // 2]:.0f} max {rates[-1]:.0f}; per CPU time "
          f"(tokens / (process CPU s / 2 threads)) median {cpu_rates[len(cpu_rates) // 2]:.0f}")


if __name__ == "__main__":
    main()
