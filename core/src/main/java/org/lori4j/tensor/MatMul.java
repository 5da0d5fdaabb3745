package org.lori4j.tensor;

import java.util.Objects;

/**
 * Static entry points for the matrix products of lori4j. They delegate to the current
 * {@link MatmulBackend} (default: {@link VectorMatmulBackend}, pure Java with the Vector API),
 * so model and training code never depend on which implementation runs.
 *
 * <p>Shapes: n = rows (tokens), in = {@code w.cols()}, out = {@code w.rows()}. All arrays are
 * row-major and must be at least as long as the shapes say (checked).
 */
public final class MatMul {
    /** The process-wide backend; volatile because it may be swapped at startup by another thread. */
    private static volatile MatmulBackend backend = new VectorMatmulBackend();

    private MatMul() {}

    /** The backend all calls go to. */
    public static MatmulBackend backend() {
        return backend;
    }

    /** Replaces the backend (e.g. a native one); affects every later call in the process. */
    public static void setBackend(MatmulBackend b) {
        backend = Objects.requireNonNull(b, "backend");
    }

    /** y[n, out] = x[n, in] · W^T (n = 1 is the decode GEMV, n >= 2 the prefill/training GEMM). */
    public static void forward(float[] y, float[] x, int n, Weight w) {
        forward(y, 0, x, 0, n, w);
    }

    /** As {@link #forward(float[], float[], int, Weight)} with x and y starting at offsets. */
    public static void forward(float[] y, int yOff, float[] x, int xOff, int n, Weight w) {
        checkRange("y", y, yOff, (long) n * w.rows());
        checkRange("x", x, xOff, (long) n * w.cols());
        if (n == 0) return;
        backend.forward(y, yOff, x, xOff, n, w);
    }

    /** dx[n, in] (+)= dy[n, out] · W: backpropagation through a frozen weight. */
    public static void backwardInput(float[] dx, float[] dy, int n, Weight w, boolean accumulate) {
        backwardInput(dx, 0, dy, 0, n, w, accumulate);
    }

    /** As {@link #backwardInput(float[], float[], int, Weight, boolean)} with offsets. */
    public static void backwardInput(float[] dx, int dxOff, float[] dy, int dyOff, int n, Weight w,
                                     boolean accumulate) {
        checkRange("dx", dx, dxOff, (long) n * w.cols());
        checkRange("dy", dy, dyOff, (long) n * w.rows());
        if (n == 0) return;
        backend.backwardInput(dx, dxOff, dy, dyOff, n, w, accumulate);
    }

    /**
     * C[m, nn] (+)= alpha · op(A)[m, k] · op(B)[k, nn], all dense row-major from offset 0.
     * With transA, A is stored as [k, m]; with transB, B is stored as [nn, k].
     */
    public static void gemm(float[] c, float[] a, float[] b, int m, int k, int nn,
                            boolean transA, boolean transB, float alpha, boolean accumulate) {
        gemm(c, 0, nn, a, 0, transA ? m : k, b, 0, transB ? k : nn, m, k, nn, transA, transB, alpha, accumulate);
    }

    /**
     * The strided form: element (i, j) of a stored matrix X is X[xOff + i * ldx + j]. Lets
     * attention multiply one head's columns of a [seq, heads * headDim] buffer in place.
     */
    public static void gemm(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            int m, int k, int nn, boolean transA, boolean transB, float alpha, boolean accumulate) {
        if (m < 0 || k < 0 || nn < 0) throw new IllegalArgumentException("negative gemm shape " + m + "x" + k + "x" + nn);
        checkMatrix("C", c, cOff, ldc, m, nn);
        if (transA) checkMatrix("A", a, aOff, lda, k, m); else checkMatrix("A", a, aOff, lda, m, k);
        if (transB) checkMatrix("B", b, bOff, ldb, nn, k); else checkMatrix("B", b, bOff, ldb, k, nn);
        if (m == 0 || nn == 0) return;
        backend.gemm(c, cOff, ldc, a, aOff, lda, b, bOff, ldb, m, k, nn, transA, transB, alpha, accumulate);
    }

    /**
     * Compiles the kernels ahead of use: Vector-API code runs ~100x slower until C2 has compiled
     * it, so the first token of a cold JVM can take seconds. Call it from a background thread
     * while a model loads (it takes about a second of CPU); calling it is never required.
     */
    public static void warmUp() {
        backend.warmUp();
        float[] x = new float[300], y = new float[300], g = new float[300];
        for (int i = 0; i < x.length; i++) x[i] = (i % 17) * 0.1f - 0.8f;
        int keys = 100, ld = Vec.roundUpToLanes(keys);
        float[] kv = new float[8 * ld], scores = new float[ld];
        for (int i = 0; i < kv.length; i++) kv[i] = (i % 13) * 0.05f - 0.3f;
        for (int r = 0; r < 1500; r++) {
            Vec.attendAlongKeys(y, 0, x, 0, 0.35f, kv, 0, kv, 0, ld, 8, keys - r % 7, scores);
            Vec.rmsnorm(y, 0, x, 0, x, 1e-5f, 300);
            System.arraycopy(x, 0, g, 0, 300);
            Vec.softmaxInPlace(g, 0, 300);
            Vec.siluMul(g, 0, x, 0, y, 0, 300);
            Vec.axpy(y, 0, 0.5f, g, 0, 300);
            Vec.dot(x, 0, y, 0, 300);
        }
    }

    private static void checkRange(String name, float[] arr, int off, long len) {
        if (off < 0 || off + len > arr.length)
            throw new IndexOutOfBoundsException(name + ": need " + len + " floats from offset " + off
                    + ", array has " + arr.length);
    }

    private static void checkMatrix(String name, float[] arr, int off, int ld, int rows, int cols) {
        if (rows == 0 || cols == 0) return;
        if (ld < cols) throw new IllegalArgumentException(name + ": leading dimension " + ld + " < columns " + cols);
        checkRange(name, arr, off, (long) (rows - 1) * ld + cols);
    }
}
