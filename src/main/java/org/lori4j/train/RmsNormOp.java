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
        for (int t = 0; t < n; t++) {
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
        for (int t = 0; t < n; t++) {
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

    /** 1/sqrt(mean(x^2)+eps) over one row, the variance summed in double. */
    static float rstd(float[] x, int off, int c, float eps) {
        double ss = 0;
        for (int i = 0; i < c; i++) ss += (double) x[off + i] * x[off + i];
        return (float) (1.0 / Math.sqrt((float) (ss / c) + eps));
    }
}
