package org.lori4j.adapter;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Both truncated SVDs against a full one-sided Jacobi SVD of the same matrix (zero-padded to square), in double. */
class TruncatedSvdTest {

    /** Checks B'A' factors against the Jacobi SVD of m [out, in]: singular values (column norms of B'), right vectors. */
    private static void assertTopK(float[] m, int out, int in, int k, TruncatedSvd.Factors f, double tol, String what) {
        int n = Math.max(out, in);
        double[][] sq = new double[n][n];
        for (int o = 0; o < out; o++) for (int i = 0; i < in; i++) sq[o][i] = m[o * in + i];
        double[][][] usv = TruncatedSvd.jacobiSvd(sq);
        double top = usv[1][0][0];
        for (int c = 0; c < k; c++) {
            double sigma = usv[1][0][c], norm = 0;
            for (int o = 0; o < out; o++) norm += (double) f.b()[o * k + c] * f.b()[o * k + c];
            assertEquals(sigma, Math.sqrt(norm), tol * top, what + ": sigma " + c);
            if (sigma <= 1e-6 * top) continue; // beyond the rank (f32 rounding noise in m): no direction to compare
            int big = 0;
            for (int i = 1; i < in; i++) if (Math.abs(usv[2][i][c]) > Math.abs(usv[2][big][c])) big = i;
            double sign = usv[2][big][c] < 0 ? -1 : 1;
            for (int i = 0; i < in; i++)
                assertEquals(sign * usv[2][i][c], f.a()[c * in + i], tol, what + ": right vector " + c + " [" + i + "]");
        }
    }

    @ParameterizedTest
    @CsvSource({"16, 32, 8, 0.3, 0", "32, 16, 8, 0.3, 0", "40, 40, 12, 1.0, 0", "120, 90, 5, 1.0, 0.9", "30, 50, 6, 0.5, 0"})
    void denseTopKEqualsTheFullSvd(int out, int in, int k, double density, double decay) {
        // sparse-ish random matrices (as pruned deltas are), some with a decaying spectrum so that Lanczos stops early
        SplittableRandom r = new SplittableRandom(out * 1000L + in);
        float[] m = new float[out * in];
        for (int o = 0; o < out; o++)
            for (int i = 0; i < in; i++)
                if (r.nextDouble() < density) m[o * in + i] = (float) ((r.nextDouble() - 0.5) * (decay > 0 ? Math.pow(decay, Math.min(o, i)) : 1));
        assertTopK(m, out, in, k, TruncatedSvd.ofDense(m, out, in, k), 1e-6, out + "x" + in);
    }

    @ParameterizedTest
    @CsvSource({"24, 16, 3, 2, 4", "16, 24, 3, 2, 7", "20, 20, 2, 2, 6"})
    void lowRankSumAndDenseAgreeAndZeroBeyondTheRank(int out, int in, int r1, int r2, int k) {
        SplittableRandom r = new SplittableRandom(7);
        float[] b1 = new float[out * r1], a1 = new float[r1 * in], b2 = new float[out * r2], a2 = new float[r2 * in];
        for (float[] x : List.of(b1, a1, b2, a2)) for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() - 0.5);
        double c1 = 0.7, c2 = -1.3;
        float[] d = new float[out * in];
        for (int o = 0; o < out; o++)
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int j = 0; j < r1; j++) s += c1 * b1[o * r1 + j] * a1[j * in + i];
                for (int j = 0; j < r2; j++) s += c2 * b2[o * r2 + j] * a2[j * in + i];
                d[o * in + i] = (float) s;
            }
        // rank r1 + r2 = 5 < k for two cases: components beyond it are zero in both
        TruncatedSvd.Factors sum = TruncatedSvd.ofSum(List.of(b1, b2), List.of(a1, a2), new int[]{r1, r2}, new double[]{c1, c2}, out, in, k);
        assertTopK(d, out, in, k, sum, 1e-6, "ofSum");
        for (int c = r1 + r2; c < k; c++) // the exact sum has rank r1 + r2: its later components are zero
            for (int i = 0; i < in; i++) assertEquals(0f, sum.a()[c * in + i], "ofSum zero row " + c);
        assertTopK(d, out, in, k, TruncatedSvd.ofDense(d, out, in, k), 1e-6, "ofDense");
    }
}
