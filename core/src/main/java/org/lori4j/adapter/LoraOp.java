package org.lori4j.adapter;

import org.lori4j.tensor.MatMul;

/**
 * The LoRA path of an adapted linear layer as training needs it, {@code y += s * (x A^T) B^T} with A [r, in], B [out, r],
 * and its backward: {@code dB += s * dy^T u}, {@code du = s * dy B}, {@code dA += du^T x},
 * {@code dx += du A}, where u = x A^T [n, r] is kept from the forward.
 */
public final class LoraOp {
    private LoraOp() {}

    /** u[n,r] = x A^T; y[n,out] += s * u B^T. */
    public static void forward(float[] y, float[] u, float[] x, float[] a, float[] b, int n, int in, int out, int r, float s) {
        MatMul.gemm(u, x, a, n, in, r, false, true, 1f, false);
        MatMul.gemm(y, u, b, n, r, out, false, true, s, true);
    }

    /**
     * Accumulates dB (and dA when non-null) and adds the LoRA path's input gradient to dx;
     * du is scratch of n*r floats.
     */
    public static void backward(float[] dx, float[] dA, float[] dB, float[] du, float[] dy, float[] x, float[] u,
                                float[] a, float[] b, int n, int in, int out, int r, float s) {
        MatMul.gemm(dB, dy, u, out, n, r, true, false, s, true);
        MatMul.gemm(du, dy, b, n, out, r, false, false, s, false);
        if (dA != null) MatMul.gemm(dA, du, x, r, n, in, true, false, 1f, true);
        if (dx != null) MatMul.gemm(dx, du, a, n, r, in, false, false, 1f, true);
    }
}
