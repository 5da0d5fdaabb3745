package org.lori4j.adapter;

import org.lori4j.tensor.Parallel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Truncated SVDs for PEFT's svd merges, in double precision, as {@code B' = U_k diag(S_k)} and {@code A' = Vh_k}.
 * <ul>
 * <li>{@link #ofSum}: D = sum_i c_i B_i A_i (B_i [out, r_i], A_i [r_i, in]) without forming the out x in matrix.
 * With P = [c_1 B_1 | c_2 B_2 | ...] (out x R) and Q = [A_1; A_2; ...]^T (in x R), R = sum r_i: thin QR
 * P = Qp Rp and Q = Qq Rq, Jacobi SVD of the R x R core Rp Rq^T = U S V^T, so D = (Qp U) S (Qq V)^T.
 * O((out + in) R^2).</li>
 * <li>{@link #ofDense}: the top k of a dense out x in matrix (a pruned sum of deltas), by Golub-Kahan-Lanczos
 * bidiagonalisation with full reorthogonalisation from a fixed random start, extended until the top k
 * triplets' residuals are below 1e-10 of the largest singular value (or the Krylov space is the whole space,
 * where the result is exact). Each step costs two matrix-vector products.</li>
 * </ul>
 * Singular vectors are unique only up to sign; both fix the sign of each pair so that the largest entry (in
 * magnitude, the first one on ties) of the right vector is positive. LAPACK (torch.linalg.svd) makes no such
 * promise, so its factors may differ from these by the sign of whole components; the products agree.
 * Components with S ~ 0 (k above the matrix's rank; for a dense f32 matrix S below {@link #NOISE} of the largest)
 * are zero (torch returns arbitrary orthonormal rows of A' there).
 */
final class TruncatedSvd {
    private TruncatedSvd() {}

    /** The top-k factors: {@code b} [out, k] = U_k diag(S_k) and {@code a} [k, in] = Vh_k, with S in descending order. */
    record Factors(float[] b, float[] a) {}

    /** Top-k SVD of sum_i coef[i] B_i A_i. */
    static Factors ofSum(List<float[]> bs, List<float[]> as, int[] ranks, double[] coef, int out, int in, int k) {
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
        return factors(Arrays.asList(p), Arrays.asList(q), usv, out, in, k, 1e-12);
    }

    /** Top-k SVD of the dense row-major matrix m [out, in]. */
    static Factors ofDense(float[] m, int out, int in, int k) {
        int full = Math.min(out, in);
        double fro = 0;
        for (float x : m) fro += (double) x * x;
        fro = Math.sqrt(fro);
        List<double[]> us = new ArrayList<>(), vs = new ArrayList<>();
        double[] alpha = new double[full], beta = new double[full];
        if (fro == 0) return new Factors(new float[out * k], new float[k * in]);
        double eps = 1e-13 * fro;
        SplittableRandom rng = new SplittableRandom(0x5EEDL);
        // all v's stay in M's row space and all u's in its column space (starts and restarts too), so after
        // min(out, in) >= rank steps the factorisation M V = U B holds with V spanning the row space: exact
        vs.add(inRowSpace(m, out, in, vs, rng));
        int kk = Math.min(k, full);
        for (int s = 0; ; ) {
            // u_s = (M v_s - beta_{s-1} u_{s-1}) / alpha_s
            double[] u = times(m, out, in, vs.get(s));
            if (s > 0) axpy(-beta[s - 1], us.get(s - 1), u);
            reorthogonalise(u, us);
            double a = Math.sqrt(dot(u, u));
            if (a <= eps) { a = 0; u = inColumnSpace(m, out, in, us, rng); }
            else scale(u, 1 / a);
            us.add(u);
            alpha[s] = a;
            // v_{s+1} = (M^T u_s - alpha_s v_s) / beta_s
            double[] w = timesTransposed(m, out, in, u);
            axpy(-a, vs.get(s), w);
            reorthogonalise(w, vs);
            double b = Math.sqrt(dot(w, w));
            s++;
            boolean exhausted = s == full;
            if (s >= kk && ((s - kk) % 4 == 0 || exhausted)) {
                double[][] bd = new double[s][s];
                for (int j = 0; j < s; j++) {
                    bd[j][j] = alpha[j];
                    if (j + 1 < s) bd[j][j + 1] = beta[j];
                }
                double[][][] usv = jacobiSvd(bd);
                boolean converged = exhausted;
                if (!converged) {
                    double top = usv[1][0][0], worst = 0;
                    for (int i = 0; i < kk; i++) worst = Math.max(worst, Math.abs(b * usv[0][s - 1][i]));
                    converged = worst <= 1e-10 * top;
                }
                if (converged) return factors(us, vs, usv, out, in, k, NOISE);
            }
            if (b <= eps) { b = 0; w = inRowSpace(m, out, in, vs, rng); }
            else scale(w, 1 / b);
            beta[s - 1] = b;
            vs.add(w);
        }
    }

    /**
     * Singular values of a dense f32 matrix below this fraction of the largest are rounding noise (f32 carries ~7
     * digits): their components are set to zero, as the exact low-rank path does beyond the rank.
     */
    static final double NOISE = 1e-6;

    /**
     * B' and A' from an SVD {X, {S}, Y} of a core C with D = L C R^T, where L's columns are lefts.get(j) and R's
     * rights.get(j): left singular vectors L X, right R Y; components with S <= zero * S_max stay zero.
     */
    private static Factors factors(List<double[]> lefts, List<double[]> rights, double[][][] usv, int out, int in, int k,
                                   double zero) {
        double[][] x = usv[0], y = usv[2];
        double[] sv = usv[1][0];
        int n = sv.length, kk = Math.min(k, n);
        float[] bOut = new float[out * k], aOut = new float[k * in];
        double[] left = new double[out], right = new double[in];
        double tiny = n == 0 ? 0 : sv[0] * zero;
        for (int c = 0; c < kk; c++) {
            if (!(sv[c] > tiny)) continue; // numerically zero: the component stays zero
            Arrays.fill(left, 0);
            Arrays.fill(right, 0);
            for (int l = 0; l < n; l++) {
                if (x[l][c] != 0) axpy(x[l][c], lefts.get(l), left);
                if (y[l][c] != 0) axpy(y[l][c], rights.get(l), right);
            }
            int big = 0;
            for (int i = 1; i < in; i++) if (Math.abs(right[i]) > Math.abs(right[big])) big = i;
            double sign = right[big] < 0 ? -1 : 1;
            for (int o = 0; o < out; o++) bOut[o * k + c] = (float) (sign * sv[c] * left[o]);
            for (int i = 0; i < in; i++) aOut[c * in + i] = (float) (sign * right[i]);
        }
        return new Factors(bOut, aOut);
    }

    /** m [out, in] times x [in], rows split over the pool. */
    private static double[] times(float[] m, int out, int in, double[] x) {
        double[] y = new double[out];
        Parallel.forRange(out, Parallel.minChunk(in), (o0, o1) -> {
            for (int o = o0; o < o1; o++) {
                double s = 0;
                for (int i = 0, base = o * in; i < in; i++) s += m[base + i] * x[i];
                y[o] = s;
            }
        });
        return y;
    }

    /** m^T [in, out] times x [out], columns split over the pool. */
    private static double[] timesTransposed(float[] m, int out, int in, double[] x) {
        double[] y = new double[in];
        Parallel.forRange(in, Parallel.minChunk(out), (i0, i1) -> {
            for (int o = 0; o < out; o++) {
                double xo = x[o];
                if (xo == 0) continue;
                for (int i = i0, base = o * in; i < i1; i++) y[i] += xo * m[base + i];
            }
        });
        return y;
    }

    /** Two passes of classical Gram-Schmidt against the orthonormal (or zero) vectors in basis. */
    private static void reorthogonalise(double[] w, List<double[]> basis) {
        for (int pass = 0; pass < 2; pass++)
            for (double[] q : basis) {
                double d = dot(q, w);
                if (d != 0) axpy(-d, q, w);
            }
    }

    /** A random unit vector of M's row space orthogonal to basis: M^T g for a random g, or zero when none is left. */
    private static double[] inRowSpace(float[] m, int out, int in, List<double[]> basis, SplittableRandom rng) {
        return fresh(() -> timesTransposed(m, out, in, random(out, rng)), basis);
    }

    /** A random unit vector of M's column space orthogonal to basis: M h for a random h, or zero when none is left. */
    private static double[] inColumnSpace(float[] m, int out, int in, List<double[]> basis, SplittableRandom rng) {
        return fresh(() -> times(m, out, in, random(in, rng)), basis);
    }

    /** Orthogonalises candidates against basis until one keeps a part of its length; zero if three do not. */
    private static double[] fresh(java.util.function.Supplier<double[]> candidate, List<double[]> basis) {
        double[] v = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            v = candidate.get();
            double before = Math.sqrt(dot(v, v));
            reorthogonalise(v, basis);
            double norm = Math.sqrt(dot(v, v));
            if (norm > 1e-10 * before) {
                scale(v, 1 / norm);
                return v;
            }
        }
        java.util.Arrays.fill(v, 0); // the basis spans the whole space: a zero vector keeps the factorisation exact
        return v;
    }

    private static double[] random(int n, SplittableRandom rng) {
        double[] g = new double[n];
        for (int i = 0; i < n; i++) g[i] = rng.nextDouble() - 0.5;
        return g;
    }

    private static void scale(double[] x, double a) {
        for (int i = 0; i < x.length; i++) x[i] *= a;
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
