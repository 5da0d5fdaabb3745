package org.lori4j.model;

import org.junit.jupiter.api.Test;
import org.lori4j.io.LlamaConfig;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The layer ops against hand-computed values and their plain-loop references. */
class LayerOpsTest {
    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() * 4 - 2);
        return a;
    }

    @Test
    void rmsNormByHandAndAgainstReference() {
        float[] out = new float[2], rstd = new float[1];
        RmsNorm.forward(out, rstd, new float[]{3, 4}, new float[]{1, 2}, 1, 2, 0f);
        // mean square 12.5, rstd 1/sqrt(12.5)
        assertEquals(1 / Math.sqrt(12.5), rstd[0], 1e-7);
        assertArrayEquals(new float[]{(float) (3 / Math.sqrt(12.5)), (float) (8 / Math.sqrt(12.5))}, out, 1e-6f);
        int N = 7, C = 67;
        float[] x = random(N * C, 1), w = random(C, 2);
        float[] a = new float[N * C], b = new float[N * C], ra = new float[N], rb = new float[N];
        RmsNorm.forward(a, ra, x, w, N, C, 1e-5f);
        RmsNorm.forwardReference(b, rb, x, w, N, C, 1e-5f);
        assertArrayEquals(rb, ra, 1e-6f);
        assertArrayEquals(b, a, 1e-5f);
    }

    @Test
    void swiGluByHandAndAgainstReference() {
        float[] out = new float[2];
        SwiGlu.forward(out, new float[]{0, 2}, new float[]{5, 3}, 1, 2);
        assertArrayEquals(new float[]{0, (float) (2 / (1 + Math.exp(-2)) * 3)}, out, 1e-6f);
        int N = 5, F = 93;
        float[] g = random(N * F, 3), u = random(N * F, 4), a = new float[N * F], b = new float[N * F];
        SwiGlu.forward(a, g, u, N, F);
        SwiGlu.forwardReference(b, g, u, N, F);
        assertArrayEquals(b, a, 1e-5f);
    }

    @Test
    void ropeRotatesChannelIWithChannelIPlusHalf() {
        // one row, one head of D = 4: pairs (0, 2) and (1, 3); angles pos * inv_freq with inv_freq = [1, 1/100]
        RopeFrequencies f = RopeFrequencies.of(4, 10000, null);
        assertArrayEquals(new float[]{1f, 0.01f}, f.invFreq(), 1e-9f);
        float[] cos = new float[2], sin = new float[2];
        f.cosSin(new int[]{3}, 1, cos, sin);
        float[] x = {1, 2, 3, 4};
        Rope.forward(x, cos, sin, 1, 1, 4);
        double c0 = Math.cos(3), s0 = Math.sin(3), c1 = Math.cos(0.03), s1 = Math.sin(0.03);
        assertArrayEquals(new float[]{(float) (1 * c0 - 3 * s0), (float) (2 * c1 - 4 * s1),
                (float) (3 * c0 + 1 * s0), (float) (4 * c1 + 2 * s1)}, x, 1e-6f);
    }

    @Test
    void linearScalingDividesTheFrequencies() {
        float[] plain = RopeFrequencies.of(8, 10000, null).invFreq();
        float[] scaled = RopeFrequencies.of(8, 10000, new LlamaConfig.RopeScaling("linear", 4, 0, 0, 0)).invFreq();
        for (int i = 0; i < plain.length; i++) assertEquals(plain[i] / 4, scaled[i], 0f);
    }

    @Test
    void attentionAgainstNaiveGqaWithCausalMask() {
        for (int W : new int[]{0, 4}) {                           // full causal, then a sliding window of 4
            attentionAgainstNaive(3, 2, W);                          // a few decode rows
            attentionAgainstNaive(Attention.GEMM_MIN_ROWS + 3, 5, W); // a prefill-sized block
        }
    }

    private static void attentionAgainstNaive(int T, int P, int W) {
        int H = 4, KV = 2, D = 8;
        float[] q = random(T * H * D, 5), k = random((P + T) * KV * D, 6), v = random((P + T) * KV * D, 7);
        float[] out = new float[T * H * D], att = new float[H * T * (P + T)];
        Attention.forward(out, 0, att, 0, q, 0, k, 0, v, 0, T, P, H, KV, D, W);
        for (int h = 0; h < H; h++) {
            int kvh = h / 2;
            for (int t = 0; t < T; t++) {
                double[] s = new double[P + t + 1];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                int lo = W > 0 ? Math.max(0, P + t - W + 1) : 0;   // key j visible iff (P+t) - W < j <= P+t
                for (int j = lo; j <= P + t; j++) {
                    for (int d = 0; d < D; d++) s[j] += q[(t * H + h) * D + d] * k[(j * KV + kvh) * D + d];
                    s[j] /= Math.sqrt(D);
                    max = Math.max(max, s[j]);
                }
                for (int j = lo; j <= P + t; j++) sum += s[j] = Math.exp(s[j] - max);
                for (int j = 0; j < P + T; j++)
                    assertEquals(j >= lo && j <= P + t ? s[j] / sum : 0, att[(h * T + t) * (P + T) + j], 1e-6);
                for (int d = 0; d < D; d++) {
                    double o = 0;
                    for (int j = lo; j <= P + t; j++) o += s[j] / sum * v[(j * KV + kvh) * D + d];
                    assertEquals(o, out[(t * H + h) * D + d], 1e-5);
                }
            }
        }
    }
    @Test
    void cachedAttentionOfSeveralSequencesEqualsTheRowLayoutForm() {
        // heads / kv heads: groups of 3 (one head at a time), 4 and 8 (rows along the keys four heads at a time),
        // 6 and 7 (four, then one at a time)
        for (int[] heads : new int[][]{{6, 2}, {8, 2}, {8, 1}, {12, 2}, {14, 2}})
            for (int W : new int[]{0, 6}) {
                cachedAttentionEqualsTheRowLayoutForm(8, W, heads[0], heads[1]);                            // prefills row by row
                cachedAttentionEqualsTheRowLayoutForm(Attention.GEMM_MIN_HEAD_DIM, W, heads[0], heads[1]);  // prefills as GEMMs
            }
    }

    private static void cachedAttentionEqualsTheRowLayoutForm(int D, int W, int H, int KV) {
        // decode rows (1-3 new rows) and prefills mixed in one pass, over channel-major caches with spare
        // capacity; each must equal Attention.forward on the same keys in row layout.
        int G = Attention.GEMM_MIN_ROWS;
        int[] T = {1, 3, G + 2, 1, G}, P = {0, 5, 0, 17, 9}, rows = new int[T.length];
        int N = 0;
        for (int s = 0; s < T.length; s++) { rows[s] = N; N += T[s]; }
        float[] q = random(N * H * D, 11);
        float[][] kT = new float[T.length][], vT = new float[T.length][];
        int[] cap = new int[T.length];
        float[] want = new float[N * H * D], got = new float[N * H * D];
        for (int s = 0; s < T.length; s++) {
            int S = P[s] + T[s];
            float[] k = random(S * KV * D, 20 + s), v = random(S * KV * D, 30 + s);
            Attention.forward(want, rows[s] * H * D, null, 0, q, rows[s] * H * D, k, 0, v, 0, T[s], P[s], H, KV, D, W);
            cap[s] = org.lori4j.tensor.Vec.roundUpToLanes(S + 3 + s) + org.lori4j.tensor.Vec.lanes();  // as KvCache: a vector of slack
            kT[s] = new float[KV * D * cap[s]];
            vT[s] = new float[KV * D * cap[s]];
            for (int p = 0; p < S; p++)
                for (int c = 0; c < KV * D; c++) {
                    kT[s][c * cap[s] + p] = k[p * KV * D + c];
                    vT[s][c * cap[s] + p] = v[p * KV * D + c];
                }
            // garbage beyond the filled positions must not be read
            for (int c = 0; c < KV * D; c++) for (int p = S; p < cap[s]; p++) kT[s][c * cap[s] + p] = vT[s][c * cap[s] + p] = Float.NaN;
        }
        Attention.forwardCached(got, q, rows, kT, vT, cap, T, P, H, KV, D, W);
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 2e-6, "D=" + D + " W=" + W + " H/KV=" + H + "/" + KV + " element " + i);
    }
}
