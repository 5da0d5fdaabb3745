package org.lori4j.model;

import org.lori4j.tensor.MatMul;
import org.lori4j.tensor.Parallel;
import org.lori4j.tensor.ThreadScratch;
import org.lori4j.tensor.Vec;

import java.util.Arrays;

/**
 * Causal scaled-dot-product attention with grouped-query heads (GQA), as Hugging Face's eager
 * Llama attention: scores q.k / sqrt(D), softmax in f32, weighted sum of v. Query head h reads
 * key/value head h / (H / KV). Three forms of the same function:
 * <ul>
 * <li>{@link #forward}: keys/values in row layout [P+T, KV*D] with P earlier positions, optionally
 *     storing the probabilities, row by row: the plain reference form, which {@link #backward} is written
 *     against and the tests hold the other two to;</li>
 * <li>{@link #forwardSequence}: a whole training sequence (P = 0), probabilities stored, loops along the keys;</li>
 * <li>{@link #forwardCached}: inference over a {@link KvCache} (channel-major keys/values), several
 *     sequences per call: prefill as GEMMs, decode rows along the keys.</li>
 * </ul>
 *
 * <p>Legend: T = new query rows of one sequence, P = positions already cached before them,
 * H = query heads, KV = key/value heads, D = head_dim, W = sliding window (0 = none). Query row t sits
 * at position P + t and attends to positions lo..P+t, lo = max(0, P+t-W+1) with a window (HF's
 * sliding_window: key k visible to query q iff q-W < k <= q), else 0.
 */
public final class Attention {
    /** From this many new rows on, a sequence's attention over the cache is two GEMMs per head ({@link #forwardCached}). */
    static final int GEMM_MIN_ROWS = 16;
    /**
     * Below this head_dim a prefill over the cache runs row by row along the keys too: a GEMM with an inner
     * dimension of 8 is mostly packing (stories260K, 90-token prompts: 10.3 -> 7.7 us per prompt token).
     */
    static final int GEMM_MIN_HEAD_DIM = 32;

    private Attention() {}

    /**
     * out[T, H*D] = attention of q[T, H*D] over k/v[P+T, KV*D] (rows 0..P+T-1 filled).
     * Buffers are addressed from offsets so that a batch's rows and a cache's rows can be used in
     * place. att, if not null, receives the probabilities as [H, T, P+T] from attOff (zeros above
     * the causal diagonal and, with a window, before it) for the backward pass. Heads run in parallel
     * on {@link Parallel}.
     */
    public static void forward(float[] out, int outOff, float[] att, int attOff,
                               float[] q, int qOff, float[] k, int kOff, float[] v, int vOff,
                               int T, int P, int H, int KV, int D) {
        forward(out, outOff, att, attOff, q, qOff, k, kOff, v, vOff, T, P, H, KV, D, 0);
    }

    /** As {@link #forward(float[], int, float[], int, float[], int, float[], int, float[], int, int, int, int, int, int)} with a sliding window W (0 = none). */
    public static void forward(float[] out, int outOff, float[] att, int attOff,
                               float[] q, int qOff, float[] k, int kOff, float[] v, int vOff,
                               int T, int P, int H, int KV, int D, int W) {
        if (H % KV != 0) throw new IllegalArgumentException("heads " + H + " not a multiple of kv heads " + KV);
        int jobs = H * T;
        // Each job is one (head, query row): about 2*(P+t)*D multiply-adds.
        int minChunk = Math.max(1, 16384 / (2 * (P + T) * D + 1));
        Parallel.forRange(jobs, minChunk, (from, to) -> {
            float[] scores = new float[P + T];
            for (int job = from; job < to; job++) {
                int h = job / T, t = job % T;
                head(out, outOff, att, attOff, q, qOff, k, kOff, v, vOff, T, P, H, KV, D, W, h, t, scores);
            }
        });
    }

