package org.lori4j.train;

/**
 * RMSNorm as Hugging Face's LlamaRMSNorm computes it, {@code y = w * (x / sqrt(mean(x^2) + eps))},
 * with its backward w.r.t. the input only (the norm weight is frozen in LoRA/LoRI training).
 * Buffers are row-major [n, c].
 */
public final class RmsNormOp {
    private RmsNormOp() {}

    /** out[n,c] = w[c] * x[n,c] * rstd[n]. */
    public static void forward(float[] out, float[] x, float[] w, int n, int c, float eps) {
        forward(out, x, w, c, eps, 0, n);
    }

    /** The forward on rows [from, to) only (for splitting over threads). */
    public static void forward(float[] out, float[] x, float[] w, int c, float eps, int from, int to) {
        for (int t = from; t < to; t++) {
            int o = t * c;
            float rstd = rstd(x, o, c, eps);
            for (int i = 0; i < c; i++) out[o + i] = w[i] * (x[o + i] * rstd);
        }
    }

    /**
     * dx[n,c] (+)= d out / d x applied to dout. With xh = x*rstd and g = dout*w:
     * {@code dx = rstd * (g - xh * mean(g * xh))}.
     */
    public static void backward(float[] dx, float[] dout, float[] x, float[] w, int n, int c, float eps, boolean accumulate) {
        backward(dx, dout, x, w, c, eps, accumulate, 0, n);
    }

    /** The backward on rows [from, to) only. */
    public static void backward(float[] dx, float[] dout, float[] x, float[] w, int c, float eps, boolean accumulate, int from, int to) {
        for (int t = from; t < to; t++) {
            int o = t * c;
            float rstd = rstd(x, o, c, eps);
            double dot = 0; // sum over channels of g * xh
            for (int i = 0; i < c; i++) dot += (double) (dout[o + i] * w[i]) * (x[o + i] * rstd);
            float mean = (float) (dot / c);
            for (int i = 0; i < c; i++) {
                float g = dout[o + i] * w[i];
                float d = rstd * (g - x[o + i] * rstd * mean);
                dx[o + i] = accumulate ? dx[o + i] + d : d;
            }
        }
    }

    /** The backward of one row at offsets: dx[dxOff..] = d out / d x applied to dout[doutOff..] (overwrites). */
    public static void backwardRow(float[] dx, int dxOff, float[] dout, int doutOff, float[] x, int xOff, float[] w, int c, float eps) {
        float rstd = rstd(x, xOff, c, eps);
        double dot = 0;
        for (int i = 0; i < c; i++) dot += (double) (dout[doutOff + i] * w[i]) * (x[xOff + i] * rstd);
        float mean = (float) (dot / c);
        for (int i = 0; i < c; i++) dx[dxOff + i] = rstd * (dout[doutOff + i] * w[i] - x[xOff + i] * rstd * mean);
    }

    /** 1/sqrt(mean(x^2)+eps) over one row, the variance summed in double. */
    static float rstd(float[] x, int off, int c, float eps) {
        double ss = 0;
        for (int i = 0; i < c; i++) ss += (double) x[off + i] * x[off + i];
        return (float) (1.0 / Math.sqrt((float) (ss / c) + eps));
    }
}
