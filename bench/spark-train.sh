#!/bin/bash
# lori train on the embedded model: one process, --cluster local[1] (1 worker, 2 threads), local[2] (2 workers, 1 thread each)
# run from an empty folder after ./mvnw -q -B -DskipTests package; prints steps/s and tokens/s of steps 2-6 per run
D="$(dirname "$0")/../core/src/test/resources/realdata/lori-tasks/boolq/train.json"
L="$(dirname "$0")/../lori"
COMMON="--data $D --max-length 128 --max-prompt-length 96 --batch-size 32 --micro-batch-size 16 --steps 6 --lr 1e-3"
for rep in 1 2; do
  JAVA_OPTS="-Dlori.threads=2" $L train --out r-one-$rep $COMMON > r-one-$rep.log 2>&1
  JAVA_OPTS="-Dlori.threads=2" $L train --out r-w1-$rep $COMMON --cluster 'local[1]' > r-w1-$rep.log 2>&1
  JAVA_OPTS="-Dlori.threads=1" $L train --out r-w2-$rep $COMMON --cluster 'local[2]' > r-w2-$rep.log 2>&1
done
for r in r-one-* r-w1-* r-w2-*; do [ -d $r ] || continue; python3 - $r <<'PY'
import json,sys
d=sys.argv[1]; L=[json.loads(l) for l in open(d+'/metrics.jsonl')]
L="$(dirname "$0")/../lori"
s=sum(x['seconds'] for x in L); t=sum(x['tokens'] for x in L)
print(f"{d}: steps 2-{len(L)+1}: {len(L)/s:.2f} steps/s, {t/s:.0f} tokens/s, step seconds {[round(x['seconds'],3) for x in L]}")
PY
done
grep -h "exchanged per step" r-w2-1.log r-w1-1.log
