package org.lori4j.model;

import org.lori4j.tensor.Parallel;

/**
 * Causal scaled-dot-product attention with grouped-query heads (GQA), as Hugging Face's eager
 * Llama attention: scores q.k / sqrt(D), softmax in f32, weighted sum of v. Query head h reads
 * key/value head h / (H / KV). The keys and values are those of a cache that already holds the
 * P earlier positions of the sequence, so prefill (P = 0, T = prompt) and decode (T = 1) are
 * the same code.
 *
 * <p>Legend: T = new query rows of one sequence, P = positions already cached before them,
 * H = query heads, KV = key/value heads, D = head_dim. Query row t sits at position P + t and
 * attends to cached positions 0..P+t.
 */
public final class Attention {
    private Attention() {}

    /**
     * out[T, H*D] = attention of q[T, H*D] over k/v[P+T, KV*D] (rows 0..P+T-1 filled).
     * Buffers are addressed from offsets so that a batch's rows and a cache's rows can be used in
     * place. att, if not null, receives the probabilities as [H, T, P+T] from attOff (zeros above
     * the causal diagonal) for the backward pass. Heads run in parallel on {@link Parallel}.
     */
    public static void forward(float[] out, int outOff, float[] att, int attOff,
                               float[] q, int qOff, float[] k, int kOff, float[] v, int vOff,
                               int T, int P, int H, int KV, int D) {
        if (H % KV != 0) throw new IllegalArgumentException("heads " + H + " not a multiple of kv heads " + KV);
        int jobs = H * T;
        // Each job is one (head, query row): about 2*(P+t)*D multiply-adds.
        int minChunk = Math.max(1, 16384 / (2 * (P + T) * D + 1));
        Parallel.forRange(jobs, minChunk, (from, to) -> {
            float[] scores = new float[P + T];
            for (int job = from; job < to; job++) {
                int h = job / T, t = job % T;
                head(out, outOff, att, attOff, q, qOff, k, kOff, v, vOff, T, P, H, KV, D, h, t, scores);
            }
        });
    }

    /** One query row t of head h. */
    private static void head(float[] out, int outOff, float[] att, int attOff,
                             float[] q, int qOff, float[] k, int kOff, float[] v, int vOff,
                             int T, int P, int H, int KV, int D, int h, int t, float[] scores) {
        int kvh = h / (H / KV);
        int qRow = qOff + (t * H + h) * D;
        int keys = P + t + 1;                  // causal: positions 0..P+t
        int kvStride = KV * D;
        float scale = (float) (1.0 / Math.sqrt(D));
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < keys; j++) {
            int kRow = kOff + j * kvStride + kvh * D;
            float s = 0;
            for (int d = 0; d < D; d++) s += q[qRow + d] * k[kRow + d];
            s *= scale;
            scores[j] = s;
            if (s > max) max = s;
        }
        float sum = 0;
        for (int j = 0; j < keys; j++) {
            float e = (float) Math.exp(scores[j] - max);
            scores[j] = e;
            sum += e;
        }
        float inv = 1.0f / sum;
        int oRow = outOff + (t * H + h) * D;
        for (int d = 0; d < D; d++) out[oRow + d] = 0;
        for (int j = 0; j < keys; j++) {
            float p = scores[j] * inv;
            scores[j] = p;
            int vRow = vOff + j * kvStride + kvh * D;
            for (int d = 0; d < D; d++) out[oRow + d] += p * v[vRow + d];
        }
        if (att != null) {
            int aRow = attOff + (h * T + t) * (P + T);
            System.arraycopy(scores, 0, att, aRow, keys);
            for (int j = keys; j < P + T; j++) att[aRow + j] = 0;
        }
    }
}
