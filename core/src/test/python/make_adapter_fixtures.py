#!/usr/bin/python3
"""Reference fixtures for org.lori4j.adapter, from an independent re-implementation of PEFT/LoRI semantics.

Run once with Debian's torch (1.13; no peft/transformers/safetensors packages are used):

    /usr/bin/python3 src/test/python/make_adapter_fixtures.py

Writes src/test/resources/fixtures/adapter/:
  tiny/                  a random Llama model (HF folder: config.json, model.safetensors, f32)
  lora_a, lora_b, ...    PEFT LoRA adapters (adapter_config.json + adapter_model.safetensors)
  logits.safetensors     reference logits of the tiny model with adapters applied unmerged
                         (PEFT's forward: y = x W^T + sum_i w_i * s_i * (x A_i^T) B_i^T)
  merge_<case>/          merged adapters as PEFT's add_weighted_adapter (>= 0.19: negative weights,
                         sign on A only; rank/alpha patterns reset) would produce them
  masks/<gran>/<s>_mask.safetensors
                         masks of lori_d following juzhengz/LoRI src/extract_mask.py
  masks/exclude/...      the same with an earlier mask excluded
  lori_d/masks/0.9_mask.pt   torch.save of the model-granularity 0.9 mask, keyed like LoRI's
                         (".lora_B.default.weight"): the reference-format file
  pt/                    torch files for the pickle reader: non-contiguous, shared storage, OrderedDict,
                         float tensors, and a malicious pickle that would run os.system
  export_f32/, export_bf16/   expected merged weights (merge_and_unload of lora_a and lora_b:0.5, the model
                         loaded in f32 / bf16: per adapter W = round_D(W + delta), the sum formed in f32)

Semantics followed (read from huggingface/peft and juzhengz/LoRI sources, re-written here):
- scaling = alpha / r, or alpha / sqrt(r) with use_rslora; rank_pattern / alpha_pattern keys are
  regexes matched with re.match(rf"(.*\\.)?({key})$", module_name), first match in order wins.
- cat: A' = cat_i(A_i * w_i * s_i, dim 0) zero-padded to r' = sum of max ranks, B' = cat_i(B_i, dim 1).
- linear/ties/magnitude_prune on A and B separately with weights sign(ws) sqrt(|ws|) on A and
  sqrt(|ws|) on B (ws = w * s), merge_utils' task_arithmetic / ties / magnitude_prune.
- merged config: first adapter's with r = lora_alpha = r', rank/alpha patterns {}.
- masks: k = int((1 - s) * n); threshold = topk(|B|, k).values[-1]; mask = |B| >= threshold;
  an old mask's entries count as 0 in the ranking and are removed: mask & ~old.
"""
import collections
import json
import math
import os
import pickle
import shutil
import struct
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "resources", "fixtures", "adapter")
PROJS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
ST = {torch.float32: "F32", torch.bfloat16: "BF16", torch.bool: "BOOL", torch.int32: "I32"}


# ---------------------------------------------------------------- safetensors (by hand)

def tbytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.float32:
        return t.numpy().astype("<f4").tobytes()
    if t.dtype == torch.bool:
        return t.numpy().astype("u1").tobytes()
    if t.dtype == torch.int32:
        return t.numpy().astype("<i4").tobytes()
    raise ValueError(t.dtype)


