#!/usr/bin/python3
"""Reference fixtures for lori4j training (run with Debian's /usr/bin/python3, torch 1.13).

A tiny Llama written from the Hugging Face LlamaForCausalLM semantics (RMSNorm, rotate-half RoPE,
grouped-query causal attention with right padding, SwiGLU, untied lm_head), PEFT LoRA on all seven
projections (y = x W^T + s * (x A^T) B^T, no dropout), trained with LoRI's trainer step semantics
(juzhengz/LoRI src/mask_trainers.py + src/apply_mask_in_backward.py):
  - per-sequence loss = -(sum of next-token log-probs over label tokens), micro-batch loss = mean,
    each micro-batch contributes loss / M to the gradient;
  - one AdamW per trainable tensor (betas 0.9/0.999, eps 1e-8, wd 0) with its own LambdaLR
    lr * min(1, (k+1)/(warmup+1)), k = that optimiser's steps so far;
  - before each step: gradient entries outside the mask set to 0, then clip_grad_norm_(p, max) per tensor;
  - accumulation "standard": gradients of the M micro-batches summed, one step per batch;
    accumulation "reference": a step after every micro-batch (what the hooks upstream do).
Gradients come from autograd; the training runs in float64 from float32-representable inputs.

Writes src/test/resources/fixtures/train/: a model folder, pre-tokenized data, an init adapter,
masks (upstream .pt layout and safetensors), and the expected adapters after training.
"""
import json
import math
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures", "train")
DT = torch.float64

CFG = dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
           num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0,
           max_position_embeddings=64, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
           pad_token_id=0, hidden_act="silu", model_type="llama", architectures=["LlamaForCausalLM"],
           torch_dtype="float32")
R, ALPHA = 4, 8
SCALE = ALPHA / R
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


# ---------------------------------------------------------------- files
def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        if t.dtype == torch.bool:
            dtype, raw = "BOOL", bytes(t.to(torch.uint8).flatten().tolist())
        else:
            dtype, raw = "F32", struct.pack("<%df" % t.numel(), *t.to(torch.float32).flatten().tolist())
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def adapter_key(layer, proj, which):
    part = "mlp" if proj in ("gate_proj", "up_proj", "down_proj") else "self_attn"
    return f"base_model.model.model.layers.{layer}.{part}.{proj}.lora_{which}.weight"


def write_adapter(folder, lora):
    write_json(os.path.join(folder, "adapter_config.json"), {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": R, "lora_alpha": ALPHA, "lora_dropout": 0.0,
        "target_modules": TARGETS, "bias": "none", "fan_in_fan_out": False, "use_rslora": False,
        "use_dora": False, "rank_pattern": {}, "alpha_pattern": {}, "modules_to_save": None,
        "base_model_name_or_path": "tiny", "inference_mode": True, "init_lora_weights": True})
    write_safetensors(os.path.join(folder, "adapter_model.safetensors"),
                      {k: v.detach() for k, v in sorted(lora.items())})


# ---------------------------------------------------------------- model
def f32(t):
    """Rounds to float32 and back so Java sees exactly the values used here."""
    return t.to(torch.float32).to(DT)


