package org.lori4j.tensor;

/**
 * Readable scalar reference implementations of every kernel in {@link Vec} and {@link MatMul},
 * accumulating in double. The tests compare the fast paths against these; {@link #backend()}
 * can also be installed with {@link MatMul#setBackend} to rule the fast kernels out when
 * debugging a model.
 */
public final class ScalarKernels {
    private ScalarKernels() {}

    // ---- matrix products ----

    /** y[n, out] = x[n, in] · W^T. */
    public static void forward(float[] y, int yOff, float[] x, int xOff, int n, Weight w) {
        int in = w.cols(), out = w.rows();
        for (int i = 0; i < n; i++)
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int c = 0; c < in; c++) s += (double) x[xOff + i * in + c] * w.get(o, c);
                y[yOff + i * out + o] = (float) s;
            }
    }

    /** dx[n, in] (+)= dy[n, out] · W (rows of W visited in order, so W is read sequentially). */
    public static void backwardInput(float[] dx, int dxOff, float[] dy, int dyOff, int n, Weight w, boolean accumulate) {
        int in = w.cols(), out = w.rows();
        double[] s = new double[in];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < in; c++) s[c] = accumulate ? dx[dxOff + i * in + c] : 0;
            for (int o = 0; o < out; o++) {
                double g = dy[dyOff + i * out + o];
                for (int c = 0; c < in; c++) s[c] += g * w.get(o, c);
            }
            for (int c = 0; c < in; c++) dx[dxOff + i * in + c] = (float) s[c];
        }
    }

    /** C[m, nn] (+)= alpha · op(A)[m, k] · op(B)[k, nn], strided as in {@link MatmulBackend#gemm}. */
    public static void gemm(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            int m, int k, int nn, boolean transA, boolean transB, float alpha, boolean accumulate) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < nn; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    float bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    s += (double) av * bv;
                }
                int ci = cOff + i * ldc + j;
                c[ci] = (float) ((accumulate ? c[ci] : 0) + alpha * s);
            }
    }

    /** These reference products as a pluggable backend. */
    public static MatmulBackend backend() {
        return new MatmulBackend() {
            @Override public String name() { return "scalar-reference"; }

            @Override public void forward(float[] y, int yOff, float[] x, int xOff, int n, Weight w) {
                ScalarKernels.forward(y, yOff, x, xOff, n, w);
            }

            @Override public void backwardInput(float[] dx, int dxOff, float[] dy, int dyOff, int n, Weight w, boolean acc) {
                ScalarKernels.backwardInput(dx, dxOff, dy, dyOff, n, w, acc);
            }

            @Override public void gemm(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff,
                                       int ldb, int m, int k, int nn, boolean transA, boolean transB, float alpha,
                                       boolean accumulate) {
                ScalarKernels.gemm(c, cOff, ldc, a, aOff, lda, b, bOff, ldb, m, k, nn, transA, transB, alpha, accumulate);
            }
        };
    }

    // ---- vector primitives ----

    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) a[aOff + i] * b[bOff + i];
        return (float) s;
    }

    public static void axpy(float[] y, int yOff, float alpha, float[] x, int xOff, int n) {
        for (int i = 0; i < n; i++) y[yOff + i] = (float) (y[yOff + i] + (double) alpha * x[xOff + i]);
    }

    public static float sumSquares(float[] x, int off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) x[off + i] * x[off + i];
        return (float) s;
    }

    public static float max(float[] x, int off, int n) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    /** out = x / sqrt(mean(x^2) + eps) * weight. */
    public static void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, float eps, int dim) {
        double ms = 0;
        for (int i = 0; i < dim; i++) ms += (double) x[xOff + i] * x[xOff + i];
        double inv = 1.0 / Math.sqrt(ms / dim + eps);
        for (int i = 0; i < dim; i++) out[outOff + i] = (float) (x[xOff + i] * inv * weight[i]);
    }

    /** Max-subtracted softmax in place. */
    public static void softmaxInPlace(float[] x, int off, int len) {
        float m = max(x, off, len);
        double s = 0;
        double[] e = new double[len];
        for (int i = 0; i < len; i++) s += e[i] = Math.exp((double) x[off + i] - m);
        for (int i = 0; i < len; i++) x[off + i] = (float) (e[i] / s);
    }

    /** silu(gate) * up. */
    public static void siluMul(float[] out, int outOff, float[] gate, int gateOff, float[] up, int upOff, int n) {
        for (int i = 0; i < n; i++) {
            double g = gate[gateOff + i];
            out[outOff + i] = (float) (g / (1 + Math.exp(-g)) * up[upOff + i]);
        }
    }
}