def write_st(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        b = tbytes(t)
        header[name] = {"dtype": ST[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = metadata or {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- tiny Llama and its reference forward

CFG = dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=32, intermediate_size=64,
           num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=64,
           rms_norm_eps=1e-5, rope_theta=10000.0, max_position_embeddings=128, tie_word_embeddings=False,
           bos_token_id=1, eos_token_id=2, torch_dtype="float32", hidden_act="silu")
H, F, L, NH, NKV, V = 32, 64, 2, 4, 2, 64
HD = H // NH


def shape_of(proj):
    return {"q_proj": (NH * HD, H), "k_proj": (NKV * HD, H), "v_proj": (NKV * HD, H), "o_proj": (H, NH * HD),
            "gate_proj": (F, H), "up_proj": (F, H), "down_proj": (H, F)}[proj]


def module_name(l, p):
    return f"model.layers.{l}.{'self_attn' if p in PROJS[:4] else 'mlp'}.{p}"


def make_model(g):
    w = {"model.embed_tokens.weight": torch.randn(V, H, generator=g) * 0.5,
         "model.norm.weight": 1 + 0.1 * torch.randn(H, generator=g),
         "lm_head.weight": torch.randn(V, H, generator=g) * 0.3}
    for l in range(L):
        w[f"model.layers.{l}.input_layernorm.weight"] = 1 + 0.1 * torch.randn(H, generator=g)
        w[f"model.layers.{l}.post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(H, generator=g)
        for p in PROJS:
            o, i = shape_of(p)
            w[module_name(l, p) + ".weight"] = torch.randn(o, i, generator=g) / math.sqrt(i)
    return w


def rms(x, wt):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + CFG["rms_norm_eps"]) * wt


def rot_half(x):
    a, b = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-b, a), -1)


def forward(w, tokens, deltas=None, embed=None, head=None):
    """Llama forward in float64. deltas: module -> list of (A, B, factor) added as factor * (x A^T) B^T."""
    deltas = deltas or {}
    dd = lambda t: t.double()
    E = dd(embed if embed is not None else w["model.embed_tokens.weight"])
    LM = dd(head if head is not None else w["lm_head.weight"])

    def lin(x, name):
        y = x @ dd(w[name + ".weight"]).T
        for A, B, f in deltas.get(name, []):
            y = y + f * ((x @ dd(A).T) @ dd(B).T)
        return y

    T = len(tokens)
    x = E[torch.tensor(tokens)]
    inv = 1.0 / (CFG["rope_theta"] ** (torch.arange(0, HD, 2, dtype=torch.int64).float() / HD))
    ang = torch.outer(torch.arange(T).float(), inv)
    emb = torch.cat((ang, ang), -1)
    cos, sin = emb.cos().double(), emb.sin().double()
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for l in range(L):
        p = f"model.layers.{l}"
        h = rms(x, dd(w[p + ".input_layernorm.weight"]))
        q = lin(h, p + ".self_attn.q_proj").view(T, NH, HD).transpose(0, 1)
        k = lin(h, p + ".self_attn.k_proj").view(T, NKV, HD).transpose(0, 1)
        v = lin(h, p + ".self_attn.v_proj").view(T, NKV, HD).transpose(0, 1)
        q = q * cos + rot_half(q) * sin
        k = k * cos + rot_half(k) * sin
        k = k.repeat_interleave(NH // NKV, 0)
        v = v.repeat_interleave(NH // NKV, 0)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(HD) + mask, -1)
        o = (att @ v).transpose(0, 1).reshape(T, NH * HD)
        x = x + lin(o, p + ".self_attn.o_proj")
        h = rms(x, dd(w[p + ".post_attention_layernorm.weight"]))
        gate = lin(h, p + ".mlp.gate_proj")
        x = x + lin(torch.nn.functional.silu(gate) * lin(h, p + ".mlp.up_proj"), p + ".mlp.down_proj")
    x = rms(x, dd(w["model.norm.weight"]))
    return (x @ LM.T).float()


# ---------------------------------------------------------------- PEFT adapter config semantics

def peft_config(r, alpha, targets, rslora=False, rank_pattern=None, alpha_pattern=None):
    return {"alpha_pattern": alpha_pattern or {}, "auto_mapping": None, "base_model_name_or_path": "tiny",
            "bias": "none", "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True,
            "layer_replication": None, "layers_pattern": None, "layers_to_transform": None, "loftq_config": {},
            "lora_alpha": alpha, "lora_dropout": 0.05, "megatron_config": None, "megatron_core": "megatron.core",
            "modules_to_save": None, "peft_type": "LORA", "r": r, "rank_pattern": rank_pattern or {},
            "revision": None, "target_modules": targets, "task_type": "CAUSAL_LM", "use_dora": False,
            "use_rslora": rslora}


def targeted(cfg, name):
    t = cfg["target_modules"]
    import re
    if isinstance(t, str):
        return re.fullmatch(t, name) is not None
    return name in t or any(name.endswith("." + k) for k in t)


def pattern_key(keys, name):
    import re
    for k in keys:
        if re.match(rf"(.*\.)?({k})$", name):
            return k
    return name


def rank_alpha(cfg, name):
    r = cfg["rank_pattern"].get(pattern_key(cfg["rank_pattern"].keys(), name), cfg["r"])
    a = cfg["alpha_pattern"].get(pattern_key(cfg["alpha_pattern"].keys(), name), cfg["lora_alpha"])
    return r, a


def scaling(cfg, name):
    r, a = rank_alpha(cfg, name)
    return a / math.sqrt(r) if cfg["use_rslora"] else a / r


class Adapter:
    def __init__(self, cfg, mods, dtype=torch.float32, embed=None, head=None):
        self.cfg, self.mods, self.dtype, self.embed, self.head = cfg, mods, dtype, embed, head

    def save(self, name):
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "adapter_config.json"), "w") as f:
            json.dump(self.cfg, f, indent=2, sort_keys=True)
        t = {}
        for m, (A, B) in self.mods.items():
            t[f"base_model.model.{m}.lora_A.weight"] = A.to(self.dtype)
            t[f"base_model.model.{m}.lora_B.weight"] = B.to(self.dtype)
        if self.embed is not None:
            t["base_model.model.model.embed_tokens.weight"] = self.embed
            t["base_model.model.lm_head.weight"] = self.head
        write_st(os.path.join(d, "adapter_model.safetensors"), t)

    def stored(self):
        """A, B as the file holds them, widened to f32 (what a loader sees)."""
        return {m: (A.to(self.dtype).float(), B.to(self.dtype).float()) for m, (A, B) in self.mods.items()}


def make_adapter(g, cfg, b_scale=0.1, dtype=torch.float32, sparse=None):
    mods = {}
    for l in range(L):
        for p in PROJS:
            name = module_name(l, p)
            if not targeted(cfg, name):
                continue
            r, _ = rank_alpha(cfg, name)
            o, i = shape_of(p)
            bound = 1 / math.sqrt(i)
            A = (torch.rand(r, i, generator=g) * 2 - 1) * bound
            B = torch.randn(o, r, generator=g) * b_scale
            if sparse is not None:
                B = B * (torch.rand(o, r, generator=g) >= sparse)
            mods[name] = (A, B)
    return Adapter(cfg, mods, dtype)


def deltas_of(ad, weight):
    out = {}
    for m, (A, B) in ad.stored().items():
        out.setdefault(m, []).append((A, B, weight * scaling(ad.cfg, m)))
    return out


def merge_deltas(*ds):
    out = {}
    for d in ds:
        for k, v in d.items():
            out.setdefault(k, []).extend(v)
    return out


# ---------------------------------------------------------------- merging (merge_utils semantics)

def max_rank(cfg):
    return max([cfg["r"]] + list(cfg["rank_pattern"].values()))


def magnitude_prune_t(t, density):
    if density >= 1:
        return t
    k = int(density * t.numel())
    mask = torch.zeros_like(t).reshape(-1)
    top = torch.topk(t.abs().reshape(-1), k=k, largest=True)
    mask[top[1]] = 1
    return t * mask.reshape(t.shape)


def combine(tensors, weights, method, density, sign_method):
    if method in ("ties", "magnitude_prune"):
        tensors = [magnitude_prune_t(t, density) for t in tensors]
    st = torch.stack(tensors, 0)
    w = weights.view([-1] + [1] * (st.dim() - 1))
    if method in ("linear", "magnitude_prune"):
        return (st * w).sum(0)
    sign = st.sign()
    mag = st.sum(0) if sign_method == "total" else sign.sum(0)
    majority = torch.where(mag >= 0, 1, -1)
    m = sign == majority
    mixed = (st * w * m).sum(0)
    return mixed / torch.clamp(m.sum(0), min=1.0)


def merged_config_and_modules(ads, new_r):
    """add_weighted_adapter's config (the first adapter's, r = alpha = new_r, targets united, no patterns) and the
    union of the adapters' module names in order."""
    first = ads[0].cfg
    if isinstance(first["target_modules"], str):
        targets = "|".join(f"({a.cfg['target_modules']})" for a in ads)
    else:
        targets = []
        for a in ads:
            for t in a.cfg["target_modules"]:
                if t not in targets:
                    targets.append(t)
    cfg = dict(first, r=new_r, lora_alpha=new_r, target_modules=targets, rank_pattern={}, alpha_pattern={})
    names = []
    for a in ads:
        for m in a.mods:
            if m not in names:
                names.append(m)
    return cfg, names


def merge(ads, weights, method, density=None, sign_method="total"):
    ranks = [max_rank(a.cfg) for a in ads]
    new_r = sum(ranks) if method == "cat" else ranks[0]
    cfg, names = merged_config_and_modules(ads, new_r)
    mods = {}
    for name in names:
        present = [(a, w) for a, w in zip(ads, weights) if name in a.mods]
        o, i = shape_of(name.split(".")[-1])
        if method == "cat":
            As = [a.stored()[name][0] * w * scaling(a.cfg, name) for a, w in present]
            Bs = [a.stored()[name][1] for a, w in present]
            A = torch.zeros(new_r, i)
            B = torch.zeros(o, new_r)
            Ac, Bc = torch.cat(As, 0), torch.cat(Bs, 1)
            A[: Ac.shape[0]] = Ac
            B[:, : Bc.shape[1]] = Bc
        else:
            wa, wb, As, Bs = [], [], [], []
            for a, w in present:
                ws = w * scaling(a.cfg, name)
                sg = 1 if ws >= 0 else -1
                wa.append(math.sqrt(abs(ws)) * sg)
                wb.append(math.sqrt(abs(ws)))
                As.append(a.stored()[name][0])
                Bs.append(a.stored()[name][1])
            A = combine(As, torch.tensor(wa), method, density, sign_method)
            B = combine(Bs, torch.tensor(wb), method, density, sign_method)
        mods[name] = (A, B)
    return Adapter(cfg, mods, torch.float32)


def merge_svd(ads, weights, svd_rank=None, clamp=None, method="svd", density=None, sign_method="total"):
    """PEFT's svd combination as PEFT 0.21.0 computes it (checked against it: the August 2026 source read here,
    0.20.1.dev0, weighted each scaled delta by w_i s_i, i.e. s_i twice, which 0.21.0 does not): per module
    D = sum_i w_i * get_delta_weight_i, get_delta_weight = s B A, in f32 (ties_svd / magnitude_prune_svd: D = the
    merge_utils function of the deltas with weights w_i); U, S, Vh = torch.linalg.svd(D); B' = U_k diag(S_k),
    A' = Vh_k; then optionally both clamped to the clamp-quantile of their values. Two choices that torch leaves
    open are fixed as lori4j fixes them: each component's sign makes the largest |entry| of its Vh row positive
    (LAPACK's signs are arbitrary), and components with S ~ 0 (k above D's rank) are zero (LAPACK returns
    arbitrary orthonormal vectors there; the product is the same)."""
    k = svd_rank or max(max_rank(a.cfg) for a in ads)
    cfg, names = merged_config_and_modules(ads, k)
    mods = {}
    for name in names:
        present = [(a, w) for a, w in zip(ads, weights) if name in a.mods]
        deltas = [(a.stored()[name][1] @ a.stored()[name][0]) * scaling(a.cfg, name) for a, _ in present]
        ws = torch.tensor([w for a, w in present])
        if method == "svd":
            D = (torch.stack(deltas, 0) * ws.view(-1, 1, 1)).sum(0)
        else:
            D = combine(deltas, ws, method[:-len("_svd")], density, sign_method)
        U, S, Vh = torch.linalg.svd(D, full_matrices=True)
        U, S, Vh = U[:, :k].clone(), S[:k].clone(), Vh[:k, :].clone()
        for c in range(k):
            if S[c] <= S[0] * 1e-5:
                U[:, c] = 0
                Vh[c] = 0
                continue
            if Vh[c, Vh[c].abs().argmax()] < 0:
                U[:, c] = -U[:, c]
                Vh[c] = -Vh[c]
        B, A = U @ torch.diag(S), Vh
        if clamp is not None:
            hi = torch.quantile(torch.cat([B.flatten(), A.flatten()]), clamp)
            B, A = B.clamp(-hi, hi), A.clamp(-hi, hi)
        mods[name] = (A.contiguous(), B.contiguous())
    return Adapter(cfg, mods, torch.float32)


# ---------------------------------------------------------------- masks (LoRI extract_mask semantics)

def group_of(key, gran):
    if gran == "model":
        return "model"
    if gran == "matrix":
        return key
    if gran == "layer":
        return key.split(".")[4]
    proj = [p for p in PROJS if f".{p}." in key]
    if not proj:
        return None
    if gran == "projection":
        return proj[0]
    return "attention" if proj[0] in PROJS[:4] else "mlp"


def extract_masks(bs, sparsity, gran, old=None):
    """bs: key -> B (f32). Returns key -> bool mask, following extract_mask.py's get_*_mask."""
    groups = collections.OrderedDict()
    for k in bs:
        g = group_of(k, gran)
        if g is not None:
            groups.setdefault(g, []).append(k)
    out = {}
    for g, keys in groups.items():
        vals = []
        for k in keys:
            v = bs[k].reshape(-1).clone()
            if old is not None:
                v[old[k].reshape(-1)] = 0
            vals.append(v.abs())
        allv = torch.cat(vals)
        kk = int((1 - sparsity) * allv.numel())
        thr = torch.topk(allv, kk).values[-1]
        for k in keys:
            m = bs[k].abs() >= thr
            if old is not None:
                m = m & ~old[k]
            out[k] = m
    return out


# ---------------------------------------------------------------- torch files for the pickle reader

class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/lori4j-pwned",))


def make_pt_files(d):
    os.makedirs(d, exist_ok=True)
    g = torch.Generator().manual_seed(7)
    base = torch.rand(6, 5, generator=g) > 0.5
    torch.save({"t": base.t(), "plain": base}, os.path.join(d, "noncontiguous.pt"))
    big = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    torch.save({"row1": big[1], "cols": big[:, 2:4], "whole": big}, os.path.join(d, "shared.pt"))
    od = collections.OrderedDict([("b", torch.tensor([[1.5, -2.0]], dtype=torch.bfloat16)),
                                  ("a", torch.tensor([[3, 4]], dtype=torch.int64))])
    torch.save(od, os.path.join(d, "ordered.pt"))
    torch.save({"x": torch.zeros(2, 2), "evil": Evil()}, os.path.join(d, "evil.pt"))
    torch.save([torch.zeros(2)], os.path.join(d, "list.pt"))
    with open(os.path.join(d, "noncontiguous.pt"), "rb") as f:
        data = f.read()
    with open(os.path.join(d, "truncated.pt"), "wb") as f:
        f.write(data[: len(data) // 2])
    # expected values for the Java test
    write_st(os.path.join(d, "expected.safetensors"), {
        "noncontiguous.t": base.t().contiguous(), "noncontiguous.plain": base,
        "shared.row1": big[1].contiguous(), "shared.cols": big[:, 2:4].contiguous(), "shared.whole": big,
        "ordered.b": od["b"].float(), "ordered.a": od["a"].int()})


# ---------------------------------------------------------------- main

def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    g = torch.Generator().manual_seed(20250401)
    w = make_model(g)
    os.makedirs(os.path.join(OUT, "tiny"))
    with open(os.path.join(OUT, "tiny", "config.json"), "w") as f:
        json.dump(CFG, f, indent=2)
    write_st(os.path.join(OUT, "tiny", "model.safetensors"), w)

    ads = {}
    ads["lora_a"] = make_adapter(g, peft_config(4, 8, list(PROJS)))
    ads["lora_b"] = make_adapter(g, peft_config(4, 16, ["q_proj", "v_proj", "down_proj"], rslora=True,
                                                rank_pattern={"layers.1.self_attn.v_proj": 2},
                                                alpha_pattern={"down_proj": 4}), dtype=torch.bfloat16)
    ads["lora_c"] = make_adapter(g, peft_config(2, 4, r"model\.layers\.\d+\.self_attn\.(q|k)_proj",
                                                rank_pattern={"k_proj": 3}))
    ads["lori_s"] = make_adapter(g, peft_config(4, 8, list(PROJS)), b_scale=0.2, sparse=0.9)
    ads["lora_r8"] = make_adapter(g, peft_config(8, 16, ["q_proj", "v_proj"]))
    emb = make_adapter(g, peft_config(2, 4, ["q_proj"]))
    emb.embed = torch.cat([w["model.embed_tokens.weight"], torch.randn(1, H, generator=g) * 0.5])
    emb.head = torch.cat([w["lm_head.weight"], torch.randn(1, H, generator=g) * 0.3])
    ads["lora_embed"] = emb
    # LoRI-D-like adapter with many ties in B (multiples of 1/64) for mask extraction
    d = make_adapter(g, peft_config(8, 16, list(PROJS)))
    for m, (A, B) in d.mods.items():
        d.mods[m] = (A, torch.randint(-8, 9, B.shape, generator=g).float() / 64)
    ads["lori_d"] = d
    for name, ad in ads.items():
        ad.save(name)

    # logits with adapters applied unmerged
    tokens = [1, 5, 9, 13, 2, 40, 7, 63]
    logits = {"tokens": torch.tensor(tokens, dtype=torch.int32), "base": forward(w, tokens)}
    for name in ["lora_a", "lora_b", "lora_c", "lori_s", "lora_r8"]:
        logits[name] = forward(w, tokens, deltas_of(ads[name], 1.0))
    logits["multi"] = forward(w, tokens, merge_deltas(deltas_of(ads["lora_a"], 0.7), deltas_of(ads["lora_b"], 1.3),
                                                      deltas_of(ads["lora_c"], 1.0)))
    etokens = tokens + [64]
    logits["embed_tokens"] = torch.tensor(etokens, dtype=torch.int32)
    logits["lora_embed"] = forward(w, etokens, deltas_of(emb, 1.0), embed=emb.embed, head=emb.head)
    write_st(os.path.join(OUT, "logits.safetensors"), logits)

    # merges
    cases = {
        "cat": ([("lora_a", 1.0), ("lora_b", 0.5)], "cat", None, "total"),
        "cat_patterns": ([("lora_c", 1.0), ("lora_c", -0.5)], "cat", None, "total"),
        "linear": ([("lora_a", 0.6), ("lori_s", 0.4)], "linear", None, "total"),
        "linear_negative": ([("lora_a", -0.5), ("lori_s", 1.0)], "linear", None, "total"),
        "ties": ([("lora_a", 1.0), ("lori_s", 0.8)], "ties", 0.5, "total"),
        "ties_frequency": ([("lora_a", 1.0), ("lori_s", 0.8), ("lora_a", -0.3)], "ties", 0.7, "frequency"),
        "magnitude_prune": ([("lora_a", 1.0), ("lori_s", 1.0)], "magnitude_prune", 0.3, "total"),
    }
    spec = {}
    for case, (members, method, density, sm) in cases.items():
        merged = merge([ads[n] for n, _ in members], [wt for _, wt in members], method, density, sm)
        merged.save("merge_" + case)
        spec[case] = {"adapters": [n for n, _ in members], "weights": [wt for _, wt in members], "method": method,
                      "density": density, "majority_sign_method": sm}
    svd_cases = {
        "svd": ([("lora_a", 1.0), ("lora_b", 0.5)], None, None),
        "svd_rank": ([("lora_a", 0.7), ("lori_s", 0.6)], 6, None),
        "svd_clamp": ([("lora_a", 1.0), ("lora_r8", -0.5)], None, 0.9),
    }
    for case, (members, rank, clamp) in svd_cases.items():
        merged = merge_svd([ads[n] for n, _ in members], [wt for _, wt in members], rank, clamp)
        merged.save("merge_" + case)
        spec[case] = {"adapters": [n for n, _ in members], "weights": [wt for _, wt in members], "method": "svd",
                      "density": None, "majority_sign_method": "total", "svd_rank": rank, "svd_clamp": clamp}
    pruned_svd_cases = {  # adapters with different scalings (2, rsLoRA 8, 2) so that the sign election sees them
        "ties_svd": ([("lora_a", 1.0), ("lora_b", 0.5)], "ties_svd", 0.4, "total", None),
        "ties_svd_frequency": ([("lora_a", 1.0), ("lori_s", 0.8), ("lora_a", -0.3)], "ties_svd", 0.7, "frequency", 3),
        "magnitude_prune_svd": ([("lora_a", 1.0), ("lora_r8", -0.5)], "magnitude_prune_svd", 0.3, "total", None),
    }
    for case, (members, method, density, sm, rank) in pruned_svd_cases.items():
        merged = merge_svd([ads[n] for n, _ in members], [wt for _, wt in members], rank, None, method, density, sm)
        merged.save("merge_" + case)
        spec[case] = {"adapters": [n for n, _ in members], "weights": [wt for _, wt in members], "method": method,
                      "density": density, "majority_sign_method": sm, "svd_rank": rank, "svd_clamp": None}
    with open(os.path.join(OUT, "merges.json"), "w") as f:
        json.dump(spec, f, indent=2)

    # masks
    bs = {f"base_model.model.{m}.lora_B.weight": B for m, (A, B) in d.stored().items()}
    old = {}
    for k, B in bs.items():
        gen = torch.Generator().manual_seed(len(k))
        old[k] = torch.rand(B.shape, generator=gen) < 0.3
    write_st(os.path.join(OUT, "masks", "old_mask.safetensors"), old)
    for gran in ["model", "module", "projection", "layer", "matrix"]:
        for s in [0.1, 0.5, 0.9, 0.99]:
            masks = extract_masks(bs, s, gran)
            write_st(os.path.join(OUT, "masks", gran, f"{s}_mask.safetensors"), masks)
            masks = extract_masks(bs, s, gran, old)
            write_st(os.path.join(OUT, "masks", "exclude", gran, f"{s}_mask.safetensors"), masks)
    ref = extract_masks(bs, 0.9, "model")
    os.makedirs(os.path.join(OUT, "lori_d", "masks"), exist_ok=True)
    torch.save({k.replace(".lora_B.weight", ".lora_B.default.weight"): v for k, v in ref.items()},
               os.path.join(OUT, "lori_d", "masks", "0.9_mask.pt"))

    make_pt_files(os.path.join(OUT, "pt"))

    # export: merge_and_unload of lora_a (w 1) then lora_b (w 0.5), f32 and bf16 (model loaded in bf16)
    for dt, name in [(torch.float32, "export_f32"), (torch.bfloat16, "export_bf16")]:
        exp = {}
        for l in range(L):
            for p in PROJS:
                m = module_name(l, p)
                W = w[m + ".weight"].to(dt)
                for ad, wt in [(ads["lora_a"], 1.0), (ads["lora_b"], 0.5)]:
                    if m in ad.mods:
                        A, B = ad.stored()[m]
                        delta = (B @ A) * (scaling(ad.cfg, m) * wt)
                        # PEFT >= 0.12 merges in place, base_layer.weight.data += delta: the f32 delta is added
                        # in f32 and the sum rounded once to the weight's dtype (checked against PEFT 0.21)
                        W = (W.float() + delta).to(dt)
                exp[m + ".weight"] = W
        write_st(os.path.join(OUT, name, "expected.safetensors"), exp)


if __name__ == "__main__":
    main()
