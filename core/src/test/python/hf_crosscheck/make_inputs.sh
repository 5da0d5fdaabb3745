#!/usr/bin/env bash
# Produces, with lori4j alone, the artifacts that hf_crosscheck.py checks against real transformers + PEFT
# (and juzhengz/LoRI's src/extract_mask.py): a Hugging Face folder of stories260K, LoRI-D / mask / LoRI-S /
# rsLoRA adapters trained on it, merged adapters, merged-into-base exports, logits and greedy generations.
#
#   src/test/python/hf_crosscheck/make_inputs.sh OUTDIR     (from the repository root, after ./mvnw package)
set -euo pipefail
X=${1:?usage: make_inputs.sh OUTDIR}
ROOT=$(cd "$(dirname "$0")/../../../.." && pwd)
LORI="$ROOT/lori"
SHARED="$ROOT/../shared"
DATA="$SHARED/data/lori-tasks/arc-easy/train.json"
rm -rf "$X" && mkdir -p "$X" && cd "$X"
q() { "$LORI" "$@" 2>&1 | grep -v 'WARNING: Using incubator' || true; }

q import llama2c --checkpoint "$SHARED/realdata/stories260K/stories260K.bin" \
    --tokenizer "$SHARED/realdata/stories260K/tok512.bin" --out base
# high learning rates so that the adapters change the logits visibly after a few steps
q pipeline --model base --data "$DATA" --out pipe --steps 4 --batch-size 8 --rank 8 --alpha 16 \
    --lr-d 5e-3 --lr-s 5e-3 --max-length 192 --max-prompt-length 128 >/dev/null
q train --method lora --model base --data "$DATA" --out lora --steps 3 --batch-size 8 --rank 4 --alpha 8 --rslora \
    --targets q_proj,v_proj,down_proj --lr 5e-3 --max-length 192 --max-prompt-length 128 --seed 7 >/dev/null
D=pipe/lori-d S=pipe/lori-s

for g in model module projection layer matrix; do
  q masks --adapter $D --sparsity 0.5,0.9 --granularity $g --format both --out masks/$g >/dev/null
done

q merge --adapter $D:1 --adapter lora:0.5 --method cat --out merges/cat >/dev/null
q merge --adapter $D:0.7 --adapter $S:0.3 --method cat --out merges/cat_same >/dev/null
q merge --adapter $D:0.6 --adapter $S:0.4 --method linear --out merges/linear >/dev/null
q merge --adapter $D:-0.5 --adapter $S:1 --method linear --out merges/linear_negative >/dev/null
q merge --adapter $D:1 --adapter $S:0.8 --method ties --density 0.5 --out merges/ties >/dev/null
q merge --adapter $D:1 --adapter $S:0.8 --adapter $D:-0.3 --method ties --density 0.7 \
    --majority-sign-method frequency --out merges/ties_frequency >/dev/null
q merge --adapter $D:1 --adapter $S:1 --method magnitude_prune --density 0.3 --out merges/magnitude_prune >/dev/null
q merge --adapter lora:1 --adapter $D:1 --method cat --out merges/cat_rslora_first >/dev/null
q merge --adapter $D:1 --adapter lora:0.5 --method svd --out merges/svd >/dev/null
q merge --adapter $D:0.7 --adapter $S:-0.4 --method svd --svd-rank 5 --out merges/svd_rank >/dev/null
q merge --adapter $D:1 --adapter lora:0.5 --method ties_svd --density 0.5 --out merges/ties_svd >/dev/null
q merge --adapter $D:1 --adapter $S:0.6 --method magnitude_prune_svd --density 0.3 --svd-rank 6 --out merges/magnitude_prune_svd >/dev/null

q export --model base --adapter $S --out export_f32 >/dev/null
q export --model base --adapter $D:0.7 --adapter lora:1.3 --dtype bf16 --out export_bf16 >/dev/null

TEXT="Once upon a time, there was a little dog named Max. He liked to run in the park with his friend."
IDS=$(q tokenize --model base --text "$TEXT" --special)
echo "$TEXT" > text.txt
echo "$IDS" > tokens.txt
T=$(echo "$IDS" | tr ' ' ',')
mkdir -p logits
q logits --model base --tokens "$T" --out logits/base.safetensors >/dev/null
q logits --model base --tokens "$T" --adapter $D --out logits/lori_d.safetensors >/dev/null
q logits --model base --tokens "$T" --adapter $S --out logits/lori_s.safetensors >/dev/null
q logits --model base --tokens "$T" --adapter lora --out logits/lora.safetensors >/dev/null
q logits --model base --tokens "$T" --adapter $D:0.7 --adapter lora:1.3 --out logits/multi.safetensors >/dev/null
q logits --model base --tokens "$T" --adapter $D:0.7 --adapter lora:1.3 --merge --out logits/multi_merged.safetensors >/dev/null
for m in cat cat_same linear ties; do
  q logits --model base --tokens "$T" --adapter merges/$m --out logits/merge_$m.safetensors >/dev/null
done
q logits --model export_f32 --tokens "$T" --out logits/export_f32.safetensors >/dev/null
q logits --model export_bf16 --tokens "$T" --out logits/export_bf16.safetensors >/dev/null

mkdir -p generate
"$LORI" generate --model base --prompt "Once upon a time" --max-new-tokens 48 --temperature 0 --no-echo 2>/dev/null > generate/base.txt
"$LORI" generate --model base --adapter $S --prompt "Once upon a time" --max-new-tokens 48 --temperature 0 --no-echo 2>/dev/null > generate/lori_s.txt
"$LORI" generate --model base --adapter $D:0.7 --adapter lora:1.3 --prompt "Lily saw a" --max-new-tokens 48 --temperature 0 --no-echo 2>/dev/null > generate/multi.txt
rm -rf pipe/*/training_state lora/training_state
echo "inputs in $X"
