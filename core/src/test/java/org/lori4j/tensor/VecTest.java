package org.lori4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lori4j.tensor.KernelTesting.abs;
import static org.lori4j.tensor.KernelTesting.assertClose;
import static org.lori4j.tensor.KernelTesting.randn;

import java.util.Arrays;
import java.util.SplittableRandom;

import jdk.incubator.vector.FloatVector;

import org.junit.jupiter.api.Test;

class VecTest {
    /** Lengths around vector widths (8, 16 lanes) and unroll factors, plus a long one. */
    private static final int[] SIZES = {1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 100, 257, 2048, 2053};
    private final SplittableRandom rnd = new SplittableRandom(42);

    @Test
    void dotMatchesReference() {
        for (int n : SIZES) {
            float[] a = randn(rnd, n + 5), b = randn(rnd, n + 9);
            float got = Vec.dot(a, 3, b, 7, n);
            float want = ScalarKernels.dot(a, 3, b, 7, n);
            float bound = ScalarKernels.dot(abs(a), 3, abs(b), 7, n);
            assertClose("dot n=" + n, new float[] {want}, new float[] {got}, new float[] {bound}, 1e-5);
        }
    }

    @Test
    void laneSumsFollowOneFixedPairwiseOrder() {
        // The same order in the interpreter and in C2, so results never depend on JIT state.
        int l = Vec.F.length();
        for (int rep = 0; rep < 50; rep++) {
            float[] lanes = randn(rnd, l);
            for (int i = 0; i < l; i++) lanes[i] *= (float) Math.pow(10, rnd.nextInt(-6, 7));
            float[] a = lanes.clone();
            for (int h = l / 2; h >= 1; h /= 2) {
                float[] b = new float[l];
                for (int i = 0; i < l; i++) b[i] = a[i] + a[(i + h) % l];
                a = b;
            }
            float got = Vec.sumLanes(FloatVector.fromArray(Vec.F, lanes, 0));
            assertEquals(Float.floatToIntBits(a[0]), Float.floatToIntBits(got));
        }
    }

    @Test
    void dotOfKnownValues() {
        assertEquals(32f, Vec.dot(new float[] {1, 2, 3}, 0, new float[] {4, 5, 6}, 0, 3));
    }

    @Test
    void axpyScaleAddMulMatchReference() {
        for (int n : SIZES) {
            float[] x = randn(rnd, n + 2), y = randn(rnd, n + 4);
            float[] want = y.clone();
            ScalarKernels.axpy(want, 4, 0.37f, x, 2, n);
            float[] got = y.clone();
            Vec.axpy(got, 4, 0.37f, x, 2, n);
            float[] bound = abs(y);
            for (int i = 0; i < n; i++) bound[i + 4] += 0.37f * Math.abs(x[i + 2]);
            assertClose("axpy n=" + n, want, got, bound, 1e-6);

            float[] s = x.clone();
            Vec.scale(s, 1, -2.5f, n);
            for (int i = 0; i < x.length; i++) assertEquals(i >= 1 && i < n + 1 ? x[i] * -2.5f : x[i], s[i]);

            float[] sum = new float[n + 1];
            Vec.add(sum, 1, x, 0, y, 3, n);
            float[] prod = new float[n + 1];
            Vec.mul(prod, 1, x, 0, y, 3, n);
            for (int i = 0; i < n; i++) {
                assertEquals(x[i] + y[i + 3], sum[i + 1]);
                assertEquals(x[i] * y[i + 3], prod[i + 1]);
            }
        }
    }

    @Test
    void residualAddAddsInPlace() {
        float[] y = {1, 2, 3}, x = {10, 20, 30};
        Vec.add(y, x, 3);
        assertEquals(Arrays.toString(new float[] {11, 22, 33}), Arrays.toString(y));
    }

    @Test
    void sumSquaresAndMaxMatchReference() {
        for (int n : SIZES) {
            float[] x = randn(rnd, n + 3);
            float got = Vec.sumSquares(x, 3, n);
            float want = ScalarKernels.sumSquares(x, 3, n);
            assertEquals(want, got, 1e-5 * want + 1e-30, "sumSquares n=" + n);
            assertEquals(ScalarKernels.max(x, 3, n), Vec.max(x, 3, n), "max n=" + n);
        }
        float[] x = {1, 5, -3, Float.NaN, 2};
        assertTrue(Float.isNaN(Vec.max(x, 0, 5)));
    }