def make_base(gen):
    c, f, v = CFG["hidden_size"], CFG["intermediate_size"], CFG["vocab_size"]
    hd = c // CFG["num_attention_heads"]
    kv = CFG["num_key_value_heads"] * hd
    w = {"model.embed_tokens.weight": f32(torch.randn(v, c, generator=gen, dtype=DT)),
         "model.norm.weight": f32(1 + 0.1 * torch.randn(c, generator=gen, dtype=DT)),
         "lm_head.weight": f32(torch.randn(v, c, generator=gen, dtype=DT) / math.sqrt(c))}
    shapes = {"self_attn.q_proj": (c, c), "self_attn.k_proj": (kv, c), "self_attn.v_proj": (kv, c),
              "self_attn.o_proj": (c, c), "mlp.gate_proj": (f, c), "mlp.up_proj": (f, c), "mlp.down_proj": (c, f)}
    for l in range(CFG["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = f32(1 + 0.1 * torch.randn(c, generator=gen, dtype=DT))
        w[p + "post_attention_layernorm.weight"] = f32(1 + 0.1 * torch.randn(c, generator=gen, dtype=DT))
        for name, (o, i) in shapes.items():
            w[p + name + ".weight"] = f32(torch.randn(o, i, generator=gen, dtype=DT) / math.sqrt(i))
    return w


def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_cos_sin(T, hd):
    inv = 1.0 / (CFG["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = torch.outer(torch.arange(T).float(), inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(DT), emb.sin().to(DT)


def proj(base, lora, layer, name, x):
    part = "mlp" if name in ("gate_proj", "up_proj", "down_proj") else "self_attn"
    y = x @ base[f"model.layers.{layer}.{part}.{name}.weight"].t()
    a, b = lora[adapter_key(layer, name, "A")], lora[adapter_key(layer, name, "B")]
    return y + ((x @ a.t()) @ b.t()) * SCALE


def forward(base, lora, ids, attn_mask):
    """Logits [b, T, V] of the padded batch, HF LlamaForCausalLM with an additive causal+padding mask."""
    b, T = ids.shape
    c, H, KV = CFG["hidden_size"], CFG["num_attention_heads"], CFG["num_key_value_heads"]
    hd = c // H
    eps = CFG["rms_norm_eps"]
    x = base["model.embed_tokens.weight"][ids]
    cos, sin = rope_cos_sin(T, hd)
    neg = torch.finfo(DT).min
    causal = torch.full((T, T), neg, dtype=DT).triu(1)
    mask = causal[None, None] + (1.0 - attn_mask[:, None, None, :].to(DT)) * neg
    for l in range(CFG["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, base[p + "input_layernorm.weight"], eps)
        q = proj(base, lora, l, "q_proj", h).view(b, T, H, hd).transpose(1, 2)
        k = proj(base, lora, l, "k_proj", h).view(b, T, KV, hd).transpose(1, 2)
        v = proj(base, lora, l, "v_proj", h).view(b, T, KV, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        s = q @ k.transpose(2, 3) / math.sqrt(hd) + mask
        s = torch.max(s, torch.tensor(neg, dtype=DT))
        att = torch.softmax(s, dim=-1) @ v
        att = att.transpose(1, 2).reshape(b, T, c)
        x = x + proj(base, lora, l, "o_proj", att)
        h = rms_norm(x, base[p + "post_attention_layernorm.weight"], eps)
        g = proj(base, lora, l, "gate_proj", h)
        u = proj(base, lora, l, "up_proj", h)
        x = x + proj(base, lora, l, "down_proj", torch.nn.functional.silu(g) * u)
    x = rms_norm(x, base["model.norm.weight"], eps)
    return x @ base["lm_head.weight"].t()


def batch_logps(logits, labels):
    """LoRI's _get_batch_logps with average_log_prob=False: sum over label tokens of log p(next token)."""
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    loss_mask = labels != -100
    labels[labels == -100] = 0
    per_token = torch.gather(logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)).squeeze(2)
    return (per_token * loss_mask).sum(-1)


def collate(examples):
    T = max(len(e["input_ids"]) for e in examples)
    ids = torch.zeros(len(examples), T, dtype=torch.long)
    labels = torch.full((len(examples), T), -100, dtype=torch.long)
    am = torch.zeros(len(examples), T, dtype=torch.long)
    for i, e in enumerate(examples):
        n = len(e["input_ids"])
        ids[i, :n] = torch.tensor(e["input_ids"])
        labels[i, :n] = torch.tensor(e["labels"])
        am[i, :n] = 1
    return ids, labels, am


# ---------------------------------------------------------------- trainer
def train(base, init, data, *, method, steps, batch_size, micro, lr, warmup, max_grad_norm, accumulation, masks=None):
    """Runs `steps` batches in data order (no shuffle; the order restarts each epoch, partial batches dropped)."""
    lora = {k: v.clone().requires_grad_(method == "lora" or ".lora_B." in k) for k, v in init.items()}
    trainable = [k for k in sorted(lora) if lora[k].requires_grad]
    opts, scheds = {}, {}
    for k in trainable:
        opts[k] = torch.optim.AdamW([lora[k]], lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
        scheds[k] = torch.optim.lr_scheduler.LambdaLR(opts[k], lambda s: min(1.0, (s + 1) / (warmup + 1)))
    M = batch_size // micro
    per_epoch = len(data) // batch_size
    losses, norms = [], []

    def opt_step():
        step_norms = {}
        for k in trainable:
            p = lora[k]
            if masks is not None and k.replace(".lora_B.weight", ".lora_B.default.weight") in masks:
                p.grad[~masks[k.replace(".lora_B.weight", ".lora_B.default.weight")]] = 0
            step_norms[k] = float(torch.nn.utils.clip_grad_norm_(p, max_grad_norm))
            opts[k].step()
            scheds[k].step()
            p.grad = None
        norms.append(step_norms)

    for step in range(steps):
        first = (step % per_epoch) * batch_size
        batch = data[first:first + batch_size]
        total = 0.0
        for m in range(M):
            ids, labels, am = collate(batch[m * micro:(m + 1) * micro])
            loss = (-batch_logps(forward(base, lora, ids, am), labels)).mean()
            (loss / M).backward()
            total += float(loss) / M
            if accumulation == "reference":
                opt_step()
        if accumulation == "standard":
            opt_step()
        losses.append(total)
    return {k: v.detach() for k, v in lora.items()}, losses, norms


def make_data(gen, n, lo, hi):
    data = []
    for _ in range(n):
        length = int(torch.randint(lo, hi + 1, (1,), generator=gen))
        prompt = int(torch.randint(2, 6, (1,), generator=gen))
        ids = torch.randint(3, CFG["vocab_size"], (length,), generator=gen).tolist()
        ids[-1] = CFG["eos_token_id"]
        labels = [-100] * prompt + ids[prompt:]
        data.append({"input_ids": ids, "labels": labels})
    return data


def extract_mask(lora, sparsity):
    """Model-granularity mask over all B entries: keep |B| >= k-th largest, k = int((1-s)*n)."""
    keys = sorted(k for k in lora if ".lora_B." in k)
    flat = torch.cat([lora[k].abs().flatten() for k in keys])
    k = int((1 - sparsity) * flat.numel())
    thr = torch.topk(flat, k).values[-1]
    return {k2.replace(".lora_B.weight", ".lora_B.default.weight"): (lora[k2].abs() >= thr) for k2 in keys}


def main():
    global DT
    gen = torch.Generator().manual_seed(1234)
    base = make_base(gen)
    write_json(os.path.join(OUT, "model", "config.json"), CFG)
    write_safetensors(os.path.join(OUT, "model", "model.safetensors"), base)

    data = make_data(gen, 8, 6, 14)
    data2 = make_data(gen, 8, 5, 12)
    for name, d in (("data.jsonl", data), ("data2.jsonl", data2)):
        with open(os.path.join(OUT, name), "w") as f:
            for e in d:
                f.write(json.dumps(e) + "\n")

    # PEFT default init: A ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B = 0
    c, f = CFG["hidden_size"], CFG["intermediate_size"]
    kv = CFG["num_key_value_heads"] * c // CFG["num_attention_heads"]
    dims = {"q_proj": (c, c), "k_proj": (kv, c), "v_proj": (kv, c), "o_proj": (c, c),
            "gate_proj": (f, c), "up_proj": (f, c), "down_proj": (c, f)}
    init = {}
    for l in range(CFG["num_hidden_layers"]):
        for p, (o, i) in dims.items():
            bound = 1 / math.sqrt(i)
            init[adapter_key(l, p, "A")] = f32((torch.rand(R, i, generator=gen, dtype=DT) * 2 - 1) * bound)
            init[adapter_key(l, p, "B")] = torch.zeros(o, R, dtype=DT)
    write_adapter(os.path.join(OUT, "init"), init)

    common = dict(batch_size=4, micro=2, warmup=2)
    expected = {}

    # 1. LoRI-D: B trained, A frozen, standard accumulation, clipping active
    lorid, losses, norms = train(base, init, data, method="lori-d", steps=4, lr=1e-2, max_grad_norm=1.0,
                                 accumulation="standard", **common)
    write_adapter(os.path.join(OUT, "lorid"), lorid)
    expected["lori-d"] = dict(losses=losses, norms=norms,
                              args="--method lori-d --steps 4 --batch-size 4 --micro-batch-size 2 --warmup 2 --lr 1e-2 --max-grad-norm 1.0")

    # mask from the LoRI-D adapter at sparsity 0.5, upstream layout <adapter>/masks/<s>_mask.pt
    mask = extract_mask(lorid, 0.5)
    os.makedirs(os.path.join(OUT, "lorid", "masks"), exist_ok=True)
    torch.save(mask, os.path.join(OUT, "lorid", "masks", "0.5_mask.pt"))
    write_safetensors(os.path.join(OUT, "lorid", "masks", "0.5_mask.safetensors"), mask)

    # 2. LoRI-S: fresh adapter (same A, B = 0) with the mask, reference accumulation (a step per micro-batch)
    loris, losses, norms = train(base, init, data, method="lori-s", steps=4, lr=1e-2, max_grad_norm=0.8,
                                 accumulation="reference", masks=mask, **common)
    write_adapter(os.path.join(OUT, "expected", "lori-s"), loris)
    expected["lori-s"] = dict(losses=losses, norms=norms,
                              args="--method lori-s --mask lorid/masks/0.5_mask.pt --accumulation reference --steps 4 --max-grad-norm 0.8 ...")

    # 3. LoRA baseline: A and B trained
    lora, losses, norms = train(base, init, data, method="lora", steps=4, lr=1e-2, max_grad_norm=1.0,
                                accumulation="standard", **common)
    write_adapter(os.path.join(OUT, "expected", "lora"), lora)
    expected["lora"] = dict(losses=losses, norms=norms, args="--method lora --max-grad-norm 1.0 ...")

    # 4. continual LoRI-S: start from the LoRI-D adapter (task 1), train on data2 with a mask of ~30% density
    cmask = {k: torch.rand(v.shape, generator=gen) < 0.3 for k, v in mask.items()}
    write_safetensors(os.path.join(OUT, "continual_mask.safetensors"), cmask)
    cont, losses, norms = train(base, lorid, data2, method="lori-s", steps=3, lr=1e-2, max_grad_norm=0.5,
                                accumulation="standard", masks=cmask, **common)
    write_adapter(os.path.join(OUT, "expected", "continual"), cont)
    expected["continual"] = dict(losses=losses, norms=norms, args="--init-adapter lorid --mask continual_mask.safetensors --data data2.jsonl --steps 3 --max-grad-norm 0.5")

    write_json(os.path.join(OUT, "expected", "runs.json"), expected)

    # float32 sanity: how far torch's own f32 run lands from the f64 truth (for the tolerance chosen in Java)
    DT = torch.float32
    b32 = {k: v.float() for k, v in base.items()}
    i32 = {k: v.float() for k, v in init.items()}
    l32, _, _ = train(b32, i32, data, method="lori-d", steps=4, lr=1e-2, max_grad_norm=1.0,
                      accumulation="standard", **common)
    num = sum(float((l32[k].double() - lorid[k]).pow(2).sum()) for k in lorid)
    den = sum(float(lorid[k].pow(2).sum()) for k in lorid)
    print("lori-d losses", expected["lori-d"]["losses"])
    print("lori-s losses", expected["lori-s"]["losses"])
    print("relative error of torch f32 vs f64 (LoRI-D B):", math.sqrt(num / den))


if __name__ == "__main__":
    main()
