#!/usr/bin/env python3
"""Checks lori4j's formats and numerics against the real libraries: transformers, peft, safetensors, torch's
own loader, and juzhengz/LoRI's src/extract_mask.py (run as is).

Needs a Python with torch, transformers, peft and safetensors (none of them is used by lori4j or its tests).

    python3 hf_crosscheck.py REPO INPUTS OUT [LORI_EXTRACT_MASK_PY]

REPO    the lori4j checkout (its committed fixtures under src/test/resources/fixtures are checked too)
INPUTS  the folder make_inputs.sh wrote (artifacts produced by lori4j alone)
OUT     where report.json / report.txt go

Part A re-derives the committed fixtures (written by this project's own re-implementations of HF/PEFT/LoRI
semantics) with the real libraries; part B loads what lori4j wrote (model folders, adapters, merged adapters,
masks, exports) in the real libraries and compares logits, tensors and greedy generations with lori4j's.
"""
import glob
import json
import os
import sys
import tempfile
import time
import traceback
import types
import importlib.util

import torch
from safetensors.torch import load_file

REPO, INPUTS, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
LORI_PY = sys.argv[4] if len(sys.argv) > 4 else None
FIX = os.path.join(REPO, "src", "test", "resources", "fixtures")
os.makedirs(OUT, exist_ok=True)
torch.set_num_threads(min(8, os.cpu_count() or 1))

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local; never ask the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
import transformers  # noqa: E402
import peft  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402
from peft import PeftModel, get_peft_model_state_dict  # noqa: E402
from peft.tuners.lora import LoraLayer  # noqa: E402

RESULTS = []


def log(*a):
    print(*a, flush=True)


def check(name):
    def deco(fn):
        t0 = time.time()
        try:
            ok, detail = fn()
        except Exception as e:  # a failing check is reported, the others still run
            ok, detail = False, "EXCEPTION " + "".join(traceback.format_exception_only(type(e), e)).strip()
            traceback.print_exc()
        RESULTS.append({"check": name, "ok": bool(ok), "detail": detail, "seconds": round(time.time() - t0, 2)})
        log(("PASS " if ok else "FAIL ") + name + ": " + detail)
        return fn
    return deco


def load_model(path, dtype=torch.float32):
    try:
        m = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation="eager")
    except TypeError:
        m = AutoModelForCausalLM.from_pretrained(path, torch_dtype=dtype, attn_implementation="eager")
    return m.eval()


@torch.no_grad()
def logits_of(model, ids):
    return model(torch.tensor([list(ids)])).logits[0].double()


def diff(a, b):
    a, b = a.double(), b.double()
    if a.shape != b.shape:
        raise ValueError(f"shapes {tuple(a.shape)} vs {tuple(b.shape)}")
    return (a - b).abs().max().item(), b.abs().max().item()


def close(a, b, rel, what=""):
    d, m = diff(a, b)
    return d <= rel * max(1.0, m), f"{what}max|diff| {d:.3g} (max|ref| {m:.3g}, tolerance {rel:g} relative)"


def scale_adapter(model, name, w):
    for mod in model.modules():
        if isinstance(mod, LoraLayer) and name in mod.scaling:
            mod.scaling[name] *= w


def peft_with(base_path, adapters, dtype=torch.float32):
    """base + adapters [(dir, weight)] as separate PEFT adapters a0, a1, ..., all active, each scaled by its weight."""
    model = load_model(base_path, dtype)
    names = []
    for i, (d, w) in enumerate(adapters):
        n = f"a{i}"
        if i == 0:
            model = PeftModel.from_pretrained(model, d, adapter_name=n)
        else:
            model.load_adapter(d, adapter_name=n)
        names.append(n)
    model.base_model.set_adapter(names)
    for n, (_, w) in zip(names, adapters):
        if w != 1.0:
            scale_adapter(model, n, w)
    return model.eval(), names


def merged_state(model, name):
    sd = get_peft_model_state_dict(model, adapter_name=name, save_embedding_layers=False)
    return {k: v.detach().float() for k, v in sd.items()}