    @Test
    void rmsnormMatchesReferenceForFloatAndStoredWeights() {
        for (int n : SIZES) {
            float[] x = randn(rnd, n + 1);
            float[] w = randn(rnd, n);
            float[] want = new float[n + 2];
            ScalarKernels.rmsnorm(want, 2, x, 1, w, 1e-5f, n);
            float[] got = new float[n + 2];
            Vec.rmsnorm(got, 2, x, 1, w, 1e-5f, n);
            float[] bound = abs(want);
            assertClose("rmsnorm n=" + n, want, got, bound, 1e-5);
            for (DType dt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                Tensor wt = Tensor.fromFloats(dt, w, n);
                float[] wRounded = wt.toFloatArray();
                float[] want2 = new float[n + 2];
                ScalarKernels.rmsnorm(want2, 2, x, 1, wRounded, 1e-5f, n);
                float[] got2 = new float[n + 2];
                Vec.rmsnorm(got2, 2, x, 1, wt, 1e-5f, n);
                assertClose("rmsnorm " + dt + " n=" + n, want2, got2, abs(want2), 1e-5);
            }
        }
    }

    @Test
    void rmsnormOfConstantVectorIsWeight() {
        float[] x = new float[20];
        Arrays.fill(x, 3f);
        float[] w = new float[20];
        for (int i = 0; i < 20; i++) w[i] = i;
        float[] out = new float[20];
        Vec.rmsnorm(out, 0, x, 0, w, 0f, 20);
        for (int i = 0; i < 20; i++) assertEquals(i, out[i], 1e-6f * i);
    }

    @Test
    void softmaxMatchesReferenceAndSumsToOne() {
        for (int n : SIZES) {
            float[] x = randn(rnd, n + 2);
            for (int i = 0; i < x.length; i++) x[i] *= 20;
            float[] want = x.clone();
            ScalarKernels.softmaxInPlace(want, 2, n);
            float[] got = x.clone();
            Vec.softmaxInPlace(got, 2, n);
            float[] bound = new float[x.length];
            Arrays.fill(bound, 1f);
            assertClose("softmax n=" + n, want, got, bound, 2e-6);
            double s = 0;
            for (int i = 2; i < n + 2; i++) s += got[i];
            assertEquals(1.0, s, 1e-5);
        }
    }

    @Test
    void softmaxGivesZeroToMinusInfinity() {
        float[] x = new float[40];
        Arrays.fill(x, Float.NEGATIVE_INFINITY);
        x[5] = 1f;
        x[33] = 1f;
        Vec.softmaxInPlace(x, 0, 40);
        for (int i = 0; i < 40; i++) assertEquals(i == 5 || i == 33 ? 0.5f : 0f, x[i]);
    }

