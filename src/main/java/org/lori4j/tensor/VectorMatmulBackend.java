package org.lori4j.tensor;

/**
 * The default {@link MatmulBackend}: pure Java, Vector API, parallel over {@link Parallel}.
 */
public final class VectorMatmulBackend implements MatmulBackend {
    @Override
    public String name() {
        return "java-vector";
    }

    @Override
    public void forward(float[] y, int yOff, float[] x, int xOff, int n, Weight w) {
        int in = w.cols(), out = w.rows();
        Parallel.forRange(out, 16, (o0, o1) -> {
            float[] row = new float[in];
            for (int o = o0; o < o1; o++) {
                w.rowTo(o, row, 0);
                for (int i = 0; i < n; i++) y[yOff + i * out + o] = Vec.dot(x, xOff + i * in, row, 0, in);
            }
        });
    }

    @Override
    public void backwardInput(float[] dx, int dxOff, float[] dy, int dyOff, int n, Weight w, boolean accumulate) {
        int in = w.cols(), out = w.rows();
        Parallel.forRange(in, 64, (c0, c1) -> {
            int len = c1 - c0;
            float[] row = new float[len];
            if (!accumulate)
                for (int i = 0; i < n; i++) java.util.Arrays.fill(dx, dxOff + i * in + c0, dxOff + i * in + c1, 0f);
            for (int o = 0; o < out; o++) {
                w.rowTo(o, c0, c1, row, 0);
                for (int i = 0; i < n; i++) Vec.axpy(dx, dxOff + i * in + c0, dy[dyOff + i * out + o], row, 0, len);
            }
        });
    }

    @Override
    public void gemm(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     int m, int k, int nn, boolean transA, boolean transB, float alpha, boolean accumulate) {
        // op(B) as a dense [k, nn] copy so each row p is contiguous for axpy.
        float[] bk = new float[k * nn];
        for (int p = 0; p < k; p++)
            for (int j = 0; j < nn; j++) bk[p * nn + j] = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
        Parallel.forRange(m, 4, (i0, i1) -> {
            float[] acc = new float[nn];
            for (int i = i0; i < i1; i++) {
                java.util.Arrays.fill(acc, 0f);
                for (int p = 0; p < k; p++) {
                    float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    Vec.axpy(acc, 0, av, bk, p * nn, nn);
                }
                int ci = cOff + i * ldc;
                if (accumulate) Vec.axpy(c, ci, alpha, acc, 0, nn);
                else for (int j = 0; j < nn; j++) c[ci + j] = alpha * acc[j];
            }
        });
    }
}
