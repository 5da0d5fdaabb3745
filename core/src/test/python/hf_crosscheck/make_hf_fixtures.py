#!/usr/bin/env python3
"""Fixtures written by the real libraries, for lori4j's "the other way round" tests: tiny random models saved by
transformers' save_pretrained (its own config.json fields, safetensors writer, sharding) and LoRA adapters saved
by PEFT's save_pretrained (its own adapter_config.json fields), with the logits transformers / PEFT compute.

Needs torch, transformers, peft (run once where they are installed; lori4j's tests never run Python):

    python3 make_hf_fixtures.py OUTDIR

OUTDIR/<model>/          config.json, model.safetensors or shards + index, expected.safetensors (tokens I32 [T],
                         logits F32 [T, vocab]; float32 eager attention, bf16 weights widened)
OUTDIR/peft_a, peft_b    PEFT adapters on llama3_v5 (rsLoRA + rank/alpha patterns on all seven projections; plain
                         r 8 on q/v); peft_cat = add_weighted_adapter(cat) of a (1.0) and b (0.5)
OUTDIR/adapter_logits.safetensors   tokens, base, peft_a, peft_b, multi (a 1.0 + b 0.5 active), peft_cat
OUTDIR/versions.json     the library versions
"""
import json
import os
import shutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402
import transformers  # noqa: E402
import peft  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import (AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config,  # noqa: E402
                          Qwen2ForCausalLM)
from peft import LoraConfig, PeftModel, get_peft_model  # noqa: E402
from peft.tuners.lora import LoraLayer  # noqa: E402

OUT = sys.argv[1]
if os.path.exists(OUT):
    shutil.rmtree(OUT)
os.makedirs(OUT)
TOKENS = [1, 5, 9, 13, 2, 40, 7, 63, 20, 33, 11, 50]
PROJS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
SMALL = dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_attention_heads=4, num_key_value_heads=2,
             max_position_embeddings=256, initializer_range=0.2)


def randomize_norms(model, g):
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "norm" in n:
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            if n.endswith(".bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)


@torch.no_grad()
def logits(model):
    return model(torch.tensor([TOKENS])).logits[0].float().contiguous()


def save_model(name, model, dtype=torch.float32, **kw):
    d = os.path.join(OUT, name)
    model.to(dtype).save_pretrained(d, **kw)
    # the reference is the saved checkpoint loaded back in float32 (bf16 weights widened exactly). Not
    # model.float(): model.to(bfloat16) also rounds the RoPE inv_freq buffer, and .float() keeps the rounding.
    loaded = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
    save_file({"tokens": torch.tensor(TOKENS, dtype=torch.int32), "logits": logits(loaded)},
              os.path.join(d, "expected.safetensors"))
    print(name, sorted(os.listdir(d)))
    print(open(os.path.join(d, "config.json")).read())
    return loaded


g = torch.Generator().manual_seed(5)
torch.manual_seed(5)

# Llama-3-style RoPE (theta 500000, llama3 frequency bands), untied head, saved in shards
rope = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
try:
    cfg = LlamaConfig(num_hidden_layers=2, tie_word_embeddings=False, rope_parameters=rope, **SMALL)
except TypeError:
    legacy = {k: v for k, v in rope.items() if k != "rope_theta"}
    cfg = LlamaConfig(num_hidden_layers=2, tie_word_embeddings=False, rope_theta=500000.0, rope_scaling=legacy, **SMALL)
base = LlamaForCausalLM(cfg).eval()
randomize_norms(base, g)
base = save_model("llama3_v5", base, max_shard_size="20KB")

# bf16 storage, tied embeddings, default RoPE
cfg = LlamaConfig(num_hidden_layers=2, tie_word_embeddings=True, **SMALL)
m = LlamaForCausalLM(cfg).eval()
randomize_norms(m, g)
save_model("llama_bf16_tied", m, torch.bfloat16)

# Qwen2 with q/k/v bias and sliding windows on the layers from max_window_layers on
cfg = Qwen2Config(num_hidden_layers=3, tie_word_embeddings=False, use_sliding_window=True, sliding_window=4,
                  max_window_layers=1, **SMALL)
m = Qwen2ForCausalLM(cfg).eval()
randomize_norms(m, g)
save_model("qwen2_window", m)

# Mistral with a sliding window and head_dim != hidden / heads
cfg = MistralConfig(num_hidden_layers=2, tie_word_embeddings=False, sliding_window=3, head_dim=16, **SMALL)
m = MistralForCausalLM(cfg).eval()
randomize_norms(m, g)
save_model("mistral_window", m)


# PEFT adapters on llama3_v5
def lora_model(cfg):
    pm = get_peft_model(LlamaForCausalLM.from_pretrained(os.path.join(OUT, "llama3_v5"), dtype=torch.float32,
                                                         attn_implementation="eager"), cfg)
    with torch.no_grad():  # B away from PEFT's init so that every module changes the logits visibly
        for n, p in pm.named_parameters():
            if "lora_B" in n:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return pm.eval()


a = lora_model(LoraConfig(r=4, lora_alpha=8, target_modules=PROJS, use_rslora=True, lora_dropout=0.0,
                          rank_pattern={"v_proj": 2}, alpha_pattern={"down_proj": 4}, init_lora_weights=False))
a.save_pretrained(os.path.join(OUT, "peft_a"))
b = lora_model(LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], lora_dropout=0.0,
                          init_lora_weights=False))
b.save_pretrained(os.path.join(OUT, "peft_b"))
L = {"tokens": torch.tensor(TOKENS, dtype=torch.int32), "base": logits(base), "peft_a": logits(a), "peft_b": logits(b)}

pm = PeftModel.from_pretrained(LlamaForCausalLM.from_pretrained(os.path.join(OUT, "llama3_v5"), dtype=torch.float32,
                                                                attn_implementation="eager"),
                               os.path.join(OUT, "peft_a"), adapter_name="a")
pm.load_adapter(os.path.join(OUT, "peft_b"), adapter_name="b")
pm.base_model.set_adapter(["a", "b"])
for mod in pm.modules():
    if isinstance(mod, LoraLayer) and "b" in mod.scaling:
        mod.scaling["b"] *= 0.5
L["multi"] = logits(pm.eval())
for mod in pm.modules():
    if isinstance(mod, LoraLayer) and "b" in mod.scaling:
        mod.scaling["b"] *= 2.0
pm.add_weighted_adapter(["a", "b"], [1.0, 0.5], "cat", combination_type="cat")
pm.set_adapter("cat")
L["peft_cat"] = logits(pm.eval())
tmp = os.path.join(OUT, "_tmp")
pm.save_pretrained(tmp, selected_adapters=["cat"])
shutil.move(os.path.join(tmp, "cat"), os.path.join(OUT, "peft_cat"))
shutil.rmtree(tmp)
save_file(L, os.path.join(OUT, "adapter_logits.safetensors"))
for n in ["peft_a", "peft_b", "peft_cat"]:
    print(n, sorted(os.listdir(os.path.join(OUT, n))))
    print(open(os.path.join(OUT, n, "adapter_config.json")).read())
with open(os.path.join(OUT, "versions.json"), "w") as f:
    json.dump({"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}, f, indent=1)
print("fixtures in", OUT)