    @Test
    void attentionAlongKeysMatchesADoublePrecisionReference() {
        // head_dim 1..128 and key counts around vector widths; rows padded to whole vectors with NaN
        // (a cache's unfilled positions), which must not reach the result
        for (int D : new int[]{1, 3, 4, 5, 8, 64, 128})
            for (int n : new int[]{1, 7, 16, 17, 33, 120, 257}) {
                int ld = Vec.roundUpToLanes(n) + Vec.lanes(), kOff = 3, vOff = 5;
                float[] q = randn(rnd, D), k = new float[kOff + D * ld], v = new float[vOff + D * ld];
                Arrays.fill(k, Float.NaN);
                Arrays.fill(v, Float.NaN);
                float[] kv = randn(rnd, 2 * D * n);
                for (int d = 0; d < D; d++)
                    for (int j = 0; j < n; j++) {
                        k[kOff + d * ld + j] = kv[d * n + j];
                        v[vOff + d * ld + j] = kv[D * n + d * n + j];
                    }
                float scale = (float) (1 / Math.sqrt(D));
                double[] p = new double[n];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = 0; j < n; j++) {
                    for (int d = 0; d < D; d++) p[j] += (double) q[d] * k[kOff + d * ld + j];
                    p[j] *= scale;
                    max = Math.max(max, p[j]);
                }
                for (int j = 0; j < n; j++) sum += p[j] = Math.exp(p[j] - max);
                float[] out = new float[D + 2];
                Vec.attendAlongKeys(out, 1, q, 0, scale, k, kOff, v, vOff, ld, D, n, new float[Vec.roundUpToLanes(n)]);
                for (int d = 0; d < D; d++) {
                    double o = 0, mag = 0;
                    for (int j = 0; j < n; j++) {
                        o += p[j] / sum * v[vOff + d * ld + j];
                        mag += p[j] / sum * Math.abs(v[vOff + d * ld + j]);
                    }
                    assertEquals(o, out[1 + d], 1e-6 * (mag + 1e-3), "D=" + D + " n=" + n + " d=" + d);
                }
                assertEquals(0f, out[0]);
                assertEquals(0f, out[D + 1]);
            }
    }

    @Test
    void attentionAlongKeysIsBitForBitThePlainVectorFormula() {
        // The kernel spells exp out for arguments <= 0 and interleaves eight lane sums; both must give exactly the
        // bits of the plain form: FMA dot products along the keys, Vec.exp of (score - max), sumLanes of the
        // probabilities, FMA weighted sums, sumLanes of each, times 1/sum. Scores span ~60 units so that some
        // probabilities underflow (below exp's cutoff) or are subnormal.
        var F = Vec.F;
        int L = F.length();
        for (int D : new int[] {1, 3, 8, 12, 16, 64})
            for (int n : new int[] {1, L - 1, L, L + 1, 3 * L + 5, 4 * L, 4 * L + 1, 8 * L + 3, 140}) {
                int padded = Vec.roundUpToLanes(n), ld = padded + 3;
                float[] q = randn(rnd, D), k = randn(rnd, D * ld), v = randn(rnd, D * ld);
                for (int i = 0; i < D; i++) q[i] *= 40f / (float) Math.sqrt(D);
                for (int d = 0; d < D; d++)
                    for (int j = n; j < padded; j++) v[d * ld + j] = Float.NaN;   // never read as values
                float scale = (float) (1 / Math.sqrt(D));
                float[] s = new float[padded];
                for (int j = 0; j < padded; j += L) {
                    var acc = FloatVector.zero(F);
                    for (int d = 0; d < D; d++)
                        acc = FloatVector.fromArray(F, k, d * ld + j)
                                .fma(FloatVector.broadcast(F, q[d]), acc);
                    acc.mul(scale).intoArray(s, j);
                }
                float m = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) m = Math.max(m, s[j]);
                for (int j = n; j < padded; j++) s[j] = Float.NEGATIVE_INFINITY;
                var sum = FloatVector.zero(F);
                for (int j = 0; j < padded; j += L) {
                    var e = Vec.exp(FloatVector.fromArray(F, s, j).sub(m));
                    e.intoArray(s, j);
                    sum = sum.add(e);
                }
                float inv = 1f / Vec.sumLanes(sum);
                float[] want = new float[D], got = new float[D];
                for (int d = 0; d < D; d++) {
                    var acc = FloatVector.zero(F);
                    for (int j = 0; j < padded; j += L) {
                        float[] vj = Arrays.copyOfRange(v, d * ld + j, d * ld + j + L);
                        for (int i = 0; i < L; i++) if (j + i >= n) vj[i] = 0f;
                        acc = FloatVector.fromArray(F, vj, 0)
                                .fma(FloatVector.fromArray(F, s, j), acc);
                    }
                    want[d] = Vec.sumLanes(acc) * inv;
                }
                float[] scratch = new float[padded];
                Vec.attendAlongKeys(got, 0, q, 0, scale, k, 0, v, 0, ld, D, n, scratch);
                for (int j = 0; j < padded; j++)   // the unnormalised probabilities it leaves in its scratch
                    assertEquals(Float.floatToRawIntBits(s[j]), Float.floatToRawIntBits(scratch[j]), "D=" + D + " n=" + n + " p" + j);
                for (int d = 0; d < D; d++)
                    assertEquals(Float.floatToRawIntBits(want[d]), Float.floatToRawIntBits(got[d]),
                            "D=" + D + " n=" + n + " d=" + d + ": " + got[d] + " != " + want[d]);
            }
    }

    @Test
    void attentionOfFourHeadsSharingKeysHasEachHeadsBits() {
        // attendAlongKeys4 loads every key/value vector once for four heads; each head must get exactly what
        // attendAlongKeys gives it alone (outputs and the unnormalised probabilities left in the scratch). Values
        // past n are NaN (never read as values), scores span ~60 units so that some probabilities underflow.
        int L = Vec.lanes();
        for (int D : new int[] {1, 2, 3, 8, 13, 64})
            for (int n : new int[] {1, L - 1, L, L + 1, 2 * L, 2 * L + 1, 3 * L, 3 * L + 5, 140}) {
                int padded = Vec.roundUpToLanes(n), ld = padded + 5, kOff = 7, vOff = 2, qOff = 3, oOff = 1;
                float[] q = randn(rnd, qOff + 4 * D), k = randn(rnd, kOff + D * ld), v = randn(rnd, vOff + D * ld);
                for (int i = qOff; i < q.length; i++) q[i] *= 40f / (float) Math.sqrt(D);
                for (int d = 0; d < D; d++)
                    for (int j = n; j < padded; j++) v[vOff + d * ld + j] = Float.NaN;
                float scale = (float) (1 / Math.sqrt(D));
                float[] want = new float[oOff + 4 * D + 1], wantP = new float[4 * padded];
                for (int g = 0; g < 4; g++) {
                    float[] one = new float[padded];
                    Vec.attendAlongKeys(want, oOff + g * D, q, qOff + g * D, scale, k, kOff, v, vOff, ld, D, n, one);
                    System.arraycopy(one, 0, wantP, g * padded, padded);
                }
                float[] got = new float[want.length], gotP = new float[4 * padded + 3];
                Vec.attendAlongKeys4(got, oOff, q, qOff, scale, k, kOff, v, vOff, ld, D, n, gotP);
                for (int i = 0; i < want.length; i++)
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]),
                            "D=" + D + " n=" + n + " out[" + i + "]: " + got[i] + " != " + want[i]);
                for (int i = 0; i < wantP.length; i++)
                    assertEquals(Float.floatToRawIntBits(wantP[i]), Float.floatToRawIntBits(gotP[i]), "D=" + D + " n=" + n + " p" + i);
            }
        assertThrows(IndexOutOfBoundsException.class, () -> Vec.attendAlongKeys4(new float[4], 0, new float[4], 0, 1f,
                new float[L], 0, new float[L], 0, L, 1, L, new float[3 * L]));
    }

    @Test
    void attentionAlongKeysRefusesRowsShorterThanWholeVectors() {
        int n = Vec.lanes() + 1;
        float[] k = new float[2 * n];
        assertThrows(IndexOutOfBoundsException.class, () ->
                Vec.attendAlongKeys(new float[1], 0, new float[1], 0, 1f, k, 0, k, 0, n, 1, n, new float[2 * n]));
    }

    @Test
    void siluMulMatchesReference() {
        for (int n : SIZES) {
            float[] g = randn(rnd, n), u = randn(rnd, n);
            for (int i = 0; i < n; i++) g[i] *= 12;
            float[] want = new float[n], got = new float[n];
            ScalarKernels.siluMul(want, 0, g, 0, u, 0, n);
            Vec.siluMul(got, g, u, n);
            assertClose("siluMul n=" + n, want, got, abs(want), 1e-5);
        }
        float[] big = {-200f, 200f, 0f};
        float[] out = new float[3];
        Vec.siluMul(out, big, new float[] {1, 1, 1}, 3);
        assertEquals(0f, out[0], 0f);
        assertEquals(200f, out[1]);
        assertEquals(0f, out[2]);
    }

    @Test
    void vectorExpIsWithinOneMicroOfMathExp() {
        int n = 200_000;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -87f + 175f * i / (n - 1);
        float[] e = x.clone();
        Vec.expInPlace(e, 0, n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double want = Math.exp(x[i]);
            worst = Math.max(worst, Math.abs(e[i] - want) / want);
        }
        assertTrue(worst < 1e-6, "max relative error " + worst);
    }

    @Test
    void vectorExpHandlesSpecialValues() {
        float[] x = new float[16 * 2];
        Arrays.fill(x, 0f);
        x[0] = Float.NEGATIVE_INFINITY;
        x[1] = Float.POSITIVE_INFINITY;
        x[2] = Float.NaN;
        x[3] = -100f;
        x[4] = 100f;
        x[5] = 88.7f;
        x[6] = -87.3f;
        float[] e = x.clone();
        Vec.expInPlace(e, 0, x.length);
        assertEquals(0f, e[0]);
        assertEquals(Float.POSITIVE_INFINITY, e[1]);
        assertTrue(Float.isNaN(e[2]));
        assertEquals(0f, e[3]);
        assertEquals(Float.POSITIVE_INFINITY, e[4]);
        assertEquals(Math.exp(88.7f), e[5], 2e-6 * Math.exp(88.7f));
        assertEquals(Math.exp(-87.3f), e[6], 2e-6 * Math.exp(-87.3f));
        assertEquals(1f, e[7]);
    }
}