def compare_tensors(got, exp, rel):
    """got/exp: dict name -> tensor; returns (ok, detail)."""
    if set(got) != set(exp):
        only_g, only_e = sorted(set(got) - set(exp))[:3], sorted(set(exp) - set(got))[:3]
        return False, f"key sets differ: only PEFT {only_g}, only lori4j/fixture {only_e}"
    worst, worst_k, mx = 0.0, None, 0.0
    for k in exp:
        if tuple(got[k].shape) != tuple(exp[k].shape):
            return False, f"{k}: shape {tuple(got[k].shape)} vs {tuple(exp[k].shape)}"
        d, m = diff(got[k], exp[k])
        if d / max(1e-30, m) > worst / max(1e-30, mx) or worst_k is None:
            worst, worst_k, mx = d, k, m
    return worst <= rel * max(mx, 1e-30), f"{len(exp)} tensors, worst {worst_k.split('model.')[-1]}: max|diff| {worst:.3g} of max {mx:.3g}"


def compare_svd(got, exp, clamped):
    """svd merges: B'A' per module (sign-free), and the factors after giving PEFT's the fixture's sign rule
    (largest |entry| of each A row positive; rows with S ~ 0 zeroed). With a clamp, PEFT's quantile sees LAPACK's
    signs, so only the products are reported there, loosely."""
    worst_p, worst_f, n = 0.0, 0.0, 0
    for k in exp:
        if not k.endswith("lora_A.weight"):
            continue
        kb = k.replace("lora_A", "lora_B")
        A, B, EA, EB = got[k].double(), got[kb].double(), exp[k].double(), exp[kb].double()
        P, EP = B @ A, EB @ EA
        worst_p = max(worst_p, ((P - EP).abs().max() / EP.abs().max().clamp(min=1e-30)).item())
        if not clamped:
            A, B = A.clone(), B.clone()
            for c in range(A.shape[0]):
                if EA[c].abs().max() == 0:
                    A[c] = 0
                    B[:, c] = 0
                elif A[c, A[c].abs().argmax()] < 0:
                    A[c], B[:, c] = -A[c], -B[:, c]
            worst_f = max(worst_f, ((A - EA).abs().max() / EA.abs().max()).item(), ((B - EB).abs().max() / EB.abs().max()).item())
        n += 1
    ok = worst_p < (5e-2 if clamped else 1e-4) and worst_f < 1e-3
    return ok, f"{n} modules: B'A' max relative diff {worst_p:.3g}" + ("" if clamped else f", sign-normalised factors {worst_f:.3g}")


def peft_merge(adapters, method, density, sign, base_path, svd_rank=None, svd_clamp=None):
    model, names = peft_with(base_path, [(d, 1.0) for d, _ in adapters])
    kw = {}
    if density is not None:
        kw["density"] = density
    if method in ("ties", "dare_ties", "ties_svd", "dare_ties_svd"):
        kw["majority_sign_method"] = sign
    if method.endswith("svd"):
        kw["svd_rank"] = svd_rank
        kw["svd_clamp"] = svd_clamp
    model.add_weighted_adapter(names, [w for _, w in adapters], "merged", combination_type=method, **kw)
    return model, merged_state(model, "merged"), model.peft_config["merged"]


def st_adapter(d):
    return {k: v.float() for k, v in load_file(os.path.join(d, "adapter_model.safetensors")).items()}


