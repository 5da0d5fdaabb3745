package org.lori4j.adapter;

import java.util.Arrays;
import java.util.List;

/**
 * The truncated SVD of a sum of low-rank products, D = sum_i c_i B_i A_i (B_i [out, r_i], A_i [r_i, in]),
 * without forming the out x in matrix D. With P = [c_1 B_1 | c_2 B_2 | ...] (out x R) and Q = [A_1; A_2; ...]^T
 * (in x R), R = sum r_i: thin QR P = Qp Rp and Q = Qq Rq, SVD of the R x R core Rp Rq^T = U S V^T, so
 * D = (Qp U) S (Qq V)^T. Cost O((out + in) R^2) instead of a dense SVD's O(out in min(out, in)); everything in
 * double precision.
 *
 * <p>Singular vectors are unique only up to sign; this class fixes the sign of each pair so that the largest
 * entry (in magnitude, the first one on ties) of the right vector is positive. LAPACK (torch.linalg.svd) makes no
 * such promise, so its factors may differ from these by the sign of whole components; the products agree.
 */
final class LowRankSvd {
    private LowRankSvd() {}

    /** The top-k factors: {@code b} [out, k] = U_k diag(S_k) and {@code a} [k, in] = Vh_k, with S in descending order. */
    record Factors(float[] b, float[] a) {}

    /**
     * Top-k SVD of sum_i coef[i] B_i A_i. Components beyond D's rank (k larger than it) have S = 0 and zero rows of A
     * (torch.linalg.svd would give arbitrary orthonormal vectors there; the product is the same).
     */
    static Factors truncated(List<float[]> bs, List<float[]> as, int[] ranks, double[] coef, int out, int in, int k) {
        int rTotal = Arrays.stream(ranks).sum();
        // column-major copies: P [R][out], Q [R][in]
        double[][] p = new double[rTotal][out], q = new double[rTotal][in];
        int off = 0;
        for (int t = 0; t < ranks.length; t++) {
            int r = ranks[t];
            float[] b = bs.get(t), a = as.get(t);
            for (int j = 0; j < r; j++) {
                double[] pc = p[off + j], qc = q[off + j];
                for (int o = 0; o < out; o++) pc[o] = coef[t] * b[o * r + j];
                for (int i = 0; i < in; i++) qc[i] = a[j * in + i];
            }
            off += r;
        }
        double[][] rp = qrInPlace(p), rq = qrInPlace(q);
        // core M = Rp Rq^T (R x R), rows = left index
        double[][] m = new double[rTotal][rTotal];
        for (int i = 0; i < rTotal; i++)
            for (int j = 0; j < rTotal; j++) {
                double s = 0;
                for (int l = 0; l < rTotal; l++) s += rp[i][l] * rq[j][l];
                m[i][j] = s;
            }
        double[][][] usv = jacobiSvd(m);
        double[][] u = usv[0], v = usv[2];
        double[] sv = usv[1][0];
        int kk = Math.min(k, rTotal);
        float[] bOut = new float[out * k], aOut = new float[k * in];
        double[] left = new double[out], right = new double[in];
        double tiny = sv.length == 0 ? 0 : sv[0] * 1e-12;
        for (int c = 0; c < kk; c++) {
            if (!(sv[c] > tiny)) continue; // numerically zero: the component stays zero
            Arrays.fill(left, 0);
            Arrays.fill(right, 0);
            for (int l = 0; l < rTotal; l++) {
                double ul = u[l][c], vl = v[l][c];
                if (ul != 0) axpy(ul, p[l], left);
                if (vl != 0) axpy(vl, q[l], right);
            }
            int big = 0;
            for (int i = 1; i < in; i++) if (Math.abs(right[i]) > Math.abs(right[big])) big = i;
            double sign = right[big] < 0 ? -1 : 1;
            for (int o = 0; o < out; o++) bOut[o * k + c] = (float) (sign * sv[c] * left[o]);
            for (int i = 0; i < in; i++) aOut[c * in + i] = (float) (sign * right[i]);
        }
        return new Factors(bOut, aOut);
    }

