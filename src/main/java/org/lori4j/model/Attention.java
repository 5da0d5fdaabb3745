package org.lori4j.model;

import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Parallel;
import org.lori4j.tensor.Vec;

import java.util.Arrays;

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
    /** From this many query rows on, a head's scores and output are two GEMMs instead of row-by-row dot products. */
    static final int GEMM_MIN_ROWS = 16;

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
        if (T >= GEMM_MIN_ROWS) {
            forwardGemm(out, outOff, att, attOff, q, qOff, k, kOff, v, vOff, T, P, H, KV, D);
            return;
        }
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

    /**
     * The same result per head as two matrix products: S[T, P+T] = scale * Q_h K_h^T, a causal
     * softmax per row (masked entries 0), then O_h = S V_h. The masked upper triangle is computed
     * and discarded, which still beats T*(P+T) separate dot products by far (prefill).
     */
    static void forwardGemm(float[] out, int outOff, float[] att, int attOff,
                            float[] q, int qOff, float[] k, int kOff, float[] v, int vOff,
                            int T, int P, int H, int KV, int D) {
        int S = P + T;
        float scale = (float) (1.0 / Math.sqrt(D));
        Parallel.forRange(H, 1, (h0, h1) -> {
            float[] s = new float[T * S];
            for (int h = h0; h < h1; h++) {
                int kvh = h / (H / KV);
                MatMul.gemm(s, 0, S, q, qOff + h * D, H * D, k, kOff + kvh * D, KV * D, T, D, S, false, true, scale, false);
                for (int t = 0; t < T; t++) {
                    int keys = P + t + 1;
                    Vec.softmaxInPlace(s, t * S, keys);
                    Arrays.fill(s, t * S + keys, (t + 1) * S, 0f);
                }
                MatMul.gemm(out, outOff + h * D, H * D, s, 0, S, v, vOff + kvh * D, KV * D, T, S, D, false, false, 1f, false);
                if (att != null) System.arraycopy(s, 0, att, attOff + h * T * S, T * S);
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
        for (int j = 0; j < keys; j++) scores[j] = Vec.dot(q, qRow, k, kOff + j * kvStride + kvh * D, D) * scale;
        Vec.softmaxInPlace(scores, 0, keys);
        int oRow = outOff + (t * H + h) * D;
        java.util.Arrays.fill(out, oRow, oRow + D, 0f);
        for (int j = 0; j < keys; j++) Vec.axpy(out, oRow, scores[j], v, vOff + j * kvStride + kvh * D, D);
        if (att != null) {
            int aRow = attOff + (h * T + t) * (P + T);
            System.arraycopy(scores, 0, att, aRow, keys);
            for (int j = keys; j < P + T; j++) att[aRow + j] = 0;
        }
    }

    /**
     * Backward of {@link #forward} from the probabilities it stored in att [H, T, P+T]:
     * dP = dout v^T, dS = P * (dP - rowsum(dP * P)), dq = dS k / sqrt(D), dk = dS^T q / sqrt(D),
     * dv = P^T dout. dq[T, H*D] and dk/dv[P+T, KV*D] are overwritten (cached rows get the gradient
     * of their keys and values too). Work is split over kv heads, each owning its dk/dv columns.
     */
    public static void backward(float[] dq, int dqOff, float[] dk, int dkOff, float[] dv, int dvOff,
                                float[] dout, int doutOff, float[] att, int attOff,
                                float[] q, int qOff, float[] k, int kOff, float[] v, int vOff,
                                int T, int P, int H, int KV, int D) {
        if (H % KV != 0) throw new IllegalArgumentException("heads " + H + " not a multiple of kv heads " + KV);
        Parallel.forRange(KV, 1, (from, to) -> {
            float[] ds = new float[P + T];
            for (int g = from; g < to; g++)
                backwardGroup(dq, dqOff, dk, dkOff, dv, dvOff, dout, doutOff, att, attOff, q, qOff, k, kOff, v, vOff,
                        T, P, H, KV, D, g, ds);
        });
    }

    /** The query heads of kv head g. */
    private static void backwardGroup(float[] dq, int dqOff, float[] dk, int dkOff, float[] dv, int dvOff,
                                      float[] dout, int doutOff, float[] att, int attOff,
                                      float[] q, int qOff, float[] k, int kOff, float[] v, int vOff,
                                      int T, int P, int H, int KV, int D, int g, float[] ds) {
        int kvStride = KV * D, group = H / KV, S = P + T;
        float scale = (float) (1.0 / Math.sqrt(D));
        for (int j = 0; j < S; j++) {
            int o = j * kvStride + g * D;
            for (int d = 0; d < D; d++) { dk[dkOff + o + d] = 0; dv[dvOff + o + d] = 0; }
        }
        for (int h = g * group; h < (g + 1) * group; h++) {
            for (int t = 0; t < T; t++) {
                int keys = P + t + 1;
                int row = (t * H + h) * D;
                int aRow = attOff + (h * T + t) * S;
                // dP_j = dout_t . v_j; rowsum(dP * P)
                double dot = 0;
                for (int j = 0; j < keys; j++) {
                    int vRow = vOff + j * kvStride + g * D;
                    float dp = 0;
                    for (int d = 0; d < D; d++) dp += dout[doutOff + row + d] * v[vRow + d];
                    ds[j] = dp;
                    dot += (double) dp * att[aRow + j];
                }
                float sum = (float) dot;
                for (int d = 0; d < D; d++) dq[dqOff + row + d] = 0;
                for (int j = 0; j < keys; j++) {
                    float p = att[aRow + j];
                    float s = p * (ds[j] - sum) * scale;
                    int kRow = j * kvStride + g * D;
                    for (int d = 0; d < D; d++) {
                        dq[dqOff + row + d] += s * k[kOff + kRow + d];
                        dk[dkOff + kRow + d] += s * q[qOff + row + d];
                        dv[dvOff + kRow + d] += p * dout[doutOff + row + d];
                    }
                }
            }
        }
    }
}
