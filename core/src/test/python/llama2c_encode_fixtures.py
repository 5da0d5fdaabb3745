#!/usr/bin/python3
"""Token ids of a few prompts under llama2.c run.c's own encoder (karpathy/llama2.c `encode`, re-written here
from its description: BOS, a dummy-prefix " " token for non-empty text, one token per UTF-8 character or
byte fallback to <0xNN> = byte + 3, then repeatedly merge the adjacent pair whose joined string is in the
vocabulary with the highest score, leftmost on ties) over stories260K's tok512.bin. TokenizerTest checks that
the tok512.model SentencePiece conversion gives the same ids.

Run from the repository root: /usr/bin/python3 src/test/python/llama2c_encode_fixtures.py
"""
import json
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parents[3]
TOK = ROOT.parent / "shared/realdata/stories260K/tok512.bin"
OUT = ROOT / "src/test/resources/fixtures/text/tok512_encode.json"

PROMPTS = ["There was a big", "Once upon a time, there was a little girl named Lily.",
           "Hello 🦙 world!\n", "  two  spaces ", "Ünïcödé: naïve café", "", "a"]


def load(path):
    b = path.read_bytes()
    (max_len,) = struct.unpack_from("<i", b, 0)
    pos, vocab, scores = 4, [], []
    while pos < len(b):
        score, n = struct.unpack_from("<fi", b, pos)
        pos += 8
        vocab.append(b[pos:pos + n].decode("utf-8"))
        scores.append(score)
        pos += n
    return vocab, scores


def encode(text, vocab, scores):
    index = {}
    for i, s in enumerate(vocab):
        index.setdefault(s, i)
    ids = [1]  # BOS
    if text:
        ids.append(index[" "])
    for ch in text:
        if ch in index:
            ids.append(index[ch])
        else:
            ids.extend(byte + 3 for byte in ch.encode("utf-8"))
    while True:
        best, best_i, best_id = -1e10, -1, -1
        for i in range(len(ids) - 1):
            j = index.get(vocab[ids[i]] + vocab[ids[i + 1]])
            if j is not None and scores[j] > best:
                best, best_i, best_id = scores[j], i, j
        if best_i < 0:
            return ids
        ids[best_i:best_i + 2] = [best_id]


def main():
    vocab, scores = load(TOK)
    cases = [{"text": p, "ids": encode(p, vocab, scores)} for p in PROMPTS]
    OUT.write_text(json.dumps({"generator": "src/test/python/llama2c_encode_fixtures.py over tok512.bin",
                               "cases": cases}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for c in cases:
        print(c)


if __name__ == "__main__":
    main()
