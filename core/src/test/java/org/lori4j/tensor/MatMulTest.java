package org.lori4j.tensor;

import static org.lori4j.tensor.KernelTesting.abs;
import static org.lori4j.tensor.KernelTesting.absWeight;
import static org.lori4j.tensor.KernelTesting.assertClose;
import static org.lori4j.tensor.KernelTesting.randn;
import static org.lori4j.tensor.KernelTesting.randomWeight;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;


import org.junit.jupiter.api.Test;

/** The default backend against the double-precision scalar reference, on odd shapes and tails. */
class MatMulTest {
    private static final DType[] DTYPES = {DType.F32, DType.BF16, DType.F16};
    /** [rows(out), cols(in)]: below, at and above panel/vector widths, and a few longer ones. */
    private static final int[][] SHAPES = {{1, 1}, {5, 3}, {17, 33}, {32, 64}, {33, 31}, {64, 100}, {95, 257},
            {129, 48}, {300, 40}, {256, 520}};
    private static final int[] TOKENS = {1, 2, 3, 4, 5, 8, 9, 12, 16, 17};
    private static final int[] TOKENS_BIG = {1, 3, 4, 8, 12, 17};

    /** Fewer token counts on the big shapes keep the double-precision reference quick. */
    private static int[] tokensFor(int[] shape) {
        return shape[0] * shape[1] > 10_000 ? TOKENS_BIG : TOKENS;
    }
    private final SplittableRandom rnd = new SplittableRandom(1234);

    @Test
    void forwardMatchesReference() {
        for (DType dt : DTYPES)
            for (int[] s : SHAPES)
                for (int n : tokensFor(s)) {
                    Weight w = randomWeight(rnd, dt, s[0], s[1]);
                    float[] x = randn(rnd, n * s[1] + 3);
                    float[] want = new float[n * s[0] + 2], got = new float[n * s[0] + 2], bound = new float[n * s[0] + 2];
                    ScalarKernels.forward(want, 2, x, 3, n, w);
                    ScalarKernels.forward(bound, 2, abs(x), 3, n, absWeight(w));
                    MatMul.forward(got, 2, x, 3, n, w);
                    assertClose("forward " + dt + " " + s[0] + "x" + s[1] + " n=" + n, want, got, bound, 1e-5);
                }
    }

    @Test
    void reusedScratchBuffersNeverLeakIntoLaterResults() {
        // The small-n path and the GEMM reuse per-thread buffers without zeroing them: a forward full of NaN
        // leaves NaN in them, and a later, smaller forward must still equal its reference.
        for (DType dt : DTYPES) {
            Weight w = randomWeight(rnd, dt, 70, 300);
            for (int n : new int[] {8, 40}) {
                float[] nan = new float[n * 300];
                java.util.Arrays.fill(nan, Float.NaN);
                MatMul.forward(new float[n * 70], 0, nan, 0, n, w);
            }
            for (int n : new int[] {3, 17}) {
                float[] x = randn(rnd, n * 300);
                float[] want = new float[n * 70], got = new float[n * 70], bound = new float[n * 70];
                ScalarKernels.forward(want, 0, x, 0, n, w);
                ScalarKernels.forward(bound, 0, abs(x), 0, n, absWeight(w));
                MatMul.forward(got, 0, x, 0, n, w);
                assertClose("after NaN, " + dt + " n=" + n, want, got, bound, 1e-5);
            }
        }
    }

