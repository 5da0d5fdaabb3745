package org.lori4j.tensor;

/**
 * The matrix products every layer needs, behind one interface so that a native, AMX or GPU
 * implementation can replace the default Vector-API one ({@link MatMul#setBackend}) without
 * touching model code. All matrices are row-major; see {@link MatMul} for the semantics.
 */
public interface MatmulBackend {
    /** A short name for logs and benchmarks, e.g. "java-vector". */
    String name();

    /** y[n, out] = x[n, in] · W^T, rows of x and y contiguous from the given offsets. */
    void forward(float[] y, int yOff, float[] x, int xOff, int n, Weight w);

    /** dx[n, in] (+)= dy[n, out] · W, rows contiguous from the given offsets. */
    void backwardInput(float[] dx, int dxOff, float[] dy, int dyOff, int n, Weight w, boolean accumulate);

    /**
     * C[m, nn] (+)= alpha · op(A)[m, k] · op(B)[k, nn] with explicit leading dimensions:
     * element (i, j) of a row-major matrix X stored at offset off is X[off + i * ld + j].
     * op(A) = A^T when transA (then A is stored [k, m]); likewise for B (stored [nn, k]).
     */
    void gemm(float[] c, int cOff, int ldc, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
              int m, int k, int nn, boolean transA, boolean transB, float alpha, boolean accumulate);

    /** Runs every code path on small inputs so the JIT compiles it before real work (optional). */
    default void warmUp() {}
}
