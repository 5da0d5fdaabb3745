"""Fixture for ReferenceShuffleTest: the example order LoRI's batch iterator visits.

LoRI (juzhengz/LoRI src/get_datasets.py, get_batch_iterator) draws per-epoch seeds with
numpy's legacy global RNG seeded with `seed`, randint(0, 2**32), and before each epoch seeds
Python's `random` with the next one and shuffles its example list in place (so epoch e shuffles
epoch e-1's order). This script replays that with numpy + random (written here from that
description) and writes the orders for a few sizes and seeds.

Run with Debian's /usr/bin/python3 (CPython 3.11, numpy 1.24):
    /usr/bin/python3 src/test/python/reference_shuffle.py > src/test/resources/fixtures/train/reference_shuffle.json
"""
import json
import random
import sys

import numpy as np


def orders(n, seed, epochs):
    np.random.seed(seed)
    epoch_seeds = np.random.randint(0, 2**32, size=epochs)
    items = list(range(n))
    out = []
    for e in range(epochs):
        random.seed(int(epoch_seeds[e]))
        random.shuffle(items)
        out.append(list(items))
    return [int(s) for s in epoch_seeds], out


cases = []
for n, seed, epochs in [(10, 0, 3), (1, 0, 2), (2, 0, 2), (37, 0, 2), (1000, 0, 2), (25, 1234, 3), (17, 4294967295, 2)]:
    seeds, ords = orders(n, seed, epochs)
    case = {"n": n, "seed": seed, "epoch_seeds": seeds}
    if n <= 100:
        case["orders"] = ords
    else:
        # large case: only the first and last 20 positions of each epoch, to keep the file small
        case["heads"] = [o[:20] for o in ords]
        case["tails"] = [o[-20:] for o in ords]
    cases.append(case)

json.dump({"python": sys.version.split()[0], "numpy": np.__version__, "cases": cases}, sys.stdout, indent=1)
print()