# ------------------------------------------------------------------------------------------------ environment
log(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, python {sys.version.split()[0]}")
ENV = {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}

# ------------------------------------------------------------------------------------------------ part A
for d in sorted(glob.glob(os.path.join(FIX, "llama", "*"))):
    name = os.path.basename(d)

    @check(f"A fixture llama/{name}: transformers float64 logits = committed reference")
    def _(d=d):
        exp = load_file(os.path.join(d, "expected.safetensors"))
        model = load_model(d, torch.float64)
        return close(logits_of(model, exp["tokens"].tolist()), exp["logits"], 1e-6, type(model).__name__ + ": ")

AD = os.path.join(FIX, "adapter")
TINY = os.path.join(AD, "tiny")
if os.path.isdir(AD):
    L = load_file(os.path.join(AD, "logits.safetensors"))
    toks = L["tokens"].tolist()
    for name in ["lora_a", "lora_b", "lora_c", "lori_s", "lora_r8"]:
        @check(f"A fixture adapter/{name}: PEFT unmerged logits = committed reference")
        def _(name=name):
            model, _ = peft_with(TINY, [(os.path.join(AD, name), 1.0)])
            got = logits_of(model, toks)
            ok, det = close(got, L[name], 1e-5)
            eff = (L[name].double() - L["base"].double()).abs().max().item()
            return ok, det + f"; adapter effect {eff:.3g}"

    @check("A fixture adapter multi (lora_a 0.7, lora_b 1.3, lora_c 1): PEFT = committed reference")
    def _():
        model, _ = peft_with(TINY, [(os.path.join(AD, "lora_a"), 0.7), (os.path.join(AD, "lora_b"), 1.3),
                                    (os.path.join(AD, "lora_c"), 1.0)])
        return close(logits_of(model, toks), L["multi"], 1e-5)

    @check("A fixture adapter/lora_embed (resized embed_tokens + lm_head): PEFT = committed reference")
    def _():
        base = load_model(TINY)
        base.resize_token_embeddings(L["lora_embed"].shape[1])
        model = PeftModel.from_pretrained(base, os.path.join(AD, "lora_embed")).eval()
        return close(logits_of(model, L["embed_tokens"].tolist()), L["lora_embed"], 1e-5)

    merges = json.load(open(os.path.join(AD, "merges.json")))
    for case, spec in merges.items():
        @check(f"A fixture merge_{case}: PEFT add_weighted_adapter = committed tensors")
        def _(case=case, spec=spec):
            ads = [(os.path.join(AD, n), w) for n, w in zip(spec["adapters"], spec["weights"])]
            _, got, cfg = peft_merge(ads, spec["method"], spec["density"], spec["majority_sign_method"], TINY,
                                     spec.get("svd_rank"), spec.get("svd_clamp"))
            want_t = st_adapter(os.path.join(AD, "merge_" + case))
            if spec["method"].endswith("svd"):
                ok, det = compare_svd(got, want_t, spec.get("svd_clamp") is not None)
            else:
                ok, det = compare_tensors(got, want_t, 1e-5)
            want = json.load(open(os.path.join(AD, "merge_" + case, "adapter_config.json")))
            cfg_ok = cfg.r == want["r"] and cfg.lora_alpha == want["lora_alpha"] and bool(cfg.use_rslora) == bool(want.get("use_rslora"))
            return ok and cfg_ok, det + f"; config r {cfg.r}/{want['r']} alpha {cfg.lora_alpha}/{want['lora_alpha']}"

    for dt, name in [(torch.float32, "export_f32"), (torch.bfloat16, "export_bf16")]:
        @check(f"A fixture {name}: PEFT merge_and_unload (lora_a 1, lora_b 0.5) = committed weights")
        def _(dt=dt, name=name):
            model, _ = peft_with(TINY, [(os.path.join(AD, "lora_a"), 1.0), (os.path.join(AD, "lora_b"), 0.5)], dt)
            sd = model.merge_and_unload().state_dict()
            exp = load_file(os.path.join(AD, name, "expected.safetensors"))
            bad = sum(int((sd[k] != v).sum()) for k, v in exp.items())
            n = sum(v.numel() for v in exp.values())
            dmax = max((sd[k].double() - v.double()).abs().max().item() for k, v in exp.items())
            return bad == 0 or dmax < 1e-6, f"{bad} of {n} elements differ (max|diff| {dmax:.3g}), dtype {sd[next(iter(exp))].dtype}"

    @check("A fixture lori_d/masks/0.9_mask.pt: torch.load(weights_only=True) = masks/model/0.9")
    def _():
        pt = torch.load(os.path.join(AD, "lori_d", "masks", "0.9_mask.pt"), weights_only=True)
        ref = load_file(os.path.join(AD, "masks", "model", "0.9_mask.safetensors"))
        got = {k.replace(".lora_B.default.weight", ".lora_B.weight"): v for k, v in pt.items()}
        same = set(got) == set(ref) and all(torch.equal(got[k], ref[k]) for k in ref)
        return same, f"{len(pt)} masks, identical {same}"


def lori_module():
    if not LORI_PY:
        return None
    sys.modules.setdefault("datasets", types.SimpleNamespace(load_dataset=None))
    spec = importlib.util.spec_from_file_location("lori_extract_mask", LORI_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


LORI_FUNCS = {"model": ("get_model_mask", "masks"), "module": ("get_modulewise_mask", "modulewise_masks"),
              "projection": ("get_projectionwise_mask", "projectionwise_masks"),
              "layer": ("get_layerwise_mask", "layerwise_masks"), "matrix": ("get_matrixwise_mask", "matrixwise_masks")}


def upstream_masks(base, adapter, sparsities, gran):
    mod = lori_module()
    fn, sub = LORI_FUNCS[gran]
    model = PeftModel.from_pretrained(load_model(base), adapter)
    tmp = tempfile.mkdtemp()
    os.makedirs(os.path.join(tmp, sub), exist_ok=True)
    getattr(mod, fn)(model, sparsities, tmp)
    out = {}
    for s in sparsities:
        m = torch.load(os.path.join(tmp, sub, f"{s}_mask.pt"), weights_only=True)
        out[s] = {k.replace(".lora_B.default.weight", ".lora_B.weight"): v for k, v in m.items()}
    return out


def same_masks(got, ref):
    if set(got) != set(ref):
        return False, f"key sets differ ({len(got)} vs {len(ref)})"
    bad = sum(int((got[k].bool() != ref[k].bool()).sum()) for k in ref)
    kept = sum(int(ref[k].sum()) for k in ref)
    n = sum(ref[k].numel() for k in ref)
    return bad == 0, f"{bad} entries differ; kept {kept} of {n}"


if LORI_PY and os.path.isdir(AD):
    for gran in LORI_FUNCS:
        @check(f"A fixture masks/{gran}: LoRI extract_mask.py = committed masks (0.1/0.5/0.9/0.99)")
        def _(gran=gran):
            up = upstream_masks(TINY, os.path.join(AD, "lori_d"), [0.1, 0.5, 0.9, 0.99], gran)
            dets, oks = [], []
            for s, m in up.items():
                ok, det = same_masks(m, load_file(os.path.join(AD, "masks", gran, f"{s}_mask.safetensors")))
                oks.append(ok)
                dets.append(f"{s}: {det}")
            return all(oks), "; ".join(dets)

# ------------------------------------------------------------------------------------------------ part B
X = INPUTS
BASE = os.path.join(X, "base")
D, S, LORA = os.path.join(X, "pipe", "lori-d"), os.path.join(X, "pipe", "lori-s"), os.path.join(X, "lora")
if os.path.isdir(BASE):
    ids = [int(t) for t in open(os.path.join(X, "tokens.txt")).read().split()]
    LL = {os.path.basename(f)[:-len(".safetensors")]: load_file(f)["logits"] for f in glob.glob(os.path.join(X, "logits", "*.safetensors"))}

    @check("B stories260K folder written by lori import: transformers loads it; logits = lori4j's")
    def _():
        return close(logits_of(load_model(BASE), ids), LL["base"], 1e-5)

    @check("B tokenizer.json/tokenizer_config.json written by lori4j: AutoTokenizer ids = lori4j's")
    def _():
        tok = AutoTokenizer.from_pretrained(BASE)
        text = open(os.path.join(X, "text.txt")).read().rstrip("\n")
        got = tok(text)["input_ids"]
        back = tok.decode(got, skip_special_tokens=True)
        return got == ids and back == text, f"{len(ids)} ids equal {got == ids}; decode round trip {back == text} ({type(tok).__name__})"

    for name, ads in [("lori_d", [(D, 1.0)]), ("lori_s", [(S, 1.0)]), ("lora", [(LORA, 1.0)]),
                      ("multi", [(D, 0.7), (LORA, 1.3)])]:
        @check(f"B adapter {name} trained by lori4j: PEFT unmerged logits = lori4j's")
        def _(name=name, ads=ads):
            model, _ = peft_with(BASE, ads)
            got = logits_of(model, ids)
            ok, det = close(got, LL[name], 1e-5)
            eff = (LL[name].double() - LL["base"].double()).abs().max().item()
            return ok and eff > 1e-3, det + f"; adapter effect {eff:.3g}"

    @check("B lori4j --merge (lori-d 0.7 + lora 1.3 merged in memory) = PEFT unmerged logits")
    def _():
        model, _ = peft_with(BASE, [(D, 0.7), (LORA, 1.3)])
        return close(logits_of(model, ids), LL["multi_merged"], 1e-4)

    @check("B LoRI-S adapter: A equals LoRI-D's, B zero outside LoRI-D's 0.9 mask")
    def _():
        d, s = st_adapter(D), st_adapter(S)
        mask = load_file(os.path.join(D, "masks", "0.9_mask.safetensors"))
        a_same = all(torch.equal(d[k], s[k]) for k in d if "lora_A" in k)
        outside = sum(int((s[k][~mask[k]] != 0).sum()) for k in mask)
        nz = sum(int((s[k] != 0).sum()) for k in mask)
        return a_same and outside == 0, f"A equal {a_same}; nonzero B outside the mask {outside}; nonzero B {nz}"

    MERGES = {"cat": ([(D, 1.0), (LORA, 0.5)], "cat", None, "total"),
              "cat_same": ([(D, 0.7), (S, 0.3)], "cat", None, "total"),
              "linear": ([(D, 0.6), (S, 0.4)], "linear", None, "total"),
              "linear_negative": ([(D, -0.5), (S, 1.0)], "linear", None, "total"),
              "ties": ([(D, 1.0), (S, 0.8)], "ties", 0.5, "total"),
              "ties_frequency": ([(D, 1.0), (S, 0.8), (D, -0.3)], "ties", 0.7, "frequency"),
              "magnitude_prune": ([(D, 1.0), (S, 1.0)], "magnitude_prune", 0.3, "total"),
              "cat_rslora_first": ([(LORA, 1.0), (D, 1.0)], "cat", None, "total")}
    for case, (ads, method, density, sign) in MERGES.items():
        @check(f"B lori merge {case}: tensors and config = PEFT add_weighted_adapter")
        def _(case=case, ads=ads, method=method, density=density, sign=sign):
            model, got, cfg = peft_merge(ads, method, density, sign, BASE)
            mine = os.path.join(X, "merges", case)
            ok, det = compare_tensors(got, st_adapter(mine), 1e-5)
            want = json.load(open(os.path.join(mine, "adapter_config.json")))
            cfg_ok = (cfg.r == want["r"] and cfg.lora_alpha == want["lora_alpha"]
                      and bool(cfg.use_rslora) == bool(want.get("use_rslora"))
                      and set(cfg.target_modules) == set(want["target_modules"]))
            det += f"; config r {cfg.r}/{want['r']} alpha {cfg.lora_alpha}/{want['lora_alpha']} rslora {cfg.use_rslora}/{want.get('use_rslora')}"
            if ("merge_" + case) in LL:
                model.set_adapter("merged")
                lok, ldet = close(logits_of(model, ids), LL["merge_" + case], 1e-5)
                ok, det = ok and lok, det + "; logits " + ldet
            return ok and cfg_ok, det

    for case, ads, method, density, rank in [("svd", [(D, 1.0), (LORA, 0.5)], "svd", None, None),
                                             ("svd_rank", [(D, 0.7), (S, -0.4)], "svd", None, 5),
                                             ("ties_svd", [(D, 1.0), (LORA, 0.5)], "ties_svd", 0.5, None),
                                             ("magnitude_prune_svd", [(D, 1.0), (S, 0.6)], "magnitude_prune_svd", 0.3, 6)]:
        @check(f"B lori merge {case}: B'A' and sign-normalised factors = PEFT add_weighted_adapter({method})")
        def _(case=case, ads=ads, method=method, density=density, rank=rank):
            _, got, cfg = peft_merge(ads, method, density, "total", BASE, rank, None)
            mine = os.path.join(X, "merges", case)
            ok, det = compare_svd(got, st_adapter(mine), False)
            want = json.load(open(os.path.join(mine, "adapter_config.json")))
            cfg_ok = cfg.r == want["r"] and cfg.lora_alpha == want["lora_alpha"]
            return ok and cfg_ok, det + f"; config r {cfg.r}/{want['r']} alpha {cfg.lora_alpha}/{want['lora_alpha']}"

    if LORI_PY:
        for gran in LORI_FUNCS:
            @check(f"B lori masks --granularity {gran} (.pt via torch.load, .safetensors) = LoRI extract_mask.py")
            def _(gran=gran):
                up = upstream_masks(BASE, D, [0.5, 0.9], gran)
                oks, dets = [], []
                for s, m in up.items():
                    pt = torch.load(os.path.join(X, "masks", gran, f"{s}_mask.pt"), weights_only=True)
                    pt = {k.replace(".lora_B.default.weight", ".lora_B.weight"): v for k, v in pt.items()}
                    st = load_file(os.path.join(X, "masks", gran, f"{s}_mask.safetensors"))
                    ok1, det1 = same_masks(pt, m)
                    ok2, _ = same_masks(st, m)
                    oks += [ok1, ok2]
                    dets.append(f"{s}: {det1}, safetensors equal {ok2}")
                return all(oks), "; ".join(dets)

    @check("B lori export f32 (lori-s): weights = PEFT merge_and_unload; transformers logits = lori4j's")
    def _():
        model, _ = peft_with(BASE, [(S, 1.0)])
        ref = model.merge_and_unload().state_dict()
        mine = load_file(os.path.join(X, "export_f32", "model.safetensors"))
        bad = sum(int((ref[k] != v).sum()) for k, v in mine.items())
        dmax = max((ref[k].double() - v.double()).abs().max().item() for k, v in mine.items())
        lok, ldet = close(logits_of(load_model(os.path.join(X, "export_f32")), ids), LL["export_f32"], 1e-5)
        return dmax < 1e-6 and lok, f"{bad} of {sum(v.numel() for v in mine.values())} weights differ (max {dmax:.3g}); logits {ldet}"

    @check("B lori export bf16 (lori-d 0.7 + lora 1.3): weights = PEFT merge_and_unload on a bf16 base")
    def _():
        model, _ = peft_with(BASE, [(D, 0.7), (LORA, 1.3)], torch.bfloat16)
        ref = model.merge_and_unload().state_dict()
        mine = load_file(os.path.join(X, "export_bf16", "model.safetensors"))
        dts = {str(v.dtype) for v in mine.values()}
        bad = sum(int((ref[k] != v).sum()) for k, v in mine.items())
        n = sum(v.numel() for v in mine.values())
        lok, ldet = close(logits_of(load_model(os.path.join(X, "export_bf16"), torch.float32), ids), LL["export_bf16"], 1e-5)
        return bad == 0 and lok, f"dtypes {dts}; {bad} of {n} weights differ; logits (f32 compute) {ldet}"

    GEN = {"base": ([], "Once upon a time"), "lori_s": ([(S, 1.0)], "Once upon a time"),
           "multi": ([(D, 0.7), (LORA, 1.3)], "Lily saw a")}
    for name, (ads, prompt) in GEN.items():
        @check(f"B greedy generation {name}: transformers/PEFT text = lori generate's")
        def _(name=name, ads=ads, prompt=prompt):
            tok = AutoTokenizer.from_pretrained(BASE)
            model = peft_with(BASE, ads)[0] if ads else load_model(BASE)
            enc = tok(prompt, return_tensors="pt")
            with torch.no_grad():
                out = model.generate(**enc, max_new_tokens=48, do_sample=False, num_beams=1)
            full = tok.decode(out[0], skip_special_tokens=True)
            head = tok.decode(enc["input_ids"][0], skip_special_tokens=True)
            text = full[len(head):] if full.startswith(head) else full
            mine = open(os.path.join(X, "generate", name + ".txt")).read()
            mine = mine[:-1] if mine.endswith("\n") else mine  # lori generate ends its output with a newline
            n = len(out[0]) - enc["input_ids"].shape[1]
            return text == mine, f"{n} new tokens, texts equal {text == mine}" + ("" if text == mine else f": HF {text!r} lori4j {mine!r}")

# ------------------------------------------------------------------------------------------------ chat templates
CT = os.path.join(FIX, "text", "chat_templates.json")
if os.path.isfile(CT):
    @check("A fixture chat_templates.json: transformers' chat-template renderer = committed renderings")
    def _():
        from transformers.utils.chat_template_utils import _compile_jinja_template
        d = json.load(open(CT))
        bad, n = [], 0
        for c in d["cases"]:
            n += 1
            tpl = _compile_jinja_template(d["templates"][c["template"]])
            try:
                got = tpl.render(messages=d["conversations"][c["conversation"]], bos_token=c["bos_token"],
                                 eos_token=c["eos_token"], add_generation_prompt=c["add_generation_prompt"])
                if "error" in c or got != c["expected"]:
                    bad.append(f"{c['template']}/{c['conversation']}")
            except Exception as e:
                if "error" not in c or c["error"] not in str(e):
                    bad.append(f"{c['template']}/{c['conversation']}: {e}")
        return not bad, f"{n - len(bad)} of {n} cases equal" + (f"; differ: {bad[:4]}" if bad else "")

# ------------------------------------------------------------------------------------------------ report
passed = sum(r["ok"] for r in RESULTS)
log(f"\n{passed} of {len(RESULTS)} checks passed")
with open(os.path.join(OUT, "report.json"), "w") as f:
    json.dump({"environment": ENV, "passed": passed, "total": len(RESULTS), "checks": RESULTS}, f, indent=1)
with open(os.path.join(OUT, "report.txt"), "w") as f:
    f.write(f"{ENV}\n{passed} of {len(RESULTS)} checks passed\n")
    for r in RESULTS:
        f.write(("PASS " if r["ok"] else "FAIL ") + r["check"] + ": " + r["detail"] + "\n")