    /**
     * Inference attention over a {@link KvCache}, for several sequences in one parallel pass. Sequence s has
     * T[s] new query rows at rows qRow[s] of q and out ([rows, H*D]); its keys and values, those of the new
     * rows included, are kT[s] and vT[s] in the cache's channel-major layout [KV*D, cap[s]] (channel
     * kvh*D + d of position p at (kvh*D + d) * cap[s] + p), with P[s] positions before the new rows.
     * A sequence of at least {@link #GEMM_MIN_ROWS} rows (prefill) runs each head as two GEMMs when head_dim is
     * at least {@link #GEMM_MIN_HEAD_DIM}; otherwise (decode, tiny heads) rows run one by one with every loop
     * along the keys ({@link Vec#attendAlongKeys}), so a small head_dim costs no short loops, the query heads that
     * share a key/value head four at a time as far as they go ({@link Vec#attendAlongKeys4}, the same bits).
     * Jobs are (sequence, head) or (sequence, one or four heads, row); one synchronisation for the whole step.
     */
    static void forwardCached(float[] out, float[] q, int[] qRow, float[][] kT, float[][] vT, int[] cap,
                              int[] T, int[] P, int H, int KV, int D, int W) {
        if (H % KV != 0) throw new IllegalArgumentException("heads " + H + " not a multiple of kv heads " + KV);
        int B = T.length;
        int[] jobStart = new int[B + 1];
        long work = 0;
        // Rows along the keys take the query heads of a key/value head four at a time (grouped-query attention: each
        // key and value vector is then loaded once for four heads), the group's remaining heads one by one.
        int group = H / KV, qDim = H * D, quads = group / 4, blocks = quads + group % 4, rowJobs = KV * blocks;
        for (int s = 0; s < B; s++) {
            jobStart[s + 1] = jobStart[s] + (T[s] >= GEMM_MIN_ROWS && D >= GEMM_MIN_HEAD_DIM ? H : rowJobs * T[s]);
            work += (long) H * T[s] * 2L * (P[s] + T[s]) * D;
        }
        int jobs = jobStart[B];
        if (jobs == 0) return;
        int minChunk = (int) Math.max(1, 16384L * jobs / (work + 1));
        float scale = (float) (1.0 / Math.sqrt(D));
        Parallel.forRange(jobs, minChunk, (from, to) -> {
            float[] scratch = new float[0];
            int s = 0;
            for (int job = from; job < to; job++) {
                while (job >= jobStart[s + 1]) s++;
                int j = job - jobStart[s], keysBefore = P[s], c = cap[s];
                if (T[s] >= GEMM_MIN_ROWS && D >= GEMM_MIN_HEAD_DIM) {
                    int h = j, S = keysBefore + T[s];
                    if (scratch.length < T[s] * S) scratch = new float[T[s] * S];
                    gemmHead(out, q, qRow[s] * qDim + h * D, qDim, kT[s], vT[s], (h / group) * D * c, c,
                            T[s], keysBefore, D, W, scale, scratch);
                } else {
                    int b = j / T[s], t = j % T[s], kvh = b / blocks, bi = b % blocks;
                    int h = kvh * group + (bi < quads ? 4 * bi : 4 * quads + bi - quads), keys = keysBefore + t + 1, lo = first(keys, W);
                    if (scratch.length < 4 * Vec.roundUpToLanes(keys)) scratch = ROW_SCORES.get(4 * Vec.roundUpToLanes(keysBefore + T[s]));
                    int row = (qRow[s] + t) * qDim + h * D;
                    int chan = kvh * D * c + lo;
                    if (bi < quads) Vec.attendAlongKeys4(out, row, q, row, scale, kT[s], chan, vT[s], chan, c, D, keys - lo, scratch);
                    else Vec.attendAlongKeys(out, row, q, row, scale, kT[s], chan, vT[s], chan, c, D, keys - lo, scratch);
                }
            }
        });
    }

    /** Each thread's score buffer for rows along the keys (a decode step used to allocate one per chunk). */
    private static final ThreadScratch ROW_SCORES = new ThreadScratch();

