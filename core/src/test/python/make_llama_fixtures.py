#!/usr/bin/python3
"""Reference logits for tiny random Llama-family models, written as Hugging Face model folders.

An independent re-implementation of transformers' LlamaForCausalLM / Qwen2ForCausalLM forward
(eager attention, rotate-half RoPE with default / linear / llama3 inverse frequencies, GQA,
optional q/k/v bias, tied or untied lm_head), computed in float64 from weights as stored
(bf16/f16 weights are widened exactly). inv_freq and the angles are formed in float32 exactly as
transformers does, then widened. Run with Debian's torch:

    /usr/bin/python3 src/test/python/make_llama_fixtures.py

Each folder src/test/resources/fixtures/llama/<name>/ gets config.json, model.safetensors
(serialised by hand below: 8-byte header length, JSON header, raw little-endian data) and
expected.safetensors with "tokens" (I32 [T]) and "logits" (F32 [T, vocab]).
"""
import json
import math
import os
import sys
import struct

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "fixtures", "llama")

ST_DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int32: "I32"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype in (torch.bfloat16, torch.float16):
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.float32:
        return t.numpy().astype("<f4").tobytes()
    if t.dtype == torch.int32:
        return t.numpy().astype("<i4").tobytes()
    raise ValueError(t.dtype)


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        b = tensor_bytes(t)
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def inv_freq_f32(cfg, head_dim):
    """transformers' _compute_default/linear/llama3 rope parameters, in float32 as upstream."""
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    rs = cfg.get("rope_scaling")
    if rs is None:
        return inv
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        return inv / rs["factor"]
    if kind == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        lo_wav, hi_wav = old / lo, old / hi
        wavelen = 2 * math.pi / inv
        out = torch.where(wavelen > lo_wav, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * out / factor + smooth * out
        medium = ~(wavelen < hi_wav) * ~(wavelen > lo_wav)
        return torch.where(medium, smoothed, out)
    raise ValueError(kind)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def forward(cfg, W, tokens):
    """Logits [T, vocab] of one sequence, float64."""
    d = {k: v.double() for k, v in W.items()}
    C = cfg["hidden_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or C // nh
    eps = cfg["rms_norm_eps"]
    T = len(tokens)
    pos = torch.arange(T, dtype=torch.float32)
    freqs = torch.outer(pos, inv_freq_f32(cfg, hd))  # f32 products as HF's matmul of [d/2,1]x[1,T]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().double(), emb.sin().double()  # [T, hd]
    x = d["model.embed_tokens.weight"][torch.tensor(tokens)]
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    # sliding window (HF masking_utils): key k visible to query q iff q - W < k <= q; Mistral windows every
    # layer, Qwen2 (use_sliding_window) the layers from max_window_layers on
    W = cfg.get("sliding_window") if cfg["model_type"] == "mistral" or cfg.get("use_sliding_window") else None
    qi = torch.arange(T).unsqueeze(1)
    ki = torch.arange(T).unsqueeze(0)
    window_mask = mask.masked_fill(qi - ki >= W, float("-inf")) if W else mask
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        windowed = W and (cfg["model_type"] == "mistral" or l >= cfg.get("max_window_layers", 28))
        layer_mask = window_mask if windowed else mask

        def lin(name, inp):
            y = inp @ d[p + name + ".weight"].T
            b = d.get(p + name + ".bias")
            return y + b if b is not None else y

        h = rms_norm(x, d[p + "input_layernorm.weight"], eps)
        q = lin("self_attn.q_proj", h).view(T, nh, hd).transpose(0, 1)
        k = lin("self_attn.k_proj", h).view(T, nkv, hd).transpose(0, 1)
        v = lin("self_attn.v_proj", h).view(T, nkv, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = nh // nkv  # head j uses kv head j // rep (repeat_kv)
        k = k.repeat_interleave(rep, dim=0)
        v = v.repeat_interleave(rep, dim=0)
        att = (q @ k.transpose(1, 2)) / math.sqrt(hd) + layer_mask
        att = torch.softmax(att, dim=-1)
        o = (att @ v).transpose(0, 1).reshape(T, nh * hd)
        x = x + lin("self_attn.o_proj", o)
        h = rms_norm(x, d[p + "post_attention_layernorm.weight"], eps)
        g = lin("mlp.gate_proj", h)
        x = x + lin("mlp.down_proj", torch.nn.functional.silu(g) * lin("mlp.up_proj", h))
    x = rms_norm(x, d["model.norm.weight"], eps)
    head = d["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else d["lm_head.weight"]
    return x @ head.T


def make(name, seed, dtype=torch.float32, vocab=48, hidden=32, layers=2, heads=4, kv=2, ffn=40,
         tied=False, qkv_bias=False, model_type="llama", rope_theta=10000.0, rope_scaling=None,
         head_dim=None, eps=1e-5, T=16, window=None):
    g = torch.Generator().manual_seed(seed)
    hd = head_dim or hidden // heads

    def rnd(*shape, std=1.0):
        return (torch.randn(*shape, generator=g) * std).to(dtype)

    W = {"model.embed_tokens.weight": rnd(vocab, hidden), "model.norm.weight": (1 + rnd(hidden, std=0.1).float()).to(dtype)}
    for l in range(layers):
        p = f"model.layers.{l}."
        W[p + "input_layernorm.weight"] = (1 + rnd(hidden, std=0.1).float()).to(dtype)
        W[p + "post_attention_layernorm.weight"] = (1 + rnd(hidden, std=0.1).float()).to(dtype)
        for proj, o, i in (("self_attn.q_proj", heads * hd, hidden), ("self_attn.k_proj", kv * hd, hidden),
                           ("self_attn.v_proj", kv * hd, hidden), ("self_attn.o_proj", hidden, heads * hd),
                           ("mlp.gate_proj", ffn, hidden), ("mlp.up_proj", ffn, hidden), ("mlp.down_proj", hidden, ffn)):
            W[p + proj + ".weight"] = rnd(o, i, std=1 / math.sqrt(i))
            if qkv_bias and proj in ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"):
                W[p + proj + ".bias"] = rnd(o, std=0.3)
    if not tied:
        W["lm_head.weight"] = rnd(vocab, hidden, std=1 / math.sqrt(hidden))
    cfg = {
        "architectures": [{"qwen2": "Qwen2ForCausalLM", "mistral": "MistralForCausalLM"}.get(model_type, "LlamaForCausalLM")],
        "model_type": model_type,
        "hidden_size": hidden, "intermediate_size": ffn, "num_hidden_layers": layers,
        "num_attention_heads": heads, "num_key_value_heads": kv, "vocab_size": vocab,
        "rms_norm_eps": eps, "rope_theta": rope_theta, "rope_scaling": rope_scaling,
        "max_position_embeddings": 128, "tie_word_embeddings": tied, "hidden_act": "silu",
        "torch_dtype": {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[dtype],
        "bos_token_id": 1, "eos_token_id": 2,
    }
    if head_dim:
        cfg["head_dim"] = head_dim
    if model_type == "mistral":
        cfg["sliding_window"] = window
    elif model_type == "qwen2" and window:
        cfg.update({"use_sliding_window": True, "sliding_window": window, "max_window_layers": 1})
    tokens = torch.randint(0, vocab, (T,), generator=g).tolist()
    logits = forward(cfg, W, tokens).float()
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), W)
    write_safetensors(os.path.join(d, "expected.safetensors"),
                      {"tokens": torch.tensor(tokens, dtype=torch.int32), "logits": logits})
    print(name, "tokens", tokens[:8], "... logits[0,:4]", logits[0, :4].tolist())


FIXTURES = {}


def fixture(name, *args, **kw):
    FIXTURES[name] = lambda: make(name, *args, **kw)


if __name__ == "__main__":
    torch.set_num_threads(1)
    fixture("gqa_f32", 1)
    fixture("mha_tied_linear", 2, kv=4, tied=True, rope_scaling={"type": "linear", "factor": 2.0})
    fixture("llama3_scaling", 3, hidden=64, heads=4, kv=1, ffn=72, rope_theta=500000.0, T=24,
         rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 64})
    fixture("qwen2_bias", 4, model_type="qwen2", tied=True, qkv_bias=True, eps=1e-6, rope_theta=1000000.0)
    fixture("gqa_bf16", 5, dtype=torch.bfloat16)
    fixture("gqa_f16", 6, dtype=torch.float16)
    fixture("head_dim", 7, head_dim=16, kv=2)
    # sliding windows shorter than the sequence: head_dim 8 (attention row by row) and 32 (prefill as GEMMs)
    fixture("mistral_window", 8, model_type="mistral", window=5, T=24)
    fixture("mistral_window_hd32", 9, model_type="mistral", hidden=64, heads=2, kv=1, ffn=48, window=7, T=20)
    fixture("qwen2_window", 10, model_type="qwen2", tied=True, qkv_bias=True, eps=1e-6, window=4, T=16)
    # python3 make_llama_fixtures.py [NAME...]: only the named fixtures (default: all)
    for name in sys.argv[1:] or list(FIXTURES):
        FIXTURES[name]()
