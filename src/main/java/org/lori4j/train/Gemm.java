package org.lori4j.train;

/**
 * Plain float GEMM used by the trainer until the shared kernels land:
 * {@code c[m,n] (+)= alpha * op(a)[m,k] * op(b)[k,n]}, op = transpose when the flag is set
 * (a stored [k,m], b stored [n,k]).
 */
final class Gemm {
    private Gemm() {}

    static void gemm(float[] c, float[] a, float[] b, int m, int k, int n, boolean transA, boolean transB, float alpha, boolean accumulate) {
        if (!accumulate) java.util.Arrays.fill(c, 0, m * n, 0f);
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                float av = alpha * (transA ? a[p * m + i] : a[i * k + p]);
                if (av == 0f) continue;
                int co = i * n;
                if (transB) {
                    for (int j = 0; j < n; j++) c[co + j] += av * b[j * k + p];
                } else {
                    int bo = p * n;
                    for (int j = 0; j < n; j++) c[co + j] += av * b[bo + j];
                }
            }
        }
    }
}