    /**
     * One head of a prefill over channel-major keys/values (at chan0 = kvh*D*cap, row stride cap):
     * S[T, P+T] = scale * Q K^T, causal softmax per row, O = S V, written to out[off + t * ld + d].
     */
    private static void gemmHead(float[] out, float[] q, int off, int ld, float[] kT, float[] vT, int chan0, int cap,
                                 int T, int P, int D, int W, float scale, float[] s) {
        int S = P + T;
        MatMul.gemm(s, 0, S, q, off, ld, kT, chan0, cap, T, D, S, false, false, scale, false);
        causalSoftmax(s, T, P, W);
        MatMul.gemm(out, off, ld, s, 0, S, vT, chan0, cap, T, S, D, false, true, 1f, false);
    }

    /** One query row t of head h. */
    private static void head(float[] out, int outOff, float[] att, int attOff,
                             float[] q, int qOff, float[] k, int kOff, float[] v, int vOff,
                             int T, int P, int H, int KV, int D, int W, int h, int t, float[] scores) {
        int kvh = h / (H / KV);
        int qRow = qOff + (t * H + h) * D;
        int keys = P + t + 1, lo = first(keys, W);   // positions lo..P+t
        int kvStride = KV * D;
        float scale = (float) (1.0 / Math.sqrt(D));
        Arrays.fill(scores, 0, lo, 0f);
        for (int j = lo; j < keys; j++) scores[j] = Vec.dot(q, qRow, k, kOff + j * kvStride + kvh * D, D) * scale;
        Vec.softmaxInPlace(scores, lo, keys - lo);
        int oRow = outOff + (t * H + h) * D;
        java.util.Arrays.fill(out, oRow, oRow + D, 0f);
        for (int j = lo; j < keys; j++) Vec.axpy(out, oRow, scores[j], v, vOff + j * kvStride + kvh * D, D);
        if (att != null) {
            int aRow = attOff + (h * T + t) * (P + T);
            System.arraycopy(scores, 0, att, aRow, keys);
            for (int j = keys; j < P + T; j++) att[aRow + j] = 0;
        }
    }

    /**
     * The training form of {@link #forward} for a whole sequence (no cache, P = 0), which must also store the
     * probabilities att [H, T, T] for {@link #backward}: the same attention, but with each kv head's keys and
     * values transposed to [D, T] so that every loop runs along the keys (fast for small head_dim too). Its
     * rounding differs slightly from {@link #forward}'s (dot products summed in another order).
     */
    public static void forwardSequence(float[] out, int outOff, float[] att, int attOff,
                                       float[] q, int qOff, float[] k, int kOff, float[] v, int vOff,
                                       int T, int H, int KV, int D, int W) {
        if (H % KV != 0) throw new IllegalArgumentException("heads " + H + " not a multiple of kv heads " + KV);
        int group = H / KV;
        // jobs = (kv head, query head of its group); each transposes its kv head (cheap next to the T^2 work)
        Parallel.forRange(H, 1, (from, to) -> {
            float[] kT = new float[D * T], vT = new float[D * T];
            int loaded = -1;
            for (int h = from; h < to; h++) {
                int g = h / group;
                if (g != loaded) {
                    transpose(k, kOff, kT, T, KV * D, g * D, D);
                    transpose(v, vOff, vT, T, KV * D, g * D, D);
                    loaded = g;
                }
                sequenceHead(out, outOff, att, attOff, q, qOff, kT, vT, T, H, D, W, h);
            }
        });
    }

    /** dst[d * rows + j] = src[off + j * stride + col + d]: columns [col, col + D) of a row-major buffer, transposed. */
    private static void transpose(float[] src, int off, float[] dst, int rows, int stride, int col, int D) {
        for (int j = 0; j < rows; j++) {
            int o = off + j * stride + col;
            for (int d = 0; d < D; d++) dst[d * rows + j] = src[o + d];
        }
    }

    private static void sequenceHead(float[] out, int outOff, float[] att, int attOff, float[] q, int qOff,
                                     float[] kT, float[] vT, int T, int H, int D, int W, int h) {
        float scale = (float) (1.0 / Math.sqrt(D));
        for (int t = 0; t < T; t++) {
            int keys = t + 1, lo = first(keys, W), n = keys - lo;
            int row = (t * H + h) * D;
            int aRow = attOff + (h * T + t) * T;
            // scores along the keys lo..t: s_j = sum_d q_t[d] kT[d, j] / sqrt(D)
            java.util.Arrays.fill(att, aRow, aRow + T, 0f);
            for (int d = 0; d < D; d++) Vec.axpy(att, aRow + lo, q[qOff + row + d] * scale, kT, d * T + lo, n);
            Vec.softmaxInPlace(att, aRow + lo, n);
            for (int d = 0; d < D; d++) out[outOff + row + d] = Vec.dot(att, aRow + lo, vT, d * T + lo, n);
        }
    }