    @Test
    void f16AndBf16WideningInsideKernelsIsExactForEveryFinitePattern() {
        // One-hot inputs make y = column k of W (x) and dx = row o of W (dy): exact, so every
        // finite 16-bit pattern (subnormals included) must come through the GEMV, the GEMM
        // widening and the transposing pack bit for bit.
        for (DType dt : new DType[] {DType.F16, DType.BF16}) {
            int rows = 64 + 5, cols = 1024;
            Tensor t = Tensor.zeros(dt, rows, cols);
            int pattern = 0;
            for (long i = 0; i < (long) rows * cols; i++) {
                short bits;
                do {
                    bits = (short) pattern++;
                } while (!Float.isFinite(dt == DType.F16 ? Half.f16ToF32(bits) : Half.bf16ToF32(bits)));
                t.data().setAtIndex(Tensor.I16_LE, i, bits);
            }
            Weight w = Weight.of(t);
            for (int k : new int[] {0, 1, 511, 1023}) {
                float[] x = new float[2 * cols];
                x[k] = 1f;
                x[cols + k] = 1f;
                float[] y1 = new float[rows], y2 = new float[2 * rows];
                MatMul.forward(y1, x, 1, w);
                MatMul.forward(y2, x, 2, w);
                for (int o = 0; o < rows; o++) {
                    float want = t.getFloat((long) o * cols + k);
                    assertEquals(want, y1[o], 0f, dt + " GEMV W[" + o + "," + k + "]");
                    assertEquals(want, y2[o], 0f, dt + " GEMM W[" + o + "," + k + "]");
                    assertEquals(want, y2[rows + o], 0f, dt + " GEMM row 2 W[" + o + "," + k + "]");
                }
            }
            for (int o : new int[] {0, 33, 64, 68}) {
                float[] dy = new float[rows * 4];
                for (int i = 0; i < 4; i++) dy[i * rows + o] = 1f;
                float[] dx = new float[cols * 4];
                MatMul.backwardInput(dx, dy, 4, w, false);
                for (int c = 0; c < cols; c++)
                    assertEquals(t.getFloat((long) o * cols + c), dx[3 * cols + c], 0f, dt + " backward W[" + o + "," + c + "]");
            }
        }
    }

