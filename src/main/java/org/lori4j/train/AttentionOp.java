package org.lori4j.train;

/**
 * Causal multi-head self-attention with grouped KV heads over packed sequences: rows of one
 * micro-batch lie back to back, sequence s in rows [start[s], start[s] + len[s]), and a row
 * attends only to earlier rows of its own sequence. q/out are [n, heads*d], k/v are [n, kvHeads*d];
 * query head h reads kv head h / (heads/kvHeads). The forward keeps the per-row log-sum-exp
 * [n, heads] so the backward recomputes probabilities without storing [T, T] matrices.
 */
public final class AttentionOp {
    private AttentionOp() {}

    /** Shapes of one call. */
    public record Dims(int heads, int kvHeads, int headDim) {
        public Dims {
            if (heads % kvHeads != 0) throw new IllegalArgumentException("heads " + heads + " not a multiple of kv heads " + kvHeads);
        }
        int qWidth() { return heads * headDim; }
        int kvWidth() { return kvHeads * headDim; }
        float scale() { return (float) (1.0 / Math.sqrt(headDim)); }
    }

    /** out = softmax(q k^T / sqrt(d), causal) v per sequence and head; lse[n*heads] receives log-sum-exp of the scaled scores. */
    public static void forward(float[] out, float[] lse, float[] q, float[] k, float[] v, int[] start, int[] len, Dims dm) {
        int maxLen = 0;
        for (int l : len) maxLen = Math.max(maxLen, l);
        float[] p = new float[maxLen];
        for (int s = 0; s < start.length; s++)
            for (int h = 0; h < dm.heads(); h++) forwardHead(out, lse, q, k, v, start[s], len[s], h, dm, p);
    }

    static void forwardHead(float[] out, float[] lse, float[] q, float[] k, float[] v, int s0, int T, int h, Dims dm, float[] p) {
        int d = dm.headDim(), qw = dm.qWidth(), kw = dm.kvWidth();
        int g = h / (dm.heads() / dm.kvHeads());
        float scale = dm.scale();
        for (int i = 0; i < T; i++) {
            int qo = (s0 + i) * qw + h * d;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j <= i; j++) {
                float sc = dot(q, qo, k, (s0 + j) * kw + g * d, d) * scale;
                p[j] = sc;
                if (sc > max) max = sc;
            }
            float sum = 0;
            for (int j = 0; j <= i; j++) {
                float e = (float) Math.exp(p[j] - max);
                p[j] = e;
                sum += e;
            }
            float inv = 1f / sum;
            for (int x = 0; x < d; x++) out[qo + x] = 0f;
            for (int j = 0; j <= i; j++) {
                float w = p[j] * inv;
                int vo = (s0 + j) * kw + g * d;
                for (int x = 0; x < d; x++) out[qo + x] += w * v[vo + x];
            }
            lse[(s0 + i) * dm.heads() + h] = max + (float) Math.log(sum);
        }
    }

    /**
     * Gradients w.r.t. q, k and v (overwritten) from dout, using out and lse of the forward:
     * P = exp(S - lse), dP = dout v^T, dS = P * (dP - rowsum(dout * out)), dq = dS k / sqrt(d),
     * dk = dS^T q / sqrt(d), dv = P^T dout.
     */
    public static void backward(float[] dq, float[] dk, float[] dv, float[] dout, float[] q, float[] k, float[] v,
                                float[] out, float[] lse, int[] start, int[] len, Dims dm) {
        for (int s = 0; s < start.length; s++)
            for (int g = 0; g < dm.kvHeads(); g++) backwardGroup(dq, dk, dv, dout, q, k, v, out, lse, start[s], len[s], g, dm);
    }

    /** One sequence and one kv head: the kv head's dk/dv rows are owned by this call, so calls can run in parallel. */
    static void backwardGroup(float[] dq, float[] dk, float[] dv, float[] dout, float[] q, float[] k, float[] v,
                              float[] out, float[] lse, int s0, int T, int g, Dims dm) {
        int d = dm.headDim(), qw = dm.qWidth(), kw = dm.kvWidth();
        int group = dm.heads() / dm.kvHeads();
        float scale = dm.scale();
        for (int j = 0; j < T; j++) {
            int ko = (s0 + j) * kw + g * d;
            for (int x = 0; x < d; x++) { dk[ko + x] = 0f; dv[ko + x] = 0f; }
        }
        for (int h = g * group; h < (g + 1) * group; h++) {
            for (int i = 0; i < T; i++) {
                int qo = (s0 + i) * qw + h * d;
                float di = dot(dout, qo, out, qo, d);
                float l = lse[(s0 + i) * dm.heads() + h];
                for (int x = 0; x < d; x++) dq[qo + x] = 0f;
                for (int j = 0; j <= i; j++) {
                    int ko = (s0 + j) * kw + g * d;
                    float pij = (float) Math.exp(dot(q, qo, k, ko, d) * scale - l);
                    float dp = dot(dout, qo, v, ko, d);
                    float ds = pij * (dp - di) * scale;
                    for (int x = 0; x < d; x++) {
                        dq[qo + x] += ds * k[ko + x];
                        dk[ko + x] += ds * q[qo + x];
                        dv[ko + x] += pij * dout[qo + x];
                    }
                }
            }
        }
    }

    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        float s = 0;
        for (int i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
        return s;
    }
}