    /** The first position a query at position keys-1 sees: keys - W with a window W, else 0. */
    static int first(int keys, int W) {
        return W > 0 ? Math.max(0, keys - W) : 0;
    }

    /**
     * Row t of s [T, P+T] (scores of the query at position P+t): softmax over its visible positions
     * {@link #first}..P+t, zero elsewhere (the causal and window masks).
     */
    private static void causalSoftmax(float[] s, int T, int P, int W) {
        int S = P + T;
        for (int t = 0; t < T; t++) {
            int keys = P + t + 1, lo = first(keys, W);
            Vec.softmaxInPlace(s, t * S + lo, keys - lo);
            Arrays.fill(s, t * S, t * S + lo, 0f);
            Arrays.fill(s, t * S + keys, (t + 1) * S, 0f);
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
        int S = P + T;
        Parallel.forRange(KV, 1, (from, to) -> {
            // one kv head's keys and values transposed to [D, S], so every loop below runs along the keys
            float[] kT = new float[D * S], vT = new float[D * S], dkT = new float[D * S], dvT = new float[D * S], ds = new float[S];
            for (int g = from; g < to; g++)
                backwardGroup(dq, dqOff, dk, dkOff, dv, dvOff, dout, doutOff, att, attOff, q, qOff, k, kOff, v, vOff,
                        T, P, H, KV, D, g, kT, vT, dkT, dvT, ds);
        });
    }

    /** The query heads of kv head g. */
    private static void backwardGroup(float[] dq, int dqOff, float[] dk, int dkOff, float[] dv, int dvOff,
                                      float[] dout, int doutOff, float[] att, int attOff,
                                      float[] q, int qOff, float[] k, int kOff, float[] v, int vOff,
                                      int T, int P, int H, int KV, int D, int g,
                                      float[] kT, float[] vT, float[] dkT, float[] dvT, float[] ds) {
        int kvStride = KV * D, group = H / KV, S = P + T;
        float scale = (float) (1.0 / Math.sqrt(D));
        for (int j = 0; j < S; j++) {
            int o = j * kvStride + g * D;
            for (int d = 0; d < D; d++) {
                kT[d * S + j] = k[kOff + o + d];
                vT[d * S + j] = v[vOff + o + d];
            }
        }
        java.util.Arrays.fill(dkT, 0f);
        java.util.Arrays.fill(dvT, 0f);
        for (int h = g * group; h < (g + 1) * group; h++) {
            for (int t = 0; t < T; t++) {
                int keys = P + t + 1;
                int row = (t * H + h) * D;
                int aRow = attOff + (h * T + t) * S;
                // dP_j = dout_t . v_j, then dS_j = P_j (dP_j - sum_i P_i dP_i) / sqrt(D)
                java.util.Arrays.fill(ds, 0, keys, 0f);
                for (int d = 0; d < D; d++) Vec.axpy(ds, 0, dout[doutOff + row + d], vT, d * S, keys);
                float sum = Vec.dot(ds, 0, att, aRow, keys);
                for (int j = 0; j < keys; j++) ds[j] = att[aRow + j] * (ds[j] - sum) * scale;
                for (int d = 0; d < D; d++) {
                    dq[dqOff + row + d] = Vec.dot(ds, 0, kT, d * S, keys);
                    Vec.axpy(dkT, d * S, q[qOff + row + d], ds, 0, keys);
                    Vec.axpy(dvT, d * S, dout[doutOff + row + d], att, aRow, keys);
                }
            }
        }
        for (int j = 0; j < S; j++) {
            int o = j * kvStride + g * D;
            for (int d = 0; d < D; d++) {
                dk[dkOff + o + d] = dkT[d * S + j];
                dv[dvOff + o + d] = dvT[d * S + j];
            }
        }
    }
}
