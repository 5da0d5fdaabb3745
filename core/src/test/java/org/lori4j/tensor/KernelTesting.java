package org.lori4j.tensor;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;

/** Shared helpers for kernel tests: random data and error checks relative to a magnitude bound. */
final class KernelTesting {
    private KernelTesting() {}

    static float[] randn(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rnd.nextDouble() * 2 - 1);
        return a;
    }

    static float[] abs(float[] a) {
        float[] b = new float[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Math.abs(a[i]);
        return b;
    }

    /** A random weight [rows, cols] stored in dtype (values exactly representable in it). */
    static Weight randomWeight(SplittableRandom rnd, DType dtype, int rows, int cols) {
        return Weight.of(Tensor.fromFloats(dtype, randn(rnd, rows * cols), rows, cols));
    }

    /** The weight with |W| elementwise (exact in every float dtype). */
    static Weight absWeight(Weight w) {
        float[] v = new float[w.rows() * w.cols()];
        for (int r = 0; r < w.rows(); r++)
            for (int c = 0; c < w.cols(); c++) v[r * w.cols() + c] = Math.abs(w.get(r, c));
        return Weight.of(Tensor.fromFloats(w.dtype(), v, w.rows(), w.cols()));
    }

    /**
     * Fails unless |actual - expected| <= rel * bound + 1e-30 elementwise, where bound is the
     * sum of absolute products behind each element (so the test is a true relative-error check
     * even when the sum cancels).
     */
    static void assertClose(String what, float[] expected, float[] actual, float[] bound, double rel) {
        if (expected.length != actual.length) fail(what + ": length " + actual.length + " != " + expected.length);
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs((double) actual[i] - expected[i]);
            double tol = rel * bound[i] + 1e-30;
            if (!(err <= tol))
                fail(what + ": element " + i + " = " + actual[i] + ", expected " + expected[i]
                        + " (error " + err + " > tolerance " + tol + ")");
        }
    }
}