    private static void axpy(double a, double[] x, double[] y) {
        for (int i = 0; i < y.length; i++) y[i] += a * x[i];
    }

    /**
     * Thin QR of the columns cols[j] by modified Gram-Schmidt with one re-orthogonalisation pass: on return cols holds
     * Q's columns (a column that depends on the earlier ones becomes zero, its row of R too) and the result is R
     * (upper triangular, R[i][j] for i <= j), so that the original column j = sum_i R[i][j] Q_i.
     */
    static double[][] qrInPlace(double[][] cols) {
        int n = cols.length;
        double[][] r = new double[n][n];
        double scale = 0;
        for (double[] c : cols) scale = Math.max(scale, Math.sqrt(dot(c, c)));
        for (int j = 0; j < n; j++) {
            double[] c = cols[j];
            for (int pass = 0; pass < 2; pass++)
                for (int i = 0; i < j; i++) {
                    double d = dot(cols[i], c);
                    if (d != 0) {
                        r[i][j] += d;
                        axpy(-d, cols[i], c);
                    }
                }
            double norm = Math.sqrt(dot(c, c));
            if (norm <= scale * 1e-13) {
                Arrays.fill(c, 0);
                continue;
            }
            r[j][j] = norm;
            for (int i = 0; i < c.length; i++) c[i] /= norm;
        }
        return r;
    }

    private static double dot(double[] x, double[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) s += x[i] * y[i];
        return s;
    }

    /**
     * SVD of a square matrix by one-sided Jacobi rotations (Hestenes): returns {U, {S}, V} with M = U diag(S) V^T,
     * S descending, U and V as [row][component].
     */
    static double[][][] jacobiSvd(double[][] m) {
        int n = m.length;
        // work on columns of W = M (column-major copy), accumulate V
        double[][] w = new double[n][n], v = new double[n][n];
        for (int i = 0; i < n; i++) {
            v[i][i] = 1;
            for (int j = 0; j < n; j++) w[j][i] = m[i][j];
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            boolean rotated = false;
            for (int a = 0; a < n - 1; a++)
                for (int b = a + 1; b < n; b++) {
                    double alpha = dot(w[a], w[a]), beta = dot(w[b], w[b]), gamma = dot(w[a], w[b]);
                    if (gamma == 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    if (zeta == 0) t = 1;
                    double c = 1 / Math.sqrt(1 + t * t), s = c * t;
                    rotate(w[a], w[b], c, s);
                    rotate(v[a], v[b], c, s);
                }
            if (!rotated) break;
        }
        double[] sv = new double[n];
        for (int j = 0; j < n; j++) sv[j] = Math.sqrt(dot(w[j], w[j]));
        Integer[] order = new Integer[n];
        for (int j = 0; j < n; j++) order[j] = j;
        Arrays.sort(order, (x, y) -> Double.compare(sv[y], sv[x]));
        double[][] u = new double[n][n], vv = new double[n][n];
        double[] s = new double[n];
        for (int c = 0; c < n; c++) {
            int j = order[c];
            s[c] = sv[j];
            for (int i = 0; i < n; i++) {
                u[i][c] = sv[j] > 0 ? w[j][i] / sv[j] : 0;
                vv[i][c] = v[j][i];
            }
        }
        return new double[][][]{u, {s}, vv};
    }

    private static void rotate(double[] x, double[] y, double c, double s) {
        for (int i = 0; i < x.length; i++) {
            double xi = x[i], yi = y[i];
            x[i] = c * xi - s * yi;
            y[i] = s * xi + c * yi;
        }
    }

    /**
     * torch.quantile(values, q) with its default linear interpolation: sorted x, position q (n - 1), interpolated
     * between its two neighbours.
     */
    static float quantile(float[] values, double q) {
        float[] x = values.clone();
        Arrays.sort(x);
        double pos = q * (x.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, x.length - 1);
        double frac = pos - lo;
        return (float) (x[lo] + frac * (x[hi] - x[lo]));
    }
}