    @Test
    void forwardWithoutOffsetsOnKnownValues() {
        // W = [[1, 2], [3, 4], [5, 6]]; x = [1, -1]  ->  y = [-1, -1, -1]
        Weight w = Weight.of(Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2));
        float[] y = new float[3];
        MatMul.forward(y, new float[] {1, -1}, 1, w);
        assertEquals(-1f, y[0]);
        assertEquals(-1f, y[1]);
        assertEquals(-1f, y[2]);
    }

    @Test
    void backwardInputMatchesReference() {
        for (DType dt : DTYPES)
            for (int[] s : SHAPES)
                for (int n : tokensFor(s))
                    for (boolean acc : new boolean[] {false, true}) {
                        Weight w = randomWeight(rnd, dt, s[0], s[1]);
                        float[] dy = randn(rnd, n * s[0] + 1);
                        float[] init = randn(rnd, n * s[1] + 4);
                        float[] want = init.clone(), got = init.clone();
                        float[] bound = acc ? abs(init) : new float[init.length];
                        ScalarKernels.backwardInput(want, 4, dy, 1, n, w, acc);
                        ScalarKernels.backwardInput(bound, 4, abs(dy), 1, n, absWeight(w), true);
                        MatMul.backwardInput(got, 4, dy, 1, n, w, acc);
                        assertClose("backwardInput " + dt + " " + s[0] + "x" + s[1] + " n=" + n + " acc=" + acc,
                                want, got, bound, 1e-5);
                    }
    }

    @Test
    void gemmMatchesReferenceInAllTransposeModes() {
        int[][] mkn = {{1, 1, 1}, {3, 5, 7}, {8, 16, 32}, {9, 33, 17}, {33, 64, 16}, {64, 16, 100},
                {16, 300, 48}, {100, 37, 129}, {130, 64, 64}, {40, 601, 16}, {24, 75, 8}};
        for (int[] d : mkn)
            for (int mode = 0; mode < 8; mode++) {
                int m = d[0], k = d[1], nn = d[2];
                boolean ta = (mode & 1) != 0, tb = (mode & 2) != 0, acc = (mode & 4) != 0;
                float[] a = randn(rnd, m * k), b = randn(rnd, k * nn), c0 = randn(rnd, m * nn);
                float alpha = 0.75f;
                float[] want = c0.clone(), got = c0.clone();
                ScalarKernels.gemm(want, 0, nn, a, 0, ta ? m : k, b, 0, tb ? k : nn, m, k, nn, ta, tb, alpha, acc);
                float[] bound = acc ? abs(c0) : new float[c0.length];
                ScalarKernels.gemm(bound, 0, nn, abs(a), 0, ta ? m : k, abs(b), 0, tb ? k : nn, m, k, nn, ta, tb,
                        alpha, true);
                MatMul.gemm(got, a, b, m, k, nn, ta, tb, alpha, acc);
                assertClose("gemm " + m + "x" + k + "x" + nn + " ta=" + ta + " tb=" + tb + " acc=" + acc,
                        want, got, bound, 1e-5);
            }
    }

    @Test
    void stridedGemmTouchesOnlyItsSubmatrix() {
        // One head's slice of [seq, heads*hd] buffers: Q·K^T for head 1 of 3 heads of 20 dims, seq 11.
        int seq = 11, hd = 20, ld = 60, off = 20;
        float[] q = randn(rnd, seq * ld), kk = randn(rnd, seq * ld);
        float[] want = new float[4 + seq * 15], got = new float[4 + seq * 15];
        java.util.Arrays.fill(want, 9f);
        java.util.Arrays.fill(got, 9f);
        ScalarKernels.gemm(want, 4, 15, q, off, ld, kk, off, ld, seq, hd, seq, false, true, 0.5f, false);
        MatMul.gemm(got, 4, 15, q, off, ld, kk, off, ld, seq, hd, seq, false, true, 0.5f, false);
        float[] bound = new float[want.length];
        ScalarKernels.gemm(bound, 4, 15, abs(q), off, ld, abs(kk), off, ld, seq, hd, seq, false, true, 0.5f, false);
        for (int i = 0; i < bound.length; i++) if (want[i] == 9f) bound[i] = 0;
        assertClose("strided gemm", want, got, bound, 1e-5);
    }

    @Test
    void gemmWithZeroInnerDimensionClearsOrKeepsC() {
        float[] c = {1, 2, 3, 4};
        MatMul.gemm(c, new float[0], new float[0], 2, 0, 2, false, false, 1f, true);
        assertEquals(4f, c[3]);
        MatMul.gemm(c, new float[0], new float[0], 2, 0, 2, false, false, 1f, false);
        assertEquals(0f, c[3]);
    }

    @Test
    void emptyInnerDimensionOfAWeightGivesZeros() {
        Weight noIn = Weight.of(Tensor.zeros(DType.BF16, 3, 0));
        float[] y = {7, 7, 7, 7, 7, 7};
        MatMul.forward(y, new float[0], 2, noIn);
        for (float v : y) assertEquals(0f, v);
        Weight noOut = Weight.of(Tensor.zeros(DType.F32, 0, 4));
        float[] dx = {5, 5, 5, 5, 5, 5, 5, 5};
        MatMul.backwardInput(dx, new float[0], 2, noOut, true);
        assertEquals(5f, dx[7]);
        MatMul.backwardInput(dx, new float[0], 2, noOut, false);
        for (float v : dx) assertEquals(0f, v);
    }

    @Test
    void shapeErrorsAreReported() {
        Weight w = Weight.of(Tensor.of(new float[6], 3, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> MatMul.forward(new float[3], new float[1], 1, w));
        assertThrows(IndexOutOfBoundsException.class, () -> MatMul.forward(new float[2], new float[2], 1, w));
        assertThrows(IllegalArgumentException.class,
                () -> MatMul.gemm(new float[4], 0, 1, new float[4], 0, 2, new float[4], 0, 2, 2, 2, 2, false, false, 1f, false));
    }
}
